"""``speech-async recognize``: up to 60 s of audio through the REST API for short audio.

``--format simple`` prints the display text, ``detailed`` the best candidate's forms (and, with
``--assess REFERENCE_TEXT``, a table of the pronunciation scores and of each word's), ``json`` the
service's JSON. Only the result goes to stdout. Exit status: 0 when the status is ``Success``, 1 when
the service heard no speech or the request failed, 2 for usage errors, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from ._command import Command

if TYPE_CHECKING:
    from speech_async import RecognitionResult

__all__ = ("COMMAND",)

PROG: Final = "speech-async recognize"
_MODES: Final = ("conversation", "interactive", "dictation")
_GRADING: Final = {"hundred": "HundredMark", "five": "FivePoint"}
_GRANULARITY: Final = {"phoneme": "Phoneme", "word": "Word", "fulltext": "FullText"}


def _parser() -> argparse.ArgumentParser:
    from ._config import add_connection_arguments

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Recognize a short audio file (WAV 16 kHz mono or Ogg/Opus, at most 60 s; 30 s when assessed).",
        epilog="Exit status: 0 on Success, 1 when no speech was recognized or the request failed, 2 for usage errors.",
        allow_abbrev=False,
    )
    parser.add_argument("file", type=Path, metavar="FILE", help="the audio file")
    parser.add_argument("--language", default="en-US", help="the spoken language (default %(default)s)")
    parser.add_argument("--mode", choices=_MODES, default="conversation", help="recognition mode (%(default)s)")
    parser.add_argument(
        "--format", choices=("simple", "detailed", "json"), default="simple", help="output (default %(default)s)"
    )
    parser.add_argument("--profanity", choices=("masked", "removed", "raw"), help="profanity option")
    parser.add_argument("--assess", metavar="REFERENCE_TEXT", help="grade pronunciation against this text")
    parser.add_argument(
        "--grading", choices=tuple(_GRADING), default="hundred", help="assessment scale (default %(default)s)"
    )
    parser.add_argument(
        "--granularity", choices=tuple(_GRANULARITY), default="word", help="assessment detail (default %(default)s)"
    )
    parser.add_argument("--miscue", action="store_true", help="with --assess: flag omitted and inserted words")
    parser.add_argument("--quiet", "-q", action="store_true", help="nothing on stderr but errors")
    add_connection_arguments(parser)
    return parser


def _run(argv: Sequence[str]) -> int:
    from ._config import UsageError, require_rich, resolve_settings

    parser = _parser()
    try:
        args = parser.parse_args(list(argv))
        if not args.file.is_file():
            parser.error(f"{args.file}: no such file")
        if args.assess is not None and not args.assess.strip():
            parser.error("--assess needs the reference text")
        if not require_rich(PROG):
            return 1
        try:
            settings = resolve_settings(args)
        except UsageError as err:
            parser.error(str(err))
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
    return _recognize(parser, args, settings)


def _recognize(parser: argparse.ArgumentParser, args: argparse.Namespace, settings: Any) -> int:
    from speech_async import InvalidOptionsError, PronunciationAssessment, SpeechError

    from ._config import Interrupted, UsageError, open_client, run_async
    from ._output import describe, stderr_console

    console = stderr_console(quiet=args.quiet)
    assessment = None
    if args.assess is not None:
        assessment = PronunciationAssessment(
            reference_text=args.assess,
            grading_system=_GRADING[args.grading],  # pyright: ignore[reportArgumentType]
            granularity=_GRANULARITY[args.granularity],  # pyright: ignore[reportArgumentType]
            dimension="Comprehensive",
            enable_miscue=args.miscue,
        )

    async def recognize() -> RecognitionResult:
        def say(line: str) -> None:
            console.print(f"{PROG}: {line}", markup=False)

        async with open_client(settings, prog=PROG, say=say) as client:
            return await client.recognize(
                args.file,
                language=args.language,
                mode=args.mode,
                output_format="detailed" if args.format != "simple" or assessment is not None else "simple",
                profanity=args.profanity,
                pronunciation_assessment=assessment,
            )

    try:
        result = run_async(recognize)
    except Interrupted:
        print(f"{PROG}: interrupted", file=sys.stderr, flush=True)
        return 130
    except (UsageError, InvalidOptionsError) as err:
        parser.print_usage(sys.stderr)
        print(f"{PROG}: error: {err}", file=sys.stderr, flush=True)
        return 2
    except (SpeechError, OSError) as err:
        print(f"{PROG}: {args.file}: FAILED: {describe(err)}", file=sys.stderr, flush=True)
        return 1
    _print(result, args.format, assessed=assessment is not None)
    if not result.succeeded:
        print(f"{PROG}: RecognitionStatus {result.recognition_status}: no speech recognized", file=sys.stderr)
        return 1
    return 0


def _print(result: RecognitionResult, fmt: str, *, assessed: bool) -> None:
    if fmt == "json":
        import msgspec

        sys.stdout.write(msgspec.json.encode(result).decode() + "\n")
        return
    if fmt == "simple" and not assessed:
        sys.stdout.write(result.text + "\n")
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console(file=sys.stdout, highlight=False, soft_wrap=True)
    best = result.best
    console.print(Text(f"RecognitionStatus: {result.recognition_status}"))
    console.print(Text(f"Display: {result.text}"))
    if best is None:
        return
    if fmt == "detailed":
        console.print(Text(f"Lexical: {best.lexical}"))
        console.print(Text(f"ITN: {best.itn}"))
        console.print(Text(f"Confidence: {best.confidence:g}"))
    if not assessed:
        return
    scores = Table(title="pronunciation", title_justify="left")
    for column in ("pronunciation", "accuracy", "fluency", "completeness", "prosody"):
        scores.add_column(column, justify="right")
    scores.add_row(
        *(
            "-" if value is None else f"{value:g}"
            for value in (
                best.pron_score,
                best.accuracy_score,
                best.fluency_score,
                best.completeness_score,
                best.prosody_score,
            )
        )
    )
    console.print(scores)
    if best.words:
        words = Table(title="words", title_justify="left")
        words.add_column("word")
        words.add_column("accuracy", justify="right")
        words.add_column("error")
        for word in best.words:
            words.add_row(
                Text(word.word),
                "-" if word.accuracy_score is None else f"{word.accuracy_score:g}",
                Text(word.error_type or ""),
            )
        console.print(words)


COMMAND = Command(
    name="recognize",
    help="recognize a short audio file (up to 60 s), optionally grading its pronunciation",
    run=_run,
)
