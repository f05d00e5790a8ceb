"""The request bodies (``_bodies``) and the transport's handling of the caller's headers.

``JsonBody`` has no public operation yet (batch's writes are its first users), so it is tested here on
its own: its bytes, size, content type and replays, and then sent by the transport to a loopback server.
"""

from __future__ import annotations

import json

import msgspec
import pytest
from aiohttp import web
from yarl import URL

from speech_async import InvalidOptionsError, RetryPolicy, Timeouts
from speech_async._bodies import JSON_CONTENT_TYPE, JsonBody
from speech_async._http import Transport

from ..support.http import serve_on_loopback


class _Definition(msgspec.Struct, rename="camel", omit_defaults=True):
    display_name: str
    locale: str
    content_urls: list[str] = msgspec.field(default_factory=list[str])


async def _all(body: JsonBody) -> bytes:
    return b"".join([bytes(chunk) async for chunk in body.chunks()])


async def test_a_json_body_is_encoded_once_and_replays_the_same_bytes() -> None:
    body = JsonBody(_Definition(display_name="My job", locale="en-US", content_urls=["https://x/a.wav"]))

    first, second = await _all(body), await _all(body)

    assert first == second == b'{"displayName":"My job","locale":"en-US","contentUrls":["https://x/a.wav"]}'
    assert body.size == len(first)
    assert body.content_type == JSON_CONTENT_TYPE == "application/json"
    assert body.replayable
    assert JsonBody({"a": 1}, content_type="application/merge-patch+json").content_type == (
        "application/merge-patch+json"
    )


def test_a_value_that_is_not_json_is_an_options_error() -> None:
    with pytest.raises(InvalidOptionsError, match="cannot be encoded as JSON"):
        JsonBody({"when": object()})


async def test_the_transport_sends_a_json_body_and_leaves_the_callers_headers_alone() -> None:
    seen: list[tuple[str | None, str | None, bytes]] = []
    calls = 0

    async def handle(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        seen.append((request.headers.get("Content-Type"), request.headers.get("Content-Length"), await request.read()))
        # The first attempt fails, so that the body and the headers are sent twice.
        return web.json_response({"ok": calls}, status=503 if calls == 1 else 201)

    app = web.Application()
    app.router.add_post("/things", handle)
    headers = {"Accept": "application/json"}
    body = JsonBody({"displayName": "x"})
    async with serve_on_loopback(app) as url:
        transport = Transport(
            timeouts=Timeouts(),
            retry=RetryPolicy(max_attempts=2, backoff_base=0.0),
            session=None,
            connection_limit=1,
            user_agent=None,
        )
        transport.open()
        try:
            result = await transport.request(
                "POST",
                URL(url) / "things",
                headers=headers,
                decode=lambda response: (response.status, json.loads(response.content)),
                body=body,
                idempotent=True,
            )
        finally:
            await transport.close()

    assert result == (201, {"ok": 2})
    assert seen == [("application/json", str(body.size), b'{"displayName":"x"}')] * 2
    assert headers == {"Accept": "application/json"}, "the transport must copy the caller's headers"
