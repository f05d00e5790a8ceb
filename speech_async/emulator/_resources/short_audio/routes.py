"""The short-audio route: both path forms of ``/speech/recognition/{mode}/cognitiveservices/v1``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from ..._replies import json_response
from ..._routes import AuthPolicy, RouteSpec, RouteTable, service_route
from ..._state import EXCHANGE, STATE
from .request import SHORT_AUDIO_PATHS, recognize_short_audio

if TYPE_CHECKING:
    from aiohttp import web

__all__ = ("ROUTES",)

ROUTES: Final = RouteTable("short_audio")


@service_route(
    ROUTES,
    RouteSpec(
        name="short_audio",
        method="POST",
        paths=SHORT_AUDIO_PATHS,
        summary="REST API for short audio, regional and custom-domain (`/stt/`) forms, with pronunciation assessment",
        auth=AuthPolicy.SHORT_AUDIO,
    ),
)
async def _short_audio(request: web.Request) -> web.StreamResponse:
    """Both path forms of the short-audio API (see :mod:`.request`).

    aiohttp answers ``Expect: 100-continue`` with ``100 Continue`` as soon as it routes the
    request, before the service middleware authenticates it (unverified: whether the service
    checks credentials before it lets the body come).
    """
    state = request.app[STATE]
    body = await recognize_short_audio(
        mode=request.match_info["mode"],
        query=request.query,
        headers=request.headers,
        content_length=request.content_length,
        body=request[EXCHANGE].body,
        config=state.config,
        recognizer=state.recognizer,
    )
    # unverified: the content type and framing (chunked, like the service's other JSON answers).
    return json_response(200, body)
