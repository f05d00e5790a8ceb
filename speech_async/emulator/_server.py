"""Serving the emulator on loopback: in the current event loop, or in a thread of its own."""

from __future__ import annotations

import asyncio
import contextlib
import enum
import threading
import types
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from aiohttp import web

from ._app import create_app, emulator_state
from ._config import EmulatorConfig
from ._resources.health.model import ServiceHealth

if TYPE_CHECKING:
    from collections.abc import Generator, Mapping
    from types import TracebackType

    from ._faults import FaultPlan
    from ._recording import RecordedRequest
    from ._resources.webhooks.backend import WebHookDelivery
    from ._scripted import ScriptedRecognizer

__all__ = ("Emulator", "serve_in_thread")

# In-flight requests get this long to finish when the emulator closes.
_SHUTDOWN_TIMEOUT: Final = 10.0
_THREAD_START_TIMEOUT: Final = 60.0


class _State(enum.Enum):
    UNSTARTED = "unstarted"
    STARTED = "started"
    CLOSED = "closed"


class Emulator:
    """A local speech-to-text service on ``host:port`` (port 0 picks a free port).

    It serves every route of ``docs/emulator-routes.md`` (fast transcription, short audio, issueToken,
    batch transcription, web hooks, supported locales, health status) and the admin API under ``/_emulator/``.
    Batch jobs move on :attr:`EmulatorConfig.clock` (durations from :class:`BatchConfig`; see
    ``docs/emulator-batch.md``).

    Use it as an async context manager, or call :meth:`start` and :meth:`close`. It serves on the
    event loop that runs :meth:`start`. Example::

        async with Emulator(EmulatorConfig(key="k", recognizer="scripted")) as emulator:
            emulator.scripted.register(audio_bytes, ScriptedTranscript(phrases=(...)))
            emulator.faults.add(Fault(status=503, retry_after=1))  # the next request gets a 503
            ...  # POST f"{emulator.url}/speechtotext/transcriptions:transcribe?api-version=..."

    Bearer tokens come from ``POST {url}/sts/v1.0/issueToken`` (with the key) or from
    :class:`EmulatorTokenCredential`. Their time is :attr:`EmulatorConfig.clock`, so a test
    expires them by moving its fake clock::

        now = [1_700_000_000.0]
        async with Emulator(EmulatorConfig(key="k", recognizer="scripted", clock=lambda: now[0])) as emulator:
            ...  # get a token, use it
            now[0] += 600  # the token's ten minutes are over: the next use is a 401
            assert emulator.counters["issue_token"] == 1
    """

    def __init__(self, config: EmulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._config = config or EmulatorConfig()
        self._host = host
        self._port = port
        self._app = create_app(self._config)
        self._state = emulator_state(self._app)
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._lifecycle = _State.UNSTARTED

    @property
    def config(self) -> EmulatorConfig:
        """The configuration this emulator runs with."""
        return self._config

    @property
    def app(self) -> web.Application:
        """The underlying aiohttp application."""
        return self._app

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` without a trailing slash; ``RuntimeError`` before :meth:`start`."""
        if self._url is None:
            raise RuntimeError("the emulator has not been started")
        return self._url

    @property
    def scripted(self) -> ScriptedRecognizer:
        """The transcript registry used when ``recognizer="scripted"`` (always present)."""
        return self._state.scripted

    @property
    def faults(self) -> FaultPlan:
        """The faults this emulator injects (queue them with ``faults.add(Fault(...))``)."""
        return self._state.faults

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request the service API received, oldest first (admin calls excluded)."""
        return self._state.requests

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        self._state.requests.clear()

    @property
    def counters(self) -> Mapping[str, int]:
        """Requests received so far per route name, counted on arrival (before authentication).

        A read-only snapshot with one key per service route name (``"transcribe"``, ``"locales"``,
        ``"issue_token"``, ``"short_audio"``, ``"locales_v3"``, ``"health_status"``, ...; see
        ``docs/emulator-routes.md``) and ``"entra_token"`` (the admin route
        ``POST /_emulator/entra/token``). Requests to unknown paths, or with a method a route does
        not take, are not counted.
        """
        return types.MappingProxyType(dict(self._state.counters))

    def clear_counters(self) -> None:
        """Set every request counter back to zero, and every :attr:`in_flight_peak` to what is in flight now."""
        self._state.clear_counters()

    @property
    def in_flight(self) -> Mapping[str, int]:
        """Service requests being answered right now, per route name (the keys of :attr:`counters`).

        A request is in flight from its arrival (before authentication) until its answer is delivered,
        or it fails or is cancelled.
        """
        return types.MappingProxyType(dict(self._state.in_flight))

    @property
    def in_flight_peak(self) -> Mapping[str, int]:
        """The most service requests answered at once per route name, since the counters were last cleared.

        A read-only snapshot: ``emulator.in_flight_peak["transcribe"]`` proves a client's concurrency
        bound. :meth:`clear_counters` (or ``DELETE /_emulator/in-flight``) starts it again from what is
        in flight at that moment.
        """
        return types.MappingProxyType(dict(self._state.in_flight_peak))

    @property
    def webhook_deliveries(self) -> tuple[WebHookDelivery, ...]:
        """Every POST made to a web hook's ``webUrl`` so far, oldest first: one per attempt.

        Challenges (``kind="Challenge"``), pings and events (``"TranscriptionCompletion"`` ...), each with
        the URL, the body's ``invocationId`` (the same on every retry), the attempt number and the
        receiver's status (``None`` when it did not answer). See ``docs/emulator-webhooks.md``.
        """
        return tuple(self._state.webhooks.deliveries)

    def clear_webhook_deliveries(self) -> None:
        """Forget the recorded web-hook deliveries."""
        self._state.webhooks.deliveries.clear()

    @property
    def health(self) -> ServiceHealth:
        """What ``GET /speechtotext/v3.1/healthstatus`` answers now (initially :attr:`EmulatorConfig.health`)."""
        return self._state.health

    def set_health(self, health: ServiceHealth | None = None) -> None:
        """Make the health-status route answer ``health`` from now on; ``None`` restores the configured one.

        Safe from any thread (the value is replaced whole). Over HTTP: ``PUT /_emulator/health`` with the
        JSON form of a :class:`ServiceHealth`, ``DELETE /_emulator/health`` to restore it.
        Example::

            emulator.set_health(ServiceHealth(status="Unhealthy", components=(
                HealthComponent(name="Database", type="SpeechServicesDbContext", status="Unhealthy",
                                message="The database cannot be reached."),
            )))  # the route now answers 503
        """
        if health is None:
            health = self._config.health
        elif not isinstance(health, ServiceHealth):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"expected a ServiceHealth, not {type(health).__name__}")
        self._state.health = health

    def revoke_tokens(self) -> None:
        """Revoke every bearer token issued so far (issueToken and Entra-style): each later use is a 401.

        Tokens issued afterwards are valid as usual.
        """
        self._state.tokens.revoke_all()

    async def start(self) -> None:
        """Start listening; raises ``RuntimeError`` if started twice or after :meth:`close`."""
        if self._lifecycle is not _State.UNSTARTED:
            raise RuntimeError(f"cannot start an emulator that is {self._lifecycle.value}")
        self._lifecycle = _State.STARTED
        runner = web.AppRunner(self._app, access_log=None, handle_signals=False, shutdown_timeout=_SHUTDOWN_TIMEOUT)
        await runner.setup()
        self._runner = runner
        try:
            site = web.TCPSite(runner, self._host, self._port)
            await site.start()
        except BaseException:
            await self.close()
            raise
        host, port = runner.addresses[0][:2]
        shown = f"[{host}]" if ":" in host else host
        self._url = f"http://{shown}:{port}"

    async def close(self) -> None:
        """Stop listening and release everything; a second call does nothing."""
        self._lifecycle = _State.CLOSED
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


@dataclass
class _Handoff:
    """What the server thread hands back to the thread that waits for it."""

    ready: threading.Event = field(default_factory=threading.Event)
    emulator: Emulator | None = None
    error: BaseException | None = None
    loop: asyncio.AbstractEventLoop | None = None
    stop: asyncio.Event | None = None

    def request_stop(self) -> None:
        if self.loop is not None and self.stop is not None:
            self.loop.call_soon_threadsafe(self.stop.set)


async def _serve(handoff: _Handoff, config: EmulatorConfig | None, host: str, port: int) -> None:
    handoff.loop = asyncio.get_running_loop()
    handoff.stop = asyncio.Event()
    emulator = Emulator(config, host=host, port=port)
    try:
        await emulator.start()
    except BaseException as exc:
        handoff.error = exc
        handoff.ready.set()
        return
    handoff.emulator = emulator
    handoff.ready.set()
    try:
        await handoff.stop.wait()
    finally:
        await emulator.close()


@contextlib.contextmanager
def serve_in_thread(
    config: EmulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> Generator[Emulator, None, None]:
    """Run an emulator on its own event loop in a daemon thread, for synchronous callers.

    Yields the started :class:`Emulator`; on exit it is closed, its loop shut down and the thread
    joined. Example::

        with serve_in_thread(EmulatorConfig(recognizer="scripted")) as emulator:
            client = TranscriptionClient(endpoint=emulator.url, credential=AzureKeyCredential("k"))
    """
    handoff = _Handoff()
    thread = threading.Thread(
        target=lambda: asyncio.run(_serve(handoff, config, host, port)),
        name="speech-async-emulator",
        daemon=True,
    )
    thread.start()
    if not handoff.ready.wait(_THREAD_START_TIMEOUT):
        handoff.request_stop()
        raise RuntimeError("the emulator thread did not start in time")
    if handoff.emulator is None:
        thread.join()
        raise handoff.error or RuntimeError("the emulator thread failed to start")
    try:
        yield handoff.emulator
    finally:
        handoff.request_stop()
        thread.join()
