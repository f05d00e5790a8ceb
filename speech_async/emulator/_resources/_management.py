"""What the management API's areas share (batch transcription, web hooks; custom speech next): one
route spec per version family, what a request says of its version and origin, its JSON body and its
paging numbers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._config import SUPPORTED_API_VERSIONS
from .._errors import invalid_request
from .._routes import AuthPolicy, Refusals, RouteSpec
from .._state import EXCHANGE
from .batch.errors import unsupported_pagination
from .batch.request import V3_VERSIONS, decode_object

if TYPE_CHECKING:
    from aiohttp import web

__all__ = ("int_query", "management_spec", "read_json", "request_origin", "request_version")


def management_spec(name: str, method: str, path: str, summary: str, *, v3: bool) -> RouteSpec:
    """The spec of ``path`` (under ``/speechtotext``) in one version family: ``name`` with ``api-version``
    queries, or ``<name>_v3`` under ``/speechtotext/v3.1`` and ``/v3.2``. The families are separate routes,
    since one spec's api-version rule applies to all its paths."""
    if v3:
        return RouteSpec(
            name=f"{name}_v3",
            method=method,
            paths=tuple(f"/speechtotext/{version}{path}" for version in V3_VERSIONS),
            summary=f"{summary}, v3.x",
            path_versions=V3_VERSIONS,
            # The v3.x spec declares a key or an issueToken token (scope speechservicesmanagement); unverified:
            # Entra tokens are taken too, as on fast transcription.
            auth=AuthPolicy.KEY_OR_TOKEN,
            # unverified: refusals come in the management API's Error shape (published v3.0 examples).
            refusals=Refusals.MANAGEMENT,
        )
    return RouteSpec(
        name=name,
        method=method,
        paths=(f"/speechtotext{path}",),
        summary=summary,
        api_versions=SUPPORTED_API_VERSIONS,
        # unverified: the dated versions declare only api_key; tokens are taken as on fast transcription,
        # and refusals are the management API's (the same service behind both).
        refusals=Refusals.MANAGEMENT,
    )


def request_version(request: web.Request) -> str:
    """The version a management request asked for: its ``api-version``, or its path's (``v3.2``)."""
    api_version = request[EXCHANGE].api_version
    if api_version is not None:
        return api_version
    # "/speechtotext/v3.2/..." -> "v3.2"
    return request.path.split("/")[2]


def request_origin(request: web.Request) -> str:
    """``scheme://host[:port]`` as the caller reached the emulator, for the ``self`` links it answers."""
    return f"{request.scheme}://{request.host}"


async def read_json(request: web.Request, *, max_bytes: int) -> dict[str, Any]:
    """The request's JSON object, read through the body tap (413 past ``max_bytes``), kept on the exchange."""
    body = request[EXCHANGE].body
    chunks: list[bytes] = []
    size = 0
    while chunk := await body.read(64 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise invalid_request("InvalidRequestBodyFormat", "The request body is too large.", status=413)
        chunks.append(chunk)
    document = decode_object(b"".join(chunks))
    request[EXCHANGE].definition = document
    return document


def int_query(request: web.Request, name: str, default: int, *, low: int, high: int | None) -> int:
    """A whole-number query parameter (``skip``, ``top``...), within ``low``..``high``."""
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise unsupported_pagination(f"'{name}' must be an integer, not '{raw}'.") from None
    if value < low or (high is not None and value > high):
        upper = "" if high is None else f" and at most {high}"
        raise unsupported_pagination(f"'{name}' must be at least {low}{upper}.")
    return value
