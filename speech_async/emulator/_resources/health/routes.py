"""``GET /speechtotext/v3.1/healthstatus`` (ServiceHealth_Get): the health tests set.

Declared by the v3.1 spec (and v3.0), not by v3.2, 2024-11-15 or 2025-10-15 (addendum §3.8): those
paths are unknown paths here (404). ``Unhealthy`` is answered 503, as in the published v3.0
example; ``Healthy`` and ``Degraded`` 200.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from ..._replies import json_response
from ..._routes import AuthPolicy, Refusals, RouteSpec, RouteTable, service_route
from ..._state import STATE
from .wire import encode_health

if TYPE_CHECKING:
    from aiohttp import web

__all__ = ("HEALTH_PATH", "ROUTES")

HEALTH_PATH: Final = "/speechtotext/v3.1/healthstatus"

ROUTES: Final = RouteTable("health")


@service_route(
    ROUTES,
    RouteSpec(
        name="health_status",
        method="GET",
        paths=(HEALTH_PATH,),
        summary="Service health, `{status, message, components}` (ServiceHealth_Get); Unhealthy is a 503",
        path_versions=("v3.1",),
        # The v3.x spec declares a key or an issueToken token (scope speechservicesmanagement); unverified:
        # Entra tokens are taken too, as on fast transcription.
        auth=AuthPolicy.KEY_OR_TOKEN,
        # unverified: refusals come in the management API's Error shape (published v3.0 examples).
        refusals=Refusals.MANAGEMENT,
    ),
)
async def _health_status(request: web.Request) -> web.StreamResponse:
    health = request.app[STATE].health
    # Documented by the v3.0 example: 503 for Unhealthy. unverified: 200 for Degraded.
    status = 503 if health.status == "Unhealthy" else 200
    # unverified: the content type and framing (chunked, like the service's other JSON answers).
    return json_response(status, encode_health(health))
