"""Bad input fails locally, before anything is sent, with a typed error that says what to do."""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import pytest

from speech_async import (
    AudioSourceError,
    BadRequestError,
    DiarizationOptions,
    EnhancedMode,
    InvalidAudioError,
    InvalidInputError,
    InvalidOptionsError,
    KeyCredential,
    Limits,
    PhraseList,
    SpeechClient,
    SpeechError,
    TranscriptionOptions,
)
from speech_async.emulator import Emulator, ScriptedTranscript

from ..support.audio import make_wav, wav_header

OPTION_CASES: dict[str, tuple[TranscriptionOptions, str]] = {
    "max-speakers-below-range": (
        TranscriptionOptions(diarization=DiarizationOptions(max_speakers=1)),
        "max_speakers is 1; the service accepts 2 to 35",
    ),
    "max-speakers-above-range": (
        TranscriptionOptions(diarization=DiarizationOptions(max_speakers=36)),
        "max_speakers is 36",
    ),
    "channel-not-0-or-1": (TranscriptionOptions(channels=[2]), "channel 2 is not 0 or 1"),
    "channel-listed-twice": (TranscriptionOptions(channels=[0, 0]), "lists a channel twice"),
    "channels-empty": (TranscriptionOptions(channels=[]), "channels is empty"),
    "prompt-too-long": (
        TranscriptionOptions(enhanced_mode=EnhancedMode(task="transcribe", prompt=["a" * 4000, "b" * 97])),
        "the prompt has 4097 characters in all; the service allows 4096",
    ),
    "prompt-as-string": (
        TranscriptionOptions(enhanced_mode=EnhancedMode(task="transcribe", prompt="say it")),  # type: ignore[arg-type]
        "must be a list of strings",
    ),
    "translate-without-target": (
        TranscriptionOptions(enhanced_mode=EnhancedMode(task="translate")),
        "task 'translate' needs a target language",
    ),
    "malformed-target-language": (
        TranscriptionOptions(enhanced_mode=EnhancedMode(task="translate", target_language="German!")),
        "is not a language code",
    ),
    "locale-with-underscore": (TranscriptionOptions(locales=["en_US"]), "did you mean 'en-US'"),
    "locale-garbage": (TranscriptionOptions(locales=["english please"]), "is not a locale such as 'en-US'"),
    "locales-as-string": (TranscriptionOptions(locales="en-US"), "must be a list of locales"),  # type: ignore[arg-type]
    "locale-twice": (TranscriptionOptions(locales=["en-US", "EN-us"]), "listed twice"),
    "phrase-list-too-long": (
        TranscriptionOptions(phrase_list=PhraseList(phrases=[f"p{i}" for i in range(501)])),
        "phrase_list has 501 phrases; the limit is 500",
    ),
    "phrase-list-empty": (TranscriptionOptions(phrase_list=PhraseList(phrases=[])), "phrase_list.phrases is empty"),
    "phrase-blank": (TranscriptionOptions(phrase_list=PhraseList(phrases=["ok", "  "])), "empty or non-text phrase"),
    "phrase-too-long": (
        TranscriptionOptions(phrase_list=PhraseList(phrases=["x" * 1001])),
        "1001 characters; the limit is 1000",
    ),
    "biasing-weight-out-of-range": (
        TranscriptionOptions(phrase_list=PhraseList(phrases=["Contoso"], biasing_weight=25.0)),
        "biasing_weight is 25.0",
    ),
    "audio-url-not-http": (TranscriptionOptions(audio_url="ftp://host/a.wav"), "must be an http(s) URL"),
}


@pytest.mark.parametrize("case", OPTION_CASES)
async def test_invalid_options_fail_before_sending(
    client: SpeechClient, emulator: Emulator, hello_bytes: bytes, case: str
) -> None:
    options, message = OPTION_CASES[case]
    audio = None if options.audio_url else hello_bytes
    with pytest.raises(InvalidOptionsError, match=_literal(message)) as caught:
        await client.transcribe(audio, options=options)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, SpeechError)
    assert emulator.requests == []


async def test_diarization_with_both_channels_is_sent_and_served(
    client: SpeechClient, emulator: Emulator, hello_bytes: bytes
) -> None:
    # Not refused locally: the live service serves it for mono audio (channel 0 and a speaker on
    # every phrase; fast-transcription errata E3).
    options = TranscriptionOptions(channels=[0, 1], diarization=DiarizationOptions(max_speakers=2))
    result = await client.transcribe(hello_bytes, options=options)
    assert [(p.channel, p.speaker) for p in result.phrases] == [(0, 1), (0, 1)]
    assert [(c.channel, c.text) for c in result.combined_phrases] == [
        (0, "Hello, and thank you for calling. How can I help you today?")
    ]
    (request,) = emulator.requests
    assert request.status == 200
    assert request.definition == {"diarization": {"enabled": True, "maxSpeakers": 2}, "channels": [0, 1]}


async def test_stereo_diarization_with_both_channels_is_answered_by_the_service(
    client: SpeechClient, emulator: Emulator, samples: dict[str, bytes]
) -> None:
    # Unrecorded for stereo audio: the client sends it and reports what the service answers (the
    # emulator keeps the documented refusal, unverified).
    options = TranscriptionOptions(channels=[0, 1], diarization=DiarizationOptions(max_speakers=2))
    with pytest.raises(BadRequestError) as caught:
        await client.transcribe(samples["call-stereo.flac"], options=options)
    assert (caught.value.code, caught.value.inner_error and caught.value.inner_error.code) == (
        "InvalidArgument",
        "BadChannelConfiguration",
    )
    assert [r.status for r in emulator.requests] == [400]


@pytest.mark.parametrize(
    "options",
    [
        TranscriptionOptions(audio_url="https://example.invalid/a.wav"),
        TranscriptionOptions(phrase_list=PhraseList(phrases=["Contoso"])),
        TranscriptionOptions(enhanced_mode=EnhancedMode(task="transcribe")),
    ],
    ids=["audio-url", "phrase-list", "enhanced-mode"],
)
async def test_newer_fields_need_the_newer_api_version(
    client: SpeechClient, emulator: Emulator, hello_bytes: bytes, options: TranscriptionOptions
) -> None:
    audio = None if options.audio_url else hello_bytes
    with pytest.raises(
        InvalidOptionsError, match="needs api-version 2025-10-15 or later; this request uses 2024-11-15"
    ):
        await client.transcribe(audio, options=options, api_version="2024-11-15")
    assert emulator.requests == []


async def _empty_stream() -> AsyncIterator[bytes]:
    for chunk in (b"", b""):
        yield chunk


@pytest.fixture
def audio_cases(tmp_path: Path) -> dict[str, tuple[Any, str]]:
    """Bad audio of every kind, made outside the event loop."""
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    unreadable = tmp_path / "secret.wav"
    unreadable.write_bytes(b"RIFF")
    unreadable.chmod(0)
    exhausted = io.BytesIO(b"RIFF1234")
    exhausted.read()
    return {
        "missing-file": (tmp_path / "nope.wav", "no audio file at"),
        "directory": (tmp_path, "is a directory"),
        "empty-file": (empty, "is empty (0 bytes)"),
        "unreadable-file": (unreadable, "permission denied"),
        "path-through-a-file": (empty / "inner.wav", "cannot be opened: Not a directory"),
        "empty-bytes": (b"", "the audio is empty"),
        "exhausted-bytesio": (exhausted, "the audio is empty"),
        "empty-stream": (_empty_stream(), "yielded no bytes"),
        "no-audio-at-all": (None, "no audio: pass a path"),
    }


AUDIO_CASE_IDS = [
    "missing-file",
    "directory",
    "empty-file",
    "unreadable-file",
    "path-through-a-file",
    "empty-bytes",
    "exhausted-bytesio",
    "empty-stream",
    "no-audio-at-all",
]


@pytest.mark.parametrize("case", AUDIO_CASE_IDS)
async def test_bad_audio_fails_before_sending(
    client: SpeechClient, emulator: Emulator, audio_cases: dict[str, tuple[Any, str]], case: str
) -> None:
    if case == "unreadable-file" and os.geteuid() == 0:
        pytest.skip("root reads any file, so a permission error cannot happen")
    audio, message = audio_cases[case]
    with pytest.raises(InvalidAudioError, match=_literal(message)):
        await client.transcribe(audio)
    assert emulator.requests == []


async def test_audio_over_the_size_limit_fails_before_sending(
    emulator: Emulator, speech_emulator_key: str, hello_wav: Path, hello_bytes: bytes
) -> None:
    limits = Limits(max_audio_bytes=100_000)
    async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key), limits=limits) as client:
        for audio in (hello_wav, hello_bytes, io.BytesIO(hello_bytes)):
            with pytest.raises(InvalidAudioError, match=r"is 0\.2 MiB, over the limit of 0\.1 MiB: pass an audio URL"):
                await client.transcribe(audio)
    assert emulator.requests == []


async def test_stream_over_the_size_limit_is_stopped_mid_upload(
    emulator: Emulator, speech_emulator_key: str, hello_bytes: bytes
) -> None:
    async def stream() -> AsyncIterator[bytes]:
        for start in range(0, len(hello_bytes), 10_000):
            yield hello_bytes[start : start + 10_000]

    limits = Limits(max_audio_bytes=100_000)
    async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key), limits=limits) as client:
        with pytest.raises(InvalidAudioError, match=r"more than 0\.1 MiB, over the limit"):
            await client.transcribe(stream())
    assert all(r.body_bytes < len(hello_bytes) for r in emulator.requests), "the upload must stop at the limit"


async def test_audio_twice_is_ambiguous(client: SpeechClient, emulator: Emulator, hello_bytes: bytes) -> None:
    with pytest.raises(InvalidOptionsError, match=r"either audio or options\.audio_url"):
        await client.transcribe(hello_bytes, options=TranscriptionOptions(audio_url="https://example.invalid/a.wav"))
    with pytest.raises(InvalidOptionsError, match="given twice"):
        await client.transcribe(
            "https://example.invalid/a.wav", options=TranscriptionOptions(audio_url="https://example.invalid/b.wav")
        )
    assert emulator.requests == []


@pytest.mark.parametrize(
    ("audio", "error", "message"),
    [
        (12345, TypeError, "unsupported audio type int"),
        (io.StringIO("text"), TypeError, "text mode"),
        (["not", "bytes"], TypeError, "unsupported audio type list"),
    ],
    ids=["int", "text-file", "list"],
)
async def test_wrong_audio_types(
    client: SpeechClient, emulator: Emulator, audio: Any, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        await client.transcribe(audio)
    assert emulator.requests == []


@pytest.fixture
def text_file(hello_wav: Path) -> Iterator[TextIO]:
    with hello_wav.open("r", encoding="latin-1") as file:
        yield file


@pytest.fixture
def closed_file(hello_wav: Path) -> BinaryIO:
    with hello_wav.open("rb") as file:
        return file


async def test_text_mode_file_is_refused(client: SpeechClient, emulator: Emulator, text_file: TextIO) -> None:
    with pytest.raises(TypeError, match="text mode"):
        await client.transcribe(text_file)  # pyright: ignore[reportArgumentType]
    assert emulator.requests == []


async def test_closed_file_is_refused(client: SpeechClient, emulator: Emulator, closed_file: BinaryIO) -> None:
    with pytest.raises(InvalidAudioError, match="is closed"):
        await client.transcribe(closed_file)
    assert emulator.requests == []


def test_every_validation_error_is_an_input_error() -> None:
    assert issubclass(InvalidAudioError, InvalidInputError)
    assert issubclass(InvalidOptionsError, InvalidInputError)
    assert issubclass(InvalidInputError, ValueError)


def _literal(text: str) -> str:
    import re

    return re.escape(text)


@pytest.fixture
def non_audio_files(tmp_path: Path) -> dict[str, Path]:
    pdf = tmp_path / "minutes.wav"
    pdf.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj" + bytes(2000))
    text = tmp_path / "notes.txt"
    text.write_text("These are my meeting notes, not audio.\n" * 50)
    return {"pdf-named-wav": pdf, "text": text}


async def test_non_audio_file_is_refused_before_sending(
    client: SpeechClient, emulator: Emulator, non_audio_files: dict[str, Path]
) -> None:
    with pytest.raises(InvalidAudioError, match=r"not in a format the service accepts \(it starts with text '%PDF"):
        await client.transcribe(non_audio_files["pdf-named-wav"])
    with pytest.raises(InvalidAudioError, match="its name says WAV, but the content is not"):
        await client.transcribe(non_audio_files["pdf-named-wav"])
    with pytest.raises(InvalidAudioError, match="starts with text 'These are my mee'"):
        await client.transcribe(non_audio_files["text"])
    assert emulator.requests == []


@pytest.mark.parametrize(
    "junk",
    [b"\x00" * 4096, b"GIF89a" + bytes(100), b"RIFF\x10\x00\x00\x00AVI LIST" + bytes(100)],
    ids=["zeros", "gif", "avi"],
)
async def test_non_audio_bytes_and_streams_are_refused(client: SpeechClient, emulator: Emulator, junk: bytes) -> None:
    async def stream() -> AsyncIterator[bytes]:
        yield junk

    for audio in (junk, io.BytesIO(junk), stream()):
        with pytest.raises(InvalidAudioError, match="not in a format the service accepts"):
            await client.transcribe(audio)
    assert emulator.requests == []


async def test_format_check_can_be_turned_off(emulator: Emulator, speech_emulator_key: str) -> None:
    limits = Limits(check_audio_format=False)
    async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key), limits=limits) as client:
        with pytest.raises(SpeechError) as caught:
            await client.transcribe(b"GIF89a" + bytes(100))
    assert not isinstance(caught.value, InvalidInputError), "the service, not the client, refused it"
    assert len(emulator.requests) == 1


@pytest.fixture
def long_wav(tmp_path: Path) -> Path:
    """A sparse file: a header that declares 2.5 hours, and the size to match, without writing 288 MB."""
    path = tmp_path / "long.wav"
    header = wav_header(int(2.5 * 3600 * 8000 * 2), rate=8000)
    with path.open("wb") as file:
        file.write(header)
        file.truncate(len(header) + int(2.5 * 3600 * 8000 * 2))
    return path


async def test_audio_over_the_duration_limit_is_refused_before_sending(
    client: SpeechClient, emulator: Emulator, long_wav: Path
) -> None:
    with pytest.raises(InvalidAudioError, match=r"lasts 150\.0 minutes, over the limit of 120\.0 minutes"):
        await client.transcribe(long_wav)
    assert emulator.requests == []


@pytest.mark.parametrize("data_size", [0, 0xFFFFFFFF])
async def test_a_streamed_wav_of_unknown_length_is_not_judged_by_its_placeholder_size(
    client: SpeechClient, emulator: Emulator, data_size: int
) -> None:
    # Encoders writing to a pipe leave the data size open (0 or all ones); read from a stream, whose
    # total size is unknown, that says nothing about the duration: no "37 hours" or "0 s" verdict.
    samples = bytes(3200)
    audio = wav_header(0)[:-4] + data_size.to_bytes(4, "little") + samples
    emulator.scripted.register(audio, ScriptedTranscript(phrases=(), duration_ms=100))

    async def stream() -> AsyncIterator[bytes]:
        yield audio

    assert (await client.transcribe(stream())).phrases == []
    assert len(emulator.requests) == 1


async def test_duration_limit_is_configuration(emulator: Emulator, speech_emulator_key: str) -> None:
    audio = make_wav(seconds=3)
    emulator.scripted.register(audio, ScriptedTranscript(phrases=()))
    async with SpeechClient(
        emulator.url, KeyCredential(speech_emulator_key), limits=Limits(max_audio_seconds=2)
    ) as client:
        with pytest.raises(InvalidAudioError, match=r"lasts 3\.0 s, over the limit of 2\.0 s"):
            await client.transcribe(audio)
    async with SpeechClient(
        emulator.url, KeyCredential(speech_emulator_key), limits=Limits(max_audio_seconds=None)
    ) as client:
        assert (await client.transcribe(audio)).phrases == []


async def test_flac_duration_is_read_from_its_header(
    emulator: Emulator, speech_emulator_key: str, samples: dict[str, bytes]
) -> None:
    async with SpeechClient(
        emulator.url, KeyCredential(speech_emulator_key), limits=Limits(max_audio_seconds=5)
    ) as client:
        with pytest.raises(InvalidAudioError, match=r"lasts 5\.5 s, over the limit of 5\.0 s"):
            await client.transcribe(samples["call-stereo.flac"])
    assert emulator.requests == []


class _ShrinkingFile(io.RawIOBase):
    """Claims more bytes than it delivers, like a file truncated while it is being read."""

    def __init__(self, data: bytes, claimed: int) -> None:
        self._data = io.BytesIO(data)
        self._claimed = claimed

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._data.tell()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_END:
            return self._data.seek(self._claimed)
        return self._data.seek(offset, whence)

    def read(self, size: int = -1) -> bytes:
        return self._data.read(size)


async def test_audio_that_shrinks_while_it_is_sent_fails_loudly(
    client: SpeechClient, emulator: Emulator, hello_bytes: bytes
) -> None:
    with pytest.raises(AudioSourceError, match=r"shrank while it was being sent: 160606 of 170000 bytes"):
        await client.transcribe(_ShrinkingFile(hello_bytes, claimed=170_000), filename="hello.wav")  # pyright: ignore[reportArgumentType]
    assert all(not r.body_complete for r in emulator.requests), "the service never got a short body as complete"


async def test_extra_definition_that_is_not_json_is_refused(
    client: SpeechClient, emulator: Emulator, hello_bytes: bytes
) -> None:
    with pytest.raises(InvalidOptionsError, match="cannot be encoded as JSON"):
        await client.transcribe(hello_bytes, extra_definition={"when": object()})
    assert emulator.requests == []
