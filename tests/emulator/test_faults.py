"""Fault injection over real loopback HTTP: every knob, the body hashes, the admin API and the CLI.

Requests are sent with raw aiohttp (or raw sockets where the timing of the upload matters) and the
proof is read back from the emulator's records: which fault hit which request, and the SHA-256 of
each attempt's body as received.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import hashlib
import json
import logging
import re
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from speech_async.emulator import (
    ALL_FAULT_KINDS,
    Emulator,
    EmulatorConfig,
    Fault,
    FaultPlan,
    RecordedRequest,
    ScriptedPhrase,
    ScriptedTranscript,
    create_app,
    main,
)

from ..support.audio import wav_header
from ..support.http import Reply, chunks_of, scripted_cli

KEY = "emulator-test-key"
TRANSCRIBE = "/speechtotext/transcriptions:transcribe?api-version=2025-10-15"
LOCALES = "/speechtotext/transcriptions/locales?api-version=2025-10-15"
BOUNDARY = "fault-test-boundary-7d1f"
MULTIPART_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
TRANSCRIPT = ScriptedTranscript(phrases=(ScriptedPhrase(text="Hi.", offset_ms=0, duration_ms=80),))


def wav(data_bytes: int) -> bytes:
    """A silent 16 kHz mono 16-bit WAV with ``data_bytes`` of samples."""
    return wav_header(data_bytes) + bytes(data_bytes)


TINY = wav(8000)  # 0.25 s: the whole request is a little over 8 KiB


def multipart(audio: bytes, definition: bytes = b'{"locales": ["en-US"]}') -> bytes:
    """The exact request body bytes a client sends (Python-SDK part order)."""
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="definition"\r\n'
        "Content-Type: application/json\r\n\r\n".encode()
        + definition
        + f'\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="audio"; filename="audio.wav"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + audio
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


BODY = multipart(TINY)
BODY_SHA = hashlib.sha256(BODY).hexdigest()


def headers(**extra: str) -> dict[str, str]:
    return {"Ocp-Apim-Subscription-Key": KEY, "Content-Type": MULTIPART_TYPE, **extra}


async def post(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes = BODY,
    *,
    chunked: bool = False,
    client_request_id: str | None = None,
) -> Reply:
    data: Any = chunks_of(body, 65536) if chunked else body
    extra = {} if client_request_id is None else {"x-ms-client-request-id": client_request_id}
    async with session.post(url + TRANSCRIBE, data=data, headers=headers(**extra)) as response:
        return Reply(response.status, dict(response.headers), await response.read())


async def get_locales(session: aiohttp.ClientSession, url: str) -> Reply:
    async with session.get(url + LOCALES, headers={"Ocp-Apim-Subscription-Key": KEY}) as response:
        return Reply(response.status, dict(response.headers), await response.read())


@pytest.fixture
def emu(speech_emulator: Emulator) -> Emulator:
    speech_emulator.scripted.register(TINY, TRANSCRIPT)
    return speech_emulator


def assert_exact(record: RecordedRequest, body: bytes = BODY) -> None:
    assert record.body_complete
    assert record.attempt_body_sha256 == hashlib.sha256(body).hexdigest()
    assert record.body_bytes == len(body)


async def eventually(predicate: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for the emulator"
        await asyncio.sleep(0.01)


# --- status faults ---------------------------------------------------------------------------------

GATEWAY_429 = "Rate limit is exceeded. Try again in {} seconds."


@pytest.mark.parametrize(
    ("fault", "body", "retry_after", "retry_after_ms"),
    [
        (Fault(status=429, retry_after=2.2), {"error": {"code": "429", "message": GATEWAY_429.format(3)}}, "3", None),
        (
            Fault(status=429, retry_after_ms=1500),
            {"error": {"code": "429", "message": GATEWAY_429.format(2)}},
            None,
            "1500",
        ),
        (
            Fault(status=429),
            {"error": {"code": "429", "message": "Rate limit is exceeded. Try again later."}},
            None,
            None,
        ),
        (Fault(status=408), {"error": {"code": "Timeout", "message": "The operation was timeout."}}, None, None),
        (Fault(status=500), {"code": "InternalServerError", "message": "An unexpected error occurred."}, None, None),
        (
            Fault(status=502),
            {
                "code": "InternalCommunicationFailed",
                "message": "An internal component could not be reached. Please try again later.",
            },
            None,
            None,
        ),
        (
            Fault(status=503, retry_after=1, retry_after_ms=800),
            {
                "code": "ServiceUnavailable",
                "message": "The service is temporarily unavailable. Please try again later.",
            },
            "1",
            "800",
        ),
        (
            Fault(status=504),
            {
                "error": {
                    "code": "504",
                    "message": "The gateway did not receive a response from the service in time.",
                }
            },
            None,
            None,
        ),
        (Fault(status=418), {"code": "InvalidRequest", "message": "The request is invalid."}, None, None),
    ],
    ids=["429-seconds", "429-ms", "429-bare", "408", "500", "502", "503-both", "504", "other-4xx"],
)
async def test_status_faults_answer_like_the_service(
    emu: Emulator,
    session: aiohttp.ClientSession,
    fault: Fault,
    body: dict[str, Any],
    retry_after: str | None,
    retry_after_ms: str | None,
) -> None:
    emu.faults.add(fault)
    reply = await post(session, emu.url)
    assert reply.status == fault.status
    assert reply.json() == body
    assert reply.headers.get("Retry-After") == retry_after
    assert reply.headers.get("retry-after-ms") == retry_after_ms
    # The service's shape is chunked UTF-8 JSON; the gateway's has a fixed length (as for 401).
    gateway = "error" in body
    assert reply.headers["Content-Type"] == "application/json" + ("" if gateway else "; charset=utf-8")
    assert ("Transfer-Encoding" in reply.headers) is not gateway
    record = emu.requests[-1]
    assert reply.headers["apim-request-id"] == record.request_id
    assert (record.status, record.fault) == (fault.status, f"status-{fault.status}")
    assert_exact(record)
    assert record.parts == ()  # answered without parsing the form
    assert (await post(session, emu.url)).status == 200


async def test_retry_after_as_an_http_date(emu: Emulator, session: aiohttp.ClientSession) -> None:
    emu.faults.add(Fault(status=429, retry_after=3, retry_after_http_date=True))
    before = time.time()
    reply = await post(session, emu.url)
    assert reply.status == 429
    assert "retry-after-ms" not in reply.headers
    assert reply.json()["error"]["message"] == GATEWAY_429.format(3)
    assert reply.headers["Retry-After"].endswith(" GMT")
    when = email.utils.parsedate_to_datetime(reply.headers["Retry-After"]).timestamp()
    assert before + 3 <= when <= time.time() + 4


async def test_count_applies_to_the_next_n_requests_then_normal(emu: Emulator, session: aiohttp.ClientSession) -> None:
    emu.faults.add(Fault(status=503, count=2))
    emu.faults.add(Fault(status=500))
    statuses = [(await post(session, emu.url)).status for _ in range(5)]
    assert statuses == [503, 503, 500, 200, 200]
    assert [r.fault for r in emu.requests] == ["status-503", "status-503", "status-500", None, None]
    assert emu.faults.pending == ()
    assert emu.faults.counts() == {"status-500": 1, "status-503": 2}


async def test_faults_match_their_route_and_star_matches_any(emu: Emulator, session: aiohttp.ClientSession) -> None:
    emu.faults.add(Fault(route="locales", status=503))
    assert (await post(session, emu.url)).status == 200
    assert (await get_locales(session, emu.url)).status == 503
    emu.faults.add(Fault(route="*", status=500, count=2))
    assert (await get_locales(session, emu.url)).status == 500
    assert (await post(session, emu.url)).status == 500
    assert (await get_locales(session, emu.url)).status == 200
    applied = emu.faults.applied
    assert [(a.route, a.kind) for a in applied] == [
        ("locales", "status-503"),
        ("locales", "status-500"),
        ("transcribe", "status-500"),
    ]
    assert [a.request_id for a in applied] == [r.request_id for r in emu.requests if r.fault is not None]
    # A GET without a body still has a (hashed, complete) empty body.
    assert emu.requests[-1].attempt_body_sha256 == hashlib.sha256(b"").hexdigest()


async def test_faults_never_bypass_authentication(emu: Emulator, session: aiohttp.ClientSession) -> None:
    emu.faults.add(Fault(route="*", status=503))
    async with session.post(
        emu.url + TRANSCRIBE, data=BODY, headers=headers(**{"Ocp-Apim-Subscription-Key": "no"})
    ) as response:
        assert response.status == 401
    async with session.get(emu.url + "/nowhere", headers={"Ocp-Apim-Subscription-Key": KEY}) as response:
        assert response.status == 404
    assert emu.faults.pending == ((Fault(route="*", status=503), 1),)
    assert (await post(session, emu.url)).status == 503
    assert [r.fault for r in emu.requests] == [None, None, "status-503"]


# --- the upload: hashes, completeness, read_body_first ----------------------------------------------


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_body_hash_is_of_the_exact_bytes_sent(
    emu: Emulator, session: aiohttp.ClientSession, chunked: bool
) -> None:
    emu.faults.add(Fault(status=500))
    for _ in range(2):
        await post(session, emu.url, chunked=chunked, client_request_id="call-1")
    odd = multipart(TINY, b'{"locales": ["en-US"], "diarization": {"enabled": false}}')
    await post(session, emu.url, odd, chunked=chunked)
    first, second, third = emu.requests
    assert [r.status for r in emu.requests] == [500, 200, 200]
    assert [r.chunked for r in emu.requests] == [chunked] * 3
    assert [r.client_request_id for r in emu.requests] == ["call-1", "call-1", None]
    assert_exact(first)
    assert_exact(second)
    assert_exact(third, odd)
    assert second.part("audio") is not None


async def raw_request(
    url: str, body_head: bytes, content_length: int
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        f"POST {TRANSCRIBE} HTTP/1.1\r\nHost: {host}\r\nOcp-Apim-Subscription-Key: {KEY}\r\n"
        f"Content-Type: {MULTIPART_TYPE}\r\nContent-Length: {content_length}\r\n\r\n".encode()
        + body_head
    )
    await writer.drain()
    return reader, writer


async def read_status(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1])


@contextlib.asynccontextmanager
async def raw_connection(
    url: str, head: bytes, length: int
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    reader, writer = await raw_request(url, head, length)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_read_body_first_answers_only_after_the_whole_upload(emu: Emulator) -> None:
    emu.faults.add(Fault(status=503))
    half = len(BODY) // 2
    async with raw_connection(emu.url, BODY[:half], len(BODY)) as (reader, writer):
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 0.1)
        assert emu.requests == []
        writer.write(BODY[half:])
        assert await read_status(reader) == 503
    assert_exact(emu.requests[-1])


async def test_answer_before_the_upload_then_hash_the_rest(emu: Emulator) -> None:
    emu.faults.add(Fault(status=429, retry_after=1, read_body_first=False))
    half = len(BODY) // 2
    async with raw_connection(emu.url, BODY[:half], len(BODY)) as (reader, writer):
        assert await read_status(reader) == 429
        record = emu.requests[-1]
        assert (record.status, record.fault, record.body_complete, record.attempt_body_sha256) == (
            429,
            "status-429",
            False,
            None,
        )
        writer.write(BODY[half:])
        await writer.drain()
        # The record is replaced once the rest of the upload was read.
        await eventually(lambda: emu.requests[-1].body_complete)
    assert_exact(emu.requests[-1])
    assert emu.requests[-1].request_id == record.request_id


async def test_early_answer_to_a_client_that_hangs_up_stays_incomplete(emu: Emulator) -> None:
    emu.faults.add(Fault(status=503, read_body_first=False))
    async with raw_connection(emu.url, BODY[:1000], len(BODY)) as (reader, _):
        assert await read_status(reader) == 503
    await asyncio.sleep(0.05)
    record = emu.requests[-1]
    assert (record.body_complete, record.attempt_body_sha256) == (False, None)
    assert 0 < record.body_bytes < len(BODY)


async def test_wrong_key_is_hashed_too(emu: Emulator, session: aiohttp.ClientSession) -> None:
    async with session.post(
        emu.url + TRANSCRIBE, data=BODY, headers=headers(**{"Ocp-Apim-Subscription-Key": "no"})
    ) as response:
        assert response.status == 401
    await eventually(lambda: emu.requests[-1].body_complete)
    assert_exact(emu.requests[-1])


# --- slow answers and stalled uploads -------------------------------------------------------------


async def test_delay_headers(emu: Emulator, session: aiohttp.ClientSession) -> None:
    emu.faults.add(Fault(delay_headers=0.3))
    start = time.monotonic()
    async with session.post(emu.url + TRANSCRIBE, data=BODY, headers=headers()) as response:
        assert time.monotonic() - start >= 0.3
        assert response.status == 200
        assert json.loads(await response.read())["combinedPhrases"][0]["text"] == "Hi."
    record = emu.requests[-1]
    assert (record.status, record.fault) == (200, "delay-headers")
    assert_exact(record)


async def test_delay_body(emu: Emulator, session: aiohttp.ClientSession) -> None:
    emu.faults.add(Fault(delay_body=0.3))
    start = time.monotonic()
    async with session.post(emu.url + TRANSCRIBE, data=BODY, headers=headers()) as response:
        headers_after = time.monotonic() - start
        assert response.status == 200
        assert response.headers["Transfer-Encoding"] == "chunked"
        assert "apim-request-id" in response.headers
        assert "CSP-Billing-Usage" in response.headers
        first = await response.content.readany()
        body = first + await response.read()
        body_after = time.monotonic() - start
    assert json.loads(body)["combinedPhrases"][0]["text"] == "Hi."
    assert 0 < len(first) < len(body)
    assert headers_after < 0.3 <= body_after
    assert body_after - headers_after >= 0.25
    assert emu.requests[-1].fault == "delay-body"


async def test_stall_request_stalls_the_client_upload(emu: Emulator, session: aiohttp.ClientSession) -> None:
    # Larger than what the loopback socket buffers absorb, so the client's writes have to wait.
    audio = wav(32 * 1024 * 1024)
    emu.scripted.register(audio, TRANSCRIPT)
    body = multipart(audio)
    emu.faults.add(Fault(stall_request=0.3))
    sent: list[float] = []

    async def upload() -> AsyncIterator[bytes]:
        async for chunk in chunks_of(body, 65536):
            yield chunk
        sent.append(time.monotonic())

    start = time.monotonic()
    async with session.post(emu.url + TRANSCRIBE, data=upload(), headers=headers()) as response:
        assert response.status == 200
        await response.read()
    assert sent[0] - start >= 0.3
    record = emu.requests[-1]
    assert (record.fault, record.chunked) == ("stall-request", True)
    assert_exact(record, body)


# --- dropped connections and undecodable answers ----------------------------------------------------


async def test_drop_after_request_bytes(emu: Emulator, session: aiohttp.ClientSession) -> None:
    body = multipart(wav(1024 * 1024))
    emu.faults.add(Fault(drop_after_request_bytes=4096))
    with pytest.raises(aiohttp.ClientConnectionError):
        await post(session, emu.url, body, chunked=True)
    record = emu.requests[-1]
    assert (record.status, record.fault) == (0, "drop-after-request-bytes")
    assert 4096 <= record.body_bytes <= len(body)
    assert (record.body_complete, record.attempt_body_sha256) == (False, None)
    # The connection pool recovers: the next request is answered normally.
    assert (await post(session, emu.url)).status == 200


async def test_drop_after_more_bytes_than_the_body_still_drops(emu: Emulator, session: aiohttp.ClientSession) -> None:
    emu.faults.add(Fault(drop_after_request_bytes=len(BODY) + 1))
    with pytest.raises(aiohttp.ClientConnectionError):
        await post(session, emu.url)
    record = emu.requests[-1]
    assert record.status == 0
    assert_exact(record)  # the whole body was read before the connection was dropped


async def test_drop_mid_response(emu: Emulator, session: aiohttp.ClientSession) -> None:
    emu.faults.add(Fault(drop_mid_response=True))
    async with session.post(emu.url + TRANSCRIBE, data=BODY, headers=headers()) as response:
        assert response.status == 200
        with pytest.raises((aiohttp.ClientPayloadError, aiohttp.ClientConnectionError)):
            await response.read()
    record = emu.requests[-1]
    assert (record.status, record.fault) == (200, "drop-mid-response")
    assert_exact(record)
    assert (await post(session, emu.url)).status == 200


@pytest.mark.parametrize("kind", ["malformed_json", "truncated_json"])
async def test_undecodable_200(emu: Emulator, session: aiohttp.ClientSession, kind: str) -> None:
    flag: dict[str, Any] = {kind: True}
    emu.faults.add(Fault(**flag))
    emu.faults.add(Fault(route="locales", **flag))
    replies = [await post(session, emu.url), await get_locales(session, emu.url)]
    for reply in replies:
        assert reply.status == 200
        assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
        with pytest.raises(ValueError):  # noqa: PT011 - json.JSONDecodeError or UnicodeDecodeError
            json.loads(reply.body)
    if kind == "truncated_json":
        whole = await post(session, emu.url)
        assert whole.body.startswith(replies[0].body)
        assert len(replies[0].body) == len(whole.body) // 2
    assert [r.fault for r in emu.requests[:2]] == [kind.replace("_", "-")] * 2
    assert_exact(emu.requests[0])


async def test_every_catalogue_fault_is_handled_cleanly(
    emu: Emulator, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    for fault in ALL_FAULT_KINDS:
        emu.faults.add(fault)
    results = await asyncio.gather(*(post(session, emu.url) for _ in ALL_FAULT_KINDS), return_exceptions=True)
    assert all(isinstance(r, (Reply, aiohttp.ClientError)) for r in results), results
    kinds = sorted(str(r.fault) for r in emu.requests)
    assert kinds == sorted(f.kind for f in ALL_FAULT_KINDS)
    for record in emu.requests:
        if record.fault == "drop-after-request-bytes":
            assert not record.body_complete
        else:
            assert_exact(record)
    assert emu.faults.pending == ()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# --- random faults ---------------------------------------------------------------------------------

QUICK = (Fault(status=500), Fault(status=503, retry_after=1), Fault(malformed_json=True))


async def test_random_faults_are_deterministic_per_seed(emu: Emulator, session: aiohttp.ClientSession) -> None:
    runs: list[list[str | None]] = []
    for _ in range(2):
        emu.faults.random(rate=0.5, faults=QUICK, seed=7)
        for _ in range(25):
            await post(session, emu.url)
        runs.append([r.fault for r in emu.requests])
        emu.clear_requests()
    assert runs[0] == runs[1]
    assert 5 <= sum(1 for kind in runs[0] if kind) <= 20
    assert {kind for kind in runs[0] if kind} <= {"status-500", "status-503", "malformed-json"}
    # The same draws, without HTTP: one take() per request, in arrival order; another seed differs.
    for seed, same in ((7, True), (8, False)):
        plan = FaultPlan()
        plan.random(rate=0.5, faults=QUICK, seed=seed)
        drawn = [plan.take("transcribe", request_id=str(n)) for n in range(25)]
        assert ([None if f is None else f.kind for f in drawn] == runs[0]) is same
    emu.faults.random(rate=0, faults=())
    assert emu.faults.random_mode is None
    await post(session, emu.url)
    assert emu.requests[-1].fault is None


async def test_random_faults_respect_the_rate_and_queued_faults_come_first(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    emu.faults.random(rate=0.3, faults=QUICK, seed=2024)
    emu.faults.add(Fault(status=408, count=3))
    await asyncio.gather(*(post(session, emu.url) for _ in range(200)))
    faults = [r.fault for r in emu.requests]
    assert len(faults) == 200
    assert faults.count("status-408") == 3
    assert 40 <= sum(1 for f in faults if f in {"status-500", "status-503", "malformed-json"}) <= 80
    assert all(r.body_complete and r.attempt_body_sha256 == BODY_SHA for r in emu.requests)
    # Only the transcribe route is targeted.
    assert (await get_locales(session, emu.url)).status == 200
    emu.faults.clear()
    assert emu.faults.random_mode is None
    assert len(emu.faults.applied) == sum(1 for f in faults if f)


# --- admin API, create_app, validation -------------------------------------------------------------


async def test_admin_api(emu: Emulator, session: aiohttp.ClientSession) -> None:
    admin = emu.url + "/_emulator/faults"
    async with session.post(admin, json={"status": 429, "retry_after": 2, "count": 2}) as response:
        assert response.status == 204
    assert emu.faults.pending == ((Fault(status=429, retry_after=2.0, count=2), 2),)
    assert (await post(session, emu.url, client_request_id="abc")).headers["Retry-After"] == "2"
    async with session.delete(admin) as response:
        assert response.status == 204
    assert emu.faults.pending == ()
    async with session.post(admin + "/random", json={"rate": 1.0, "seed": 3, "route": "locales"}) as response:
        assert response.status == 204
    mode = emu.faults.random_mode
    assert mode is not None
    assert (mode.rate, mode.seed, mode.route, mode.faults) == (1.0, 3, "locales", ALL_FAULT_KINDS)
    async with session.post(admin + "/random", json={"rate": 0.5, "faults": [{"status": 500}]}) as response:
        assert response.status == 204
    assert emu.faults.random_mode is not None
    assert emu.faults.random_mode.faults == (Fault(status=500),)
    async with session.get(admin + "/applied") as response:
        applied = await response.json()
    assert applied["counts"] == {"status-429": 1}
    (entry,) = applied["applied"]
    assert entry["request_id"] == emu.requests[0].request_id
    assert (entry["client_request_id"], entry["route"], entry["kind"]) == ("abc", "transcribe", "status-429")
    assert entry["fault"]["retry_after"] == 2.0
    async with session.get(emu.url + "/_emulator/requests") as response:
        (listed,) = await response.json()
    assert listed["fault"] == "status-429"
    assert listed["client_request_id"] == "abc"
    assert listed["attempt_body_sha256"] == BODY_SHA
    assert listed["body_complete"] is True
    async with session.delete(admin + "/applied") as response:
        assert response.status == 204
    assert emu.faults.applied == ()


@pytest.mark.parametrize(
    ("path", "payload", "message"),
    [
        ("", {"status": 429, "delay_body": 1}, "exactly one misbehaviour"),
        ("", {}, "got none"),
        ("", {"status": 200}, "400-599"),
        ("", {"stauts": 429}, "unknown Fault fields: stauts"),
        ("", {"status": "429"}, "Expected `int | null`, got `str`"),
        ("", [1], "JSON object"),
        ("/random", {"rate": 2}, "between 0 and 1"),
        ("/random", {"seed": 1}, "rate"),
        ("/random", {"rate": 0.1, "route": "nope"}, "unknown route 'nope'"),
        ("/random", {"rate": 0.1, "faults": [{"count": 0, "status": 500}]}, "count"),
    ],
    ids=[
        "two-kinds",
        "no-kind",
        "status-200",
        "typo",
        "wrong-type",
        "not-object",
        "rate",
        "no-rate",
        "route",
        "bad-fault",
    ],
)
async def test_admin_api_rejects_bad_faults(
    emu: Emulator, session: aiohttp.ClientSession, path: str, payload: object, message: str
) -> None:
    async with session.post(emu.url + "/_emulator/faults" + path, json=payload) as response:
        assert response.status == 400
        text = (await response.json())["message"]
    assert "speech_async emulator admin API" in text
    assert message in text
    assert emu.faults.pending == ()
    assert emu.faults.random_mode is None


async def test_create_app_takes_a_fault_plan(session: aiohttp.ClientSession) -> None:
    plan = FaultPlan()
    plan.add(Fault(route="locales", status=503))
    runner = web.AppRunner(create_app(EmulatorConfig(key=KEY, recognizer="scripted"), faults=plan))
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        reply = await get_locales(session, f"http://127.0.0.1:{runner.addresses[0][1]}")
    finally:
        await runner.cleanup()
    assert reply.status == 503
    assert [a.kind for a in plan.applied] == ["status-503"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one misbehaviour"),
        ({"status": 500, "malformed_json": True}, "exactly one misbehaviour"),
        ({"status": 500, "count": 0}, "count must be at least 1"),
        ({"status": 302}, "400-599"),
        ({"status": 429, "route": "nope"}, "unknown route"),
        ({"delay_headers": 1, "retry_after": 1}, "only go with status"),
        ({"delay_headers": 1, "read_body_first": False}, "read_body_first only goes with status"),
        ({"status": 429, "retry_after_http_date": True}, "needs retry_after"),
        ({"status": 429, "retry_after": -1}, "retry_after must be"),
        ({"status": 429, "retry_after_ms": -1}, "retry_after_ms must be"),
        ({"delay_body": float("nan")}, "exactly one misbehaviour"),
        ({"status": 500, "delay_body": -1}, "delay_body must be"),
        ({"drop_after_request_bytes": -1}, "drop_after_request_bytes must be"),
    ],
    ids=[
        "nothing",
        "two",
        "count",
        "status-range",
        "route",
        "retry-without-status",
        "read-first-without-status",
        "date-without-seconds",
        "negative-retry",
        "negative-ms",
        "nan-delay",
        "negative-delay",
        "negative-drop",
    ],
)
def test_fault_validation(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Fault(**kwargs)


def test_random_validation() -> None:
    plan = FaultPlan()
    with pytest.raises(ValueError, match="between 0 and 1"):
        plan.random(rate=1.5, faults=QUICK)
    with pytest.raises(ValueError, match="at least one Fault"):
        plan.random(rate=0.5, faults=())
    with pytest.raises(ValueError, match="unknown route"):
        plan.random(rate=0.5, faults=QUICK, route="batch")
    assert plan.random_mode is None


def test_catalogue_covers_every_kind() -> None:
    kinds = {fault.kind.split("-")[0] if fault.status is None else "status" for fault in ALL_FAULT_KINDS}
    assert kinds == {"status", "delay", "stall", "drop", "malformed", "truncated"}
    statuses = [f.status for f in ALL_FAULT_KINDS if f.status is not None]
    assert sorted(set(statuses)) == [408, 429, 500, 502, 503, 504]
    forms = {
        (f.retry_after is not None, f.retry_after_ms is not None, f.retry_after_http_date)
        for f in ALL_FAULT_KINDS
        if f.status == 429
    }
    assert forms == {(True, False, False), (False, True, False), (True, False, True), (False, False, False)}


# --- the command line -----------------------------------------------------------------------------


def fetch(url: str, *, key: str | None = KEY) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Ocp-Apim-Subscription-Key": key} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


def test_cli_queues_faults() -> None:
    first = '{"route": "locales", "status": 503, "retry_after": 2}'
    second = '{"route": "locales", "count": 2, "malformed_json": true}'
    with scripted_cli("--fault", first, "--fault", second) as (process, url):
        status, response_headers, _ = fetch(url + LOCALES)
        assert (status, response_headers["Retry-After"]) == (503, "2")
        for _ in range(2):
            status, _, body = fetch(url + LOCALES)
            assert status == 200
            with pytest.raises(ValueError):  # noqa: PT011
                json.loads(body)
        assert json.loads(fetch(url + LOCALES)[2])["Transcribe"]
        applied = json.loads(fetch(url + "/_emulator/faults/applied", key=None)[2])
        assert applied["counts"] == {"malformed-json": 2, "status-503": 1}
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert stderr == ""


def test_cli_random_faults_replay_with_their_seed() -> None:
    with scripted_cli("--fault-rate", "1", "--fault-seed", "11", "--fault-route", "locales") as (process, url):
        assert process.stderr is not None
        assert process.stderr.readline() == "speech-async emulator: random faults on route 'locales': rate 1, seed 11\n"
        for _ in range(8):
            with contextlib.suppress(OSError, ValueError):  # dropped connections, broken bodies
                fetch(url + LOCALES)
        recorded = json.loads(fetch(url + "/_emulator/requests", key=None)[2])
    plan = FaultPlan()
    plan.random(rate=1, faults=ALL_FAULT_KINDS, seed=11, route="locales")
    expected = [plan.take("locales", request_id=str(n)) for n in range(8)]
    assert [r["fault"] for r in recorded] == [f.kind for f in expected if f is not None]


def test_cli_rejects_bad_faults(capsys: pytest.CaptureFixture[str]) -> None:
    for argv, message in [
        (["--fault", '{"status": 429, "malformed_json": true}'], "exactly one misbehaviour"),
        (["--fault", "{"], "not valid JSON"),
        (["--fault-rate", "1.5"], "must be between 0 and 1"),
        (["--fault-seed", "3"], "--fault-seed needs --fault-rate"),
    ]:
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 2
        assert message in capsys.readouterr().err
