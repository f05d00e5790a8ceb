"""Responses of the emulated service: JSON answers, service and gateway errors, and the service headers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from aiohttp import web

from ._state import EXCHANGE, STATE, Exchange

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ._errors import GatewayError, ServiceError

__all__ = (
    "add_service_headers",
    "gateway_error_response",
    "json_response",
    "service_error_response",
)

_STRICT_TRANSPORT_SECURITY: Final = "max-age=31536000; includeSubDomains; preload"


def json_response(
    status: int,
    body: bytes,
    *,
    headers: Mapping[str, str] | None = None,
    close_connection: bool = False,
) -> web.Response:
    """A JSON answer, chunked as the service sends them."""
    response = web.Response(status=status, body=body, content_type="application/json", charset="utf-8", headers=headers)
    # The real service streams its JSON answers (Transfer-Encoding: chunked), errors included.
    response.enable_chunked_encoding()
    if close_connection:
        response.force_close()
    return response


def service_error_response(error: ServiceError, headers: Mapping[str, str] | None = None) -> web.Response:
    """An error in the service's ``Error`` shape."""
    return json_response(error.status, error.body(), headers=headers, close_connection=error.close_connection)


def gateway_error_response(error: GatewayError, headers: Mapping[str, str] | None = None) -> web.Response:
    """An error in the gateway's ``{"error": {...}}`` shape."""
    # unverified: the gateway's content type and framing (a fixed Content-Length is assumed).
    return web.Response(status=error.status, body=error.body(), content_type="application/json", headers=headers)


async def add_service_headers(request: web.BaseRequest, response: web.StreamResponse) -> None:
    """``on_response_prepare``: the headers every service answer carries (admin answers carry none)."""
    exchange = request.get(EXCHANGE)
    if not isinstance(exchange, Exchange) or not isinstance(request, web.Request):
        return
    response.headers["apim-request-id"] = exchange.request_id
    response.headers["Strict-Transport-Security"] = _STRICT_TRANSPORT_SECURITY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["x-ms-region"] = request.app[STATE].config.region
