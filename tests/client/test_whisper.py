"""The real recognizer end to end: bundled speech, our client, our upload, the emulator, Whisper tiny.en."""

from __future__ import annotations

from pathlib import Path

import pytest

from speech_async import KeyCredential, SpeechClient, TranscriptionOptions
from speech_async.emulator import Emulator, EmulatorConfig

from ..support.samples import SAMPLES

pytest.importorskip("faster_whisper", reason="the real recognizer needs the asr extra")
pytestmark = pytest.mark.whisper


async def test_real_speech_is_transcribed_with_increasing_offsets(hello_wav: Path) -> None:
    async with (
        Emulator(EmulatorConfig(recognizer="whisper")) as emulator,
        SpeechClient(emulator.url, KeyCredential("any-key")) as client,
    ):
        result = await client.transcribe(hello_wav, options=TranscriptionOptions(locales=["en-US"]))

    text = result.text.lower()
    for word in ("thank you", "calling", "help"):
        assert word in text, result.text
    words = [w for p in result.phrases for w in p.words]
    assert len(words) >= 8
    offsets = [w.offset_milliseconds for w in words]
    assert offsets == sorted(offsets)
    assert offsets[-1] > offsets[0]
    assert all(w.duration_milliseconds > 0 for w in words)
    assert 4500 <= result.duration_milliseconds <= 5500
    assert all(p.locale == "en-US" and 0 < p.confidence <= 1 for p in result.phrases)


async def test_real_speech_per_channel() -> None:
    async with (
        Emulator(EmulatorConfig(recognizer="whisper")) as emulator,
        SpeechClient(emulator.url, KeyCredential("any-key")) as client,
    ):
        result = await client.transcribe(SAMPLES / "call-stereo.flac", options=TranscriptionOptions(channels=[0, 1]))

    by_channel = {c.channel: c.text.lower() for c in result.combined_phrases}
    assert "calling" in by_channel[0]
    assert "order" in by_channel[1]
