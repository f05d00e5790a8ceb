"""The service emulator over real loopback HTTP: protocol, validation, shaping, recording, admin API.

Requests are built by hand (raw multipart bytes) where header order, case or framing matters.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import anyio.to_thread
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import speech_async.emulator as emulator_package
from speech_async.emulator import (
    Emulator,
    EmulatorConfig,
    FastConfig,
    Recognition,
    RecognitionRequest,
    RecognizedPhrase,
    RecognizedWord,
    RecognizerLimitation,
    ScriptedPhrase,
    ScriptedTranscript,
    ScriptedWord,
    create_app,
)

from ..support.bodies import INVALID_KEY_BODY, MISSING_KEY_BODY, key_orders
from ..support.samples import SAMPLES

HELLO = (SAMPLES / "hello.wav").read_bytes()
STEREO = (SAMPLES / "call-stereo.flac").read_bytes()
HELLO_MS = 5018  # 80,303 16-bit mono frames at 16 kHz
STEREO_MS = 5518
TRANSCRIBE = "/speechtotext/transcriptions:transcribe"
V2025 = "2025-10-15"
V2024 = "2024-11-15"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

HELLO_TRANSCRIPT = ScriptedTranscript(
    phrases=(
        ScriptedPhrase(text="How can I help you today?", offset_ms=2960, duration_ms=1520),
        ScriptedPhrase(text="Hello, and thank you for calling.", offset_ms=40, duration_ms=2480),
    )
)
STEREO_TRANSCRIPT = ScriptedTranscript(
    phrases=(
        ScriptedPhrase(text="How can I help you today?", offset_ms=2960, duration_ms=1520, speaker=1),
        ScriptedPhrase(
            text="I would like to check the status of my order.",
            offset_ms=840,
            duration_ms=3000,
            channel=1,
            speaker=2,
        ),
        ScriptedPhrase(text="Hello, and thank you for calling.", offset_ms=0, duration_ms=2520, speaker=1),
    )
)


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str
    raw_headers: list[tuple[str, str]] = field(default_factory=list[tuple[str, str]])

    @property
    def body(self) -> Any:
        return json.loads(self.text)


def part(name: str, body: bytes, *, filename: str | None = None, content_type: str | None = None) -> tuple:
    """Python-SDK style part headers: Content-Disposition, then Content-Type."""
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    headers = [("Content-Disposition", disposition)]
    if content_type is not None:
        headers.append(("Content-Type", content_type))
    return (headers, body)


def multipart(boundary: str, *parts: tuple[Sequence[tuple[str, str]], bytes]) -> bytes:
    out = bytearray()
    for headers, body in parts:
        out += f"--{boundary}\r\n".encode()
        for name, value in headers:
            out += f"{name}: {value}\r\n".encode()
        out += b"\r\n" + body + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out)


def form(definition: object | None, audio: bytes | None) -> bytes:
    parts = []
    if definition is not None:
        text = definition if isinstance(definition, str) else json.dumps(definition)
        parts.append(part("definition", text.encode(), content_type="application/json"))
    if audio is not None:
        parts.append(part("audio", audio, filename="audio.wav", content_type="application/octet-stream"))
    return multipart("3fb2f4ff21b5efe922b5000bd9be4c02", *parts)


MULTIPART_TYPE = "multipart/form-data; boundary=3fb2f4ff21b5efe922b5000bd9be4c02"


async def send(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes | None = None,
    *,
    key: str | None = "emulator-test-key",
    api_version: str | None = V2025,
    content_type: str = MULTIPART_TYPE,
    headers: dict[str, str] | None = None,
    chunked: bool = False,
    method: str = "POST",
    path: str = TRANSCRIBE,
) -> Reply:
    all_headers = {"Content-Type": content_type, **(headers or {})}
    if key is not None:
        all_headers["Ocp-Apim-Subscription-Key"] = key
    params = {} if api_version is None else {"api-version": api_version}
    data: Any = body
    if chunked and body is not None:
        payload = body

        async def stream() -> AsyncIterator[bytes]:
            for start in range(0, len(payload), 65536):
                yield payload[start : start + 65536]

        data = stream()
    async with session.request(method, url + path, params=params, data=data, headers=all_headers) as response:
        text = await response.text()
        raw = [(k.decode(), v.decode()) for k, v in response.raw_headers]
        return Reply(response.status, dict(response.headers), text, raw)


async def transcribe(
    session: aiohttp.ClientSession, url: str, definition: object | None, audio: bytes | None, **kwargs: Any
) -> Reply:
    return await send(session, url, form(definition, audio), **kwargs)


@pytest.fixture
def emu(speech_emulator: Emulator) -> Emulator:
    speech_emulator.scripted.register(HELLO, HELLO_TRANSCRIPT)
    speech_emulator.scripted.register(STEREO, STEREO_TRANSCRIPT)
    return speech_emulator


def assert_error(reply: Reply, status: int, code: str, inner: str | None = None) -> dict[str, Any]:
    assert reply.status == status, reply.text
    body = reply.body
    assert body["code"] == code, body
    if inner is None:
        assert "innerError" not in body
    else:
        assert body["innerError"]["code"] == inner, body
        assert list(body) == ["code", "message", "innerError"]
    return body


def spool_leftovers() -> list[Path]:
    # Only this process's spools: other test runs on the machine may be spooling right now.
    return list(Path(tempfile.gettempdir()).glob(f"speech-async-emulator-{os.getpid()}-*"))


# --- authentication -------------------------------------------------------------------------------


async def test_missing_key_is_401_with_gateway_body(emu: Emulator, session: aiohttp.ClientSession) -> None:
    reply = await transcribe(session, emu.url, {}, HELLO, key=None)
    assert reply.status == 401
    assert reply.body == MISSING_KEY_BODY
    assert emu.requests[-1].auth == "none"
    assert emu.requests[-1].status == 401


async def test_empty_key_counts_as_missing(emu: Emulator, session: aiohttp.ClientSession) -> None:
    reply = await transcribe(session, emu.url, {}, HELLO, key="")
    assert (reply.status, reply.body) == (401, MISSING_KEY_BODY)


async def test_wrong_key_is_401_and_value_is_case_sensitive(emu: Emulator, session: aiohttp.ClientSession) -> None:
    for key in ("wrong", "EMULATOR-TEST-KEY"):
        reply = await transcribe(session, emu.url, {}, HELLO, key=key)
        assert (reply.status, reply.body) == (401, INVALID_KEY_BODY)
    assert "apim-request-id" in reply.headers
    assert "CSP-Billing-Usage" not in reply.headers


async def test_key_header_name_is_case_insensitive(emu: Emulator, session: aiohttp.ClientSession) -> None:
    reply = await transcribe(
        session, emu.url, {}, HELLO, key=None, headers={"ocp-apim-subscription-key": "emulator-test-key"}
    )
    assert reply.status == 200, reply.text
    assert emu.requests[-1].auth == "key"


async def test_unknown_bearer_tokens_are_refused(emu: Emulator, session: aiohttp.ClientSession) -> None:
    # Tokens the emulator minted are accepted (tests/emulator/test_tokens.py); this one it did not mint.
    reply = await transcribe(session, emu.url, {}, HELLO, key=None, headers={"Authorization": "Bearer abc.def.ghi"})
    assert reply.status == 401
    assert reply.body["error"]["code"] == "401"
    assert "Access token is missing, invalid" in reply.body["error"]["message"]
    recorded = emu.requests[-1]
    assert recorded.auth == "bearer"
    assert recorded.header("authorization") == "***"


async def test_auth_is_checked_before_api_version_and_body(emu: Emulator, session: aiohttp.ClientSession) -> None:
    reply = await send(session, emu.url, b"not multipart", key=None, api_version=None, content_type="text/plain")
    assert (reply.status, reply.body) == (401, MISSING_KEY_BODY)
    assert emu.requests[-1].parts == ()


async def test_any_non_empty_key_when_none_is_configured(session: aiohttp.ClientSession) -> None:
    async with Emulator(EmulatorConfig(recognizer="scripted")) as emulator:
        emulator.scripted.register(HELLO, HELLO_TRANSCRIPT)
        assert (await transcribe(session, emulator.url, {}, HELLO, key="whatever")).status == 200
        assert (await transcribe(session, emulator.url, {}, HELLO, key=None)).status == 401


async def test_key_is_never_stored_or_echoed(emu: Emulator, session: aiohttp.ClientSession) -> None:
    secret = "emulator-test-key"
    replies = [
        await transcribe(session, emu.url, {}, HELLO, key=secret),
        await transcribe(session, emu.url, {"locales": ["xx-XX"]}, HELLO, key=secret),
        await transcribe(session, emu.url, {}, HELLO, key=secret + "-wrong"),
    ]
    for reply in replies:
        assert secret not in reply.text
        assert all(secret not in value for value in reply.headers.values())
    assert secret not in repr(emu.requests)
    async with session.get(emu.url + "/_emulator/requests") as response:
        assert secret not in await response.text()
    assert all(r.header("Ocp-Apim-Subscription-Key") == "***" for r in emu.requests)
    await send(session, emu.url, form({}, HELLO), path=f"{TRANSCRIBE}?subscription-key={secret}")
    assert emu.requests[-1].query == {"api-version": V2025, "subscription-key": "***"}
    assert secret not in repr(emu.requests)


# --- api-version, routing, media type --------------------------------------------------------------


@pytest.mark.parametrize("version", [V2024, V2025])
async def test_supported_api_versions(emu: Emulator, session: aiohttp.ClientSession, version: str) -> None:
    reply = await transcribe(session, emu.url, {"locales": ["en-US"]}, HELLO, api_version=version)
    assert reply.status == 200, reply.text


@pytest.mark.parametrize("version", [None, "2024-05-15-preview", "v3.2", ""], ids=["missing", "preview", "v3", "empty"])
async def test_bad_api_version_is_400(emu: Emulator, session: aiohttp.ClientSession, version: str | None) -> None:
    reply = await transcribe(session, emu.url, {}, HELLO, api_version=version)
    body = assert_error(reply, 400, "InvalidRequest", "InvalidParameterValue")
    assert "api-version" in body["message"]


async def test_unknown_path_is_gateway_404(emu: Emulator, session: aiohttp.ClientSession) -> None:
    reply = await send(session, emu.url, None, path="/speechtotext/nothing", method="GET")
    assert reply.status == 404
    assert reply.body == {"error": {"code": "404", "message": "Resource not found"}}


async def test_body_must_be_multipart_form_data(emu: Emulator, session: aiohttp.ClientSession) -> None:
    reply = await send(session, emu.url, b'{"locales": []}', content_type="application/json")
    assert_error(reply, 415, "UnsupportedMediaType")


async def test_locales_endpoint(emu: Emulator, session: aiohttp.ClientSession) -> None:
    reply = await send(session, emu.url, None, method="GET", path="/speechtotext/transcriptions/locales")
    assert reply.status == 200
    assert list(reply.body) == ["Transcribe", "Submit"]
    assert {"en-US", "de-DE", "ja-JP", "zh-CN"} <= set(reply.body["Transcribe"])
    assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
    bad = await send(
        session, emu.url, None, method="GET", path="/speechtotext/transcriptions/locales", api_version=None
    )
    assert bad.status == 400


# --- multipart framing ----------------------------------------------------------------------------


async def test_curl_style_definition_without_content_type(emu: Emulator, session: aiohttp.ClientSession) -> None:
    body = multipart(
        "------------------------d74496d66958873e",
        part("audio", HELLO, filename="hello.wav", content_type="audio/wav"),
        part("definition", b'{"locales":["en-US"]}'),
    )
    reply = await send(
        session, emu.url, body, content_type="multipart/form-data; boundary=------------------------d74496d66958873e"
    )
    assert reply.status == 200, reply.text
    recorded = emu.requests[-1]
    assert [p.name for p in recorded.parts] == ["audio", "definition"]
    definition = recorded.part("definition")
    assert definition is not None
    assert definition.content_type is None
    assert definition.headers == (("Content-Disposition", 'form-data; name="definition"'),)
    assert recorded.definition == {"locales": ["en-US"]}


async def test_js_style_lower_case_headers_content_type_first(emu: Emulator, session: aiohttp.ClientSession) -> None:
    boundary = "--RecordedTestMultipartBoundary"
    body = multipart(
        boundary,
        (
            [("content-type", "application/json"), ("content-disposition", 'form-data; name="definition"')],
            b'{"locales":["en-US"]}',
        ),
        (
            [
                ("content-type", "application/octet-stream"),
                ("content-disposition", 'form-data; name="audio"; filename="audio"'),
            ],
            HELLO,
        ),
    )
    reply = await send(session, emu.url, body, content_type=f"multipart/form-data; boundary={boundary}")
    assert reply.status == 200, reply.text
    audio = emu.requests[-1].part("audio")
    assert audio is not None
    assert audio.filename == "audio"
    assert audio.headers[0] == ("content-type", "application/octet-stream")
    assert audio.size == len(HELLO)


async def test_chunked_and_content_length_are_both_accepted_and_recorded(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    body = form({"locales": ["en-US"]}, HELLO)
    fixed = await send(session, emu.url, body)
    chunked = await send(session, emu.url, body, chunked=True)
    assert fixed.status == chunked.status == 200
    assert fixed.body == chunked.body
    first, second = emu.requests[-2:]
    assert (first.chunked, first.content_length, first.body_bytes) == (False, len(body), len(body))
    assert (second.chunked, second.content_length, second.body_bytes) == (True, None, len(body))


async def test_unknown_parts_are_skipped_and_recorded(emu: Emulator, session: aiohttp.ClientSession) -> None:
    body = multipart(
        "b",
        part("extra", b"ignored"),
        part("definition", b"{}", content_type="application/json"),
        part("audio", HELLO, filename="x.bin"),
        part("audio", b"second audio part is ignored", filename="y.bin"),
    )
    reply = await send(session, emu.url, body, content_type="multipart/form-data; boundary=b")
    assert reply.status == 200, reply.text
    assert [(p.name, p.size) for p in emu.requests[-1].parts] == [
        ("extra", 7),
        ("definition", 2),
        ("audio", len(HELLO)),
        ("audio", 28),
    ]


async def test_malformed_multipart_is_400(emu: Emulator, session: aiohttp.ClientSession) -> None:
    reply = await send(session, emu.url, b"garbage without boundaries", content_type="multipart/form-data; boundary=zz")
    assert_error(reply, 400, "InvalidRequest", "InvalidRequestBodyFormat")


# --- success response -----------------------------------------------------------------------------


async def test_success_headers(emu: Emulator, session: aiohttp.ClientSession) -> None:
    reply = await transcribe(session, emu.url, {"locales": ["en-US"]}, HELLO)
    assert reply.status == 200
    headers = reply.headers
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert headers["Transfer-Encoding"] == "chunked"
    assert "Content-Length" not in headers
    assert UUID_RE.match(headers["apim-request-id"])
    assert headers["apim-request-id"] == emu.requests[-1].request_id
    assert headers["CSP-Billing-Usage"] == "CognitiveServices.SpeechServices.BatchSpeechtoTextSync=6"
    assert headers["x-ms-region"] == "East US"
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Content-Type-Options"] == "nosniff"


async def test_error_headers_carry_request_id_but_no_billing(emu: Emulator, session: aiohttp.ClientSession) -> None:
    reply = await transcribe(session, emu.url, {"locales": ["xx-XX"]}, HELLO)
    assert reply.status == 400
    assert UUID_RE.match(reply.headers["apim-request-id"])
    assert reply.headers["Transfer-Encoding"] == "chunked"
    assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
    assert "CSP-Billing-Usage" not in reply.headers


async def test_region_is_configurable(session: aiohttp.ClientSession) -> None:
    async with Emulator(EmulatorConfig(recognizer="scripted", region="West Europe")) as emulator:
        emulator.scripted.register(HELLO, HELLO_TRANSCRIPT)
        reply = await transcribe(session, emulator.url, {}, HELLO, key="k")
    assert reply.headers["x-ms-region"] == "West Europe"


async def test_body_shape_and_key_order(emu: Emulator, session: aiohttp.ClientSession) -> None:
    # Every optional member present: diarization (speaker) on one channel of the stereo call (channel).
    definition = {"locales": ["en-US"], "channels": [1], "diarization": {"enabled": True, "maxSpeakers": 2}}
    reply = await transcribe(session, emu.url, definition, STEREO)
    assert reply.status == 200, reply.text
    orders = key_orders(reply.text)
    word = ["text", "offsetMilliseconds", "durationMilliseconds"]
    phrase = [
        "channel",
        "speaker",
        "offsetMilliseconds",
        "durationMilliseconds",
        "text",
        "words",
        "locale",
        "confidence",
    ]
    assert orders[-1] == ["durationMilliseconds", "combinedPhrases", "phrases"]
    assert ["channel", "text"] in orders
    assert phrase in orders
    assert word in orders
    assert reply.text.startswith('{"durationMilliseconds":5518,"combinedPhrases":[{"channel":1,"text":"I would')


async def test_plain_request_has_no_channel_or_speaker(emu: Emulator, session: aiohttp.ClientSession) -> None:
    reply = await transcribe(session, emu.url, {"locales": ["en-US"]}, HELLO)
    body = reply.body
    assert body["durationMilliseconds"] == HELLO_MS
    assert body["combinedPhrases"] == [{"text": "Hello, and thank you for calling. How can I help you today?"}]
    first, second = body["phrases"]
    assert list(first) == ["offsetMilliseconds", "durationMilliseconds", "text", "words", "locale", "confidence"]
    assert (first["offsetMilliseconds"], first["durationMilliseconds"]) == (40, 2480)
    assert first["text"] == "Hello, and thank you for calling."
    assert [w["text"] for w in first["words"]] == ["Hello,", "and", "thank", "you", "for", "calling."]
    assert first["words"][0]["offsetMilliseconds"] == 40
    last = first["words"][-1]
    assert last["offsetMilliseconds"] + last["durationMilliseconds"] == 40 + 2480
    assert (first["locale"], first["confidence"]) == ("en-US", 0.9)
    assert second["offsetMilliseconds"] == 2960


# --- channel / speaker / model shaping ------------------------------------------------------------


async def test_stereo_without_channels_merges_by_offset(emu: Emulator, session: aiohttp.ClientSession) -> None:
    body = (await transcribe(session, emu.url, {"locales": ["en-US"]}, STEREO)).body
    assert [p["offsetMilliseconds"] for p in body["phrases"]] == [0, 840, 2960]
    assert all("channel" not in p and "speaker" not in p for p in body["phrases"])
    assert body["combinedPhrases"] == [
        {
            "text": "Hello, and thank you for calling. I would like to check the status of my order. "
            "How can I help you today?"
        }
    ]


async def test_stereo_with_both_channels(emu: Emulator, session: aiohttp.ClientSession) -> None:
    body = (await transcribe(session, emu.url, {"locales": ["en-US"], "channels": [1, 0]}, STEREO)).body
    assert [(p["channel"], p["offsetMilliseconds"]) for p in body["phrases"]] == [(0, 0), (0, 2960), (1, 840)]
    assert all("speaker" not in p for p in body["phrases"])
    assert body["combinedPhrases"] == [
        {"channel": 0, "text": "Hello, and thank you for calling. How can I help you today?"},
        {"channel": 1, "text": "I would like to check the status of my order."},
    ]


async def test_stereo_with_one_channel(emu: Emulator, session: aiohttp.ClientSession) -> None:
    body = (await transcribe(session, emu.url, {"channels": [1]}, STEREO)).body
    assert [p["text"] for p in body["phrases"]] == ["I would like to check the status of my order."]
    assert body["combinedPhrases"] == [{"channel": 1, "text": "I would like to check the status of my order."}]


@pytest.mark.parametrize("channels", [[0, 1], [0]], ids=["both", "first"])
async def test_mono_input_with_channels_is_channel_zero(
    emu: Emulator, session: aiohttp.ClientSession, channels: list[int]
) -> None:
    # Errata E1 (recorded): mono audio with channels gets one channel-0 transcript, and every phrase
    # says channel 0.
    reply = await transcribe(session, emu.url, {"channels": channels}, HELLO)
    assert reply.status == 200, reply.text
    body = reply.body
    assert body["combinedPhrases"] == [
        {"channel": 0, "text": "Hello, and thank you for calling. How can I help you today?"}
    ]
    assert [(p["channel"], p["offsetMilliseconds"]) for p in body["phrases"]] == [(0, 40), (0, 2960)]
    assert all("speaker" not in p for p in body["phrases"])
    assert all(next(iter(p)) == "channel" for p in body["phrases"])


async def test_diarization_alone_adds_speakers_and_no_channel(emu: Emulator, session: aiohttp.ClientSession) -> None:
    # Errata E2 (recorded): diarization without channels puts no channel field anywhere.
    definition = {"locales": ["en-US"], "diarization": {"enabled": True, "maxSpeakers": 2}}
    reply = await transcribe(session, emu.url, definition, STEREO)
    body = reply.body
    assert [p["speaker"] for p in body["phrases"]] == [1, 2, 1]
    assert all(next(iter(p)) == "speaker" for p in body["phrases"])
    assert body["combinedPhrases"] == [
        {
            "text": "Hello, and thank you for calling. I would like to check the status of my order. "
            "How can I help you today?"
        }
    ]
    assert '"channel"' not in reply.text
    # Phrases registered without a speaker are labelled speaker 1.
    reply = await transcribe(session, emu.url, definition, HELLO)
    assert {p["speaker"] for p in reply.body["phrases"]} == {1}
    assert '"channel"' not in reply.text


async def test_mono_diarization_with_both_channels_is_served(emu: Emulator, session: aiohttp.ClientSession) -> None:
    # Errata E3 (recorded): 200, phrases with channel 0 and a speaker, in that key order.
    definition = {
        "locales": ["en-US", "es-ES"],
        "diarization": {"enabled": True, "maxSpeakers": 5},
        "profanityFilterMode": "Removed",
        "channels": [0, 1],
    }
    reply = await transcribe(session, emu.url, definition, HELLO)
    assert reply.status == 200, reply.text
    body = reply.body
    assert [(p["channel"], p["speaker"]) for p in body["phrases"]] == [(0, 1), (0, 1)]
    assert body["combinedPhrases"] == [
        {"channel": 0, "text": "Hello, and thank you for calling. How can I help you today?"}
    ]
    phrase = ["channel", "speaker", "offsetMilliseconds", "durationMilliseconds", "text", "words", "locale"]
    assert all(list(p) == [*phrase, "confidence"] for p in body["phrases"])
    assert ["channel", "text"] in key_orders(reply.text)


async def test_stereo_diarization_with_both_channels_is_refused(emu: Emulator, session: aiohttp.ClientSession) -> None:
    # Unrecorded for stereo audio (unverified): the emulator keeps the documented refusal there.
    definition = {"channels": [0, 1], "diarization": {"enabled": True}}
    reply = await transcribe(session, emu.url, definition, STEREO)
    assert_error(reply, 400, "InvalidArgument", "BadChannelConfiguration")
    # One channel of the stereo audio with diarization is served.
    reply = await transcribe(session, emu.url, {"channels": [1], "diarization": {"enabled": True}}, STEREO)
    assert [(p["channel"], p["speaker"]) for p in reply.body["phrases"]] == [(1, 2)]


async def test_diarization_without_enabled_gives_no_speakers(emu: Emulator, session: aiohttp.ClientSession) -> None:
    body = (await transcribe(session, emu.url, {"diarization": {"maxSpeakers": 2}}, STEREO)).body
    assert all("speaker" not in p and "channel" not in p for p in body["phrases"])


async def test_standard_model_times_are_multiples_of_40ms(emu: Emulator, session: aiohttp.ClientSession) -> None:
    audio = HELLO + b"\x00\x00"  # distinct content, same duration
    words = (
        ScriptedWord(text="Hello", offset_ms=1234, duration_ms=333),
        ScriptedWord(text="there", offset_ms=1601, duration_ms=77),
    )
    emu.scripted.register(
        audio,
        ScriptedTranscript(phrases=(ScriptedPhrase(text="Hello there", offset_ms=1234, duration_ms=444, words=words),)),
    )
    (phrase,) = (await transcribe(session, emu.url, {}, audio)).body["phrases"]
    assert (phrase["offsetMilliseconds"], phrase["durationMilliseconds"]) == (1240, 440)
    assert [(w["offsetMilliseconds"], w["durationMilliseconds"]) for w in phrase["words"]] == [(1240, 320), (1600, 80)]

    llm = {"enhancedMode": {"enabled": True, "task": "transcribe"}}
    reply = await transcribe(session, emu.url, llm, audio)
    (phrase,) = reply.body["phrases"]
    assert (phrase["offsetMilliseconds"], phrase["durationMilliseconds"]) == (1230, 450)
    assert [(w["offsetMilliseconds"], w["durationMilliseconds"]) for w in phrase["words"]] == [(1230, 340), (1600, 80)]
    assert phrase["confidence"] == 0
    assert reply.headers["CSP-Billing-Usage"] == "CognitiveServices.SpeechServices.LLMSpeechTranscribe=6"


async def test_enhanced_mode_without_enabled_uses_standard_model(emu: Emulator, session: aiohttp.ClientSession) -> None:
    definition = {"enhancedMode": {"task": "transcribe", "prompt": ["Output must be in lexical format."]}}
    reply = await transcribe(session, emu.url, definition, HELLO)
    assert reply.headers["CSP-Billing-Usage"] == "CognitiveServices.SpeechServices.BatchSpeechtoTextSync=6"
    assert all(p["confidence"] == 0.9 for p in reply.body["phrases"])


async def test_enhanced_mode_is_ignored_on_2024_11_15(emu: Emulator, session: aiohttp.ClientSession) -> None:
    definition = {"enhancedMode": {"enabled": True, "task": "translate"}, "phraseList": {"phrases": ["x"] * 999}}
    reply = await transcribe(session, emu.url, definition, HELLO, api_version=V2024)
    assert reply.status == 200, reply.text
    assert reply.headers["CSP-Billing-Usage"].startswith("CognitiveServices.SpeechServices.BatchSpeechtoTextSync=")


async def test_translate_shapes_like_the_published_example(emu: Emulator, session: aiohttp.ClientSession) -> None:
    audio = HELLO + b"\x01\x00"
    emu.scripted.register(
        audio,
        ScriptedTranscript(
            phrases=(ScriptedPhrase(text="Weather", offset_ms=40, duration_ms=320),),
            translations={
                "zh": (ScriptedPhrase(text="天气", offset_ms=40, duration_ms=320),),
                "de": (ScriptedPhrase(text="Das Wetter", offset_ms=40, duration_ms=320, speaker=7),),
            },
        ),
    )
    definition = {"locales": ["en-US"], "enhancedMode": {"enabled": True, "task": "translate", "targetLanguage": "zh"}}
    reply = await transcribe(session, emu.url, definition, audio)
    assert reply.status == 200, reply.text
    assert reply.body["combinedPhrases"] == [{"text": "天气"}]
    assert reply.body["phrases"] == [
        {
            "offsetMilliseconds": 40,
            "durationMilliseconds": 320,
            "text": "天气",
            "words": [
                {"text": "天", "offsetMilliseconds": 0, "durationMilliseconds": 0},
                {"text": "气", "offsetMilliseconds": 0, "durationMilliseconds": 0},
            ],
            "locale": "zh-CN",
            "confidence": 0,
        }
    ]
    assert "天气" in reply.text  # UTF-8 on the wire, not \u escapes

    definition["enhancedMode"]["targetLanguage"] = "de"
    definition["diarization"] = {"enabled": True}
    (phrase,) = (await transcribe(session, emu.url, definition, audio)).body["phrases"]
    assert (phrase["speaker"], phrase["locale"], [w["text"] for w in phrase["words"]]) == (
        1,
        "de-DE",
        ["Das", "Wetter"],
    )

    definition["enhancedMode"]["targetLanguage"] = "ko"
    reply = await transcribe(session, emu.url, definition, audio)
    body = assert_error(reply, 422, "UnprocessableEntity", "ScriptedTranslationMissing")
    assert "'ko'" in body["message"]


async def test_unregistered_audio_is_422_naming_the_digest(emu: Emulator, session: aiohttp.ClientSession) -> None:
    audio = HELLO + b"\x02\x00"
    reply = await transcribe(session, emu.url, {}, audio)
    body = assert_error(reply, 422, "UnprocessableEntity", "ScriptedTranscriptMissing")
    digest = hashlib.sha256(audio).hexdigest()
    assert digest in body["message"]
    assert f"PUT /_emulator/scripted/{digest}" in body["message"]
    assert body["message"].startswith("speech_async emulator: ")


async def test_custom_recognizer_receives_the_validated_request(session: aiohttp.ClientSession) -> None:
    seen: list[RecognitionRequest] = []

    class Recorder:
        async def recognize(self, request: RecognitionRequest) -> Recognition:
            seen.append(request)
            if request.task == "translate":
                raise RecognizerLimitation("translate anything")
            word = RecognizedWord(text="Hi.", offset_ms=0, duration_ms=400)
            return Recognition(
                duration_ms=1000, phrases=(RecognizedPhrase(text="Hi.", offset_ms=0, duration_ms=400, words=(word,)),)
            )

    async with Emulator(EmulatorConfig(recognizer=Recorder())) as emulator:
        definition = {
            "locales": ["en-US", "de-DE"],
            "profanityFilterMode": "removed",
            "diarization": {"enabled": True, "maxSpeakers": 3},
            "channels": [0, 0],
            "phraseList": {"phrases": ["Contoso"], "biasingWeight": 1.6},
            "enhancedMode": {"enabled": True, "prompt": ["Be brief."]},
        }
        reply = await transcribe(session, emulator.url, definition, STEREO, key="k")
        assert reply.status == 200, reply.text
        assert reply.body["durationMilliseconds"] == 1000
        limited = await transcribe(
            session,
            emulator.url,
            {"enhancedMode": {"enabled": True, "task": "translate", "targetLanguage": "ko"}},
            HELLO,
            key="k",
        )
    request = seen[0]
    assert (request.audio_format, request.audio_channels, request.audio_duration_ms) == ("flac", 2, STEREO_MS)
    assert request.audio_size == len(STEREO)
    assert request.locales == ("en-US", "de-DE")
    assert (request.diarization, request.max_speakers, request.channels) == (True, 3, (0,))
    assert (request.task, request.prompts, request.phrases) == ("transcribe", ("Be brief.",), ("Contoso",))
    assert request.profanity_filter_mode == "Removed"
    assert seen[1].target_language == "ko"
    body = assert_error(limited, 422, "UnprocessableEntity", "EmulatorLimitation")
    assert body["message"] == "speech_async emulator: translate anything"


# --- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("definition", "status", "code", "inner"),
    [
        ("{not json", 400, "InvalidRequest", "InvalidRequestBodyFormat"),
        ("[1, 2]", 400, "InvalidRequest", "InvalidRequestBodyFormat"),
        ('{ "locales":  "en-US"] }', 400, "InvalidRequest", "InvalidRequestBodyFormat"),
        ({"locales": "en-US"}, 400, "InvalidRequest", "InvalidRequestBodyFormat"),
        ({"locales": ["xx-XX"]}, 400, "InvalidArgument", "InvalidLocale"),
        ({"locales": ["english"]}, 400, "InvalidArgument", "InvalidLocale"),
        ({"locales": ["en"]}, 400, "InvalidArgument", "InvalidLocale"),
        ({"profanityFilterMode": "Loud"}, 400, "InvalidArgument", "InvalidParameterValue"),
        ({"diarization": {"enabled": True, "maxSpeakers": 1}}, 400, "InvalidArgument", "InvalidParameterValue"),
        ({"diarization": {"enabled": True, "maxSpeakers": 36}}, 400, "InvalidArgument", "InvalidParameterValue"),
        ({"diarization": {"enabled": "yes"}}, 400, "InvalidRequest", "InvalidRequestBodyFormat"),
        ({"channels": [2]}, 400, "InvalidArgument", "InvalidChannelSpecification"),
        ({"channels": [-1]}, 400, "InvalidArgument", "InvalidChannelSpecification"),
        ({"channels": [0, 1, 0]}, 400, "InvalidArgument", "BadChannelConfiguration"),
        ({"enhancedMode": {"enabled": True, "prompt": ["x" * 4097]}}, 400, "InvalidArgument", "InvalidParameterValue"),
        (
            {"enhancedMode": {"enabled": True, "prompt": ["x" * 2048, "y" * 2049]}},
            400,
            "InvalidArgument",
            "InvalidParameterValue",
        ),
        ({"enhancedMode": {"enabled": True, "task": "translate"}}, 400, "InvalidArgument", "InvalidParameterValue"),
        ({"enhancedMode": {"enabled": True, "task": "summarize"}}, 400, "InvalidArgument", "InvalidParameterValue"),
        (
            {"enhancedMode": {"enabled": True, "task": "translate", "targetLanguage": "xx"}},
            400,
            "InvalidArgument",
            "UnsupportedLanguageCode",
        ),
        ({"phraseList": {"phrases": ["p"] * 501}}, 400, "InvalidArgument", "InvalidParameterValue"),
        ({"audioUrl": "not a url"}, 400, "InvalidArgument", "InvalidParameterValue"),
    ],
    ids=[
        "not-json",
        "not-object",
        "published-2024-example",
        "locales-not-array",
        "unsupported-locale",
        "malformed-locale",
        "bare-language-standard-model",
        "profanity-mode",
        "one-speaker",
        "36-speakers",
        "enabled-not-bool",
        "channel-2",
        "channel-negative",
        "three-channels",
        "prompt-too-long",
        "prompts-too-long-in-total",
        "translate-without-target",
        "unknown-task",
        "unsupported-target",
        "too-many-phrases",
        "bad-audio-url",
    ],
)
async def test_invalid_definitions(
    emu: Emulator, session: aiohttp.ClientSession, definition: object, status: int, code: str, inner: str
) -> None:
    # A bad audioUrl only matters when there is no audio part.
    audio = None if isinstance(definition, dict) and "audioUrl" in definition else HELLO
    reply = await transcribe(session, emu.url, definition, audio)
    assert_error(reply, status, code, inner)
    assert "CSP-Billing-Usage" not in reply.headers


async def test_invalid_locale_body_matches_the_recording(emu: Emulator, session: aiohttp.ClientSession) -> None:
    reply = await transcribe(session, emu.url, {"locales": ["en-US", "xx-XX"]}, HELLO)
    assert reply.text == (
        '{"code":"InvalidArgument","message":"The specified locale is not supported.",'
        '"innerError":{"code":"InvalidLocale","message":"The specified locale is not supported."}}'
    )


@pytest.mark.parametrize(
    "definition",
    [
        {"locales": ["en-us", "DE-de"]},
        {"locales": []},
        {"locales": None, "unknownMember": {"x": 1}},
        {"models": {"en-US": "https://westus.api.cognitive.microsoft.com/speechtotext/models/x"}},
        {"diarization": {"enabled": True, "maxSpeakers": 35}, "channels": [0]},
        {"diarization": {"enabled": True, "maxSpeakers": 2}, "channels": [0, 0, 0]},
        {"profanityFilterMode": "None"},
        {"enhancedMode": {"enabled": True, "task": "translate", "targetLanguage": "ko"}, "locales": ["en"]},
        {"enhancedMode": {"enabled": False, "task": "nonsense", "prompt": ["x" * 5000]}},
        {"phraseList": {"phrases": ["p"] * 500, "biasingWeight": 1.6}},
    ],
    ids=[
        "locale-case",
        "no-locales",
        "null-and-unknown",
        "models",
        "35-speakers",
        "diarization-one-channel-repeated",
        "profanity-none",
        "llm-bare-language",
        "disabled-enhanced-mode-not-validated",
        "500-phrases",
    ],
)
async def test_valid_definitions(emu: Emulator, session: aiohttp.ClientSession, definition: dict[str, Any]) -> None:
    emu.scripted.register(
        HELLO, ScriptedTranscript(phrases=HELLO_TRANSCRIPT.phrases, translations={"ko": HELLO_TRANSCRIPT.phrases})
    )
    reply = await transcribe(session, emu.url, definition, HELLO)
    assert reply.status == 200, reply.text


async def test_limits_are_configurable(session: aiohttp.ClientSession) -> None:
    config = EmulatorConfig(recognizer="scripted", fast=FastConfig(max_prompt_chars=5, max_phrases=1))
    async with Emulator(config) as emulator:
        emulator.scripted.register(HELLO, HELLO_TRANSCRIPT)
        prompt = {"enhancedMode": {"enabled": True, "prompt": ["abc", "def"]}}
        assert (await transcribe(session, emulator.url, prompt, HELLO, key="k")).status == 400
        phrases = {"phraseList": {"phrases": ["a", "b"]}}
        assert (await transcribe(session, emulator.url, phrases, HELLO, key="k")).status == 400


async def test_missing_definition_behaves_as_empty(emu: Emulator, session: aiohttp.ClientSession) -> None:
    # Errata E7: only `audio` is required; a form without `definition` is answered like `{}`.
    reply = await transcribe(session, emu.url, None, HELLO)
    assert reply.status == 200, reply.text
    assert reply.body == (await transcribe(session, emu.url, {}, HELLO)).body
    assert reply.body["combinedPhrases"] == [{"text": "Hello, and thank you for calling. How can I help you today?"}]
    assert reply.headers["CSP-Billing-Usage"] == "CognitiveServices.SpeechServices.BatchSpeechtoTextSync=6"
    recorded = emu.requests[0]
    assert [p.name for p in recorded.parts] == ["audio"]
    assert recorded.definition is None  # none was sent


async def test_audio_is_required(emu: Emulator, session: aiohttp.ClientSession) -> None:
    assert_error(await transcribe(session, emu.url, {}, None), 400, "InvalidRequest", "EmptyRequest")
    # audioUrl does not exist in 2024-11-15: the request has no audio.
    definition = {"audioUrl": "http://127.0.0.1:9/never-fetched.wav"}
    assert_error(
        await transcribe(session, emu.url, definition, None, api_version=V2024), 400, "InvalidRequest", "EmptyRequest"
    )


async def test_empty_audio(emu: Emulator, session: aiohttp.ClientSession) -> None:
    reply = await transcribe(session, emu.url, {}, b"")
    assert_error(reply, 400, "InvalidArgument", "EmptyAudioFile")


@pytest.mark.parametrize(
    "audio",
    [b"%PDF-1.7 this is not audio", b"\x00" * 1000, b"RIFF\x10\x00\x00\x00AVI LIST", b"RIFF\x04\x00\x00\x00WAVE"],
    ids=["pdf", "zeros", "avi", "wav-without-chunks"],
)
async def test_non_audio_is_invalid_audio_format(emu: Emulator, session: aiohttp.ClientSession, audio: bytes) -> None:
    reply = await transcribe(session, emu.url, {}, audio)
    assert_error(reply, 400, "InvalidArgument", "InvalidAudioFormat")


async def test_audio_longer_than_the_limit(session: aiohttp.ClientSession) -> None:
    async with Emulator(EmulatorConfig(recognizer="scripted", fast=FastConfig(max_audio_seconds=5.0))) as emulator:
        emulator.scripted.register(HELLO, HELLO_TRANSCRIPT)
        reply = await transcribe(session, emulator.url, {}, HELLO, key="k")
        assert_error(reply, 400, "InvalidArgument", "AudioLengthLimitExceeded")
        # A streaming WAV header (data size 0xFFFFFFFF) is measured by the file size.
        streaming = HELLO[:40] + b"\xff\xff\xff\xff" + HELLO[44:]
        reply = await transcribe(session, emulator.url, {}, streaming, key="k")
        assert_error(reply, 400, "InvalidArgument", "AudioLengthLimitExceeded")


async def test_audio_larger_than_the_limit_is_refused_while_streaming(session: aiohttp.ClientSession) -> None:
    async with Emulator(EmulatorConfig(recognizer="scripted", fast=FastConfig(max_audio_bytes=64 * 1024))) as emulator:
        body = form({}, HELLO + bytes(8 * 1024 * 1024))
        reply = await send(session, emulator.url, body, key="k", chunked=True)
        assert_error(reply, 413, "InvalidRequest", "InvalidPayload")
        assert emulator.requests[-1].status == 413
        assert reply.headers.get("Connection") == "close"
        # Over a raw connection, the answer comes while most of the upload is still unsent.
        head = body[: 1024 * 1024]
        reader, writer = await asyncio.open_connection("127.0.0.1", int(emulator.url.rsplit(":", 1)[1]))
        try:
            writer.write(
                f"POST {TRANSCRIBE}?api-version={V2025} HTTP/1.1\r\nHost: x\r\nOcp-Apim-Subscription-Key: k\r\n"
                f"Content-Type: {MULTIPART_TYPE}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                + head
            )
            await writer.drain()
            status_line = await reader.readline()
            assert status_line.startswith(b"HTTP/1.1 413 ")
            recorded = emulator.requests[-1]
            assert (recorded.status, recorded.body_complete, recorded.attempt_body_sha256) == (413, False, None)
            assert recorded.body_bytes <= len(head)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
    assert await anyio.to_thread.run_sync(spool_leftovers) == []


async def test_spool_files_are_deleted(emu: Emulator, session: aiohttp.ClientSession) -> None:
    await transcribe(session, emu.url, {}, HELLO)
    await transcribe(session, emu.url, {"locales": ["xx-XX"]}, HELLO)
    await transcribe(session, emu.url, {}, b"not audio at all")
    assert await anyio.to_thread.run_sync(spool_leftovers) == []


async def test_client_disconnect_mid_upload_leaves_nothing_behind(
    emu: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    head = form({}, HELLO)[: len(HELLO) // 2]
    reader, writer = await asyncio.open_connection("127.0.0.1", int(emu.url.rsplit(":", 1)[1]))
    writer.write(
        f"POST {TRANSCRIBE}?api-version={V2025} HTTP/1.1\r\nHost: x\r\nOcp-Apim-Subscription-Key: emulator-test-key\r\n"
        f"Content-Type: {MULTIPART_TYPE}\r\nContent-Length: {len(head) * 2}\r\n\r\n".encode()
        + head
    )
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    del reader
    for _ in range(100):
        if emu.requests and not await anyio.to_thread.run_sync(spool_leftovers):
            break
        await asyncio.sleep(0.02)
    recorded = emu.requests[-1]
    assert (recorded.status, recorded.chunked, recorded.content_length) == (0, False, len(head) * 2)
    assert 0 < recorded.body_bytes <= len(head)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert await anyio.to_thread.run_sync(spool_leftovers) == []


# --- audioUrl -------------------------------------------------------------------------------------


@pytest.fixture
async def audio_host() -> AsyncIterator[tuple[str, list[str]]]:
    """A second local server that hosts hello.wav; yields its URL and the paths it was asked for."""
    hits: list[str] = []

    async def serve(request: web.Request) -> web.StreamResponse:
        hits.append(request.path)
        if request.path == "/hello.wav":
            return web.Response(body=HELLO, content_type="audio/wav")
        return web.Response(status=404)

    app = web.Application()
    app.router.add_get("/{name}", serve)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", hits
    finally:
        await runner.cleanup()


async def test_audio_url_is_fetched(
    emu: Emulator, session: aiohttp.ClientSession, audio_host: tuple[str, list[str]]
) -> None:
    base, hits = audio_host
    reply = await transcribe(session, emu.url, {"locales": ["en-US"], "audioUrl": f"{base}/hello.wav"}, None)
    assert reply.status == 200, reply.text
    assert reply.body["combinedPhrases"][0]["text"].startswith("Hello, and thank you")
    assert hits == ["/hello.wav"]
    assert [p.name for p in emu.requests[-1].parts] == ["definition"]


async def test_audio_url_failure_is_400(
    emu: Emulator, session: aiohttp.ClientSession, audio_host: tuple[str, list[str]]
) -> None:
    base, _ = audio_host
    reply = await transcribe(session, emu.url, {"audioUrl": f"{base}/missing.wav"}, None)
    body = assert_error(reply, 400, "InvalidArgument", "InvalidParameterValue")
    assert "HTTP 404" in body["message"]
    reply = await transcribe(session, emu.url, {"audioUrl": "http://127.0.0.1:9/refused.wav"}, None)
    assert_error(reply, 400, "InvalidArgument", "InvalidParameterValue")


async def test_audio_part_wins_over_audio_url(
    emu: Emulator, session: aiohttp.ClientSession, audio_host: tuple[str, list[str]]
) -> None:
    base, hits = audio_host
    reply = await transcribe(session, emu.url, {"audioUrl": f"{base}/missing.wav"}, STEREO)
    assert reply.status == 200, reply.text
    assert reply.body["durationMilliseconds"] == STEREO_MS
    assert hits == []


async def test_audio_url_respects_the_size_limit(
    session: aiohttp.ClientSession, audio_host: tuple[str, list[str]]
) -> None:
    base, _ = audio_host
    async with Emulator(EmulatorConfig(recognizer="scripted", fast=FastConfig(max_audio_bytes=1000))) as emulator:
        reply = await transcribe(session, emulator.url, {"audioUrl": f"{base}/hello.wav"}, None, key="k")
    assert_error(reply, 413, "InvalidRequest", "InvalidPayload")


# --- admin API and recording ----------------------------------------------------------------------


async def test_admin_api_registers_transcripts(emu: Emulator, session: aiohttp.ClientSession) -> None:
    audio = HELLO + b"\x03\x00"
    digest = hashlib.sha256(audio).hexdigest()
    payload = {
        "phrases": [
            {"text": "Scripted over HTTP.", "offset_ms": 80, "duration_ms": 1200, "speaker": 2, "confidence": 0.5},
            {
                "text": "Second.",
                "offset_ms": 2000,
                "duration_ms": 400,
                "words": [{"text": "Second.", "offset_ms": 2000, "duration_ms": 400}],
            },
        ],
        "duration_ms": 9000,
        "translations": {"de": [{"text": "Zweitens.", "offset_ms": 2000, "duration_ms": 400}]},
    }
    async with session.put(f"{emu.url}/_emulator/scripted/{digest.upper()}", json=payload) as response:
        assert response.status == 204
    reply = await transcribe(session, emu.url, {"diarization": {"enabled": True}}, audio)
    assert reply.status == 200, reply.text
    assert reply.body["durationMilliseconds"] == 9000
    assert [(p["speaker"], p["confidence"]) for p in reply.body["phrases"]] == [(2, 0.5), (1, 0.9)]


@pytest.mark.parametrize(
    ("digest", "payload"),
    [
        ("abc", {"phrases": []}),
        ("a" * 64, {"phrases": [{"text": "x", "offset_ms": 0}]}),
        ("a" * 64, {"phrases": [], "unknown": 1}),
        ("a" * 64, {"phrases": [{"text": "x", "offset_ms": -5, "duration_ms": 1}]}),
        ("a" * 64, {"phrases": [{"text": "x", "offset_ms": 0, "duration_ms": 1, "confidence": 2.0}]}),
    ],
    ids=["short-digest", "missing-member", "unknown-member", "negative-offset", "confidence-above-1"],
)
async def test_admin_api_rejects_bad_input(
    emu: Emulator, session: aiohttp.ClientSession, digest: str, payload: object
) -> None:
    async with session.put(f"{emu.url}/_emulator/scripted/{digest}", json=payload) as response:
        assert response.status == 400
        assert "speech_async emulator admin API" in (await response.json())["message"]


async def test_admin_api_lists_and_clears_requests(emu: Emulator, session: aiohttp.ClientSession) -> None:
    await transcribe(session, emu.url, {"locales": ["en-US"]}, HELLO)
    await transcribe(session, emu.url, {}, HELLO, key="wrong")
    async with session.get(f"{emu.url}/_emulator/requests") as response:
        assert response.status == 200
        listed = await response.json()
    assert [r["status"] for r in listed] == [200, 401]
    first = listed[0]
    assert first["path"] == TRANSCRIBE
    assert first["query"] == {"api-version": V2025}
    assert first["auth"] == "key"
    assert ["Ocp-Apim-Subscription-Key", "***"] in first["headers"]
    assert first["definition"] == {"locales": ["en-US"]}
    assert [p["name"] for p in first["parts"]] == ["definition", "audio"]
    assert first["parts"][1]["sha256"] == hashlib.sha256(HELLO).hexdigest()
    assert first["request_id"] == emu.requests[0].request_id
    async with session.delete(f"{emu.url}/_emulator/requests") as response:
        assert response.status == 204
    assert emu.requests == []
    async with session.delete(f"{emu.url}/_emulator/scripted") as response:
        assert response.status == 204
    assert (await transcribe(session, emu.url, {}, HELLO)).status == 422


async def test_clear_requests(emu: Emulator, session: aiohttp.ClientSession) -> None:
    await transcribe(session, emu.url, {}, HELLO)
    assert len(emu.requests) == 1
    emu.clear_requests()
    assert emu.requests == []


# --- lifecycle and public surface -----------------------------------------------------------------


async def test_lifecycle() -> None:
    emulator = Emulator(EmulatorConfig(recognizer="scripted"))
    with pytest.raises(RuntimeError, match="not been started"):
        _ = emulator.url
    await emulator.start()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", emulator.url)
    with pytest.raises(RuntimeError, match="started"):
        await emulator.start()
    await emulator.close()
    await emulator.close()
    with pytest.raises(RuntimeError, match="closed"):
        await emulator.start()


async def test_port_in_use_fails_to_start(emu: Emulator) -> None:
    port = int(emu.url.rsplit(":", 1)[1])
    with pytest.raises(OSError, match="address already in use"):
        await Emulator(EmulatorConfig(recognizer="scripted"), port=port).start()


async def test_create_app_runs_under_a_custom_runner(session: aiohttp.ClientSession) -> None:
    app = create_app(EmulatorConfig(key="k", recognizer="scripted"))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        reply = await transcribe(session, url, {}, HELLO, key="k")
        assert_error(reply, 422, "UnprocessableEntity", "ScriptedTranscriptMissing")
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"key": ""},
        {"recognizer": "vosk"},
        {"fast": {"max_audio_bytes": 0}},
        {"fast": {"max_audio_seconds": -1.0}},
        {"fast": {"max_phrases": -1}},
    ],
    ids=["empty-key", "unknown-recognizer", "zero-bytes", "negative-seconds", "negative-phrases"],
)
def test_config_validation(kwargs: dict[str, Any]) -> None:
    fast = kwargs.pop("fast", None)
    with pytest.raises(ValueError, match=r"."):
        EmulatorConfig(**kwargs, fast=None if fast is None else FastConfig(**fast))


def test_config_rejects_objects_without_recognize() -> None:
    with pytest.raises(TypeError):
        EmulatorConfig(recognizer=object())  # type: ignore[arg-type]


def test_scripted_values_are_validated() -> None:
    with pytest.raises(ValueError, match="negative"):
        ScriptedPhrase(text="x", offset_ms=-1, duration_ms=1)
    with pytest.raises(TypeError, match="ScriptedPhrase"):
        ScriptedTranscript(phrases=({"text": "x"},))  # type: ignore[arg-type]
    emulator = Emulator(EmulatorConfig(recognizer="scripted"))
    with pytest.raises(ValueError, match="SHA-256"):
        emulator.scripted.register_digest("xyz", HELLO_TRANSCRIPT)
    digest = emulator.scripted.register(bytearray(HELLO), HELLO_TRANSCRIPT)
    assert emulator.scripted.get(digest.upper()) is HELLO_TRANSCRIPT


def test_public_names() -> None:
    names = emulator_package.__all__
    assert list(names) == sorted(names)
    public = {n for n in dir(emulator_package) if not n.startswith("_")}
    assert public - set(names) <= {"pytest_plugin"}
    for name in names:
        obj = getattr(emulator_package, name)
        if name.isupper():
            continue  # constants (ALL_FAULT_KINDS)
        assert obj.__doc__, name
        assert obj.__module__ == "speech_async.emulator", name


# --- robustness -----------------------------------------------------------------------------------


async def test_concurrent_requests(emu: Emulator, session: aiohttp.ClientSession) -> None:
    replies = await asyncio.gather(*(transcribe(session, emu.url, {"locales": ["en-US"]}, HELLO) for _ in range(16)))
    assert {r.status for r in replies} == {200}
    assert len({r.headers["apim-request-id"] for r in replies}) == 16
    assert len(emu.requests) == 16


def recase(name: str, style: int) -> str:
    return (name, name.lower(), name.upper())[style]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    order=st.permutations(["definition", "audio", "extra"]),
    case=st.integers(0, 2),
    type_first=st.booleans(),
    typed_definition=st.booleans(),
    filename=st.sampled_from([None, "audio", "hello.wav", "x y.bin"]),
    audio_type=st.sampled_from([None, "application/octet-stream", "audio/wav", "text/plain"]),
)
async def test_any_part_order_and_header_style(
    emu: Emulator,
    session: aiohttp.ClientSession,
    order: list[str],
    case: int,
    type_first: bool,
    typed_definition: bool,
    filename: str | None,
    audio_type: str | None,
) -> None:
    def headers(name: str, filename: str | None, content_type: str | None) -> list[tuple[str, str]]:
        disposition = f'form-data; name="{name}"' + ("" if filename is None else f'; filename="{filename}"')
        listed = [(recase("Content-Disposition", case), disposition)]
        if content_type is not None:
            typed = (recase("Content-Type", case), content_type)
            listed = [typed, *listed] if type_first else [*listed, typed]
        return listed

    bodies = {
        "definition": (
            headers("definition", None, "application/json" if typed_definition else None),
            b'{"locales":[]}',
        ),
        "audio": (headers("audio", filename, audio_type), HELLO),
        "extra": (headers("extra", None, "text/plain"), b"x"),
    }
    body = multipart("RecordedTestMultipartBoundary", *(bodies[name] for name in order))
    reply = await send(
        session, emu.url, body, content_type="multipart/form-data; boundary=RecordedTestMultipartBoundary"
    )
    assert reply.status == 200, reply.text
    recorded = emu.requests[-1]
    assert [p.name for p in recorded.parts] == order
    assert recorded.definition == {"locales": []}
    audio = recorded.part("audio")
    assert audio is not None
    assert (audio.filename, audio.content_type, audio.size) == (filename, audio_type, len(HELLO))
