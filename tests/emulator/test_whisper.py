"""The emulator's real recognizer (faster-whisper tiny.en) on the bundled samples, over loopback HTTP."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from speech_async.emulator import Emulator, EmulatorConfig

from ..support.samples import SAMPLES

pytest.importorskip("faster_whisper", reason="the whisper recognizer needs the asr extra")
pytestmark = pytest.mark.whisper

URL_PATH = "/speechtotext/transcriptions:transcribe?api-version=2025-10-15"
AUDIO = {name: (SAMPLES / name).read_bytes() for name in ("hello.wav", "report.wav", "call-stereo.flac")}


@pytest.fixture
async def whisper() -> AsyncIterator[tuple[Emulator, aiohttp.ClientSession]]:
    async with Emulator(EmulatorConfig(recognizer="whisper")) as emulator, aiohttp.ClientSession() as session:
        yield emulator, session


async def transcribe(
    whisper: tuple[Emulator, aiohttp.ClientSession], sample: str, definition: dict[str, Any]
) -> tuple[int, Any]:
    emulator, session = whisper
    form = aiohttp.FormData()
    form.add_field("definition", json.dumps(definition), content_type="application/json")
    form.add_field("audio", AUDIO[sample], filename=sample, content_type="application/octet-stream")
    headers = {"Ocp-Apim-Subscription-Key": "any-key"}
    async with session.post(emulator.url + URL_PATH, data=form, headers=headers) as response:
        return response.status, await response.json()


async def test_hello_wav(whisper: tuple[Emulator, aiohttp.ClientSession]) -> None:
    status, body = await transcribe(whisper, "hello.wav", {"locales": ["en-US"]})
    assert status == 200, body
    assert body["durationMilliseconds"] == 5018
    text = body["combinedPhrases"][0]["text"].lower()
    assert "thank you" in text
    assert "calling" in text
    words = [w for p in body["phrases"] for w in p["words"]]
    offsets = [w["offsetMilliseconds"] for w in words]
    assert len(words) >= 8
    assert offsets == sorted(offsets)
    assert all(w["offsetMilliseconds"] % 40 == 0 and w["durationMilliseconds"] % 40 == 0 for w in words)
    for phrase in body["phrases"]:
        assert phrase["locale"] == "en-US"
        assert 0 < phrase["confidence"] <= 1
        assert "channel" not in phrase
        last = phrase["words"][-1]
        end = last["offsetMilliseconds"] + last["durationMilliseconds"]
        assert phrase["durationMilliseconds"] == end - phrase["words"][0]["offsetMilliseconds"]


async def test_stereo_channels(whisper: tuple[Emulator, aiohttp.ClientSession]) -> None:
    status, body = await transcribe(whisper, "call-stereo.flac", {"locales": ["en-US"], "channels": [0, 1]})
    assert status == 200, body
    by_channel = {c["channel"]: c["text"].lower() for c in body["combinedPhrases"]}
    assert "calling" in by_channel[0]
    assert "order" in by_channel[1]
    assert "order" not in by_channel[0]
    channels = [p["channel"] for p in body["phrases"]]
    assert channels == sorted(channels)


async def test_llm_transcribe_uses_10ms_times_and_zero_confidence(
    whisper: tuple[Emulator, aiohttp.ClientSession],
) -> None:
    definition = {"enhancedMode": {"enabled": True, "task": "transcribe"}}
    status, body = await transcribe(whisper, "report.wav", definition)
    assert status == 200, body
    assert "report" in body["combinedPhrases"][0]["text"].lower()
    assert all(p["confidence"] == 0 and p["offsetMilliseconds"] % 10 == 0 for p in body["phrases"])


@pytest.mark.parametrize(
    ("definition", "limitation"),
    [
        ({"diarization": {"enabled": True, "maxSpeakers": 2}}, "assign speaker labels (diarization)"),
        ({"locales": ["de-DE"]}, "recognize de-DE speech"),
        ({"enhancedMode": {"enabled": True, "task": "translate", "targetLanguage": "ko"}}, "translate into 'ko'"),
    ],
    ids=["diarization", "german", "translate"],
)
async def test_limitations_are_422_never_invented_text(
    whisper: tuple[Emulator, aiohttp.ClientSession], definition: dict[str, Any], limitation: str
) -> None:
    status, body = await transcribe(whisper, "hello.wav", definition)
    assert status == 422
    assert body["code"] == "UnprocessableEntity"
    assert body["innerError"]["code"] == "EmulatorLimitation"
    assert body["message"].startswith(f"speech_async emulator: the whisper recognizer cannot {limitation}")
    assert body["message"].endswith(
        'start the emulator with recognizer="scripted" (--recognizer scripted) and register a transcript'
    )
