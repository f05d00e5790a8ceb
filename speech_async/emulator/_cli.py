"""``speech-async emulator`` / ``python -m speech_async.emulator``: run the emulator until stopped."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import TYPE_CHECKING, Final

from ._config import DEFAULT_MAX_AUDIO_BYTES, DEFAULT_MAX_AUDIO_SECONDS, EmulatorConfig
from ._server import Emulator

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ("main",)

_MIB: Final = 1024 * 1024


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="speech-async emulator",
        description=(
            "Run a local emulator of the Azure AI Speech fast-transcription API. Prints its URL on "
            "one line once it listens; stops on SIGINT or SIGTERM."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    parser.add_argument("--key", default=None, help="the accepted subscription key (default: any non-empty key)")
    parser.add_argument(
        "--recognizer",
        choices=("whisper", "scripted"),
        default="whisper",
        help="whisper (real recognition, needs the asr extra) or scripted (registered transcripts)",
    )
    parser.add_argument(
        "--max-audio-mb",
        type=_positive,
        default=DEFAULT_MAX_AUDIO_BYTES / _MIB,
        help="largest accepted audio in MiB (default %(default)g)",
    )
    parser.add_argument(
        "--max-audio-seconds",
        type=_positive,
        default=DEFAULT_MAX_AUDIO_SECONDS,
        help="longest accepted audio in seconds (default %(default)g)",
    )
    return parser


async def _serve(config: EmulatorConfig, host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Windows event loops have no signal handlers; Ctrl+C then arrives as KeyboardInterrupt.
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    async with Emulator(config, host=host, port=port) as emulator:
        print(emulator.url, flush=True)
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator from the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    recognizer: str = args.recognizer
    config = EmulatorConfig(
        key=args.key or None,
        recognizer="scripted" if recognizer == "scripted" else "whisper",
        max_audio_bytes=int(args.max_audio_mb * _MIB),
        max_audio_seconds=args.max_audio_seconds,
    )
    try:
        asyncio.run(_serve(config, args.host, args.port))
    except KeyboardInterrupt:
        return 0
    except (OSError, RuntimeError) as exc:
        print(f"speech-async emulator: error: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0
