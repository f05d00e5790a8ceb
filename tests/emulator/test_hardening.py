"""The emulator under hostile request bodies, over real loopback HTTP.

A form of thousands of parts, oversized or deeply nested part headers and definitions: each gets
a 400 in the service's error shape (never a 500, which clients retry), quickly, with one log line,
and without stalling the other requests the emulator serves meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp
import pytest

from speech_async.emulator import Emulator, ScriptedPhrase, ScriptedTranscript

from ..support.audio import make_wav
from ..support.http import Reply, chunks_of

KEY = "emulator-test-key"
TRANSCRIBE = "/speechtotext/transcriptions:transcribe?api-version=2025-10-15"
LOCALES = "/speechtotext/transcriptions/locales?api-version=2025-10-15"
BOUNDARY = "hardening-boundary-5c2e"
MULTIPART_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
AUDIO = make_wav(0.25)
TRANSCRIPT = ScriptedTranscript(phrases=(ScriptedPhrase(text="Hi.", offset_ms=0, duration_ms=80),))
# The emulator's bounds (unverified for the service, see speech_async/emulator/_multipart.py).
MAX_PARTS = 16
MAX_DEFINITION_BYTES = 1024 * 1024
MAX_DEPTH = 64

Headers = Sequence[tuple[str, str]]


def part(headers: Headers, body: bytes) -> bytes:
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return f"--{BOUNDARY}\r\n{lines}\r\n".encode() + body + b"\r\n"


def definition_part(definition: bytes = b'{"locales": ["en-US"]}') -> bytes:
    headers = [("Content-Disposition", 'form-data; name="definition"'), ("Content-Type", "application/json")]
    return part(headers, definition)


def audio_part(audio: bytes = AUDIO, *, extra: Headers = ()) -> bytes:
    headers = [
        ("Content-Disposition", 'form-data; name="audio"; filename="audio.wav"'),
        ("Content-Type", "application/octet-stream"),
        *extra,
    ]
    return part(headers, audio)


def extra_parts(first: int, count: int) -> bytes:
    return b"".join(part([("Content-Disposition", f'form-data; name="x{i}"')], b"v") for i in range(first, count))


END = f"--{BOUNDARY}--\r\n".encode()


def flood(count: int) -> bytes:
    """A well-formed form of ``count`` parts: the definition, the audio, then tiny extra parts."""
    return definition_part() + audio_part() + extra_parts(0, count - 2) + END


# Built once, outside any event loop.
FLOODS = {count: flood(count) for count in (2_000, 100_000)}


def headers() -> dict[str, str]:
    return {"Ocp-Apim-Subscription-Key": KEY, "Content-Type": MULTIPART_TYPE}


async def post(session: aiohttp.ClientSession, url: str, body: bytes) -> Reply:
    # Streamed: aiohttp warns about large bodies given as bytes.
    async with session.post(url + TRANSCRIBE, data=chunks_of(body, 256 * 1024), headers=headers()) as response:
        return Reply(response.status, dict(response.headers), await response.read())


async def get_locales(session: aiohttp.ClientSession, url: str) -> Reply:
    async with session.get(url + LOCALES, headers={"Ocp-Apim-Subscription-Key": KEY}) as response:
        return Reply(response.status, dict(response.headers), await response.read())


@pytest.fixture
def emu(speech_emulator: Emulator) -> Emulator:
    speech_emulator.scripted.register(AUDIO, TRANSCRIPT)
    return speech_emulator


def assert_bad_request(
    reply: Reply, code: str = "InvalidRequest", inner: str = "InvalidRequestBodyFormat"
) -> dict[str, Any]:
    """A 400 in the service's own error shape, not wrapped in ``error``."""
    assert reply.status == 400, reply.body[:300]
    body = reply.json()
    assert list(body) == ["code", "message", "innerError"]
    assert (body["code"], body["innerError"]["code"]) == (code, inner)
    assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
    assert "CSP-Billing-Usage" not in reply.headers
    return body


def logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What the emulator and aiohttp logged during the test.

    asyncio's debug-mode notes about slow loop steps are left out: they come from the test
    runner's debug mode, and the loop's responsiveness is measured with :class:`LoopWatch`.
    """
    return [
        record
        for record in caplog.get_records("call")
        if not (record.name == "asyncio" and "took" in record.getMessage())
    ]


def assert_one_refusal_line(caplog: pytest.LogCaptureFixture, words: str) -> None:
    records = logged(caplog)
    assert len(records) == 1, [f"{r.name}: {r.getMessage()[:200]}" for r in records[:5]]
    (record,) = records
    assert record.name == "speech_async.emulator"
    assert record.levelno == logging.INFO
    assert words in record.getMessage()
    assert "\n" not in record.getMessage()
    assert (record.exc_info, record.stack_info) == (None, None)


class LoopWatch:
    """Measures the longest time the event loop went without running a 5 ms heartbeat."""

    def __init__(self) -> None:
        self.longest = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _beat(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(0.005)
            now = loop.time()
            self.longest = max(self.longest, now - last)
            last = now

    async def __aenter__(self) -> LoopWatch:
        self._task = asyncio.create_task(self._beat())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def wait_for(predicate: Any, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.002)


# --- item 17: a form of thousands of parts -----------------------------------------------------------


@pytest.mark.parametrize("count", sorted(FLOODS), ids=lambda count: f"{count}-parts")
async def test_thousands_of_parts_get_one_quick_400_and_one_log_line(
    emu: Emulator, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture, count: int
) -> None:
    async with LoopWatch() as watch:
        started = time.monotonic()
        sending = asyncio.create_task(post(session, emu.url, FLOODS[count]))
        # The flood has reached the emulator; another request is served while it is handled.
        await wait_for(lambda: emu.counters["transcribe"] == 1)
        other_started = time.monotonic()
        other = await get_locales(session, emu.url)
        other_seconds = time.monotonic() - other_started
        reply = await sending
        seconds = time.monotonic() - started
    body = assert_bad_request(reply)
    assert body["message"] == f"The multipart body has more than {MAX_PARTS} parts."
    assert other.status == 200
    # Generous bounds for a noisy machine: before the fix 100,000 parts held the loop for 13 s.
    assert other_seconds < 1.0
    assert watch.longest < 0.5
    assert seconds < 2.0
    assert_one_refusal_line(caplog, f"more than {MAX_PARTS} parts")
    (record,) = [r for r in emu.requests if r.route == "transcribe"]
    assert record.status == 400
    assert [p.name for p in record.parts][:3] == ["definition", "audio", "x0"]
    assert len(record.parts) == MAX_PARTS  # the rest was drained, not parsed


async def test_a_refused_flood_does_not_hold_up_other_requests_while_it_uploads(
    emu: Emulator, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    # The upload is held back after its first 20,000 parts (more than aiohttp's parser reads ahead)
    # until another request has been served: the refusal comes while the flood is still uploading,
    # and the other request is served while the emulator is still draining the flood.
    head = definition_part() + audio_part() + extra_parts(0, 19_998)
    rest = extra_parts(19_998, 100_000) + END
    served = asyncio.Event()
    uploaded: list[str] = []

    async def upload() -> AsyncIterator[bytes]:
        yield head
        uploaded.append("head")
        with contextlib.suppress(asyncio.TimeoutError):  # not the builtin before Python 3.11
            await asyncio.wait_for(served.wait(), 10)
        yield rest
        uploaded.append("rest")

    async def exchange() -> tuple[Reply, Reply, float]:
        async with session.post(emu.url + TRANSCRIBE, data=upload(), headers=headers()) as response:
            refusal = Reply(response.status, dict(response.headers), await response.read())
            other_started = time.monotonic()
            other = await post(session, emu.url, definition_part() + audio_part() + END)
            other_seconds = time.monotonic() - other_started
            assert uploaded == ["head"]  # the flood is still uploading
            served.set()
        return refusal, other, other_seconds

    refusal, other, other_seconds = await asyncio.wait_for(exchange(), 10)
    assert_bad_request(refusal)
    assert other.status == 200, other.body
    assert json.loads(other.body)["combinedPhrases"] == [{"text": "Hi."}]
    assert other_seconds < 1.0
    (flood_record,) = [r for r in emu.requests if r.status == 400]
    assert len(flood_record.parts) == MAX_PARTS
    assert flood_record.body_bytes >= len(head)
    assert_one_refusal_line(caplog, f"more than {MAX_PARTS} parts")


async def test_sixteen_parts_are_still_a_form(emu: Emulator, session: aiohttp.ClientSession) -> None:
    body = definition_part() + audio_part() + extra_parts(0, MAX_PARTS - 2) + END
    reply = await post(session, emu.url, body)
    assert reply.status == 200, reply.body
    assert len(emu.requests[-1].parts) == MAX_PARTS
    refused = await post(session, emu.url, definition_part() + audio_part() + extra_parts(0, MAX_PARTS - 1) + END)
    assert_bad_request(refused)


def nested(count: int) -> bytes:
    """A ``multipart/mixed`` part holding ``count`` parts (not part of the protocol)."""
    inner = "inner-boundary-9f"
    parts = b"".join(
        f'--{inner}\r\nContent-Disposition: form-data; name="n{i}"\r\n\r\nv\r\n'.encode() for i in range(count)
    )
    headers = [
        ("Content-Disposition", 'form-data; name="bundle"'),
        ("Content-Type", f"multipart/mixed; boundary={inner}"),
    ]
    return part(headers, parts + f"--{inner}--\r\n".encode())


async def test_nested_parts_count_towards_the_bound(
    emu: Emulator, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    small = await post(session, emu.url, definition_part() + nested(3) + audio_part() + END)
    assert small.status == 200, small.body
    assert [p.name for p in emu.requests[-1].parts] == ["definition", "bundle", "audio"]
    assert logged(caplog) == []
    refused = await post(session, emu.url, definition_part() + nested(5_000) + audio_part() + END)
    assert_bad_request(refused)
    assert_one_refusal_line(caplog, f"more than {MAX_PARTS} parts")


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ([(f"X-Extra-{i}", "1") for i in range(7)], "Too many headers"),
        ([("X-Long", "a" * 9_000)], "Got more than 8190 bytes"),
    ],
    ids=["nine-header-lines", "9000-byte-header-line"],
)
async def test_part_headers_are_bounded(
    emu: Emulator,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    extra: list[tuple[str, str]],
    words: str,
) -> None:
    reply = await post(session, emu.url, definition_part() + audio_part(extra=extra) + END)
    body = assert_bad_request(reply)
    assert words in body["message"]
    assert len(body["message"]) < 400
    assert_one_refusal_line(caplog, words)


async def test_part_headers_within_the_bounds_are_accepted(emu: Emulator, session: aiohttp.ClientSession) -> None:
    # Eight header lines, one of them 4,000 bytes long.
    extra = [*((f"X-Extra-{i}", "1") for i in range(5)), ("X-Long", "a" * 4_000)]
    reply = await post(session, emu.url, definition_part() + audio_part(extra=extra) + END)
    assert reply.status == 200, reply.body
    audio = emu.requests[-1].part("audio")
    assert audio is not None
    assert len(audio.headers) == 8


# --- item 18: deeply nested or oversized definitions -------------------------------------------------


def nested_definition(depth: int) -> bytes:
    """A valid definition whose arrays and objects nest exactly ``depth`` levels."""
    return b'{"locales": ["en-US"], "x": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


@pytest.mark.parametrize(
    "definition",
    [
        b"[" * 100_000,
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
        b'{"locales": ["en-US"], "x": ' + b"[" * 2_000 + b"]" * 2_000 + b"}",
        nested_definition(MAX_DEPTH + 1),
    ],
    ids=["100000-unclosed-brackets", "100000-brackets", "100000-objects", "2000-deep-member", "65-deep"],
)
async def test_deeply_nested_definitions_are_400_not_500(
    emu: Emulator, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture, definition: bytes
) -> None:
    reply = await post(session, emu.url, definition_part(definition) + audio_part() + END)
    body = assert_bad_request(reply)
    assert body["message"] == f"The definition is nested more than {MAX_DEPTH} levels deep."
    assert not [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert emu.requests[-1].definition is None


async def test_a_definition_as_deep_as_the_bound_is_served_and_recorded(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    reply = await post(session, emu.url, definition_part(nested_definition(MAX_DEPTH)) + audio_part() + END)
    assert reply.status == 200, reply.body
    async with session.get(f"{emu.url}/_emulator/requests") as response:
        assert response.status == 200
        (listed,) = await response.json()
    assert listed["definition"]["locales"] == ["en-US"]


def padded(definition: bytes, size: int) -> bytes:
    """``definition`` padded with white space to exactly ``size`` bytes (still the same JSON)."""
    return definition + b" " * (size - len(definition))


async def test_an_oversized_definition_is_400(
    emu: Emulator, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    definition = b'{"locales": ["en-US"]}'
    exact = await post(session, emu.url, definition_part(padded(definition, MAX_DEFINITION_BYTES)) + audio_part() + END)
    assert exact.status == 200, exact.body
    over = await post(
        session, emu.url, definition_part(padded(definition, MAX_DEFINITION_BYTES + 1)) + audio_part() + END
    )
    body = assert_bad_request(over)
    assert body["message"] == f"The definition exceeds the maximum size of {MAX_DEFINITION_BYTES} bytes."
    huge = await post(session, emu.url, definition_part(b"[" * (8 * MAX_DEFINITION_BYTES)) + audio_part() + END)
    assert_bad_request(huge)
    assert not [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(
    "member",
    ["profanityFilterMode", "audioUrl", "task", "targetLanguage"],
)
async def test_a_huge_string_value_is_not_echoed_in_the_error(
    emu: Emulator, session: aiohttp.ClientSession, member: str
) -> None:
    huge = "x" * (MAX_DEFINITION_BYTES - 200)
    definitions: dict[str, dict[str, Any]] = {
        "profanityFilterMode": {"profanityFilterMode": huge},
        "audioUrl": {"audioUrl": huge},
        "task": {"enhancedMode": {"enabled": True, "task": huge}},
        "targetLanguage": {"enhancedMode": {"enabled": True, "task": "translate", "targetLanguage": huge}},
    }
    audio = b"" if member == "audioUrl" else audio_part()
    reply = await post(session, emu.url, definition_part(json.dumps(definitions[member]).encode()) + audio + END)
    inner = "UnsupportedLanguageCode" if member == "targetLanguage" else "InvalidParameterValue"
    body = assert_bad_request(reply, "InvalidArgument", inner)
    assert len(reply.body) < 1_000
    assert "x" * 64 + "..." in body["message"]
