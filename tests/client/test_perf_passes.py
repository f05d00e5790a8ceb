"""A pass over a path reads it in as few thread hops as it can, and still sees a file that changed size.

Each pass asks for one byte more than it still expects, so the read that reaches the declared size also
tells whether the file ended there. These tests change the file between the first attempt and the retry.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from speech_async import AudioSourceError, KeyCredential, RetryPolicy, SpeechClient
from speech_async.emulator import Emulator, Fault, make_wav
from tests.support.samples import HELLO_TRANSCRIPT

pytestmark = pytest.mark.anyio


@pytest.fixture
async def retrying(emulator: Emulator, speech_emulator_key: str) -> AsyncIterator[SpeechClient]:
    async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key), retry=RetryPolicy(max_attempts=2)) as c:
        yield c


@pytest.fixture(params=[3.0, 10.0], ids=["one-chunk", "two-chunks"])
def wav(request: pytest.FixtureRequest, tmp_path: Path, emulator: Emulator) -> Path:
    path = tmp_path / "audio.wav"
    audio = make_wav(request.param)
    path.write_bytes(audio)
    emulator.scripted.register(audio, HELLO_TRANSCRIPT)
    return path


async def _after_the_first_attempt(emulator: Emulator, change: anyio.Path, grow: bool) -> None:
    for _ in range(1000):  # the first attempt is recorded within 10 s
        if emulator.requests:
            break
        await asyncio.sleep(0.01)
    # The 503 asked for a 1 s wait: the retry opens the file after this.
    if grow:
        async with await change.open("ab") as file:
            await file.write(b"\x00\x00")
    else:
        data = await change.read_bytes()
        await change.write_bytes(data[:-2])


@pytest.mark.parametrize("grow", [True, False], ids=["grew", "shrank"])
async def test_a_file_that_changed_size_before_the_retry_fails_loudly(
    retrying: SpeechClient, emulator: Emulator, wav: Path, grow: bool
) -> None:
    emulator.faults.add(Fault(route="transcribe", status=503, retry_after=1))
    async with anyio.create_task_group() as group:
        group.start_soon(_after_the_first_attempt, emulator, anyio.Path(wav), grow)
        with pytest.raises(AudioSourceError, match="grew" if grow else "shrank"):
            await retrying.transcribe(wav)
    assert emulator.requests[0].fault == "status-503"
    # The second attempt was cut off: the service never got a wrong body as complete.
    assert all(not record.body_complete for record in emulator.requests[1:])


async def test_a_file_that_kept_its_size_is_sent_again_whole(
    retrying: SpeechClient, emulator: Emulator, wav: Path
) -> None:
    emulator.faults.add(Fault(route="transcribe", status=503, retry_after=1))
    result = await retrying.transcribe(wav)
    assert result.response is not None
    assert result.response.attempts == 2
    assert emulator.requests[1].body_complete
