"""What one application instance shares between requests: shared services and per-area backends."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

import aiohttp
from aiohttp import web

from ._media.fetch import FETCH_TIMEOUT
from ._routes import counted_routes
from ._scripted import ScriptedRecognizer
from ._tokens import TokenAuthority
from ._whisper import WhisperRecognizer

if TYPE_CHECKING:
    from ._auth import Caller
    from ._config import EmulatorConfig
    from ._faults import Fault, FaultPlan
    from ._media.body import BodyTap
    from ._recognizer import Recognizer
    from ._recording import AuthKind, RecordedPart, RecordedRequest
    from ._resources.batch.backend import BatchBackend, Job
    from ._resources.health.model import ServiceHealth
    from ._resources.webhooks.backend import WebHookBackend
    from ._routes import RouteSpec

__all__ = ("EXCHANGE", "STATE", "EmulatorState", "Exchange", "emulator_state")


class EmulatorState:
    """Everything one application instance shares between requests.

    Shared services: the configuration, the fault plan, the recognizer (and the scripted registry,
    always present), the recorded requests, the token authority, the request counters and the
    client session for ``audioUrl`` downloads. Per-area backends: :attr:`health`, :attr:`batch`
    and :attr:`webhooks` (created on first use; the batch backend tells the web hooks of its events).
    """

    def __init__(self, config: EmulatorConfig, faults: FaultPlan | None = None) -> None:
        # Imported here: _faults validates route names against the registry, whose areas import this module.
        from ._faults import FaultPlan

        self.config = config
        self.faults = FaultPlan() if faults is None else faults
        self.scripted = ScriptedRecognizer()
        recognizer = config.recognizer
        self.recognizer: Recognizer
        if isinstance(recognizer, str):
            scripted = recognizer == "scripted"
            self.recognizer = self.scripted if scripted else WhisperRecognizer()
        else:
            self.recognizer = recognizer
        self.requests: list[RecordedRequest] = []
        self.tokens = TokenAuthority(region=config.region, clock=config.clock)
        # Fixed keys, so reading a copy from another thread never sees the dict change size.
        self.counters: dict[str, int] = dict.fromkeys(counted_routes(), 0)
        # Service requests being answered now, and the most at once since the counters were last cleared.
        self.in_flight: dict[str, int] = dict.fromkeys(counted_routes(), 0)
        self.in_flight_peak: dict[str, int] = dict.fromkeys(counted_routes(), 0)
        # The spec (or counted admin name) of every route the application serves, by aiohttp route.
        self.route_specs: dict[web.AbstractRoute, RouteSpec] = {}
        self.counted_admin: dict[web.AbstractRoute, str] = {}
        # Replaced whole (never mutated), so a reader on another thread sees the old or the new value.
        self.health: ServiceHealth = config.health
        self._session: aiohttp.ClientSession | None = None
        self._batch: BatchBackend | None = None
        self._webhooks: WebHookBackend | None = None

    @property
    def batch(self) -> BatchBackend:
        """The batch transcription jobs (created on first use)."""
        if self._batch is None:
            # Imported here: the batch area imports this module.
            from ._resources.batch.backend import BatchBackend

            self._batch = BatchBackend(self)
            self._batch.notify = self._transcription_event
        return self._batch

    @property
    def webhooks(self) -> WebHookBackend:
        """The web hooks and their deliveries (created on first use)."""
        if self._webhooks is None:
            # Imported here: the web-hook area imports this module.
            from ._resources.webhooks.backend import WebHookBackend

            self._webhooks = WebHookBackend(self)
        return self._webhooks

    def _transcription_event(self, kind: str, job: Job) -> None:
        self.webhooks.on_transcription(kind, job)

    def clear_counters(self) -> None:
        """Set every request counter back to zero, and every in-flight peak to what is in flight now."""
        for name in self.counters:
            self.counters[name] = 0
        self.clear_in_flight_peak()

    def clear_in_flight_peak(self) -> None:
        """Set every route's in-flight peak to the requests it is answering now."""
        for name, now in self.in_flight.items():
            self.in_flight_peak[name] = now

    def enter_flight(self, name: str) -> None:
        """A request to the route ``name`` arrived: one more in flight (and maybe a new peak)."""
        now = self.in_flight[name] = self.in_flight.get(name, 0) + 1
        if now > self.in_flight_peak.get(name, 0):
            self.in_flight_peak[name] = now

    def leave_flight(self, name: str) -> None:
        """A request to the route ``name`` was answered, failed or was cancelled: one fewer in flight."""
        self.in_flight[name] = max(self.in_flight.get(name, 0) - 1, 0)

    def http_session(self) -> aiohttp.ClientSession:
        """The client session used to download ``audioUrl`` (created on first use)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=FETCH_TIMEOUT, trust_env=False)
        return self._session

    async def aclose(self) -> None:
        """Stop the web hooks' deliveries and the batch jobs' work, then release the client session."""
        # Web hooks first: their ticker awaits batch jobs.
        if self._webhooks is not None:
            await self._webhooks.aclose()
        if self._batch is not None:
            await self._batch.aclose()
        session, self._session = self._session, None
        if session is not None:
            await session.close()


STATE: Final = web.AppKey("speech_async_emulator_state", EmulatorState)


def emulator_state(app: web.Application) -> EmulatorState:
    """The state of an application made by :func:`create_app`."""
    return app[STATE]


@dataclass
class Exchange:
    """What the service middleware knows about one request while it is answered."""

    request_id: str
    auth: AuthKind
    body: BodyTap
    client_request_id: str | None
    spec: RouteSpec | None = None
    parts: list[RecordedPart] = field(default_factory=list["RecordedPart"])
    definition: dict[str, object] | None = None
    fault: Fault | None = None
    caller: Caller | None = None
    # The checked api-version query value, for routes that take one.
    api_version: str | None = None


EXCHANGE: Final = web.RequestKey("speech_async_emulator_exchange", Exchange)
