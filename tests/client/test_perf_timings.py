"""The final attempt's upload, service and download times on every result (``result.response``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from speech_async import KeyCredential, ResponseInfo, RetryPolicy, SpeechClient, Timeouts
from speech_async.emulator import Emulator, Fault

pytestmark = pytest.mark.anyio

DELAY = 0.4
FAST_RETRY = RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_max=0.02)


@pytest.fixture
async def retrying(emulator: Emulator, speech_emulator_key: str) -> AsyncIterator[SpeechClient]:
    async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key), retry=FAST_RETRY) as client:
        yield client


def timings(info: ResponseInfo | None) -> tuple[float, float, float]:
    assert info is not None
    upload, service, download = info.upload_seconds, info.service_seconds, info.download_seconds
    assert upload is not None
    assert service is not None
    assert download is not None
    assert min(upload, service, download) >= 0
    assert upload + service + download <= info.elapsed + 1e-6
    return upload, service, download


async def test_a_slow_answer_is_service_time_not_upload_time(
    client: SpeechClient, emulator: Emulator, hello_wav: Path
) -> None:
    emulator.faults.add(Fault(route="transcribe", delay_headers=DELAY))

    result = await client.transcribe(hello_wav)

    upload, service, _ = timings(result.response)
    assert service >= DELAY * 0.9
    assert upload < DELAY * 0.5


async def test_a_fast_answer_has_no_slow_phase(client: SpeechClient, hello_bytes: bytes) -> None:
    result = await client.transcribe(hello_bytes)

    upload, service, download = timings(result.response)
    assert max(upload, service, download) < DELAY


async def test_timings_are_the_final_attempts_after_a_retry(
    retrying: SpeechClient, emulator: Emulator, hello_bytes: bytes
) -> None:
    emulator.faults.add(Fault(route="transcribe", status=503))
    emulator.faults.add(Fault(route="transcribe", delay_headers=DELAY))

    result = await retrying.transcribe(hello_bytes)

    assert result.response is not None
    assert result.response.attempts == 2
    upload, service, _ = timings(result.response)
    assert service >= DELAY * 0.9
    assert upload < DELAY * 0.5


async def test_a_slow_first_attempt_does_not_count_in_the_final_ones(
    retrying: SpeechClient, emulator: Emulator, hello_bytes: bytes
) -> None:
    # The first attempt times out waiting for its headers; the second is answered at once.
    emulator.faults.add(Fault(route="transcribe", delay_headers=DELAY * 3))

    result = await retrying.transcribe(hello_bytes, timeout=Timeouts(response=DELAY))

    assert result.response is not None
    assert result.response.attempts == 2
    assert result.response.elapsed >= DELAY
    _, service, _ = timings(result.response)
    assert service < DELAY


async def test_short_audio_results_carry_the_timings_too(
    client: SpeechClient, emulator: Emulator, hello_bytes: bytes
) -> None:
    emulator.faults.add(Fault(route="short_audio", delay_headers=DELAY))

    result = await client.recognize(hello_bytes, language="en-US")

    upload, service, _ = timings(result.response)
    assert service >= DELAY * 0.9
    assert upload < DELAY * 0.5


def test_the_timings_default_to_unknown() -> None:
    info = ResponseInfo(
        status_code=200,
        reason="OK",
        headers={},
        body=b"{}",
        request_id=None,
        client_request_id=None,
        attempts=1,
        elapsed=0.0,
    )
    assert (info.upload_seconds, info.service_seconds, info.download_seconds) == (None, None, None)
