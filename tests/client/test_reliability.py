"""Retries that never truncate or duplicate, timeouts, cancellation: the client against a misbehaving emulator.

Every retry test checks the emulator's own record of what arrived: all complete attempts of one call
carry the same bytes, and the audio in them is the caller's audio, byte for byte.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiofiles
import anyio
import pytest
from aiohttp import web

from speech_async import (
    AudioNotReplayableError,
    AuthenticationError,
    BadRequestError,
    InvalidOptionsError,
    KeyCredential,
    PayloadTooLargeError,
    RateLimitError,
    ResponseDecodeError,
    RetryPolicy,
    ServiceError,
    SpeechClient,
    SpeechConnectionError,
    SpeechStatusError,
    SpeechTimeoutError,
    Timeouts,
    TranscriptionOptions,
)
from speech_async.emulator import Emulator, Fault, RecordedRequest, ScriptedPhrase, ScriptedTranscript

from ..support.audio import make_wav

FAST = RetryPolicy(max_attempts=4, backoff_base=0.01, backoff_max=0.05)


@pytest.fixture
async def retrying(emulator: Emulator, speech_emulator_key: str) -> AsyncIterator[SpeechClient]:
    async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key), retry=FAST) as client:
        yield client


def attempts(emulator: Emulator) -> list[RecordedRequest]:
    calls = {r.client_request_id for r in emulator.requests}
    assert len(calls) == 1, "one logical call, one client request id on every attempt"
    assert None not in calls
    return list(emulator.requests)


def assert_byte_exact(records: list[RecordedRequest], audio: bytes) -> None:
    complete = [r for r in records if r.body_complete]
    assert complete, "at least one attempt arrived whole"
    assert len({r.attempt_body_sha256 for r in complete}) == 1, "every complete attempt sent the same bytes"
    expected = hashlib.sha256(audio).hexdigest()
    for record in records:
        audio_parts = [p for p in record.parts if p.name == "audio"]
        for part in audio_parts:
            if record.body_complete:
                assert part.sha256 == expected


def assert_hello(result: Any) -> None:
    assert result.text == "Hello, and thank you for calling. How can I help you today?"


# --- each transient failure is retried, byte-exact ---------------------------------------------------

TRANSIENT = {
    "408": Fault(status=408),
    "429": Fault(status=429),
    "429-retry-after-ms": Fault(status=429, retry_after_ms=50),
    "500": Fault(status=500),
    "502": Fault(status=502),
    "503": Fault(status=503),
    "504": Fault(status=504),
    "503-before-reading-the-body": Fault(status=503, read_body_first=False),
    "drop-after-request-bytes": Fault(drop_after_request_bytes=50_000),
    "drop-mid-response": Fault(drop_mid_response=True),
    "malformed-json": Fault(malformed_json=True),
    "truncated-json": Fault(truncated_json=True),
}


@pytest.mark.parametrize("fault", TRANSIENT)
async def test_transient_failures_are_retried_with_the_same_bytes(
    retrying: SpeechClient, emulator: Emulator, hello_bytes: bytes, fault: str
) -> None:
    emulator.faults.add(TRANSIENT[fault])

    assert_hello(await retrying.transcribe(hello_bytes))

    records = attempts(emulator)
    assert len(records) == 2
    assert records[0].fault is not None
    assert records[1].fault is None
    assert records[1].status == 200
    assert_byte_exact(records, hello_bytes)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 415, 422, 501])
async def test_other_statuses_are_never_retried(retrying: SpeechClient, emulator: Emulator, status: int) -> None:
    emulator.faults.add(Fault(status=status, count=3))
    with pytest.raises(SpeechStatusError) as caught:
        await retrying.transcribe(make_wav())
    assert caught.value.status_code == status
    assert caught.value.attempts == 1
    assert len(emulator.requests) == 1


async def test_retries_give_up_after_max_attempts(
    retrying: SpeechClient, emulator: Emulator, hello_bytes: bytes
) -> None:
    emulator.faults.add(Fault(status=503, count=10))
    with pytest.raises(ServiceError) as caught:
        await retrying.transcribe(hello_bytes)
    assert caught.value.attempts == 4
    assert_byte_exact(attempts(emulator), hello_bytes)
    assert len(emulator.requests) == 4


async def test_retry_after_is_obeyed(retrying: SpeechClient, emulator: Emulator, hello_bytes: bytes) -> None:
    emulator.faults.add(Fault(status=429, retry_after=1))
    started = time.monotonic()
    assert_hello(await retrying.transcribe(hello_bytes))
    assert time.monotonic() - started >= 0.95


async def test_retry_after_as_http_date_is_obeyed(
    retrying: SpeechClient, emulator: Emulator, hello_bytes: bytes
) -> None:
    emulator.faults.add(Fault(status=503, retry_after=2, retry_after_http_date=True))
    started = time.monotonic()
    assert_hello(await retrying.transcribe(hello_bytes))
    # An HTTP date has whole-second precision: the wait is between one and two seconds.
    assert time.monotonic() - started >= 0.9


async def test_a_delay_longer_than_the_budget_ends_the_retries(
    emulator: Emulator, speech_emulator_key: str, hello_bytes: bytes
) -> None:
    emulator.faults.add(Fault(status=429, retry_after=30))
    policy = RetryPolicy(max_attempts=5, budget=5)
    async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key), retry=policy) as client:
        started = time.monotonic()
        with pytest.raises(RateLimitError) as caught:
            await client.transcribe(hello_bytes)
    assert time.monotonic() - started < 2
    assert caught.value.retry_after == 30
    assert caught.value.attempts == 1


async def test_per_call_retry_policy_overrides_the_client(
    retrying: SpeechClient, emulator: Emulator, hello_bytes: bytes
) -> None:
    emulator.faults.add(Fault(status=503))
    with pytest.raises(ServiceError):
        await retrying.transcribe(hello_bytes, retry=RetryPolicy(max_attempts=1))
    assert len(emulator.requests) == 1


async def test_decode_errors_are_not_retried_when_turned_off(
    emulator: Emulator, speech_emulator_key: str, hello_bytes: bytes
) -> None:
    emulator.faults.add(Fault(malformed_json=True))
    policy = RetryPolicy(retry_decode_errors=False)
    async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key), retry=policy) as client:
        with pytest.raises(ResponseDecodeError) as caught:
            await client.transcribe(hello_bytes)
    assert caught.value.body, "the raw body is kept"


async def test_retries_are_logged_without_warnings(
    retrying: SpeechClient, emulator: Emulator, hello_bytes: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.faults.add(Fault(status=503))
    await retrying.transcribe(hello_bytes)
    retries = [r for r in caplog.records if "retrying in" in r.getMessage()]
    assert len(retries) == 1
    assert retries[0].levelno == logging.INFO
    assert "503 ServiceUnavailable" in retries[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# --- every replayable source resends the same bytes ----------------------------------------------------


@pytest.fixture
def sources(hello_wav: Path, hello_bytes: bytes) -> dict[str, Callable[[], Any]]:
    def spooled() -> AsyncIterator[bytes]:
        async def gen() -> AsyncIterator[bytes]:
            for start in range(0, len(hello_bytes), 10_000):
                yield hello_bytes[start : start + 10_000]

        return gen()

    return {
        "path": lambda: hello_wav,
        "bytes": lambda: hello_bytes,
        "memoryview": lambda: memoryview(hello_bytes),
        "bytesio": lambda: io.BytesIO(hello_bytes),
        "sync-file": lambda: io.BufferedReader(io.BytesIO(hello_bytes)),  # type: ignore[arg-type]
        "spooled-stream": spooled,
    }


@pytest.mark.parametrize("kind", ["path", "bytes", "memoryview", "bytesio", "sync-file", "spooled-stream"])
async def test_every_replayable_source_is_resent_byte_exact_after_a_cut_upload(
    retrying: SpeechClient,
    emulator: Emulator,
    hello_bytes: bytes,
    sources: dict[str, Callable[[], Any]],
    kind: str,
) -> None:
    emulator.faults.add(Fault(drop_after_request_bytes=60_000))

    result = await retrying.transcribe(sources[kind](), spool=kind == "spooled-stream", filename="hello.wav")

    assert_hello(result)
    records = attempts(emulator)
    assert [r.body_complete for r in records] == [False, True]
    assert records[0].body_bytes >= 60_000
    assert_byte_exact(records, hello_bytes)
    assert not records[1].chunked, "a spooled stream is sent with a Content-Length"


async def test_aiofiles_source_is_resent_byte_exact(
    retrying: SpeechClient, emulator: Emulator, hello_wav: Path, hello_bytes: bytes
) -> None:
    emulator.faults.add(Fault(drop_after_request_bytes=60_000))
    async with aiofiles.open(hello_wav, "rb") as file:
        assert_hello(await retrying.transcribe(file))
    assert_byte_exact(attempts(emulator), hello_bytes)


async def test_a_partly_sent_one_shot_stream_is_never_resent(
    retrying: SpeechClient, emulator: Emulator, hello_bytes: bytes
) -> None:
    async def stream() -> AsyncIterator[bytes]:
        for start in range(0, len(hello_bytes), 10_000):
            yield hello_bytes[start : start + 10_000]

    emulator.faults.add(Fault(drop_after_request_bytes=60_000))
    with pytest.raises(AudioNotReplayableError, match="one-shot stream") as caught:
        await retrying.transcribe(stream())
    assert isinstance(caught.value.__cause__, SpeechConnectionError)
    assert len(emulator.requests) == 1, "no truncated or empty resend"


async def test_a_one_shot_stream_of_one_chunk_is_resent_whole(
    retrying: SpeechClient, emulator: Emulator, hello_bytes: bytes
) -> None:
    async def stream() -> AsyncIterator[bytes]:
        yield hello_bytes

    emulator.faults.add(Fault(status=503))
    assert_hello(await retrying.transcribe(stream()))
    records = attempts(emulator)
    assert len(records) == 2
    assert all(r.chunked for r in records)
    assert_byte_exact(records, hello_bytes)


# --- the shared cooldown after a 429 ---------------------------------------------------------------------


async def test_a_429_holds_back_every_request_of_the_client() -> None:
    arrivals: list[float] = []
    throttled = asyncio.Event()

    async def handler(request: web.Request) -> web.Response:
        await request.read()
        arrivals.append(time.monotonic())
        if len(arrivals) == 1:
            throttled.set()
            return web.json_response(
                {"error": {"code": "429", "message": "slow down"}}, status=429, headers={"Retry-After": "1"}
            )
        return web.json_response({"durationMilliseconds": 100, "combinedPhrases": [], "phrases": []})

    app = web.Application()
    app.router.add_post("/speechtotext/transcriptions:transcribe", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        async with SpeechClient(url, KeyCredential("k"), retry=FAST) as client:
            first = asyncio.create_task(client.transcribe(make_wav()))
            await throttled.wait()
            await asyncio.sleep(0.05)  # the client has read the 429 by now
            await asyncio.gather(*(client.transcribe(make_wav()) for _ in range(10)), first)
    finally:
        await runner.cleanup()

    throttled_at = arrivals[0]
    assert len(arrivals) == 12, "one 429, then every request once: no stampede of retries"
    assert min(arrivals[1:]) - throttled_at >= 0.95, "nobody started before the cooldown ended"


# --- timeouts --------------------------------------------------------------------------------------------


async def test_a_stalled_upload_times_out_and_is_retried(emulator: Emulator, speech_emulator_key: str) -> None:
    audio = make_wav(seconds=600, fill=1)  # about 19 MiB: more than the loopback socket buffers hold
    emulator.scripted.register(audio, _one("long"))
    emulator.faults.add(Fault(stall_request=1.5))
    timeouts = Timeouts(upload_stall=0.5)
    async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key), timeout=timeouts, retry=FAST) as client:
        with pytest.raises(SpeechTimeoutError, match=r"made no progress for 0\.5 s"):
            await client.transcribe(audio, retry=RetryPolicy(max_attempts=1))
        emulator.faults.add(Fault(stall_request=1.5))
        assert (await client.transcribe(audio)).text == "long"


async def test_a_slow_answer_times_out_and_is_retried(
    emulator: Emulator, speech_emulator_key: str, hello_bytes: bytes
) -> None:
    emulator.faults.add(Fault(delay_headers=1.0))
    timeouts = Timeouts(response=0.3)
    async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key), timeout=timeouts, retry=FAST) as client:
        assert_hello(await client.transcribe(hello_bytes))
    records = attempts(emulator)
    assert len(records) == 2
    assert_byte_exact(records, hello_bytes)


async def test_the_total_deadline_covers_every_attempt(
    retrying: SpeechClient, emulator: Emulator, hello_bytes: bytes
) -> None:
    emulator.faults.add(Fault(status=503, retry_after=1, count=10))
    started = time.monotonic()
    with pytest.raises(SpeechTimeoutError, match=r"total timeout of 1\.5 s"):
        await retrying.transcribe(hello_bytes, timeout=Timeouts(total=1.5))
    assert time.monotonic() - started < 2.5


async def test_a_connect_timeout_is_a_typed_timeout() -> None:
    import socket

    # A listener that never accepts, with its queue full: new connections hang in the handshake.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    fillers: list[socket.socket] = []
    try:
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        timeouts = Timeouts(connect=0.3)
        async with SpeechClient(
            f"http://127.0.0.1:{port}", KeyCredential("k"), timeout=timeouts, retry=RetryPolicy(max_attempts=1)
        ) as client:
            with pytest.raises(SpeechTimeoutError):
                await client.transcribe(make_wav())
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


# --- cancellation leaves nothing behind (the no_leaks gate checks descriptors and tasks) ------------------


async def test_cancelling_mid_upload_closes_the_file_and_the_connection(
    emulator: Emulator, speech_emulator_key: str, tmp_path: Path
) -> None:
    path = tmp_path / "long.wav"
    await anyio.Path(path).write_bytes(make_wav(seconds=600, fill=2))
    emulator.faults.add(Fault(stall_request=1.5))
    async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key)) as client:
        task = asyncio.create_task(client.transcribe(path))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_cancelling_during_a_backoff_leaves_nothing_behind(
    retrying: SpeechClient, emulator: Emulator, hello_wav: Path
) -> None:
    emulator.faults.add(Fault(status=429, retry_after=5))
    task = asyncio.create_task(retrying.transcribe(hello_wav))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(emulator.requests) == 1


# --- plain http ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["10.0.0.7", "speech.internal.example", "192.168.1.20:8080"])
def test_plain_http_to_another_machine_needs_an_opt_in(host: str) -> None:
    with pytest.raises(InvalidOptionsError, match="clear text"):
        SpeechClient(f"http://{host}", KeyCredential("k"))
    assert SpeechClient(f"http://{host}", KeyCredential("k"), allow_insecure_http=True).endpoint.startswith("http://")


@pytest.mark.parametrize("host", ["127.0.0.1:5000", "localhost:5000", "[::1]:5000", "127.8.9.10"])
def test_plain_http_to_this_machine_is_allowed(host: str) -> None:
    assert SpeechClient(f"http://{host}", KeyCredential("k")).endpoint == f"http://{host}"


# --- errors that must never be retried still come back typed -------------------------------------------------


async def test_a_wrong_key_is_not_retried(emulator: Emulator, hello_bytes: bytes) -> None:
    async with SpeechClient(emulator.url, KeyCredential("wrong"), retry=FAST) as client:
        with pytest.raises(AuthenticationError):
            await client.transcribe(hello_bytes)
    assert len(emulator.requests) == 1


async def test_service_side_validation_is_not_retried(retrying: SpeechClient, emulator: Emulator) -> None:
    with pytest.raises(BadRequestError):
        await retrying.transcribe(make_wav(), options=TranscriptionOptions(locales=["xx-XX"]))
    assert len(emulator.requests) == 1


async def test_payload_too_large_from_the_service_is_not_retried(
    emulator: Emulator, speech_emulator_key: str, hello_bytes: bytes
) -> None:
    emulator.faults.add(Fault(status=413))
    async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key), retry=FAST) as client:
        with pytest.raises(PayloadTooLargeError):
            await client.transcribe(hello_bytes)
    assert len(emulator.requests) == 1


def _one(text: str) -> ScriptedTranscript:
    return ScriptedTranscript(phrases=(ScriptedPhrase(text=text, offset_ms=0, duration_ms=400),))
