"""The admin API under ``/_emulator/``: no key needed, never recorded, JSON decoded strictly.

One table, :data:`ADMIN_ROUTES` (method, path, handler, counted name), so the application, the
docs and the tests read the same list. Only ``POST /_emulator/entra/token`` is counted
(``Emulator.counters["entra_token"]``): it stands in for Microsoft Entra ID's token endpoint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import msgspec
from aiohttp import web

from ._errors import ServiceError
from ._faults import decode_fault, decode_random_faults, encode_applied
from ._recording import encode_requests
from ._resources.health.model import ServiceHealth
from ._resources.health.wire import encode_health
from ._routes import ADMIN_PREFIX
from ._scripted import decode_transcript, is_sha256_hex
from ._state import STATE
from ._strict import decode_strict

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    _Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

__all__ = (
    "ADMIN_PREFIX",
    "ADMIN_ROUTES",
    "DEFAULT_ENTRA_LIFETIME",
    "ENTRA_TOKEN_ROUTE",
    "AdminRoute",
    "add_admin_routes",
)

# Counted like a service route (it stands in for Entra ID's token endpoint), but takes no faults.
ENTRA_TOKEN_ROUTE: Final = "entra_token"
# Entra-style tokens from the admin route live this long unless the request says otherwise.
DEFAULT_ENTRA_LIFETIME: Final = 3600.0


def _admin_error(status: int, message: str) -> web.Response:
    body = ServiceError(status, "InvalidRequest", f"speech_async emulator admin API: {message}")
    return web.Response(status=status, body=body.body(), content_type="application/json")


def _json(body: bytes) -> web.Response:
    return web.Response(body=body, content_type="application/json", charset="utf-8")


def _no_content() -> web.Response:
    return web.Response(status=204)


async def _put_scripted(request: web.Request) -> web.StreamResponse:
    digest = request.match_info["sha256"]
    if not is_sha256_hex(digest):
        return _admin_error(400, f"'{digest}' is not a hex SHA-256 digest")
    try:
        transcript = decode_transcript(await request.read())
    except (ValueError, TypeError) as exc:
        return _admin_error(400, f"invalid scripted transcript: {exc}")
    request.app[STATE].scripted.register_digest(digest, transcript)
    return _no_content()


async def _clear_scripted(request: web.Request) -> web.StreamResponse:
    request.app[STATE].scripted.clear()
    return _no_content()


async def _get_requests(request: web.Request) -> web.StreamResponse:
    return _json(encode_requests(request.app[STATE].requests))


async def _clear_requests(request: web.Request) -> web.StreamResponse:
    request.app[STATE].requests.clear()
    return _no_content()


async def _add_fault(request: web.Request) -> web.StreamResponse:
    try:
        fault = decode_fault(await request.read())
    except ValueError as exc:
        return _admin_error(400, f"invalid fault: {exc}")
    request.app[STATE].faults.add(fault)
    return _no_content()


async def _random_faults(request: web.Request) -> web.StreamResponse:
    try:
        settings = decode_random_faults(await request.read())
        request.app[STATE].faults.random(
            rate=settings.rate, faults=settings.faults, seed=settings.seed, route=settings.route
        )
    except ValueError as exc:
        return _admin_error(400, f"invalid random faults: {exc}")
    return _no_content()


async def _clear_faults(request: web.Request) -> web.StreamResponse:
    request.app[STATE].faults.clear()
    return _no_content()


async def _get_applied(request: web.Request) -> web.StreamResponse:
    return _json(encode_applied(request.app[STATE].faults))


async def _clear_applied(request: web.Request) -> web.StreamResponse:
    request.app[STATE].faults.clear_applied()
    return _no_content()


class _EntraTokenRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    scopes: list[str]
    lifetime: float = DEFAULT_ENTRA_LIFETIME


class _EntraTokenAnswer(msgspec.Struct, kw_only=True):
    access_token: str
    expires_on: int


async def _entra_token(request: web.Request) -> web.StreamResponse:
    try:
        wanted = decode_strict(await request.read(), _EntraTokenRequest)
    except ValueError as exc:
        return _admin_error(400, f"invalid token request: {exc}")
    if not wanted.scopes or not all(scope.strip() for scope in wanted.scopes):
        return _admin_error(400, "invalid token request: scopes must be a non-empty list of non-empty strings")
    if not (math.isfinite(wanted.lifetime) and wanted.lifetime > 0):
        return _admin_error(400, "invalid token request: lifetime must be a positive number of seconds")
    token, expires_on = request.app[STATE].tokens.issue_entra(scopes=wanted.scopes, lifetime=wanted.lifetime)
    return _json(msgspec.json.encode(_EntraTokenAnswer(access_token=token, expires_on=expires_on)))


async def _get_counters(request: web.Request) -> web.StreamResponse:
    return _json(msgspec.json.encode(dict(request.app[STATE].counters)))


async def _clear_counters(request: web.Request) -> web.StreamResponse:
    request.app[STATE].clear_counters()
    return _no_content()


async def _get_in_flight(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    return _json(msgspec.json.encode({"in_flight": dict(state.in_flight), "peak": dict(state.in_flight_peak)}))


async def _clear_in_flight(request: web.Request) -> web.StreamResponse:
    request.app[STATE].clear_in_flight_peak()
    return _no_content()


async def _get_health(request: web.Request) -> web.StreamResponse:
    return _json(encode_health(request.app[STATE].health))


async def _put_health(request: web.Request) -> web.StreamResponse:
    try:
        health = decode_strict(await request.read(), ServiceHealth, what="the health")
    except (ValueError, TypeError) as exc:
        return _admin_error(400, f"invalid health: {exc}")
    request.app[STATE].health = health
    return _no_content()


async def _reset_health(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    state.health = state.config.health
    return _no_content()


@dataclass(frozen=True)
class AdminRoute:
    """One admin route; ``counted`` names the counter it increments, if any."""

    method: str
    path: str
    handler: _Handler
    summary: str
    counted: str | None = None


ADMIN_ROUTES: Final = (
    AdminRoute("PUT", "scripted/{sha256}", _put_scripted, "register a ScriptedTranscript (JSON) for an audio SHA-256"),
    AdminRoute("DELETE", "scripted", _clear_scripted, "forget every scripted transcript"),
    AdminRoute("GET", "requests", _get_requests, "the recorded requests (secrets redacted)"),
    AdminRoute("DELETE", "requests", _clear_requests, "forget the recorded requests"),
    AdminRoute("POST", "faults", _add_fault, "queue a Fault (JSON, Fault field names)"),
    AdminRoute(
        "POST", "faults/random", _random_faults, '`{"rate", "seed", "route", "faults"}`: random faults on a route'
    ),
    AdminRoute("DELETE", "faults", _clear_faults, "drop queued faults, turn random faults off"),
    AdminRoute("GET", "faults/applied", _get_applied, '`{"counts", "applied"}`: the faults injected so far'),
    AdminRoute("DELETE", "faults/applied", _clear_applied, "forget the applied faults"),
    AdminRoute(
        "POST",
        "entra/token",
        _entra_token,
        '`{"scopes", "lifetime"}` -> `{"access_token", "expires_on"}`: an Entra-style test token',
        counted=ENTRA_TOKEN_ROUTE,
    ),
    AdminRoute("GET", "counters", _get_counters, "requests received per route name"),
    AdminRoute("DELETE", "counters", _clear_counters, "set every counter to zero (and the in-flight peaks)"),
    AdminRoute(
        "GET", "in-flight", _get_in_flight, '`{"in_flight", "peak"}`: requests being answered now, and the most at once'
    ),
    AdminRoute("DELETE", "in-flight", _clear_in_flight, "set every in-flight peak to what is in flight now"),
    AdminRoute("GET", "health", _get_health, "the health the health-status route answers"),
    AdminRoute("PUT", "health", _put_health, '`{"status", "message", "components"}`: set it (ServiceHealth fields)'),
    AdminRoute("DELETE", "health", _reset_health, "back to EmulatorConfig.health"),
)


def add_admin_routes(app: web.Application) -> None:
    """Add :data:`ADMIN_ROUTES` to ``app`` (no ``HEAD`` for the ``GET`` routes)."""
    state = app[STATE]
    for admin in ADMIN_ROUTES:
        route = app.router.add_route(admin.method, ADMIN_PREFIX + admin.path, admin.handler, name=admin.counted)
        if admin.counted is not None:
            state.counted_admin[route] = admin.counted
