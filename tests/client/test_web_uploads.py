"""Uploads received by a web app (aiohttp, FastAPI/Starlette) and passed on to ``transcribe``.

A 1.9 MB upload is spooled to disk by both frameworks; the app hands the upload object to the client
as it is, and one 503 from the service must be retried with the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
from collections.abc import AsyncIterator
from typing import Any, BinaryIO, cast

import aiohttp
import anyio.to_thread
import httpx
import pytest
from aiohttp import web
from fastapi import FastAPI, UploadFile
from starlette.datastructures import UploadFile as StarletteUploadFile

from speech_async import AudioNotReplayableError, KeyCredential, RetryPolicy, SpeechClient
from speech_async.emulator import Emulator, Fault, ScriptedPhrase, ScriptedTranscript

from ..support.audio import make_wav
from ..support.http import serve_on_loopback
from ..test_readme import PYTHON

# 59.4 s of 16 kHz 16-bit mono: 1.9 MB, past Starlette's 1 MiB in-memory spool and aiohttp's default
# client_max_size, so both frameworks hold it in a file on disk.
BIG_WAV = make_wav(59.4, fill=7)
BIG_TEXT = "A long voicemail, received by a web app."
BIG_TRANSCRIPT = ScriptedTranscript(phrases=(ScriptedPhrase(text=BIG_TEXT, offset_ms=40, duration_ms=59_000),))
FAST = RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_max=0.02)


def test_the_upload_is_big_enough_to_roll_over_to_disk() -> None:
    assert 1_900_000 <= len(BIG_WAV) < 2_000_000
    assert len(BIG_WAV) > 1024 * 1024  # starlette's MultiPartParser.spool_max_size


@pytest.fixture
def big_emulator(emulator: Emulator) -> Emulator:
    emulator.scripted.register(BIG_WAV, BIG_TRANSCRIPT)
    emulator.faults.add(Fault(route="transcribe", status=503, count=1))
    return emulator


@pytest.fixture
async def speech(big_emulator: Emulator, speech_emulator_key: str) -> AsyncIterator[SpeechClient]:
    async with SpeechClient(big_emulator.url, KeyCredential(speech_emulator_key), retry=FAST) as client:
        yield client


def _assert_two_byte_exact_attempts(emulator: Emulator, filename: str) -> None:
    """A 503 then a 200, one call, the same whole body both times, and that body holds the upload."""
    attempts = [r for r in emulator.requests if r.route == "transcribe"]
    assert [r.status for r in attempts] == [503, 200]
    assert len({r.client_request_id for r in attempts}) == 1
    assert all(r.body_complete for r in attempts)
    assert attempts[0].attempt_body_sha256 == attempts[1].attempt_body_sha256
    assert [r.body_bytes for r in attempts] == [attempts[1].body_bytes] * 2
    audio = next(part for part in attempts[1].parts if part.name == "audio")
    assert (audio.size, audio.sha256) == (len(BIG_WAV), hashlib.sha256(BIG_WAV).hexdigest())
    assert audio.filename == filename


def _readme_example(framework: str) -> str:
    """The code of the README's web-app example that imports ``framework``."""
    [code] = [
        block.code
        for block in PYTHON
        if block.heading == "Transcribe an upload in a web app" and f"from {framework} import" in block.code
    ]
    return code


async def _load(code: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "readme_web_app"}
    # Imported in a worker thread: loading modules from disk must not happen on the event loop.
    await anyio.to_thread.run_sync(exec, compile(code, "<README.md>", "exec"), namespace)
    return namespace


@pytest.fixture
def speech_env(big_emulator: Emulator, speech_emulator_key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """SpeechClient.from_env(), which the README's apps call, reaches the emulator."""
    monkeypatch.delenv("AZURE_SPEECH_REGION", raising=False)
    monkeypatch.setenv("AZURE_SPEECH_ENDPOINT", big_emulator.url)
    monkeypatch.setenv("AZURE_SPEECH_API_KEY", speech_emulator_key)


@pytest.mark.usefixtures("speech_env")
async def test_the_readme_aiohttp_app_transcribes_a_multipart_upload_through_a_503(
    big_emulator: Emulator, session: aiohttp.ClientSession
) -> None:
    app = (await _load(_readme_example("aiohttp")))["app"]
    assert isinstance(app, web.Application)
    async with serve_on_loopback(app) as url:
        form = aiohttp.FormData()
        form.add_field("audio", io.BytesIO(BIG_WAV), filename="voicemail.wav", content_type="audio/wav")
        async with session.post(f"{url}/transcribe", data=form) as reply:
            assert reply.status == 200, await reply.text()
            assert await reply.json() == {"text": BIG_TEXT}
    _assert_two_byte_exact_attempts(big_emulator, "voicemail.wav")


@pytest.mark.usefixtures("speech_env")
async def test_the_readme_fastapi_app_transcribes_an_upload_file_through_a_503(big_emulator: Emulator) -> None:
    api = (await _load(_readme_example("fastapi")))["api"]
    assert isinstance(api, FastAPI)
    # httpx's ASGI transport runs no lifespan: the app's own lifespan opens and closes its client.
    async with api.router.lifespan_context(api):
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://web.test") as web_client:
            files = {"audio": ("voicemail.wav", BIG_WAV, "audio/wav")}
            reply = await web_client.post("/transcribe", files=files)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"text": BIG_TEXT}
    _assert_two_byte_exact_attempts(big_emulator, "voicemail.wav")


async def test_fastapi_spools_the_upload_to_disk_and_the_client_gets_the_upload_file_itself(
    speech: SpeechClient, big_emulator: Emulator
) -> None:
    app = FastAPI()
    seen: list[tuple[str, bool]] = []

    @app.post("/transcribe")
    async def transcribe_upload(audio: UploadFile) -> dict[str, str]:  # pyright: ignore[reportUnusedFunction]
        seen.append((type(audio).__name__, audio._in_memory))  # pyright: ignore[reportPrivateUsage]
        result = await speech.transcribe(audio)
        return {"text": result.text}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://web.test") as web_client:
        files = {"audio": ("voicemail.wav", BIG_WAV, "audio/wav")}
        reply = await web_client.post("/transcribe", files=files)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"text": BIG_TEXT}
    assert seen == [("UploadFile", False)]  # rolled over to a file on disk, and passed on as it is
    _assert_two_byte_exact_attempts(big_emulator, "voicemail.wav")


async def test_a_starlette_upload_file_is_sent_from_its_start_on_every_attempt(
    speech: SpeechClient, big_emulator: Emulator
) -> None:
    # Starlette's own UploadFile, read partly before: its seek(offset) has no whence and it has no
    # tell, so the whole file is sent, from the start, for every attempt.
    spool = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)  # noqa: SIM115 - closed below
    upload = StarletteUploadFile(cast("BinaryIO", spool), filename="voicemail.wav")
    try:
        await upload.write(BIG_WAV)
        await upload.seek(0)
        assert not upload._in_memory  # pyright: ignore[reportPrivateUsage]
        await upload.read(1000)
        result = await speech.transcribe(upload)
        assert result.text == BIG_TEXT
        _assert_two_byte_exact_attempts(big_emulator, "voicemail.wav")  # its filename, and all of it
        # Its size is unknown without reading it all: chunked, and replayable all the same.
        assert all(r.chunked for r in big_emulator.requests if r.route == "transcribe")
    finally:
        await upload.close()


class _AsyncSeekOnly:
    """An async file with read and seek(offset, whence) returning the position, but no tell."""

    def __init__(self, data: bytes) -> None:
        self._file = io.BytesIO(data)
        self.seeks: list[tuple[int, int]] = []

    async def read(self, size: int = -1) -> bytes:
        return self._file.read(size)

    async def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.seeks.append((offset, whence))
        return self._file.seek(offset, whence)


async def test_an_async_file_without_tell_is_measured_with_seek_end_and_replayed(
    speech: SpeechClient, big_emulator: Emulator
) -> None:
    audio = _AsyncSeekOnly(BIG_WAV)
    result = await speech.transcribe(audio, filename="voicemail.wav")
    assert result.text == BIG_TEXT
    _assert_two_byte_exact_attempts(big_emulator, "voicemail.wav")
    assert (0, io.SEEK_END) in audio.seeks
    attempts = [r for r in big_emulator.requests if r.route == "transcribe"]
    assert all(not r.chunked and r.content_length is not None for r in attempts)  # measured: a Content-Length


async def test_an_upload_file_that_cannot_seek_stays_a_one_shot_stream(
    speech: SpeechClient, big_emulator: Emulator
) -> None:
    class Unseekable(_AsyncSeekOnly):
        async def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
            raise io.UnsupportedOperation("seek")

    with pytest.raises(AudioNotReplayableError):
        await speech.transcribe(Unseekable(BIG_WAV), filename="voicemail.wav")
