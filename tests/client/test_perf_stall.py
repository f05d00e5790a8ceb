"""The upload-stall watch: progress recorded per chunk, checked by the client's one watchdog timer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from speech_async import SpeechClient, SpeechTimeoutError, Timeouts
from speech_async.emulator import Emulator, make_wav
from tests.support.samples import HELLO_TRANSCRIPT

pytestmark = pytest.mark.anyio

STALL = 0.4
AUDIO = make_wav(1.0)


async def trickle(pause_at: int | None = None, pause: float = 0.0) -> AsyncIterator[bytes]:
    """AUDIO in eight parts, one every 0.1 s (0.8 s in all: twice the stall timeout), maybe with one long pause."""
    step = -(-len(AUDIO) // 8)
    for index, start in enumerate(range(0, len(AUDIO), step)):
        await asyncio.sleep(pause if index == pause_at else 0.1)
        yield AUDIO[start : start + step]


async def test_an_upload_that_keeps_making_progress_outlives_the_stall_timeout(
    client: SpeechClient, emulator: Emulator
) -> None:
    emulator.scripted.register(AUDIO, HELLO_TRANSCRIPT)

    result = await client.transcribe(trickle(), retry=0, timeout=Timeouts(upload_stall=STALL))

    assert result.response is not None
    upload = result.response.upload_seconds
    assert upload is not None
    assert upload > STALL * 1.5


async def test_an_upload_that_stops_making_progress_times_out(client: SpeechClient, emulator: Emulator) -> None:
    emulator.scripted.register(AUDIO, HELLO_TRANSCRIPT)
    loop = asyncio.get_running_loop()
    started = loop.time()

    with pytest.raises(SpeechTimeoutError, match=f"made no progress for {STALL} s"):
        await client.transcribe(trickle(pause_at=3, pause=5.0), retry=0, timeout=Timeouts(upload_stall=STALL))

    # Three parts (0.3 s), then the stall is seen STALL seconds after the last progress.
    assert loop.time() - started < 0.3 + STALL + 1.0
