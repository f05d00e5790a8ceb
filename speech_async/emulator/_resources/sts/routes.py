"""The token service: ``POST /sts/v1.0/issueToken`` exchanges a key for a ten-minute bearer token."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from ..._routes import AuthPolicy, RouteSpec, RouteTable, service_route
from ..._state import STATE
from ..._tokens import STS_SCOPE

__all__ = ("ISSUE_TOKEN_PATH", "ROUTES")


# The same path serves the regional host and the custom domain; one emulator host plays both.
ISSUE_TOKEN_PATH: Final = "/sts/v1.0/issueToken"

ROUTES: Final = RouteTable("sts")


@service_route(
    ROUTES,
    RouteSpec(
        name="issue_token",
        method="POST",
        paths=(ISSUE_TOKEN_PATH,),
        summary="A bearer token for the key (plain-text JWT; `?scope=` optional)",
        auth=AuthPolicy.KEY_ONLY,
    ),
)
async def _issue_token(request: web.Request) -> web.StreamResponse:
    """``POST /sts/v1.0/issueToken``: the key (already checked) exchanged for a token, as plain text.

    The body is expected empty and is not read (whatever comes is drained and hashed after the
    answer). Any ``Content-Type`` is accepted: the docs' samples send
    ``application/x-www-form-urlencoded``, the Python sample none.
    """
    state = request.app[STATE]
    # An empty scope is taken as no scope (unverified).
    scope = request.query.get("scope") or STS_SCOPE
    token = state.tokens.issue_sts(lifetime=state.config.tokens.lifetime, scope=scope)
    # unverified: content type (a third-party mock's) and framing (a fixed Content-Length).
    return web.Response(status=200, text=token, content_type="application/jwt", charset="us-ascii")
