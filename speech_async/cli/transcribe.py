"""``speech-async transcribe``: fast transcription of files, folders and globs, with progress and resume.

One file without ``--out``: its transcript goes to stdout in the one ``--format`` (default ``txt``) and
nothing else does, so it composes with pipes. With ``--out DIR``: every source goes through
:func:`speech_async.bulk.transcribe_many`, results land in ``DIR/<name>.<ext>`` per format, and a rerun
skips what is finished (``--out`` implies ``--resume``). Several sources without ``--out`` are a usage
error. Exit status: 0 when every file succeeded (or was already done), 1 when any failed, 2 for usage
errors, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from ._command import Command

if TYPE_CHECKING:
    from rich.console import Console

    from speech_async import TranscriptionOptions
    from speech_async.bulk import BulkItem

__all__ = ("COMMAND",)

PROG: Final = "speech-async transcribe"
_PROFANITY: Final = ("none", "removed", "tags", "masked")
_GLOB_CHARS: Final = frozenset("*?[")
_MAX_FAILURE_ROWS: Final = 20


def _channels(text: str) -> list[int]:
    try:
        channels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"channels are numbers such as 0,1: {text!r}") from None
    if not channels or any(channel < 0 for channel in channels):
        raise argparse.ArgumentTypeError(f"channels are numbers such as 0,1: {text!r}")
    return channels


def _parser() -> argparse.ArgumentParser:
    from ._config import add_connection_arguments, positive_int_argument

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Transcribe audio files with fast transcription: one file to stdout, or many into --out DIR.",
        epilog=(
            "Exit status: 0 when every file succeeded, 1 when any failed, 2 for usage errors, 130 on Ctrl-C. "
            "With --out, a rerun skips the files already done (--out implies --resume)."
        ),
        allow_abbrev=False,
    )
    parser.add_argument("sources", nargs="+", metavar="PATH|GLOB|DIR", help="audio files, globs or folders")
    parser.add_argument("--out", metavar="DIR", type=Path, help="write results into DIR (created if missing)")
    parser.add_argument(
        "--format",
        default="txt",
        metavar="LIST",
        help="comma-separated formats: json (the service's JSON), txt, srt, vtt (default txt; "
        "stdout takes exactly one)",
    )
    parser.add_argument("--concurrency", type=positive_int_argument, default=16, metavar="N", help="requests in flight")
    parser.add_argument(
        "--requests-per-minute", type=positive_int_argument, default=600, metavar="N", help="request rate bound (600)"
    )
    parser.add_argument(
        "--locale", action="append", metavar="LOCALE", help="candidate locale, such as en-US (repeatable)"
    )
    parser.add_argument("--diarization", type=positive_int_argument, metavar="MAX", help="label up to MAX speakers")
    parser.add_argument("--channels", type=_channels, metavar="0,1", help="transcribe these channels separately")
    parser.add_argument("--profanity", type=str.lower, choices=_PROFANITY, help="profanity filter mode")
    parser.add_argument("--translate", metavar="LANG", help="translate into LANG with LLM speech (such as de)")
    parser.add_argument("--prompt", action="append", metavar="TEXT", help="an LLM speech prompt (repeatable)")
    parser.add_argument("--resume", action="store_true", help="skip files done by an earlier run (needs --out)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress and no summary; failures only")
    add_connection_arguments(parser)
    return parser


def _options(args: argparse.Namespace) -> TranscriptionOptions:
    from speech_async import DiarizationOptions, EnhancedMode, ProfanityFilterMode, TranscriptionOptions

    locales = [locale for given in args.locale or () for locale in given.split(",") if locale.strip()]
    enhanced: EnhancedMode | None = None
    if args.translate is not None or args.prompt:
        enhanced = EnhancedMode(
            task="translate" if args.translate is not None else None,
            target_language=args.translate,
            prompt=list(args.prompt) if args.prompt else None,
        )
    return TranscriptionOptions(
        locales=locales or None,
        diarization=None if args.diarization is None else DiarizationOptions(max_speakers=args.diarization),
        channels=args.channels,
        profanity_filter_mode=None
        if args.profanity is None
        else next(mode for mode in ProfanityFilterMode if mode.value.lower() == args.profanity),
        enhanced_mode=enhanced,
    )


def _glob_root(pattern: str) -> Path:
    """The folder a glob's matches are named relative to: its longest leading part without magic."""
    parts = Path(pattern).parts
    magic = next((index for index, part in enumerate(parts) if _GLOB_CHARS & set(part)), len(parts))
    return Path(*parts[:magic]) if magic else Path()


def _walk(folder: Path, extensions: frozenset[str]) -> list[Path]:
    found: list[Path] = []
    for top, dirs, files in os.walk(folder):
        dirs.sort()
        found.extend(Path(top, name) for name in sorted(files) if Path(name).suffix.lower() in extensions)
    return found


def _sources(parser: argparse.ArgumentParser, sources: Sequence[str]) -> list[tuple[str, Path, bool]]:
    """``(output name, path, named directly)`` for every file the sources name; nothing found is a usage error.

    A file is named by its file name; a folder's files (audio extensions, walked recursively) and a glob's
    matches by their path below the folder or the glob's fixed part, so ``--out`` mirrors the input tree.
    """
    from speech_async.bulk import AUDIO_EXTENSIONS

    found: list[tuple[str, Path, bool]] = []
    for source in sources:
        path = Path(source)
        if path.is_dir():
            files = _walk(path, AUDIO_EXTENSIONS)
            if not files:
                parser.error(f"{source}: the folder holds no audio files ({', '.join(sorted(AUDIO_EXTENSIONS))})")
            found.extend((file.relative_to(path).as_posix(), file, False) for file in files)
        elif path.exists():
            found.append((path.name, path, True))
        elif _GLOB_CHARS & set(source):
            root = _glob_root(source)
            matches = [Path(match) for match in sorted(glob.glob(source, recursive=True))]
            files = [match for match in matches if match.is_file()]
            if not files:
                parser.error(f"{source!r} matched no files")
            found.extend((_relative(file, root), file, False) for file in files)
        else:
            parser.error(f"{source}: no such file or folder")
    return found


def _relative(file: Path, root: Path) -> str:
    try:
        return file.relative_to(root).as_posix()
    except ValueError:
        return file.name


def _run(argv: Sequence[str]) -> int:
    from ._config import UsageError, require_rich, resolve_settings

    parser = _parser()
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
    try:
        from ._output import parse_formats

        try:
            formats = parse_formats(args.format)
        except ValueError as err:
            parser.error(f"--format: {err}")
        if args.resume and args.out is None:
            parser.error("--resume needs --out DIR (the folder that holds the earlier run's results)")
        if args.out is not None and args.out.exists() and not args.out.is_dir():
            parser.error(f"--out {args.out}: is a file, not a folder")
        sources = _sources(parser, args.sources)
        single = args.out is None
        if single:
            if len(sources) != 1 or not sources[0][2]:
                parser.error("several files (or a folder) need --out DIR; without it, name one file")
            if len(formats) != 1:
                parser.error("stdout takes one --format; use --out DIR for several")
        if not require_rich(PROG):
            return 1
        try:
            settings = resolve_settings(args)
            options = _options(args)
        except UsageError as err:
            parser.error(str(err))
        except ValueError as err:  # InvalidOptionsError from the options' own checks
            parser.error(str(err))
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
    if single:
        return _single(parser, args, settings, options, sources[0][1], formats[0])
    return _bulk(parser, args, settings, options, formats, [(name, path) for name, path, _ in sources])


def _say(console: Console) -> Any:
    def say(line: str) -> None:
        console.print(f"{PROG}: {line}", markup=False)

    return say


def _single(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    settings: Any,
    options: TranscriptionOptions,
    path: Path,
    fmt: str,
) -> int:
    from speech_async import InvalidOptionsError, SpeechError

    from ._config import Interrupted, UsageError, open_client, run_async
    from ._output import describe, render, stderr_console

    console = stderr_console(quiet=args.quiet)

    async def transcribe() -> bytes:
        async with open_client(settings, prog=PROG, say=_say(console)) as client:
            result = await client.transcribe(path, options=options)
        return render(result, fmt)

    try:
        output = run_async(transcribe)
    except Interrupted:
        print(f"{PROG}: interrupted: 0 of 1 file transcribed", file=sys.stderr, flush=True)
        return 130
    except (UsageError, InvalidOptionsError) as err:
        parser.print_usage(sys.stderr)
        print(f"{PROG}: error: {err}", file=sys.stderr, flush=True)
        return 2
    except (SpeechError, OSError) as err:
        print(f"{PROG}: {path}: FAILED: {describe(err)}", file=sys.stderr, flush=True)
        return 1
    # The bytes as rendered (JSON byte for byte as the service sent it), whatever stdout's encoding.
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is not None:
        buffer.write(output)
    else:
        sys.stdout.write(output.decode())
    sys.stdout.flush()
    return 0


class _Tally:
    """What the run has done so far, for the summary (also after Ctrl-C)."""

    def __init__(self) -> None:
        self.total: int | None = None
        self.succeeded = 0
        self.failed = 0
        self.skipped = 0
        self.audio_seconds = 0.0
        self.failures: list[tuple[str, str]] = []
        self.started = time.monotonic()

    @property
    def done(self) -> int:
        return self.succeeded + self.failed + self.skipped

    def line(self) -> str:
        total = "?" if self.total is None else str(self.total)
        return (
            f"{self.done} of {total} files done: {self.succeeded} transcribed, {self.skipped} already done, "
            f"{self.failed} failed; {self.audio_seconds / 3600:.2f} h of audio "
            f"in {time.monotonic() - self.started:.1f} s"
        )


def _bulk(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    settings: Any,
    options: TranscriptionOptions,
    formats: tuple[str, ...],
    sources: list[tuple[str, Path]],
) -> int:
    from speech_async import InvalidInputError, SpeechError

    from ._config import Interrupted, UsageError, run_async
    from ._output import stderr_console

    console = stderr_console(quiet=args.quiet)
    tally = _Tally()
    tally.total = len(sources)
    try:
        run_async(lambda: _transcribe_all(args, settings, options, formats, sources, console, tally))
    except Interrupted:
        # One line, quiet or not: what was finished, and that a rerun resumes.
        print(f"{PROG}: interrupted: {tally.line()}; rerun to resume", file=sys.stderr, flush=True)
        return 130
    except (UsageError, InvalidInputError) as err:
        parser.print_usage(sys.stderr)
        print(f"{PROG}: error: {err}", file=sys.stderr, flush=True)
        return 2
    except (SpeechError, OSError) as err:  # the run could not start (OutputLockedError: another run has DIR)
        from ._output import describe

        print(f"{PROG}: error: {describe(err)}", file=sys.stderr, flush=True)
        return 1
    if not args.quiet:
        _summary(console, tally)
    return 1 if tally.failed else 0


async def _transcribe_all(
    args: argparse.Namespace,
    settings: Any,
    options: TranscriptionOptions,
    formats: tuple[str, ...],
    sources: list[tuple[str, Path]],
    console: Console,
    tally: _Tally,
) -> None:
    from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

    from speech_async.bulk import BulkProgress, BulkSource, transcribe_many

    from ._config import open_client
    from ._output import describe

    live = console.is_terminal and not args.quiet
    progress = Progress(
        BarColumn(bar_width=20),
        TextColumn(
            "{task.completed:.0f}/{task.fields[total_text]} files · {task.fields[hours]:.2f} h audio · "
            "{task.fields[rate]} · [red]{task.fields[failed]} failed[/red] · ETA"
        ),
        TimeRemainingColumn(compact=True),
        console=console,
        transient=False,
        disable=not live,
    )
    total = len(sources)
    task: TaskID = progress.add_task("transcribing", total=total, total_text=str(total), hours=0.0, rate="", failed=0)

    def on_progress(state: BulkProgress) -> None:
        # done counts every finished item: transcribed, failed and skipped.
        elapsed = max(time.monotonic() - tally.started, 1e-6)
        progress.update(
            task,
            completed=state.done,
            hours=state.audio_seconds / 3600,
            rate=f"{(state.done - state.skipped) / elapsed:.1f} files/s ({state.audio_seconds / elapsed:.0f}x)",
            failed=state.failed,
        )

    async with open_client(settings, prog=PROG, say=_say(console)) as client:
        with progress:
            run = transcribe_many(
                client,
                [BulkSource(name, path) for name, path in sources],
                concurrency=args.concurrency,
                requests_per_minute=args.requests_per_minute,
                options=options,
                output_dir=args.out,
                formats=formats,
                progress=on_progress,
            )
            async with run:
                async for item in run:
                    _record(item, tally, plain=not console.is_terminal and not args.quiet, describe=describe)
            summary = run.summary
            tally.audio_seconds = max(tally.audio_seconds, summary.audio_seconds)


def _record(item: BulkItem, tally: _Tally, *, plain: bool, describe: Callable[[BaseException], str]) -> None:
    name = item.source.name
    if item.skipped:
        tally.skipped += 1
    elif item.error is None:
        tally.succeeded += 1
        if item.result is not None:
            tally.audio_seconds += item.result.duration_milliseconds / 1000
        if plain:
            print(f"{PROG}: done {name}", file=sys.stderr, flush=True)
    else:
        tally.failed += 1
        reason = describe(item.error)
        tally.failures.append((name, reason))
        # Failures are said even with --quiet: they are why the status is 1.
        print(f"{PROG}: FAILED {name}: {reason}", file=sys.stderr, flush=True)


def _summary(console: Console, tally: _Tally) -> None:
    from rich.table import Table
    from rich.text import Text

    from ._output import hms

    elapsed = time.monotonic() - tally.started
    table = Table(title="speech-async transcribe", title_justify="left")
    for column in ("files", "ok", "skipped", "failed", "audio", "time", "files/s"):
        table.add_column(column, justify="right")
    worked = tally.succeeded + tally.failed
    table.add_row(
        str(tally.done if tally.total is None else tally.total),
        str(tally.succeeded),
        str(tally.skipped),
        str(tally.failed),
        hms(tally.audio_seconds),
        f"{elapsed:.1f} s",
        f"{worked / elapsed:.1f}" if elapsed > 0 else "-",
    )
    console.print(table)
    if tally.failures:
        failures = Table(title="failures", title_justify="left")
        failures.add_column("file")
        failures.add_column("reason")
        for name, reason in tally.failures[:_MAX_FAILURE_ROWS]:
            failures.add_row(Text(name), Text(reason))
        if len(tally.failures) > _MAX_FAILURE_ROWS:
            failures.add_row("...", f"and {len(tally.failures) - _MAX_FAILURE_ROWS} more")
        console.print(failures)


COMMAND = Command(
    name="transcribe",
    help="transcribe audio files (one to stdout, many into a folder), with progress and resume",
    run=_run,
)
