"""The client's lifecycle, configuration, credentials and error mapping."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web
from azure.core.credentials import AzureKeyCredential

from speech_async import (
    AuthenticationError,
    BadRequestError,
    InvalidOptionsError,
    KeyCredential,
    Limits,
    RateLimitError,
    ResponseDecodeError,
    RetryPolicy,
    ServiceError,
    SpeechClient,
    SpeechConnectionError,
    SpeechError,
    SpeechStatusError,
    SpeechTimeoutError,
    Timeouts,
    TranscriptionOptions,
)
from speech_async.emulator import Emulator, EmulatorConfig, ScriptedPhrase, ScriptedTranscript

from ..support.audio import TINY_WAV

SECRET = "s3cr3t-key-never-shown"
ONE_ATTEMPT = RetryPolicy(max_attempts=1)

# --- lifecycle ----------------------------------------------------------------------------------


async def test_closed_client_refuses_work(emulator: Emulator, speech_emulator_key: str, hello_bytes: bytes) -> None:
    client = SpeechClient(emulator.url, KeyCredential(speech_emulator_key))
    async with client:
        await client.transcribe(hello_bytes)
    assert client.closed
    with pytest.raises(RuntimeError, match="closed; create a new one"):
        await client.transcribe(hello_bytes)
    with pytest.raises(RuntimeError, match="closed"):
        async with client:
            pass
    await client.close()  # a second close is harmless


async def test_client_cannot_be_entered_twice(emulator: Emulator) -> None:
    async with SpeechClient(emulator.url, KeyCredential("k")) as client:
        with pytest.raises(RuntimeError, match="enter it only once"):
            async with client:
                pass


async def test_client_opens_lazily_without_a_context_manager(
    emulator: Emulator, speech_emulator_key: str, hello_bytes: bytes
) -> None:
    client = SpeechClient(emulator.url, KeyCredential(speech_emulator_key))
    try:
        assert (await client.transcribe(hello_bytes)).phrases
    finally:
        await client.close()


async def test_borrowed_session_is_used_and_left_open(
    emulator: Emulator, speech_emulator_key: str, hello_bytes: bytes
) -> None:
    async with aiohttp.ClientSession(headers={"X-Caller": "yes"}) as session:
        async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key), session=session) as client:
            assert (await client.transcribe(hello_bytes)).phrases
        assert not session.closed
    headers = {name.lower(): value for name, value in emulator.requests[0].headers}
    assert headers["x-caller"] == "yes"
    assert headers["user-agent"].startswith("speech-async/")


# --- configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ("", "the endpoint is empty"),
        ("eastus", "must be an https URL"),
        ("ftp://eastus.api.cognitive.microsoft.com", "must be an https URL"),
        ("https://eastus.api.cognitive.microsoft.com/speechtotext/transcriptions:transcribe", "includes an API path"),
        ("https://eastus.api.cognitive.microsoft.com/?api-version=2025-10-15", "must not carry a query"),
        ("https://user:pw@eastus.api.cognitive.microsoft.com", "must not carry credentials"),
    ],
    ids=["empty", "region-only", "ftp", "full-path", "query", "userinfo"],
)
def test_bad_endpoints_are_refused(endpoint: str, message: str) -> None:
    with pytest.raises(InvalidOptionsError, match=message):
        SpeechClient(endpoint, KeyCredential("k"))


def test_endpoint_is_normalized() -> None:
    client = SpeechClient("  https://eastus.api.cognitive.microsoft.com/ ", KeyCredential("k"))
    assert client.endpoint == "https://eastus.api.cognitive.microsoft.com"
    assert client.api_version == "2025-10-15"


@pytest.mark.parametrize("version", ["latest", "2025/10/15", "v3.2"])
def test_bad_api_versions_are_refused(version: str) -> None:
    with pytest.raises(InvalidOptionsError, match="is not an api-version"):
        SpeechClient("https://eastus.api.cognitive.microsoft.com", KeyCredential("k"), api_version=version)


def test_timeouts_must_be_positive() -> None:
    with pytest.raises(ValueError, match=r"Timeouts\.connect must be a positive number"):
        Timeouts(connect=0)


def test_from_env_reads_the_quickstart_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_SPEECH_ENDPOINT", "https://my-res.cognitiveservices.azure.com/")
    monkeypatch.setenv("AZURE_SPEECH_API_KEY", SECRET)
    client = SpeechClient.from_env(api_version="2024-11-15")
    assert client.endpoint == "https://my-res.cognitiveservices.azure.com"
    assert client.api_version == "2024-11-15"
    assert SECRET not in repr(client)


def test_from_env_builds_the_endpoint_from_the_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_SPEECH_ENDPOINT", raising=False)
    monkeypatch.setenv("AZURE_SPEECH_REGION", "westeurope")
    monkeypatch.setenv("AZURE_SPEECH_API_KEY", SECRET)
    assert SpeechClient.from_env().endpoint == "https://westeurope.api.cognitive.microsoft.com"


def test_from_env_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AZURE_SPEECH_ENDPOINT", "AZURE_SPEECH_REGION", "AZURE_SPEECH_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(InvalidOptionsError, match="set AZURE_SPEECH_ENDPOINT"):
        SpeechClient.from_env()


def test_from_env_without_a_key_uses_microsoft_entra_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_SPEECH_ENDPOINT", "https://my-res.cognitiveservices.azure.com")
    monkeypatch.delenv("AZURE_SPEECH_API_KEY", raising=False)
    client = SpeechClient.from_env()  # with azure.identity.aio.DefaultAzureCredential, as the quickstart does
    try:
        assert client.token_stats is not None, "a token credential, not a key"
        assert client.token_stats.exchanges == 0, "nothing is fetched before the first request"
    finally:
        asyncio.run(client.close())


# --- credentials -----------------------------------------------------------------------------------


@pytest.mark.parametrize("make_credential", [AzureKeyCredential, KeyCredential], ids=["azure-core", "own"])
async def test_key_rotation_takes_effect_on_the_next_request(
    make_credential: Callable[[str], AzureKeyCredential | KeyCredential], hello_bytes: bytes
) -> None:
    async with Emulator(EmulatorConfig(key="new-key", recognizer="scripted")) as emulator:
        emulator.scripted.register(hello_bytes, _one_phrase("rotated"))
        credential = make_credential("old-key")
        async with SpeechClient(emulator.url, credential) as client:
            with pytest.raises(AuthenticationError):
                await client.transcribe(hello_bytes)
            credential.update("new-key")
            assert (await client.transcribe(hello_bytes)).text == "rotated"


def test_plain_string_credential_is_refused_with_a_hint() -> None:
    with pytest.raises(TypeError, match=r"KeyCredential\(key\)"):
        SpeechClient("https://eastus.api.cognitive.microsoft.com", "my-key")


def test_unknown_credential_is_refused() -> None:
    with pytest.raises(TypeError, match="unsupported credential type object"):
        SpeechClient("https://eastus.api.cognitive.microsoft.com", object())


def test_empty_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="the key is empty"):
        KeyCredential("  ")
    with pytest.raises(ValueError, match="the credential's key is empty"):
        SpeechClient("https://eastus.api.cognitive.microsoft.com", AzureKeyCredential(""))


# --- status errors -----------------------------------------------------------------------------------


async def test_wrong_key_gives_a_typed_authentication_error_without_the_key(
    emulator: Emulator, hello_bytes: bytes
) -> None:
    async with SpeechClient(emulator.url, KeyCredential(SECRET)) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.transcribe(hello_bytes)

    error = caught.value
    assert error.status_code == 401
    assert error.code == "401"
    assert error.message is not None
    assert "invalid subscription key" in error.message
    assert error.request_id, "the service's apim-request-id is kept"
    assert error.request_id == emulator.requests[0].request_id
    assert error.body.startswith(b"{")
    for text in (str(error), repr(error), repr(error.error)):
        assert SECRET not in text


async def test_service_error_body_is_decoded_with_its_inner_error(client: SpeechClient, hello_bytes: bytes) -> None:
    # Well-formed, so it passes the client's checks, but not a locale the service supports.
    with pytest.raises(BadRequestError) as caught:
        await client.transcribe(hello_bytes, options=TranscriptionOptions(locales=["xx-XX"]))

    error = caught.value
    assert (error.status_code, error.code) == (400, "InvalidArgument")
    assert error.inner_error is not None
    assert error.inner_error.code == "InvalidLocale"
    assert "InvalidArgument/InvalidLocale" in str(error)
    assert isinstance(error, SpeechStatusError)
    assert isinstance(error, SpeechError)


async def test_service_rejects_non_audio_when_the_local_check_is_off(
    emulator: Emulator, speech_emulator_key: str
) -> None:
    limits = Limits(check_audio_format=False)
    async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key), limits=limits) as client:
        with pytest.raises(BadRequestError) as caught:
            await client.transcribe(b"this is plain text, not audio" * 10)
    assert caught.value.inner_error is not None
    assert caught.value.inner_error.code == "InvalidAudioFormat"


# --- a misbehaving server: a real aiohttp app on loopback, not a mock -----------------------------------

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
RELEASE_KEY = web.AppKey("release", asyncio.Event)  # set when the test ends, so held handlers finish


@pytest.fixture
async def rogue_server() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    """Starts real aiohttp apps on loopback with the given transcribe handler."""
    runners: list[web.AppRunner] = []
    released = asyncio.Event()

    async def start(handler: Handler) -> str:
        app = web.Application()
        app[RELEASE_KEY] = released
        app.router.add_post("/speechtotext/transcriptions:transcribe", handler)
        runner = web.AppRunner(app, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        return f"http://127.0.0.1:{runner.addresses[0][1]}"

    try:
        yield start
    finally:
        released.set()
        for runner in runners:
            await runner.cleanup()


async def hold(request: web.Request) -> None:
    """Keep a handler busy until the test ends (at most a few seconds)."""
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(request.app[RELEASE_KEY].wait(), 5)


async def _drain(request: web.Request) -> None:
    await request.read()


async def test_malformed_json_result_keeps_the_raw_body(rogue_server: Callable[[Handler], Awaitable[str]]) -> None:
    async def handler(request: web.Request) -> web.Response:
        await _drain(request)
        return web.Response(body=b'{"durationMilliseconds": 10, "combinedPhr', headers={"apim-request-id": "rid-1"})

    url = await rogue_server(handler)
    async with SpeechClient(url, KeyCredential("k"), retry=ONE_ATTEMPT) as client:
        with pytest.raises(ResponseDecodeError) as caught:
            await client.transcribe(TINY_WAV)
    assert caught.value.body == b'{"durationMilliseconds": 10, "combinedPhr'
    assert caught.value.request_id == "rid-1"
    assert isinstance(caught.value, ValueError)


async def test_result_missing_required_fields_is_a_decode_error(
    rogue_server: Callable[[Handler], Awaitable[str]],
) -> None:
    async def handler(request: web.Request) -> web.Response:
        await _drain(request)
        return web.json_response({"durationMilliseconds": 10, "phrases": []})

    url = await rogue_server(handler)
    async with SpeechClient(url, KeyCredential("k"), retry=ONE_ATTEMPT) as client:
        with pytest.raises(ResponseDecodeError, match="combinedPhrases"):
            await client.transcribe(TINY_WAV)


async def test_unknown_response_fields_are_tolerated(rogue_server: Callable[[Handler], Awaitable[str]]) -> None:
    async def handler(request: web.Request) -> web.Response:
        await _drain(request)
        return web.json_response(
            {
                "durationMilliseconds": 10,
                "newTopLevel": {"x": 1},
                "combinedPhrases": [{"text": "hi", "sentiment": "calm"}],
                "phrases": [
                    {
                        "offsetMilliseconds": 0,
                        "durationMilliseconds": 10,
                        "text": "hi",
                        "confidence": 0.5,
                        "emotion": "joy",
                        "words": [{"text": "hi", "offsetMilliseconds": 0, "durationMilliseconds": 10, "x": 0}],
                    }
                ],
            }
        )

    url = await rogue_server(handler)
    async with SpeechClient(url, KeyCredential("k"), retry=ONE_ATTEMPT) as client:
        result = await client.transcribe(TINY_WAV)
    assert result.text == "hi"
    assert result.phrases[0].locale is None


@pytest.mark.parametrize(
    ("status", "body", "error_type", "code"),
    [
        (429, b'{"error": {"code": "429", "message": "Rate limit is exceeded."}}', RateLimitError, "429"),
        (503, b'{"code": "ServiceUnavailable", "message": "busy"}', ServiceError, "ServiceUnavailable"),
        (502, b"<html>Bad gateway</html>", ServiceError, None),
        (418, b"", SpeechStatusError, None),
    ],
    ids=["429-gateway-shape", "503-service-shape", "502-html", "418-empty"],
)
async def test_status_errors_map_to_their_classes(
    rogue_server: Callable[[Handler], Awaitable[str]],
    status: int,
    body: bytes,
    error_type: type[SpeechStatusError],
    code: str | None,
) -> None:
    async def handler(request: web.Request) -> web.Response:
        await _drain(request)
        return web.Response(status=status, body=body, headers={"Retry-After": "7"})

    url = await rogue_server(handler)
    async with SpeechClient(url, KeyCredential("k"), retry=ONE_ATTEMPT) as client:
        with pytest.raises(error_type) as caught:
            await client.transcribe(TINY_WAV)
    assert type(caught.value) is error_type
    assert caught.value.status_code == status
    assert caught.value.code == code
    assert caught.value.body == body
    if isinstance(caught.value, RateLimitError):
        assert caught.value.retry_after == 7.0


async def test_response_timeout_is_a_typed_timeout(rogue_server: Callable[[Handler], Awaitable[str]]) -> None:
    async def handler(request: web.Request) -> web.Response:
        await _drain(request)
        await hold(request)
        return web.Response(status=200)

    url = await rogue_server(handler)
    async with SpeechClient(url, KeyCredential("k"), timeout=Timeouts(response=0.2), retry=ONE_ATTEMPT) as client:
        with pytest.raises(SpeechTimeoutError) as caught:
            await client.transcribe(TINY_WAV)
    assert isinstance(caught.value, TimeoutError)
    assert isinstance(caught.value, SpeechConnectionError)


async def test_total_timeout_bounds_the_whole_call(rogue_server: Callable[[Handler], Awaitable[str]]) -> None:
    async def handler(request: web.Request) -> web.Response:
        await _drain(request)
        await hold(request)
        return web.Response(status=200)

    url = await rogue_server(handler)
    async with SpeechClient(url, KeyCredential("k"), timeout=Timeouts(total=0.3), retry=ONE_ATTEMPT) as client:
        with pytest.raises(SpeechTimeoutError, match=r"total timeout of 0\.3 s"):
            await client.transcribe(TINY_WAV)


async def test_connection_refused_is_a_connection_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with SpeechClient(f"http://127.0.0.1:{port}", KeyCredential(SECRET), retry=ONE_ATTEMPT) as client:
        with pytest.raises(SpeechConnectionError, match=r"cannot connect to 127\.0\.0\.1") as caught:
            await client.transcribe(TINY_WAV)
    assert not isinstance(caught.value, SpeechTimeoutError)
    assert SECRET not in str(caught.value)


async def test_server_closing_the_connection_is_a_connection_error(
    rogue_server: Callable[[Handler], Awaitable[str]],
) -> None:
    async def handler(request: web.Request) -> web.Response:
        assert request.transport is not None
        request.transport.close()
        await asyncio.sleep(0.1)
        return web.Response(status=200)

    url = await rogue_server(handler)
    async with SpeechClient(url, KeyCredential("k"), retry=ONE_ATTEMPT) as client:
        with pytest.raises(SpeechConnectionError):
            await client.transcribe(TINY_WAV)


# --- secrets ---------------------------------------------------------------------------------------------


async def test_keys_never_reach_logs_or_reprs(
    emulator: Emulator, speech_emulator_key: str, hello_bytes: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="speech_async")
    credential = KeyCredential(speech_emulator_key)
    async with SpeechClient(emulator.url, credential) as client:
        await client.transcribe(hello_bytes)
        texts = [repr(credential), repr(client), caplog.text]
    assert any("transcriptions:transcribe -> 200" in record.getMessage() for record in caplog.records)
    for text in texts:
        assert speech_emulator_key not in text


def _one_phrase(text: str) -> ScriptedTranscript:
    return ScriptedTranscript(phrases=(ScriptedPhrase(text=text, offset_ms=0, duration_ms=400),))
