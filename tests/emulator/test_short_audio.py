"""The short-audio API of the emulator over real loopback HTTP: paths, query, headers, audio checks,
response shapes, pronunciation assessment, authentication, faults and records.

Requests are raw aiohttp calls (or raw sockets where the interim ``100 Continue`` matters); the
client library's ``recognize`` is not used here.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import importlib.util
import io
import json
import logging
import struct
from dataclasses import asdict
from typing import Any

import aiohttp
import pytest

from speech_async.emulator import (
    ALL_FAULT_KINDS,
    Emulator,
    EmulatorConfig,
    EmulatorTokenCredential,
    Fault,
    ScriptedPhrase,
    ScriptedTranscript,
    ScriptedWord,
    ShortAudioConfig,
    main,
)

from ..support.audio import make_wav, wav_header
from ..support.bodies import MISSING_KEY_BODY, key_orders
from ..support.http import Reply, chunks_of

KEY = "emulator-test-key"
REGIONAL = "/speech/recognition/{mode}/cognitiveservices/v1"
CUSTOM_DOMAIN = "/stt/speech/recognition/{mode}/cognitiveservices/v1"
CONVERSATION = REGIONAL.format(mode="conversation")
TRANSCRIBE = "/speechtotext/transcriptions:transcribe?api-version=2025-10-15"
WAV_TYPE = "audio/wav; codecs=audio/pcm; samplerate=16000"
OGG_TYPE = "audio/ogg; codecs=opus"
COGNITIVE_SCOPE = "https://cognitiveservices.azure.com/.default"
RESOURCE_ID = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/speech-emulator"
    "/providers/Microsoft.CognitiveServices/accounts/speech-emulator"
)
TOKEN_BODY = {
    "error": {
        "code": "401",
        "message": "Unauthorized. Access token is missing, invalid, audience is incorrect "
        "(https://cognitiveservices.azure.com), or have expired.",
    }
}
TICKS_PER_MS = 10_000

# Distinct audio contents (the scripted recognizer answers by SHA-256).
PENCILS = make_wav(3.0, fill=1)
SILENCE = make_wav(2.0)
TWO_PHRASES = make_wav(6.0, fill=2)
GERMAN = make_wav(2.0, fill=3)
PROFANE = make_wav(2.0, fill=4)
ONLY_PROFANITY = make_wav(1.0, fill=5)
SPOKEN_PUNCTUATION = make_wav(3.0, fill=6)
MISREAD = make_wav(3.0, fill=7)
PAUSED = make_wav(4.0, fill=8)
LONG_61 = make_wav(61.0, fill=9)
EXACTLY_60 = make_wav(60.0, fill=10)
LONG_31 = make_wav(31.0, fill=11)
UNREGISTERED = make_wav(1.0, fill=12)

PENCILS_TRANSCRIPT = ScriptedTranscript(
    phrases=(ScriptedPhrase(text="Remind me to buy 5 pencils.", offset_ms=500, duration_ms=2000, confidence=0.87),)
)
SPEECH = ScriptedTranscript(phrases=(ScriptedPhrase(text="Hello.", offset_ms=200, duration_ms=600),))


# --- Ogg/Opus built by hand (RFC 3533 pages, RFC 7845 headers; the packets are not real Opus) --------


def _ogg_crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
        table.append(crc & 0xFFFFFFFF)
    return table


_CRC_TABLE = _ogg_crc_table()


def _ogg_page(packet: bytes, *, granule: int, sequence: int, header_type: int, serial: int = 0x5EED) -> bytes:
    lacing = [255] * (len(packet) // 255) + [len(packet) % 255]
    header = (
        b"OggS" + struct.pack("<BBqIIIB", 0, header_type, granule, serial, sequence, 0, len(lacing)) + bytes(lacing)
    )
    page = bytearray(header + packet)
    crc = 0
    for byte in page:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC_TABLE[((crc >> 24) ^ byte) & 0xFF]
    page[22:26] = struct.pack("<I", crc)
    return bytes(page)


def ogg_opus(
    *, seconds: float = 2.0, channels: int = 1, input_rate: int = 16000, first_packet: bytes | None = None
) -> bytes:
    pre_skip = 312
    head = first_packet or (b"OpusHead" + struct.pack("<BBHIhB", 1, channels, pre_skip, input_rate, 0, 0))
    tags = b"OpusTags" + struct.pack("<I", 6) + b"speech" + struct.pack("<I", 0)
    audio = bytes([0xFC, 0xFF, 0xFE]) * 40  # filler standing in for Opus frames
    return (
        _ogg_page(head, granule=0, sequence=0, header_type=0x02)
        + _ogg_page(tags, granule=0, sequence=1, header_type=0)
        + _ogg_page(audio, granule=round(seconds * 48000) + pre_skip, sequence=2, header_type=0x04)
    )


OPUS = ogg_opus()


# --- helpers --------------------------------------------------------------------------------------


def assessment_header(**params: Any) -> str:
    return base64.b64encode(json.dumps(params).encode("utf-8")).decode("ascii")


async def post(
    session: aiohttp.ClientSession,
    url: str,
    audio: bytes | None = PENCILS,
    *,
    path: str = CONVERSATION,
    query: dict[str, str] | None = None,
    key: str | None = KEY,
    content_type: str | None = WAV_TYPE,
    headers: dict[str, str] | None = None,
    chunked: bool = False,
) -> Reply:
    sent: dict[str, str] = {"Accept": "application/json"}
    if key is not None:
        sent["Ocp-Apim-Subscription-Key"] = key
    if content_type is not None:
        sent["Content-Type"] = content_type
    sent.update(headers or {})
    params = {"language": "en-US"} if query is None else query
    data: Any = audio
    if chunked and audio is not None:
        data = chunks_of(audio, 1024)
    elif audio is not None and len(audio) > 1024 * 1024:
        data = io.BytesIO(audio)  # aiohttp warns about large raw-bytes bodies; still sent with a Content-Length
    skip = ("Content-Type",) if content_type is None else ()
    request = session.post(
        url + path, params=params, data=data, headers=sent, expect100=chunked, skip_auto_headers=skip
    )
    async with request as response:
        return Reply(response.status, dict(response.headers), await response.read())


def keys(body: bytes) -> list[str]:
    return key_orders(body)[-1]


def bad_request(reply: Reply) -> str:
    assert reply.status == 400, reply.body
    body = reply.json()
    assert list(body) == ["code", "message"]
    assert body["code"] == "BadRequest"
    return str(body["message"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def emu(speech_emulator: Emulator) -> Emulator:
    register = speech_emulator.scripted.register
    register(PENCILS, PENCILS_TRANSCRIPT)
    register(SILENCE, ScriptedTranscript(phrases=()))
    register(
        TWO_PHRASES,
        ScriptedTranscript(
            phrases=(
                ScriptedPhrase(text="How can I help you today?", offset_ms=3000, duration_ms=1800, confidence=0.8),
                ScriptedPhrase(
                    text="Hello, and thank you for calling.", offset_ms=400, duration_ms=2200, confidence=0.9
                ),
            )
        ),
    )
    register(
        GERMAN,
        ScriptedTranscript(
            phrases=(ScriptedPhrase(text="Guten Morgen.", offset_ms=300, duration_ms=900, locale="de-DE"),)
        ),
    )
    register(
        PROFANE,
        ScriptedTranscript(
            phrases=(ScriptedPhrase(text="This damn printer is shit.", offset_ms=100, duration_ms=1800),)
        ),
    )
    register(
        ONLY_PROFANITY, ScriptedTranscript(phrases=(ScriptedPhrase(text="Shit!", offset_ms=100, duration_ms=400),))
    )
    register(
        SPOKEN_PUNCTUATION,
        ScriptedTranscript(
            phrases=(
                ScriptedPhrase(text="hello comma how are you question mark fine period", offset_ms=0, duration_ms=2800),
            )
        ),
    )
    register(
        MISREAD,
        ScriptedTranscript(
            phrases=(ScriptedPhrase(text="Remind me to please bought 5 pencils.", offset_ms=0, duration_ms=2800),)
        ),
    )
    register(
        PAUSED,
        ScriptedTranscript(
            phrases=(
                ScriptedPhrase(
                    text="Good morning.",
                    offset_ms=70,
                    duration_ms=3000,
                    words=(
                        ScriptedWord(text="Good", offset_ms=70, duration_ms=260),
                        ScriptedWord(text="morning.", offset_ms=1500, duration_ms=570),
                    ),
                ),
            )
        ),
    )
    for audio in (LONG_61, EXACTLY_60, LONG_31, OPUS):
        register(audio, SPEECH)
    return speech_emulator


# --- paths and modes ------------------------------------------------------------------------------


@pytest.mark.parametrize("template", [REGIONAL, CUSTOM_DOMAIN], ids=["regional", "custom-domain"])
@pytest.mark.parametrize("mode", ["conversation", "interactive", "dictation"])
async def test_both_path_forms_and_every_mode(
    emu: Emulator, session: aiohttp.ClientSession, template: str, mode: str
) -> None:
    path = template.format(mode=mode)
    reply = await post(session, emu.url, path=path)
    assert reply.status == 200, reply.body
    assert reply.json()["DisplayText"] == "Remind me to buy 5 pencils."
    record = emu.requests[-1]
    assert (record.route, record.path, record.status) == ("short_audio", path, 200)
    assert emu.counters["short_audio"] == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", REGIONAL.format(mode="batch")),
        ("POST", REGIONAL.format(mode="Conversation")),
        ("POST", "/stt/stt/speech/recognition/conversation/cognitiveservices/v1"),
        ("POST", "/speech/recognition/conversation/cognitiveservices/v2"),
        ("GET", CONVERSATION),
    ],
    ids=["unknown-mode", "mode-case", "double-prefix", "other-version", "get"],
)
async def test_unrouted_paths_are_the_gateways_404(
    emu: Emulator, session: aiohttp.ClientSession, method: str, path: str
) -> None:
    headers = {"Ocp-Apim-Subscription-Key": KEY, "Content-Type": WAV_TYPE}
    async with session.request(
        method, emu.url + path, params={"language": "en-US"}, data=PENCILS, headers=headers
    ) as response:
        assert response.status == 404
        assert await response.json() == {"error": {"code": "404", "message": "Resource not found"}}
    assert emu.counters["short_audio"] == 0


# --- response shapes ------------------------------------------------------------------------------


async def test_simple_shape(emu: Emulator, session: aiohttp.ClientSession) -> None:
    reply = await post(session, emu.url)
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
    assert reply.headers["apim-request-id"] == emu.requests[-1].request_id
    assert keys(reply.body) == ["RecognitionStatus", "DisplayText", "Offset", "Duration"]
    body = reply.json()
    assert body == {
        "RecognitionStatus": "Success",
        "DisplayText": "Remind me to buy 5 pencils.",
        "Offset": 500 * TICKS_PER_MS,
        "Duration": 2000 * TICKS_PER_MS,
    }
    assert type(body["Offset"]) is int
    assert type(body["Duration"]) is int


async def test_detailed_shape(emu: Emulator, session: aiohttp.ClientSession) -> None:
    reply = await post(session, emu.url, query={"language": "en-US", "format": "detailed"})
    assert reply.status == 200
    orders = key_orders(reply.body)
    assert orders[-1] == ["RecognitionStatus", "Offset", "Duration", "NBest"]
    assert orders[0] == ["Confidence", "Lexical", "ITN", "MaskedITN", "Display"]
    body = reply.json()
    assert (body["RecognitionStatus"], body["Offset"], body["Duration"]) == ("Success", 5_000_000, 20_000_000)
    assert body["NBest"] == [
        {
            "Confidence": 0.87,
            "Lexical": "remind me to buy five pencils",
            "ITN": "remind me to buy 5 pencils",
            "MaskedITN": "remind me to buy 5 pencils",
            "Display": "Remind me to buy 5 pencils.",
        }
    ]


async def test_phrases_are_joined_in_time_order(emu: Emulator, session: aiohttp.ClientSession) -> None:
    reply = await post(session, emu.url, TWO_PHRASES, query={"language": "en-US", "format": "detailed"})
    body = reply.json()
    assert body["Offset"] == 400 * TICKS_PER_MS
    assert body["Duration"] == (3000 + 1800 - 400) * TICKS_PER_MS
    (best,) = body["NBest"]
    assert best["Display"] == "Hello, and thank you for calling. How can I help you today?"
    assert best["Lexical"] == "hello and thank you for calling how can i help you today"
    assert best["Confidence"] == pytest.approx(0.85)


async def test_format_and_language_values_are_case_insensitive(emu: Emulator, session: aiohttp.ClientSession) -> None:
    reply = await post(session, emu.url, query={"language": "EN-us", "format": "Detailed", "profanity": "RAW"})
    assert reply.status == 200
    assert "NBest" in reply.json()


async def test_silence_is_an_initial_silence_timeout(emu: Emulator, session: aiohttp.ClientSession) -> None:
    simple = await post(session, emu.url, SILENCE)
    assert simple.status == 200
    assert keys(simple.body) == ["RecognitionStatus", "Offset", "Duration"]
    assert simple.json() == {"RecognitionStatus": "InitialSilenceTimeout", "Offset": 20_000_000, "Duration": 0}
    detailed = await post(session, emu.url, SILENCE, query={"language": "en-US", "format": "detailed"})
    assert detailed.json() == simple.json()


async def test_speech_in_another_language_is_no_match(emu: Emulator, session: aiohttp.ClientSession) -> None:
    reply = await post(session, emu.url, GERMAN, query={"language": "en-US", "format": "detailed"})
    assert reply.json() == {"RecognitionStatus": "NoMatch", "Offset": 3_000_000, "Duration": 9_000_000}
    german = await post(session, emu.url, GERMAN, query={"language": "de-DE"})
    assert german.json()["DisplayText"] == "Guten Morgen."


# --- profanity and modes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("profanity", "display", "masked_itn"),
    [
        (None, "This **** printer is ****.", "this **** printer is ****"),
        ("masked", "This **** printer is ****.", "this **** printer is ****"),
        ("removed", "This printer is.", "this printer is"),
        ("raw", "This damn printer is shit.", "this damn printer is shit"),
    ],
    ids=["default", "masked", "removed", "raw"],
)
async def test_profanity_options(
    emu: Emulator, session: aiohttp.ClientSession, profanity: str | None, display: str, masked_itn: str
) -> None:
    query = {"language": "en-US", "format": "detailed"}
    if profanity is not None:
        query["profanity"] = profanity
    (best,) = (await post(session, emu.url, PROFANE, query=query)).json()["NBest"]
    assert best["Display"] == display
    assert best["MaskedITN"] == masked_itn
    assert best["ITN"] == "this damn printer is shit"
    simple = await post(session, emu.url, PROFANE, query={k: v for k, v in query.items() if k != "format"})
    assert simple.json()["DisplayText"] == display


async def test_only_profanity_removed_is_no_speech_result(emu: Emulator, session: aiohttp.ClientSession) -> None:
    removed = await post(session, emu.url, ONLY_PROFANITY, query={"language": "en-US", "profanity": "removed"})
    assert removed.json() == {"RecognitionStatus": "NoMatch", "Offset": 1_000_000, "Duration": 4_000_000}
    masked = await post(session, emu.url, ONLY_PROFANITY)
    assert masked.json()["DisplayText"] == "****!"


async def test_dictation_interprets_spoken_punctuation(emu: Emulator, session: aiohttp.ClientSession) -> None:
    dictation = await post(session, emu.url, SPOKEN_PUNCTUATION, path=REGIONAL.format(mode="dictation"))
    assert dictation.json()["DisplayText"] == "Hello, how are you? Fine."
    conversation = await post(session, emu.url, SPOKEN_PUNCTUATION)
    assert conversation.json()["DisplayText"] == "hello comma how are you question mark fine period"
    detailed = await post(
        session,
        emu.url,
        SPOKEN_PUNCTUATION,
        path=CUSTOM_DOMAIN.format(mode="dictation"),
        query={"language": "en-US", "format": "detailed"},
    )
    (best,) = detailed.json()["NBest"]
    assert best["Display"] == "Hello, how are you? Fine."
    assert best["Lexical"] == "hello comma how are you question mark fine period"


async def test_interactive_mode_takes_more_than_fifteen_seconds(emu: Emulator, session: aiohttp.ClientSession) -> None:
    reply = await post(session, emu.url, LONG_31, path=REGIONAL.format(mode="interactive"))
    assert reply.status == 200
    assert reply.json()["RecognitionStatus"] == "Success"


# --- query parameters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({}, "language parameter is required"),
        ({"language": ""}, "language parameter is required"),
        ({"language": "xx-XX"}, "'xx-XX' is not supported"),
        ({"language": "en-US", "format": "verbose"}, "format parameter must be one of simple, detailed"),
        ({"language": "en-US", "format": ""}, "format parameter"),
        ({"language": "en-US", "profanity": "remove"}, "profanity parameter must be one of masked, removed, raw"),
        ({"language": "en-US", "cid": "my-endpoint"}, "cid parameter must be a custom endpoint id"),
    ],
    ids=[
        "no-language",
        "empty-language",
        "unsupported-language",
        "bad-format",
        "empty-format",
        "bad-profanity",
        "bad-cid",
    ],
)
async def test_bad_query_parameters_are_400(
    emu: Emulator, session: aiohttp.ClientSession, query: dict[str, str], message: str
) -> None:
    reply = await post(session, emu.url, query=query)
    assert message in bad_request(reply)
    assert emu.requests[-1].status == 400


async def test_cid_is_accepted_and_recorded(emu: Emulator, session: aiohttp.ClientSession) -> None:
    cid = "afa0669c-a01e-4693-ae3a-93baf40f26d6"
    reply = await post(session, emu.url, query={"language": "en-US", "cid": cid})
    assert reply.status == 200
    assert emu.requests[-1].query == {"language": "en-US", "cid": cid}


# --- content type and audio -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "audio/mpeg",
        "application/octet-stream",
        "audio/wav; samplerate=8000",
        "audio/wav; codecs=audio/alaw",
        "audio/ogg; codecs=vorbis",
    ],
    ids=["missing", "mp3", "octet-stream", "wav-8khz", "wav-alaw", "ogg-vorbis"],
)
async def test_other_content_types_are_415(
    emu: Emulator, session: aiohttp.ClientSession, content_type: str | None
) -> None:
    reply = await post(session, emu.url, content_type=content_type)
    assert reply.status == 415
    body = reply.json()
    assert body["code"] == "UnsupportedMediaType"
    assert list(body) == ["code", "message"]


@pytest.mark.parametrize(
    "content_type", ["audio/wav", "Audio/WAV; codecs=audio/pcm", 'audio/wav; samplerate="16000"; x=1']
)
async def test_content_type_parameters_are_optional(
    emu: Emulator, session: aiohttp.ClientSession, content_type: str
) -> None:
    assert (await post(session, emu.url, content_type=content_type)).status == 200


@pytest.mark.parametrize(
    ("audio", "message"),
    [
        (b"", "has no audio"),
        (b"This is not audio at all, just text in the body.", "neither a WAV file nor an Ogg/Opus stream"),
        (make_wav(1.0, rate=8000), "sample rate is 8000 Hz"),
        (make_wav(1.0, rate=44100), "sample rate is 44100 Hz"),
        (make_wav(1.0, channels=2), "has 2 channels"),
        (make_wav(1.0, bits=8), "have 8 bits"),
        (make_wav(1.0, bits=32, audio_format=3), "codec is float"),
        (make_wav(1.0, bits=8, audio_format=7), "codec is mulaw"),
        (wav_header(0), "has no samples"),
        (ogg_opus(channels=2), "has 2 channels"),
        (ogg_opus(input_rate=48000), "input sample rate is 48000 Hz"),
        (ogg_opus(first_packet=b"\x01vorbis" + bytes(22)), "neither a WAV file nor an Ogg/Opus stream"),
    ],
    ids=[
        "empty",
        "text",
        "8khz",
        "44khz",
        "stereo",
        "8-bit",
        "float",
        "mulaw",
        "no-samples",
        "opus-stereo",
        "opus-48khz",
        "ogg-vorbis",
    ],
)
async def test_invalid_audio_is_400(emu: Emulator, session: aiohttp.ClientSession, audio: bytes, message: str) -> None:
    content_type = OGG_TYPE if audio.startswith(b"OggS") else WAV_TYPE
    reply = await post(session, emu.url, audio, content_type=content_type)
    assert message in bad_request(reply)


async def test_content_type_must_match_the_audio(emu: Emulator, session: aiohttp.ClientSession) -> None:
    assert "says OGG, the body is WAV" in bad_request(await post(session, emu.url, PENCILS, content_type=OGG_TYPE))
    assert "says WAV, the body is OGG" in bad_request(await post(session, emu.url, OPUS, content_type=WAV_TYPE))


async def test_ogg_opus_is_accepted(emu: Emulator, session: aiohttp.ClientSession) -> None:
    reply = await post(session, emu.url, OPUS, content_type=OGG_TYPE)
    assert reply.status == 200, reply.body
    assert reply.json()["DisplayText"] == "Hello."
    record = emu.requests[-1]
    assert record.attempt_body_sha256 == hashlib.sha256(OPUS).hexdigest()


async def test_wave_format_extensible_pcm_is_accepted(emu: Emulator, session: aiohttp.ClientSession) -> None:
    data = bytes(16000 * 2)
    pcm_guid = struct.pack("<H", 1) + bytes.fromhex("000000001000800000aa00389b71")
    fmt = struct.pack("<HHIIHHHHI", 0xFFFE, 1, 16000, 32000, 2, 16, 22, 16, 4) + pcm_guid
    audio = (
        b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data)) + b"WAVEfmt " + struct.pack("<I", len(fmt)) + fmt
    )
    audio += b"data" + struct.pack("<I", len(data)) + data
    emu.scripted.register(audio, SPEECH)
    assert (await post(session, emu.url, audio)).status == 200


async def test_unregistered_audio_is_the_emulators_422(emu: Emulator, session: aiohttp.ClientSession) -> None:
    reply = await post(session, emu.url, UNREGISTERED)
    assert reply.status == 422
    assert reply.json()["innerError"]["code"] == "ScriptedTranscriptMissing"


# --- limits ---------------------------------------------------------------------------------------


async def test_sixty_seconds_at_most(emu: Emulator, session: aiohttp.ClientSession) -> None:
    assert (await post(session, emu.url, EXACTLY_60)).status == 200
    assert "lasts 61 seconds; requests take at most 60 seconds" in bad_request(await post(session, emu.url, LONG_61))


async def test_thirty_seconds_at_most_with_assessment(emu: Emulator, session: aiohttp.ClientSession) -> None:
    header = {"Pronunciation-Assessment": assessment_header(ReferenceText="Hello.")}
    query = {"language": "en-US", "format": "detailed"}
    assert (await post(session, emu.url, LONG_31, query=query)).status == 200
    reply = await post(session, emu.url, LONG_31, query=query, headers=header)
    assert "with pronunciation assessment take at most 30 seconds" in bad_request(reply)


async def test_limits_are_configurable(session: aiohttp.ClientSession) -> None:
    config = EmulatorConfig(
        key=KEY, recognizer="scripted", short_audio=ShortAudioConfig(max_seconds=2.5, max_bytes=90_000)
    )
    async with Emulator(config) as emulator:
        emulator.scripted.register(PENCILS, PENCILS_TRANSCRIPT)
        assert "at most 2.5 seconds" in bad_request(await post(session, emulator.url, make_wav(2.6, fill=1)))
        small = make_wav(1.5, fill=1)  # 48,044 bytes (make_wav(2.6) above: 83,244)
        emulator.scripted.register(small, SPEECH)
        assert (await post(session, emulator.url, small)).status == 200
        for chunked in (False, True):
            reply = await post(session, emulator.url, PENCILS, chunked=chunked)  # 96,044 bytes
            assert reply.status == 413
            assert reply.json()["code"] == "PayloadTooLarge"
        assert [r.status for r in emulator.requests] == [400, 200, 413, 413]
        assert emulator.requests[-1].chunked


# --- uploads: Content-Length, chunked, Expect: 100-continue ----------------------------------------


async def test_content_length_upload_is_recorded(emu: Emulator, session: aiohttp.ClientSession) -> None:
    assert (await post(session, emu.url)).status == 200
    record = emu.requests[-1]
    assert (record.chunked, record.expect_continue, record.content_length) == (False, False, len(PENCILS))
    assert (record.body_complete, record.body_bytes) == (True, len(PENCILS))
    assert record.attempt_body_sha256 == hashlib.sha256(PENCILS).hexdigest()
    assert record.content_type == WAV_TYPE
    assert (record.parts, record.definition) == ((), None)


async def test_chunked_upload_with_expect_is_recorded(emu: Emulator, session: aiohttp.ClientSession) -> None:
    reply = await post(session, emu.url, chunked=True)
    assert reply.status == 200
    assert reply.json()["DisplayText"] == "Remind me to buy 5 pencils."
    record = emu.requests[-1]
    assert (record.chunked, record.expect_continue, record.content_length) == (True, True, None)
    assert record.header("Expect") == "100-continue"
    assert record.attempt_body_sha256 == hashlib.sha256(PENCILS).hexdigest()
    async with session.get(f"{emu.url}/_emulator/requests") as response:
        listed = await response.json()
    assert listed[-1]["expect_continue"] is True


async def _read_head(reader: asyncio.StreamReader) -> bytes:
    return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)


async def test_expect_100_continue_is_answered_before_the_body(emu: Emulator) -> None:
    host, port = emu.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(
            (
                f"POST {CONVERSATION}?language=en-US&format=detailed HTTP/1.1\r\n"
                "Accept: application/json;text/xml\r\n"
                f"Content-Type: {WAV_TYPE}\r\n"
                f"Ocp-Apim-Subscription-Key: {KEY}\r\n"
                f"Host: {host}\r\n"
                "Transfer-Encoding: chunked\r\n"
                "Expect: 100-continue\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        # Nothing of the body has been sent: the interim answer must come first.
        assert await _read_head(reader) == b"HTTP/1.1 100 Continue\r\n\r\n"
        for start in range(0, len(PENCILS), 1024):  # the docs' sample writes 1,024-byte chunks
            piece = PENCILS[start : start + 1024]
            writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        head = await _read_head(reader)
        assert head.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"Transfer-Encoding: chunked" in head
        body = b""
        while True:
            size = int((await reader.readline()).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
    finally:
        writer.close()
        await writer.wait_closed()
    assert json.loads(body)["NBest"][0]["Display"] == "Remind me to buy 5 pencils."
    record = emu.requests[-1]
    assert (record.chunked, record.expect_continue, record.body_complete) == (True, True, True)
    assert record.attempt_body_sha256 == hashlib.sha256(PENCILS).hexdigest()


# --- pronunciation assessment ---------------------------------------------------------------------

DETAILED = {"language": "en-US", "format": "detailed"}


async def assess(session: aiohttp.ClientSession, url: str, audio: bytes = PENCILS, **params: Any) -> Any:
    headers = {"Pronunciation-Assessment": assessment_header(**params)}
    reply = await post(session, url, audio, query=DETAILED, headers=headers)
    assert reply.status == 200, reply.body
    return reply


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("%%%not-base64%%%", "not base64 of UTF-8 JSON"),
        (base64.b64encode(b"ReferenceText=Hello").decode(), "not base64 of UTF-8 JSON"),
        (base64.b64encode(b"\xff\xfe{}").decode(), "not base64 of UTF-8 JSON"),
        (assessment_header(), "ReferenceText is required"),
        (base64.b64encode(b'["Hello"]').decode(), "must hold a JSON object"),
        (assessment_header(ReferenceText=""), "ReferenceText is required"),
        (assessment_header(ReferenceText=5), "ReferenceText is required"),
        (assessment_header(ReferenceText="Hi", GradingSystem="TenPoint"), "GradingSystem must be one of"),
        (assessment_header(ReferenceText="Hi", Granularity="Syllable"), "Granularity must be one of"),
        (assessment_header(ReferenceText="Hi", Dimension="Full"), "Dimension must be one of"),
        (assessment_header(ReferenceText="Hi", EnableMiscue="yes"), 'EnableMiscue must be "True" or "False"'),
        (assessment_header(ReferenceText="Hi", EnableProsodyAssessment=1), "EnableProsodyAssessment must be"),
        (assessment_header(ReferenceText="Hi", ScenarioId="scenario-1"), "ScenarioId must be a GUID"),
    ],
    ids=[
        "not-base64",
        "not-json",
        "not-utf8",
        "no-reference",
        "array",
        "empty-reference",
        "number-reference",
        "grading",
        "granularity",
        "dimension",
        "miscue",
        "prosody",
        "scenario",
    ],
)
async def test_bad_assessment_headers_are_400(
    emu: Emulator, session: aiohttp.ClientSession, header: str, message: str
) -> None:
    reply = await post(session, emu.url, query=DETAILED, headers={"Pronunciation-Assessment": header})
    assert message in bad_request(reply)


async def test_documented_example_parameters(emu: Emulator, session: aiohttp.ClientSession) -> None:
    # The docs' example header, built the docs' way (C# sample: UTF-8 JSON, then base64).
    json_text = (
        '{"ReferenceText":"Remind me to buy five pencils.","GradingSystem":"HundredMark","Granularity":"Word",'
        '"Dimension":"Comprehensive","EnableProsodyAssessment":"True"}'
    )
    header = base64.b64encode(json_text.encode("utf-8")).decode("ascii")
    reply = await post(session, emu.url, query=DETAILED, headers={"Pronunciation-Assessment": header})
    assert reply.status == 200
    orders = key_orders(reply.body)
    assert orders[-1] == ["RecognitionStatus", "Offset", "Duration", "DisplayText", "NBest"]
    body = reply.json()
    (best,) = body["NBest"]
    assert list(best) == [
        "Confidence",
        "Lexical",
        "ITN",
        "MaskedITN",
        "Display",
        "AccuracyScore",
        "FluencyScore",
        "ProsodyScore",
        "CompletenessScore",
        "PronScore",
        "Words",
    ]
    assert body["DisplayText"] == best["Display"] == "Remind me to buy 5 pencils."
    assert [w["Word"] for w in best["Words"]] == ["remind", "me", "to", "buy", "five", "pencils"]
    first, second = best["Words"][:2]
    assert list(first) == ["Word", "Offset", "Duration", "Confidence", "AccuracyScore", "ErrorType", "Feedback"]
    assert list(first["Feedback"]["Prosody"]) == ["Break", "Intonation"]
    assert list(first["Feedback"]["Prosody"]["Break"]) == ["ErrorTypes", "BreakLength"]
    assert list(second["Feedback"]["Prosody"]["Break"]) == [
        "ErrorTypes",
        "UnexpectedBreak",
        "MissingBreak",
        "BreakLength",
    ]
    assert list(first["Feedback"]["Prosody"]["Intonation"]) == ["ErrorTypes", "Monotone"]
    assert list(first["Feedback"]["Prosody"]["Intonation"]["Monotone"]) == [
        "Confidence",
        "WordPitchSlopeConfidence",
        "SyllablePitchDeltaConfidence",
    ]
    # Every word read as written: the accuracy and completeness are perfect; the words are timed.
    assert best["AccuracyScore"] == best["CompletenessScore"] == 100.0
    assert all(w["ErrorType"] == "None" and w["AccuracyScore"] == 100.0 for w in best["Words"])
    offsets = [w["Offset"] for w in best["Words"]]
    assert offsets == sorted(offsets)
    assert offsets[0] == body["Offset"]
    last = best["Words"][-1]
    assert last["Offset"] + last["Duration"] == body["Offset"] + body["Duration"]


async def test_grading_systems_scale_the_same_scores(emu: Emulator, session: aiohttp.ClientSession) -> None:
    params: dict[str, Any] = {
        "ReferenceText": "Remind me to buy five red pencils.",
        "Granularity": "Word",
        "Dimension": "Comprehensive",
        "EnableMiscue": "True",
        "EnableProsodyAssessment": "True",
    }
    hundred = (await assess(session, emu.url, MISREAD, GradingSystem="HundredMark", **params)).json()["NBest"][0]
    five = (await assess(session, emu.url, MISREAD, GradingSystem="FivePoint", **params)).json()["NBest"][0]
    default = (await assess(session, emu.url, MISREAD, **params)).json()["NBest"][0]
    assert default == five
    names = ["AccuracyScore", "FluencyScore", "ProsodyScore", "CompletenessScore", "PronScore"]
    for name in names:
        assert 0 <= hundred[name] <= 100
        assert 0 <= five[name] <= 5
        assert five[name] == pytest.approx(hundred[name] / 20, abs=0.01)
    # A misread text does not score like a perfect reading.
    assert hundred["CompletenessScore"] < 100
    assert hundred["AccuracyScore"] < 100
    for word_100, word_5 in zip(hundred["Words"], five["Words"], strict=True):
        assert word_5["AccuracyScore"] == pytest.approx(word_100["AccuracyScore"] / 20, abs=0.01)
        assert 0 <= word_5["AccuracyScore"] <= 5


async def test_miscue_marks_omissions_and_insertions(emu: Emulator, session: aiohttp.ClientSession) -> None:
    params: dict[str, Any] = {
        "ReferenceText": "Remind me to buy five red pencils.",
        "GradingSystem": "HundredMark",
        "Granularity": "Word",
        "Dimension": "Comprehensive",
    }
    # Heard: "Remind me to please bought 5 pencils."
    with_miscue = (await assess(session, emu.url, MISREAD, EnableMiscue="True", **params)).json()["NBest"][0]
    errors = [(w["Word"], w["ErrorType"]) for w in with_miscue["Words"]]
    assert ("please", "Insertion") in errors
    assert ("red", "Omission") in errors
    assert ("buy", "Mispronunciation") in errors
    assert ("five", "None") in errors  # "5" heard for "five" is no error
    assert [w for w, _ in errors if _ != "Insertion"] == ["remind", "me", "to", "buy", "five", "red", "pencils"]
    without = (await assess(session, emu.url, MISREAD, EnableMiscue=False, **params)).json()["NBest"][0]
    assert {w["ErrorType"] for w in without["Words"]} <= {"None", "Mispronunciation"}
    assert [w["Word"] for w in without["Words"]] == ["remind", "me", "to", "buy", "five", "pencils"]
    # Completeness counts the reference words read correctly, miscue or not: 5 of 7.
    assert with_miscue["CompletenessScore"] == without["CompletenessScore"] == pytest.approx(500 / 7, abs=0.05)


async def test_prosody_fields_only_when_asked(emu: Emulator, session: aiohttp.ClientSession) -> None:
    params: dict[str, Any] = {"ReferenceText": "Good morning.", "Granularity": "Word", "Dimension": "Comprehensive"}
    plain = (await assess(session, emu.url, PAUSED, **params)).json()["NBest"][0]
    assert "ProsodyScore" not in plain
    assert all("Feedback" not in w for w in plain["Words"])
    prosody = (await assess(session, emu.url, PAUSED, EnableProsodyAssessment=True, **params)).json()["NBest"][0]
    assert "ProsodyScore" in prosody
    good, morning = prosody["Words"]
    # "Good" ends at 330 ms, "morning" starts at 1,500 ms: a long pause inside the sentence.
    assert good["Feedback"]["Prosody"]["Break"] == {"ErrorTypes": ["None"], "BreakLength": 0}
    pause = morning["Feedback"]["Prosody"]["Break"]
    assert pause["ErrorTypes"] == ["UnexpectedBreak"]
    assert pause["UnexpectedBreak"]["Confidence"] == 1.0
    assert pause["BreakLength"] == (1500 - 330) * TICKS_PER_MS
    # FivePoint (the default): the one word boundary has a break error; 830 ms of words in 2,000 ms.
    assert prosody["ProsodyScore"] == 0.0
    assert prosody["FluencyScore"] == pytest.approx(830 / 2000 * 5, abs=0.01)


async def test_granularity_and_dimension(emu: Emulator, session: aiohttp.ClientSession) -> None:
    reference = "Remind me to buy five pencils."
    full_text = (
        await assess(session, emu.url, ReferenceText=reference, Granularity="FullText", Dimension="Comprehensive")
    ).json()
    assert "Words" not in full_text["NBest"][0]
    assert "PronScore" in full_text["NBest"][0]
    phoneme = (await assess(session, emu.url, ReferenceText=reference, Dimension="Comprehensive")).json()["NBest"][0]
    word = (
        await assess(session, emu.url, ReferenceText=reference, Granularity="Word", Dimension="Comprehensive")
    ).json()["NBest"][0]
    assert phoneme == word  # no phoneme detail is emulated
    basic = (await assess(session, emu.url, ReferenceText=reference, Granularity="Word")).json()["NBest"][0]
    assert list(basic) == ["Confidence", "Lexical", "ITN", "MaskedITN", "Display", "AccuracyScore", "Words"]
    assert all(list(w) == ["Word", "Offset", "Duration", "Confidence", "AccuracyScore"] for w in basic["Words"])


async def test_simple_format_carries_no_scores(emu: Emulator, session: aiohttp.ClientSession) -> None:
    headers = {"Pronunciation-Assessment": assessment_header(ReferenceText="Remind me to buy five pencils.")}
    reply = await post(session, emu.url, headers=headers)
    assert keys(reply.body) == ["RecognitionStatus", "DisplayText", "Offset", "Duration"]


async def test_assessment_of_silence_has_no_scores(emu: Emulator, session: aiohttp.ClientSession) -> None:
    reply = await assess(session, emu.url, SILENCE, ReferenceText="Good morning.")
    assert reply.json() == {"RecognitionStatus": "InitialSilenceTimeout", "Offset": 20_000_000, "Duration": 0}


# --- authentication -------------------------------------------------------------------------------


async def sts_token(session: aiohttp.ClientSession, url: str) -> str:
    async with session.post(url + "/sts/v1.0/issueToken", headers={"Ocp-Apim-Subscription-Key": KEY}) as response:
        assert response.status == 200
        return await response.text()


async def entra_token(url: str, scope: str = COGNITIVE_SCOPE) -> str:
    async with EmulatorTokenCredential(url) as credential:
        return (await credential.get_token(scope)).token


async def test_key_and_sts_token_are_accepted(emu: Emulator, session: aiohttp.ClientSession) -> None:
    assert (await post(session, emu.url)).status == 200
    token = await sts_token(session, emu.url)
    assert (await post(session, emu.url, key=None, headers=bearer(token))).status == 200
    assert [r.auth for r in emu.requests if r.route == "short_audio"] == ["key", "bearer"]


async def test_wrong_key_is_401(emu: Emulator, session: aiohttp.ClientSession) -> None:
    reply = await post(session, emu.url, key="wrong")
    assert reply.status == 401
    assert reply.json()["error"]["code"] == "401"


async def test_no_credentials_is_403_on_short_audio_only(emu: Emulator, session: aiohttp.ClientSession) -> None:
    reply = await post(session, emu.url, key=None)
    assert reply.status == 403
    assert reply.json() == {"error": {"code": "403", "message": MISSING_KEY_BODY["error"]["message"]}}
    async with session.post(emu.url + TRANSCRIBE, data=b"") as response:
        assert response.status == 401
        assert await response.json() == MISSING_KEY_BODY


@pytest.mark.parametrize("resource_id", [RESOURCE_ID, RESOURCE_ID.upper()], ids=["as-configured", "other-case"])
async def test_aad_form_with_an_entra_token(emu: Emulator, session: aiohttp.ClientSession, resource_id: str) -> None:
    token = await entra_token(emu.url)
    reply = await post(session, emu.url, key=None, headers=bearer(f"aad#{resource_id}#{token}"))
    assert reply.status == 200, reply.body
    assert emu.requests[-1].auth == "bearer"
    assert emu.requests[-1].header("Authorization") == "***"


async def test_aad_form_names_the_configured_resource(session: aiohttp.ClientSession) -> None:
    mine = (
        "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg"
        "/providers/Microsoft.CognitiveServices/accounts/mine"
    )
    async with Emulator(EmulatorConfig(key=KEY, recognizer="scripted", resource_id=mine)) as emulator:
        emulator.scripted.register(PENCILS, PENCILS_TRANSCRIPT)
        token = await entra_token(emulator.url)
        assert (await post(session, emulator.url, key=None, headers=bearer(f"aad#{mine}#{token}"))).status == 200
        reply = await post(session, emulator.url, key=None, headers=bearer(f"aad#{RESOURCE_ID}#{token}"))
        assert (reply.status, reply.json()) == (401, TOKEN_BODY)


@pytest.mark.parametrize(
    "credential",
    [
        "plain-entra",
        "wrong-resource",
        "sts-inside-aad",
        "other-scope",
        "no-token",
        "no-separator",
        "empty-resource",
        "forged",
    ],
)
async def test_refused_bearer_credentials_are_401(
    emu: Emulator, session: aiohttp.ClientSession, credential: str
) -> None:
    entra = await entra_token(emu.url)
    other_resource = RESOURCE_ID.replace("speech-emulator", "someone-else")
    values = {
        "plain-entra": entra,
        "wrong-resource": f"aad#{other_resource}#{entra}",
        "sts-inside-aad": f"aad#{RESOURCE_ID}#{await sts_token(session, emu.url)}",
        "other-scope": f"aad#{RESOURCE_ID}#{await entra_token(emu.url, 'https://management.azure.com/.default')}",
        "no-token": f"aad#{RESOURCE_ID}#",
        "no-separator": f"aad#{RESOURCE_ID}",
        "empty-resource": f"aad##{entra}",
        "forged": f"aad#{RESOURCE_ID}#{entra[:-4]}AAAA",
    }
    reply = await post(session, emu.url, key=None, headers=bearer(values[credential]))
    assert (reply.status, reply.json()) == (401, TOKEN_BODY)


async def test_aad_form_is_refused_on_fast_transcription(emu: Emulator, session: aiohttp.ClientSession) -> None:
    token = await entra_token(emu.url)
    headers = {**bearer(f"aad#{RESOURCE_ID}#{token}"), "Content-Type": "multipart/form-data; boundary=x"}
    async with session.post(emu.url + TRANSCRIBE, data=b"--x--\r\n", headers=headers) as response:
        assert (response.status, await response.json()) == (401, TOKEN_BODY)


async def test_expire_token_fault_revokes_the_entra_token_of_an_aad_caller(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    aad = bearer(f"aad#{RESOURCE_ID}#{await entra_token(emu.url)}")
    emu.faults.add(Fault(route="short_audio", expire_token=True))
    assert (await post(session, emu.url)).status == 200  # a key caller passes the fault by
    first = await post(session, emu.url, key=None, headers=aad)
    assert (first.status, first.json()) == (401, TOKEN_BODY)
    assert (await post(session, emu.url, key=None, headers=aad)).status == 401  # revoked for good
    fresh = bearer(f"aad#{RESOURCE_ID}#{await entra_token(emu.url)}")
    assert (await post(session, emu.url, key=None, headers=fresh)).status == 200
    assert [r.fault for r in emu.requests] == [None, "expire-token", None, None]


async def test_tokens_are_never_recorded_logged_or_echoed(
    emu: Emulator, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    entra = await entra_token(emu.url)
    sts = await sts_token(session, emu.url)
    replies = [
        await post(session, emu.url, key=None, headers=bearer(f"aad#{RESOURCE_ID}#{entra}")),
        await post(session, emu.url, key=None, headers=bearer(f"aad#{RESOURCE_ID.replace('0', '1')}#{entra}")),
        await post(session, emu.url, key=None, headers=bearer(entra)),
        await post(session, emu.url, key=None, headers=bearer(sts)),
    ]
    assert [r.status for r in replies] == [200, 401, 401, 200]
    async with session.get(f"{emu.url}/_emulator/requests") as response:
        listed = await response.text()
    stored = repr(emu.requests) + repr([asdict(r) for r in emu.requests]) + listed
    logged = "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text}" for r in caplog.records)
    echoed = b"".join(r.body + repr(r.headers).encode() for r in replies).decode()
    for token in (entra, sts):
        for piece in token.split("."):
            assert piece not in stored
            assert piece not in logged
            assert piece not in echoed


# --- faults ---------------------------------------------------------------------------------------


async def test_503_then_success(emu: Emulator, session: aiohttp.ClientSession) -> None:
    emu.faults.add(Fault(route="short_audio", status=503, retry_after=2))
    emu.faults.add(Fault(route="transcribe", status=500))  # another route's fault stays queued
    failed = await post(session, emu.url, chunked=True)
    assert failed.status == 503
    assert failed.headers["Retry-After"] == "2"
    assert failed.json()["code"] == "ServiceUnavailable"
    retried = await post(session, emu.url, chunked=True)
    assert retried.status == 200
    digest = hashlib.sha256(PENCILS).hexdigest()
    assert [(r.status, r.fault, r.attempt_body_sha256) for r in emu.requests] == [
        (503, "status-503", digest),
        (200, None, digest),
    ]
    assert [applied.route for applied in emu.faults.applied] == ["short_audio"]
    assert len(emu.faults.pending) == 1


async def test_drop_mid_upload_then_retry_is_byte_exact(emu: Emulator, session: aiohttp.ClientSession) -> None:
    emu.faults.add(Fault(route="short_audio", drop_after_request_bytes=8192))
    with pytest.raises(aiohttp.ClientError):
        await post(session, emu.url, LONG_31, chunked=True)
    dropped = emu.requests[-1]
    assert (dropped.route, dropped.status, dropped.fault) == ("short_audio", 0, "drop-after-request-bytes")
    assert 8192 <= dropped.body_bytes < len(LONG_31)
    assert (dropped.body_complete, dropped.attempt_body_sha256) == (False, None)
    assert dropped.expect_continue
    assert (await post(session, emu.url, LONG_31, chunked=True)).status == 200
    retried = emu.requests[-1]
    assert retried.body_complete
    assert retried.attempt_body_sha256 == hashlib.sha256(LONG_31).hexdigest()


async def test_every_catalogue_fault_works_on_short_audio(
    emu: Emulator, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    for fault in ALL_FAULT_KINDS:
        emu.faults.add(Fault(**{**asdict(fault), "route": "short_audio"}))
    for _ in ALL_FAULT_KINDS:
        try:
            reply = await post(session, emu.url)
        except aiohttp.ClientError:
            continue
        if emu.requests[-1].fault in ("malformed-json", "truncated-json"):
            assert reply.status == 200
            with pytest.raises(ValueError):  # noqa: PT011 - json.JSONDecodeError or UnicodeDecodeError
                json.loads(reply.body)
    assert sorted(str(r.fault) for r in emu.requests) == sorted(f.kind for f in ALL_FAULT_KINDS)
    digest = hashlib.sha256(PENCILS).hexdigest()
    for record in emu.requests:
        assert record.route == "short_audio"
        if record.fault != "drop-after-request-bytes":
            assert record.attempt_body_sha256 == digest, record.fault
    assert emu.faults.pending == ()
    assert (await post(session, emu.url)).status == 200
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# --- counters, configuration, command line --------------------------------------------------------


async def test_counters_count_short_audio_on_arrival(emu: Emulator, session: aiohttp.ClientSession) -> None:
    assert emu.counters["short_audio"] == 0
    await post(session, emu.url)
    await post(session, emu.url, path=CUSTOM_DOMAIN.format(mode="interactive"))
    await post(session, emu.url, key="wrong")  # refused, still counted
    await post(session, emu.url, query={})  # 400, still counted
    await post(session, emu.url, path=REGIONAL.format(mode="nope"))  # not routed, not counted
    async with session.get(f"{emu.url}/_emulator/counters") as response:
        listed = await response.json()
    assert listed["short_audio"] == emu.counters["short_audio"] == 4
    assert listed["transcribe"] == 0


def test_config_validates_short_audio_settings() -> None:
    for bad in (
        "",
        "speech-emulator",
        RESOURCE_ID + "/",
        RESOURCE_ID.replace("00000000-0000", "x"),
        RESOURCE_ID + "#x",
    ):
        with pytest.raises(ValueError, match="resource_id"):
            EmulatorConfig(resource_id=bad)
    for value in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="max_seconds"):
            EmulatorConfig(short_audio=ShortAudioConfig(max_seconds=value))
        with pytest.raises(ValueError, match="max_assessment_seconds"):
            EmulatorConfig(short_audio=ShortAudioConfig(max_assessment_seconds=value))
    with pytest.raises(ValueError, match="max_bytes"):
        EmulatorConfig(short_audio=ShortAudioConfig(max_bytes=0))
    config = EmulatorConfig()
    assert config.resource_id == RESOURCE_ID
    assert (config.short_audio.max_seconds, config.short_audio.max_assessment_seconds) == (60.0, 30.0)


def test_cli_rejects_a_bad_resource_id(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--recognizer", "scripted", "--resource-id", "/subscriptions/nope"])
    assert exit_info.value.code == 2
    assert "resource_id must be an ARM id" in capsys.readouterr().err


# --- the real recognizer --------------------------------------------------------------------------


@pytest.mark.whisper
@pytest.mark.skipif(
    importlib.util.find_spec("faster_whisper") is None, reason="the whisper recognizer needs the asr extra"
)
async def test_whisper_recognizes_hello_wav(session: aiohttp.ClientSession, hello_bytes: bytes) -> None:
    # hello.wav is 16-bit PCM, 16 kHz, mono: what this API takes.
    assert hello_bytes[20:36] == struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16)
    async with Emulator(EmulatorConfig(recognizer="whisper")) as emulator:
        reply = await post(session, emulator.url, hello_bytes, key="any-key", query=DETAILED, chunked=True)
    assert reply.status == 200, reply.body
    body = reply.json()
    assert body["RecognitionStatus"] == "Success"
    (best,) = body["NBest"]
    assert "thank you" in best["Display"].lower()
    assert "calling" in best["Lexical"]
    assert best["Lexical"] == best["Lexical"].lower()
    assert 0 < best["Confidence"] <= 1
    assert 0 <= body["Offset"] < body["Offset"] + body["Duration"] <= 5018 * TICKS_PER_MS
