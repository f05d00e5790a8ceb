"""Batch transcription routes of the v3.x API (versioned by path).

Today only ``Transcriptions_ListSupportedLocales``: ``GET /speechtotext/v3.{1,2}/transcriptions/locales``
answers a JSON array of locales (batch-and-custom-speech.md, "supported locales": ``["en-US", ...]``),
the locales batch submissions take. The api-version form of the same operation
(``{"Transcribe": [...], "Submit": [...]}``) is the ``locales`` route of the fast area.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import msgspec

from ..._locales import SUBMIT_LOCALES
from ..._replies import json_response
from ..._routes import AuthPolicy, Refusals, RouteSpec, RouteTable, service_route

if TYPE_CHECKING:
    from aiohttp import web

__all__ = ("ROUTES", "V3_VERSIONS")

V3_VERSIONS: Final = ("v3.1", "v3.2")

ROUTES: Final = RouteTable("batch")


@service_route(
    ROUTES,
    RouteSpec(
        name="locales_v3",
        method="GET",
        paths=tuple(f"/speechtotext/{version}/transcriptions/locales" for version in V3_VERSIONS),
        summary="Supported locales of batch transcription, a JSON array (Transcriptions_ListSupportedLocales, v3.x)",
        path_versions=V3_VERSIONS,
        # The v3.x spec declares a key or an issueToken token (scope speechservicesmanagement); unverified:
        # Entra tokens are taken too, as on fast transcription.
        auth=AuthPolicy.KEY_OR_TOKEN,
        # unverified: refusals come in the management API's Error shape (published v3.0 examples).
        refusals=Refusals.MANAGEMENT,
    ),
)
async def _locales_v3(request: web.Request) -> web.StreamResponse:
    # unverified: the content type and framing (chunked, like the service's other JSON answers).
    return json_response(200, msgspec.json.encode(list(SUBMIT_LOCALES)))
