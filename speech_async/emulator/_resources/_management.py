"""What the management API's areas share (batch transcription, web hooks; custom speech next): one
route spec per version family, and what a request says of its version and origin."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._config import SUPPORTED_API_VERSIONS
from .._routes import AuthPolicy, Refusals, RouteSpec
from .._state import EXCHANGE
from .batch.request import V3_VERSIONS

if TYPE_CHECKING:
    from aiohttp import web

__all__ = ("management_spec", "request_origin", "request_version")


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
