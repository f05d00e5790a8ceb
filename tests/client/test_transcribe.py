"""Fast transcription through the public client against the emulator, over real loopback HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

import aiofiles
import pytest
from aiohttp import web

from speech_async import (
    ApiVersion,
    DiarizationOptions,
    EnhancedMode,
    KeyCredential,
    PhraseList,
    ProfanityFilterMode,
    SpeechClient,
    TranscriptionOptions,
)
from speech_async.emulator import Emulator, RecordedRequest, ScriptedPhrase, ScriptedTranscript

from ..support.http import chunks_of, serve_on_loopback
from ..support.samples import HELLO_TRANSCRIPT


def only_request(emulator: Emulator) -> RecordedRequest:
    transcribes = [r for r in emulator.requests if r.path.endswith("transcriptions:transcribe")]
    assert len(transcribes) == 1, transcribes
    return transcribes[0]


def assert_hello(result: Any) -> None:
    assert [p.text for p in result.phrases] == [p.text for p in HELLO_TRANSCRIPT.phrases]
    assert result.text == "Hello, and thank you for calling. How can I help you today?"


SOURCES: dict[str, Callable[[Path, bytes], Any]] = {
    "str-path": lambda path, data: str(path),
    "pathlib": lambda path, data: path,
    "bytes": lambda path, data: data,
    "bytearray": lambda path, data: bytearray(data),
    "memoryview": lambda path, data: memoryview(data),
    "bytesio": lambda path, data: io.BytesIO(data),
}


@pytest.mark.parametrize("kind", SOURCES)
async def test_every_in_memory_and_path_source_uploads_the_exact_audio_with_a_content_length(
    client: SpeechClient, emulator: Emulator, hello_wav: Path, hello_bytes: bytes, kind: str
) -> None:
    result = await client.transcribe(SOURCES[kind](hello_wav, hello_bytes))

    assert_hello(result)
    request = only_request(emulator)
    assert not request.chunked
    assert request.content_length == request.body_bytes
    (definition, audio) = request.parts
    assert (definition.name, audio.name) == ("definition", "audio")
    assert definition.content_type == "application/json"
    assert audio.content_type == "application/octet-stream"
    assert audio.sha256 == hashlib.sha256(hello_bytes).hexdigest()
    assert audio.filename == ("hello.wav" if kind in ("str-path", "pathlib") else "audio")


async def test_sync_file_object_is_read_off_the_loop_and_named_after_its_file(
    client: SpeechClient, emulator: Emulator, hello_file: BinaryIO, hello_bytes: bytes
) -> None:
    assert_hello(await client.transcribe(hello_file))
    assert not hello_file.closed, "the caller's file stays the caller's to close"

    audio = only_request(emulator).parts[1]
    assert (audio.filename, audio.size, audio.sha256) == (
        "hello.wav",
        len(hello_bytes),
        hashlib.sha256(hello_bytes).hexdigest(),
    )


async def test_sync_file_object_is_sent_from_its_current_position(
    client: SpeechClient, emulator: Emulator, hello_bytes: bytes
) -> None:
    file = io.BufferedReader(io.BytesIO(b"JUNK" + hello_bytes))  # type: ignore[arg-type]
    file.read(4)

    assert_hello(await client.transcribe(file))
    assert only_request(emulator).parts[1].sha256 == hashlib.sha256(hello_bytes).hexdigest()


async def test_aiofiles_file_object(client: SpeechClient, emulator: Emulator, hello_wav: Path) -> None:
    async with aiofiles.open(hello_wav, "rb") as file:
        assert_hello(await client.transcribe(file))

    request = only_request(emulator)
    assert not request.chunked
    assert request.parts[1].filename == "hello.wav"


async def test_async_iterable_is_sent_with_chunked_transfer(
    client: SpeechClient, emulator: Emulator, hello_bytes: bytes
) -> None:
    assert_hello(await client.transcribe(chunks_of(hello_bytes, 7001), filename="stream.wav"))

    request = only_request(emulator)
    assert request.chunked
    assert request.content_length is None
    assert request.parts[1].filename == "stream.wav"
    assert request.parts[1].sha256 == hashlib.sha256(hello_bytes).hexdigest()


async def test_request_carries_key_api_version_and_json_accept(
    client: SpeechClient, emulator: Emulator, hello_bytes: bytes
) -> None:
    await client.transcribe(hello_bytes)

    request = only_request(emulator)
    assert request.method == "POST"
    assert request.path == "/speechtotext/transcriptions:transcribe"
    assert request.query == {"api-version": "2025-10-15"}
    assert request.auth == "key"
    headers = {name.lower(): value for name, value in request.headers}
    assert headers["accept"] == "application/json"
    assert headers["ocp-apim-subscription-key"] == "***", "the emulator must not store the key"
    assert headers["user-agent"].startswith("speech-async/")
    assert request.content_type is not None
    assert request.content_type.startswith("multipart/form-data; boundary=")


async def test_api_version_per_client_and_per_call(
    emulator: Emulator, speech_emulator_key: str, hello_bytes: bytes
) -> None:
    async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key), api_version="2024-11-15") as client:
        assert_hello(await client.transcribe(hello_bytes))
        assert_hello(await client.transcribe(hello_bytes, api_version=ApiVersion.V2025_10_15))

    assert [r.query["api-version"] for r in emulator.requests] == ["2024-11-15", "2025-10-15"]


async def test_definition_is_sent_with_exact_wire_names_and_nothing_unset(
    client: SpeechClient, emulator: Emulator, hello_bytes: bytes
) -> None:
    options = TranscriptionOptions(
        locales=["en-US"],
        profanity_filter_mode=ProfanityFilterMode.TAGS,
        phrase_list=PhraseList(phrases=["Contoso", "Jessie"], biasing_weight=1.6),
        enhanced_mode=EnhancedMode(task="transcribe", prompt=["Output must be in lexical format."]),
    )

    await client.transcribe(hello_bytes, options=options)

    assert only_request(emulator).definition == {
        "locales": ["en-US"],
        "profanityFilterMode": "Tags",
        "phraseList": {"phrases": ["Contoso", "Jessie"], "biasingWeight": 1.6},
        "enhancedMode": {"enabled": True, "task": "transcribe", "prompt": ["Output must be in lexical format."]},
    }


async def test_empty_options_send_an_empty_definition(
    client: SpeechClient, emulator: Emulator, hello_bytes: bytes
) -> None:
    await client.transcribe(hello_bytes)
    assert only_request(emulator).definition == {}


async def test_extra_definition_adds_fields_the_structs_do_not_know(
    client: SpeechClient, emulator: Emulator, hello_bytes: bytes
) -> None:
    await client.transcribe(
        hello_bytes,
        options=TranscriptionOptions(locales=["en-US"], enhanced_mode=EnhancedMode(task="transcribe")),
        extra_definition={"enhancedMode": {"futureKnob": 3}, "futureField": [1, 2]},
    )

    assert only_request(emulator).definition == {
        "locales": ["en-US"],
        "enhancedMode": {"enabled": True, "task": "transcribe", "futureKnob": 3},
        "futureField": [1, 2],
    }


async def test_result_conveniences(client: SpeechClient, hello_bytes: bytes) -> None:
    result = await client.transcribe(hello_bytes)

    assert result.duration == timedelta(milliseconds=result.duration_milliseconds)
    assert result.duration_milliseconds > 4000
    first = result.phrases[0]
    assert first.offset == timedelta(milliseconds=40)
    assert first.duration == timedelta(milliseconds=2000)
    assert first.words, "words come back for standard models"
    assert [w.text for w in first.words] == first.text.split()
    assert first.words[0].offset == first.offset
    offsets = [w.offset_milliseconds for p in result.phrases for w in p.words]
    assert offsets == sorted(offsets)
    assert first.channel is None
    assert first.speaker is None
    assert first.locale == "en-US"


async def test_diarization_gives_speakers(client: SpeechClient, emulator: Emulator, samples: dict[str, bytes]) -> None:
    audio = samples["report.wav"]
    emulator.scripted.register(
        audio,
        ScriptedTranscript(
            phrases=(
                ScriptedPhrase(text="Please send the report.", offset_ms=0, duration_ms=2000, speaker=1),
                ScriptedPhrase(text="Sure, by Friday.", offset_ms=2400, duration_ms=1500, speaker=2),
            )
        ),
    )

    result = await client.transcribe(
        audio, options=TranscriptionOptions(diarization=DiarizationOptions(max_speakers=2))
    )

    assert [(p.speaker, p.text) for p in result.phrases] == [(1, "Please send the report."), (2, "Sure, by Friday.")]
    assert only_request(emulator).definition == {"diarization": {"enabled": True, "maxSpeakers": 2}}


async def test_channels_are_transcribed_separately(
    client: SpeechClient, emulator: Emulator, samples: dict[str, bytes]
) -> None:
    audio = samples["call-stereo.flac"]
    emulator.scripted.register(
        audio,
        ScriptedTranscript(
            phrases=(
                ScriptedPhrase(text="Thank you for calling.", offset_ms=0, duration_ms=2000, channel=0),
                ScriptedPhrase(text="I would like to check my order.", offset_ms=1200, duration_ms=2600, channel=1),
            )
        ),
    )

    result = await client.transcribe(audio, options=TranscriptionOptions(channels=[0, 1]))

    assert [(c.channel, c.text) for c in result.combined_phrases] == [
        (0, "Thank you for calling."),
        (1, "I would like to check my order."),
    ]
    assert [p.channel for p in result.phrases] == [0, 1]
    assert result.text == "Thank you for calling.\nI would like to check my order."


async def test_translate_with_prompts(client: SpeechClient, emulator: Emulator, hello_bytes: bytes) -> None:
    emulator.scripted.register(
        hello_bytes,
        ScriptedTranscript(
            phrases=HELLO_TRANSCRIPT.phrases,
            translations={
                "de": (ScriptedPhrase(text="Hallo, danke für Ihren Anruf.", offset_ms=40, duration_ms=2000),),
            },
        ),
    )

    result = await client.translate(hello_bytes, target_language="de", prompt=["Translate formally."])

    assert result.text == "Hallo, danke für Ihren Anruf."
    assert result.phrases[0].confidence == 0, "LLM speech reports confidence 0"
    assert only_request(emulator).definition == {
        "enhancedMode": {
            "enabled": True,
            "task": "translate",
            "targetLanguage": "de",
            "prompt": ["Translate formally."],
        }
    }


async def test_translate_keeps_other_options(client: SpeechClient, emulator: Emulator, hello_bytes: bytes) -> None:
    emulator.scripted.register(
        hello_bytes,
        ScriptedTranscript(
            phrases=HELLO_TRANSCRIPT.phrases,
            translations={"ko": (ScriptedPhrase(text="안녕하세요", offset_ms=40, duration_ms=900),)},
        ),
    )
    options = TranscriptionOptions(
        locales=["en-US"], enhanced_mode=EnhancedMode(task="transcribe", prompt=["Keep it short."])
    )

    result = await client.translate(hello_bytes, target_language="ko", options=options)

    assert result.text == "안녕하세요"
    assert only_request(emulator).definition == {
        "locales": ["en-US"],
        "enhancedMode": {"enabled": True, "task": "translate", "targetLanguage": "ko", "prompt": ["Keep it short."]},
    }


async def test_llm_transcribe_with_prompt(client: SpeechClient, emulator: Emulator, hello_bytes: bytes) -> None:
    options = TranscriptionOptions(
        enhanced_mode=EnhancedMode(task="transcribe", prompt=["Pay attention to *Contoso*."])
    )

    result = await client.transcribe(hello_bytes, options=options)

    assert_hello(result)
    assert all(p.confidence == 0 for p in result.phrases)


@pytest.fixture
async def audio_server(hello_bytes: bytes) -> AsyncIterator[str]:
    """A plain file server on loopback, standing in for blob storage."""

    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=hello_bytes, content_type="audio/wav")

    app = web.Application()
    app.router.add_get("/audio/hello.wav", serve)
    async with serve_on_loopback(app) as url:
        yield url + "/audio/hello.wav"


async def test_audio_url_is_sent_as_definition_only(
    client: SpeechClient, emulator: Emulator, audio_server: str
) -> None:
    assert_hello(await client.transcribe(audio_server, options=TranscriptionOptions(locales=["en-US"])))

    request = only_request(emulator)
    assert [part.name for part in request.parts] == ["definition"]
    assert request.definition == {"locales": ["en-US"], "audioUrl": audio_server}


async def test_audio_url_in_options(client: SpeechClient, emulator: Emulator, audio_server: str) -> None:
    assert_hello(await client.transcribe(options=TranscriptionOptions(audio_url=audio_server)))
    assert only_request(emulator).definition == {"audioUrl": audio_server}


async def test_concurrent_transcriptions_share_one_client(
    client: SpeechClient, emulator: Emulator, samples: dict[str, bytes]
) -> None:
    datas = [samples[name] for name in ("hello.wav", "report.wav", "call-stereo.flac")]
    for index, data in enumerate(datas):
        emulator.scripted.register(
            data, ScriptedTranscript(phrases=(ScriptedPhrase(text=f"file {index}", offset_ms=0, duration_ms=400),))
        )

    results = await asyncio.gather(*(client.transcribe(data) for data in datas * 5))

    assert [r.text for r in results] == [f"file {i}" for i in range(3)] * 5
    assert len(emulator.requests) == 15
