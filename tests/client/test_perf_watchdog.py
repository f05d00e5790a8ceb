"""The watchdog: one timer checks every request's upload-stall and response limits, none per request.

The response limit is the longest wait for the answer's headers once the request is sent, and between
bytes of its body; a request still waiting for a pooled connection is not timed. These tests hold the
client to that against a server of their own (on a thread of its own, so that every timer on the
test's loop is the client's).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from speech_async import KeyCredential, RetryPolicy, SpeechClient, SpeechTimeoutError, Timeouts

from ..support.audio import make_wav
from ..support.hostile_server import RECOGNITION, Conn, hostile

pytestmark = pytest.mark.anyio

KEY = "watchdog-key"
ONCE = RetryPolicy(max_attempts=1)
LIMIT = 0.4
SHORT_WAV = make_wav(0.5)
BODY = json.dumps(RECOGNITION).encode()


async def _head(conn: Conn, body: bytes = BODY) -> None:
    await conn.send(
        f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    )


async def _trickle(conn: Conn, body: bytes = BODY, parts: int = 8, pause: float = 0.1) -> None:
    """The whole answer, its body in ``parts`` parts ``pause`` seconds apart (``parts * pause`` in all)."""
    await _head(conn, body)
    step = -(-len(body) // parts)
    for start in range(0, len(body), step):
        await asyncio.sleep(pause)
        await conn.send(body[start : start + step])


async def test_a_body_that_keeps_coming_outlives_the_response_limit() -> None:
    async def trickling(conn: Conn) -> None:
        await conn.read_body()
        await _trickle(conn)

    async with hostile(trickling) as server, SpeechClient(server.url, KeyCredential(KEY), retry=ONCE) as client:
        started = time.monotonic()
        result = await client.recognize(SHORT_WAV, language="en-US", timeout=Timeouts(response=LIMIT))
        elapsed = time.monotonic() - started
    assert result.text == "Hostile."
    assert elapsed > 2 * LIMIT  # eight parts 0.1 s apart: twice the limit in all, never the limit between two


@pytest.mark.parametrize("where", ["before the headers", "within the body"])
async def test_an_answer_that_stops_coming_times_out_after_the_limit_and_at_most_a_tenth_more(where: str) -> None:
    async def stopping(conn: Conn) -> None:
        await conn.read_body()
        if where == "within the body":
            await _head(conn)
            await conn.send(BODY[:10])
        await conn.silence()

    async with hostile(stopping) as server, SpeechClient(server.url, KeyCredential(KEY), retry=ONCE) as client:
        started = time.monotonic()
        with pytest.raises(SpeechTimeoutError, match=rf"sent nothing for {LIMIT} s \(Timeouts\.response\)"):
            await client.recognize(SHORT_WAV, language="en-US", timeout=Timeouts(response=LIMIT))
        elapsed = time.monotonic() - started
    assert LIMIT <= elapsed < LIMIT * 1.1 + 0.5, elapsed


async def test_a_request_without_a_body_is_not_timed_while_it_waits_for_a_connection() -> None:
    """One connection: a GET queued behind a slow (but never silent) answer waits longer than the limit."""

    async def scenario(conn: Conn) -> None:
        if conn.seen.method == "GET":
            await conn.respond(200, ["en-US"])
            return
        await conn.read_body()
        await _trickle(conn, parts=10, pause=0.1)  # a second: the GET waits that long for the connection

    limits = Timeouts(response=LIMIT)
    async with (
        hostile(scenario) as server,
        SpeechClient(server.url, KeyCredential(KEY), retry=ONCE, connection_limit=1, timeout=limits) as client,
    ):
        recognition = asyncio.create_task(client.recognize(SHORT_WAV, language="en-US"))
        await asyncio.sleep(0.1)  # the recognition holds the one connection
        started = time.monotonic()
        locales = await client.get_supported_locales()
        waited = time.monotonic() - started
        assert (await recognition).text == "Hostile."
    assert locales.submit == ("en-US",)
    assert waited > 2 * LIMIT


async def test_the_caller_s_own_cancellation_stays_a_cancellation() -> None:
    async def silent(conn: Conn) -> None:
        await conn.read_body()
        await conn.silence()

    async with hostile(silent) as server, SpeechClient(server.url, KeyCredential(KEY), retry=ONCE) as client:
        call = asyncio.create_task(client.recognize(SHORT_WAV, language="en-US", timeout=Timeouts(response=LIMIT)))
        await asyncio.sleep(LIMIT / 2)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        # The watchdog forgot the cancelled request: a later one is not stopped on its behalf.
        await asyncio.sleep(LIMIT)


async def test_concurrent_requests_arm_no_loop_timer_each() -> None:
    """200 recognitions at once: the client arms a handful of loop timers in all, not one or more per request.

    (aiohttp's own read timeout re-arms a timer on every read; an upload-stall timer per upload was one
    more. The watchdog replaces them with one.)
    """

    async def slow(conn: Conn) -> None:
        await conn.read_body()
        await asyncio.sleep(0.3)
        await conn.respond(200, RECOGNITION)

    loop = asyncio.get_running_loop()
    armed: list[str] = []
    call_at = loop.call_at

    def counting_call_at(when: float, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> asyncio.TimerHandle:
        armed.append(getattr(callback, "__qualname__", repr(callback)))
        return call_at(when, callback, *args, **kwargs)

    async with hostile(slow) as server, SpeechClient(server.url, KeyCredential(KEY), connection_limit=200) as client:
        await client.recognize(SHORT_WAV, language="en-US")  # the connection pool and imports warmed up
        loop.call_at = counting_call_at  # type: ignore[method-assign]
        try:
            results = await asyncio.gather(*(client.recognize(SHORT_WAV, language="en-US") for _ in range(200)))
        finally:
            del loop.call_at  # type: ignore[misc]
    assert all(result.text == "Hostile." for result in results)
    ours = [name for name in armed if "_on_read_timeout" in name or "_Watchdog" in name or "_StreamPayload" in name]
    assert len(ours) < 20, sorted(set(ours))
