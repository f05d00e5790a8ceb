"""The aiohttp application: state, the service middleware, every area's routes, the admin API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from aiohttp import web

from ._admin import ADMIN_PREFIX, ENTRA_TOKEN_ROUTE, add_admin_routes
from ._config import EmulatorConfig
from ._pipeline import CLIENT_REQUEST_ID_HEADER, service_middleware
from ._replies import add_service_headers
from ._routes import area_tables, counted_routes
from ._state import STATE, EmulatorState, emulator_state
from ._whisper import WhisperRecognizer

if TYPE_CHECKING:
    from ._faults import FaultPlan

__all__ = (
    "ADMIN_PREFIX",
    "CLIENT_REQUEST_ID_HEADER",
    "ENTRA_TOKEN_ROUTE",
    "EmulatorState",
    "counted_routes",
    "create_app",
    "emulator_state",
)

# The limit of request.read(), which only the admin API uses (a scripted transcript of long audio is large);
# service bodies are streamed and limited per area.
_ADMIN_MAX_BODY: Final = 64 * 1024 * 1024


def _add_service_routes(app: web.Application) -> None:
    state = app[STATE]
    for table in area_tables():
        for route in table:
            for index, path in enumerate(route.spec.paths):
                # The aiohttp route name (as in 0.1) goes to the first path: aiohttp names must be unique.
                name = route.spec.name if index == 0 else None
                added = app.router.add_route(route.spec.method, path, route.handler, name=name)
                state.route_specs[added] = route.spec


async def _on_startup(app: web.Application) -> None:
    recognizer = app[STATE].recognizer
    if isinstance(recognizer, WhisperRecognizer):
        await recognizer.check_installed()


async def _on_cleanup(app: web.Application) -> None:
    await app[STATE].aclose()


def create_app(config: EmulatorConfig | None = None, *, faults: FaultPlan | None = None) -> web.Application:
    """A new emulator application, for running under your own ``aiohttp`` runner.

    It serves every service route of the route registry (``docs/emulator-routes.md``: name, method,
    paths, auth and versions of each; among them ``POST /speechtotext/transcriptions:transcribe``,
    route ``"transcribe"``; ``GET /speechtotext/transcriptions/locales``, ``"locales"``;
    ``POST /sts/v1.0/issueToken``, ``"issue_token"``; the short-audio API, ``"short_audio"``;
    ``GET /speechtotext/v3.{1,2}/transcriptions/locales``, ``"locales_v3"``;
    ``GET /speechtotext/v3.1/healthstatus``, ``"health_status"``) and the admin API under
    ``/_emulator/`` (no key needed; listed in the same document): scripted transcripts, recorded
    requests, faults, Entra-style tokens (``POST /_emulator/entra/token``, counted as
    ``"entra_token"``), request counters and the health status.

    Pass ``faults`` to keep a handle on the :class:`FaultPlan` the application uses.
    """
    state = EmulatorState(config or EmulatorConfig(), faults)
    app = web.Application(middlewares=[service_middleware], client_max_size=_ADMIN_MAX_BODY)
    app[STATE] = state
    _add_service_routes(app)
    add_admin_routes(app)
    app.on_startup.append(_on_startup)
    app.on_cleanup.append(_on_cleanup)
    app.on_response_prepare.append(add_service_headers)
    return app
