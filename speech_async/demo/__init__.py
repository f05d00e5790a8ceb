"""The demo: real speech turned into text through the client, its streaming upload and the emulator.

``python -m speech_async.demo`` (or ``make demo``) starts the emulator in-process with the real
recognizer (Whisper tiny.en, from the ``asr`` extra) and transcribes the bundled samples concurrently,
printing each transcript and its phrases the way the service's quickstart does, then recognizes one
sample with the REST API for short audio, grading its pronunciation, sends them as a batch job (from
content URLs, and from an Azurite blob container when Azurite is installed), and finally runs the
command line on them, ``speech-async transcribe --emulator SAMPLES --out DIR --format json,srt,vtt``,
printing one of the SRT files it writes (``--out`` picks the folder). ``--live`` sends the
same requests, bar the batch job (its content URLs are on loopback), to the real service named by
``AZURE_SPEECH_ENDPOINT`` and ``AZURE_SPEECH_API_KEY`` instead; paths given on the command line
replace the bundled samples.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from speech_async import (
    KeyCredential,
    PronunciationAssessment,
    SpeechClient,
    SpeechError,
    TranscriptionOptions,
    TranscriptionResult,
)
from speech_async.emulator._whisper import WhisperModelError, WhisperRecognizer, whisper_missing

__all__ = ("SAMPLES", "main", "run")

SAMPLES_DIR = Path(__file__).parent / "samples"


@dataclass(frozen=True)
class Sample:
    """One audio file of the demo and the options it is transcribed with."""

    path: Path
    options: TranscriptionOptions
    note: str


SAMPLES: tuple[Sample, ...] = (
    Sample(SAMPLES_DIR / "hello.wav", TranscriptionOptions(locales=["en-US"]), "WAV, 16 kHz mono"),
    Sample(SAMPLES_DIR / "report.wav", TranscriptionOptions(locales=["en-US"]), "WAV, two sentences"),
    Sample(
        SAMPLES_DIR / "call-stereo.flac",
        TranscriptionOptions(locales=["en-US"], channels=[0, 1]),
        "FLAC stereo call, each channel transcribed separately",
    ),
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo from the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="speech-async demo", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help="audio files to transcribe instead of the bundled samples")
    parser.add_argument("--live", action="store_true", help="use the real service from AZURE_SPEECH_* variables")
    parser.add_argument("--locale", default="en-US", help="locale for files given on the command line")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="where the command-line leg writes its files (default: a new temporary folder)",
    )
    args = parser.parse_args(argv)
    if not args.live and whisper_missing(WhisperRecognizer().model) is not None:
        # A bare install: one line on what to install, not a traceback from the emulator's start-up.
        print(
            "speech-async demo: the demo needs the real recognizer: pip install 'speech-async[asr]' "
            "(or use --live with AZURE_SPEECH_ENDPOINT and AZURE_SPEECH_API_KEY)",
            file=sys.stderr,
        )
        return 1
    samples = (
        tuple(Sample(path, TranscriptionOptions(locales=[args.locale]), "") for path in args.files)
        if args.files
        else SAMPLES
    )
    try:
        status = asyncio.run(run(samples, live=args.live))
    except WhisperModelError as exc:  # a tampered default model, a model directory that is not there
        print(f"speech-async demo: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl+C: everything has been cleaned up on the way out; no traceback
        print("speech-async demo: interrupted", file=sys.stderr)
        return 130
    # The command line, in this process: it runs its own event loop, so it comes after the demo's.
    paths = [sample.path for sample in samples]
    return max(status, command_line_leg(paths, out=args.out, live=args.live))


def command_line_leg(paths: Sequence[Path], *, out: Path | None = None, live: bool = False) -> int:
    """``speech-async transcribe`` on ``paths`` into ``out``, writing JSON, SRT and WebVTT; prints one SRT file."""
    import tempfile

    from speech_async.cli import main as cli

    folder = Path(tempfile.mkdtemp(prefix="speech-async-demo-")) if out is None else out
    sources = [str(SAMPLES_DIR)] if list(paths) == [sample.path for sample in SAMPLES] else [str(p) for p in paths]
    argv = ["transcribe", *([] if live else ["--emulator"]), *sources, "--out", str(folder), "--format", "json,srt,vtt"]
    shown = " ".join("samples" if arg == str(SAMPLES_DIR) else arg for arg in argv)
    print(f"\n== The command line: speech-async {shown}", flush=True)
    status = cli(argv)
    written = sorted(path for path in folder.rglob("*") if path.is_file() and not path.name.startswith("."))
    print(f"Exit status {status}; {len(written)} file(s) in {folder}:")
    for path in written:
        print(f"  {path.relative_to(folder)}")
    first_srt = next((path for path in written if path.suffix == ".srt"), None)
    if first_srt is not None:
        print(f"\n{first_srt.relative_to(folder)}:")
        print(first_srt.read_text(encoding="utf-8"), end="")
    return status


SHORT_AUDIO_SAMPLE = SAMPLES_DIR / "hello.wav"
SHORT_AUDIO_REFERENCE = "Hello, and thank you for calling. How can I help you today?"


async def run(samples: Sequence[Sample] = SAMPLES, *, live: bool = False) -> int:
    """Transcribe ``samples`` concurrently and print the results; returns 0 when all succeeded.

    With the bundled samples, one of them then goes through short-audio recognition too. Against the
    emulator, the samples then go through batch transcription.
    """
    short_audio = samples is SAMPLES
    if live:
        async with SpeechClient.from_env() as client:
            print(f"Transcribing {len(samples)} file(s) with the service at {client.endpoint}\n")
            status = await _transcribe_all(client, samples)
            return max(status, await _recognize_short(client, live=True)) if short_audio else status

    from speech_async.emulator import BatchConfig, Emulator, EmulatorConfig, WhisperRecognizer

    from ._batch import run_batch

    started = time.perf_counter()
    recognizer = WhisperRecognizer()
    model = "Whisper tiny.en" if recognizer.model is None else f"Whisper {recognizer.model}"
    # Batch jobs that take half a second, not the service's minutes: done by the first poll.
    batch = BatchConfig(not_started_seconds=0.2, running_seconds=0.3)
    async with Emulator(EmulatorConfig(recognizer=recognizer, batch=batch)) as emulator:
        print(f"Emulator listening at {emulator.url} (recognizer: {model}, on this machine)")
        async with SpeechClient(emulator.url, KeyCredential("demo-key")) as client:
            print(f"Transcribing {len(samples)} file(s) concurrently...\n")
            status = await _transcribe_all(client, samples)
            if short_audio:
                status = max(status, await _recognize_short(client, live=False))
            locale = next(iter(samples[0].options.locales or ()), "en-US") if samples else "en-US"
            status = max(status, await run_batch(client, [sample.path for sample in samples], locale=locale))
    print(f"\nDone in {time.perf_counter() - started:.1f} s.", flush=True)
    return status


async def _transcribe_all(client: SpeechClient, samples: Sequence[Sample]) -> int:
    started = time.perf_counter()
    outcomes = await asyncio.gather(
        *(client.transcribe(sample.path, options=sample.options) for sample in samples), return_exceptions=True
    )
    failures = 0
    audio_ms = 0
    for sample, outcome in zip(samples, outcomes, strict=True):
        if isinstance(outcome, TranscriptionResult):
            audio_ms += outcome.duration_milliseconds
            _print_result(sample, outcome)
        elif isinstance(outcome, SpeechError | OSError):
            failures += 1
            print(f"== {sample.path.name}: FAILED: {type(outcome).__name__}: {outcome}\n")
        else:
            raise outcome
    elapsed = time.perf_counter() - started
    print(
        f"{len(samples) - failures} of {len(samples)} transcribed: {audio_ms / 1000:.1f} s of audio in {elapsed:.1f} s"
    )
    return 1 if failures else 0


def _print_result(sample: Sample, result: TranscriptionResult) -> None:
    note = f" ({sample.note})" if sample.note else ""
    print(f"== {sample.path.name}{note}, {result.duration.total_seconds():.1f} s")
    for combined in result.combined_phrases:
        label = "Transcription" if combined.channel is None else f"Transcription, channel {combined.channel}"
        print(f"{label}: {combined.text}")
    if result.phrases:
        print("\nDetailed phrases:")
        for phrase in result.phrases:
            where = "" if phrase.channel is None else f" channel {phrase.channel}"
            print(f"  [{phrase.offset_milliseconds}ms]{where}: {phrase.text}")
    print()


async def _recognize_short(client: SpeechClient, *, live: bool) -> int:
    """Recognize one sample with the REST API for short audio, grading it against its reference text."""
    print(f"\n== {SHORT_AUDIO_SAMPLE.name} through the REST API for short audio (chunked upload)")
    try:
        result = await client.recognize(
            SHORT_AUDIO_SAMPLE,
            language="en-US",
            pronunciation_assessment=PronunciationAssessment(
                reference_text=SHORT_AUDIO_REFERENCE,
                grading_system="HundredMark",
                granularity="Word",
                dimension="Comprehensive",
            ),
        )
    except (SpeechError, OSError) as err:
        print(f"FAILED: {type(err).__name__}: {err}")
        return 1
    print(f"RecognitionStatus: {result.recognition_status}")
    print(f"DisplayText: {result.text}")
    best = result.best
    if best is not None:
        print(f"Lexical: {best.lexical}")
        print(
            f"Pronunciation: {best.pron_score} (accuracy {best.accuracy_score}, fluency {best.fluency_score}, "
            f"completeness {best.completeness_score})" + ("" if live else ": the emulator's stand-in scores")
        )
    return 0 if result.succeeded else 1
