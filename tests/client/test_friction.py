"""First-user friction (issue 9): shorthands, from_env() look-alikes, two event loops, common mistakes."""

from __future__ import annotations

import asyncio
import base64
import logging
import math
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import azure.identity.aio
import pytest
from azure.core.exceptions import ClientAuthenticationError

from speech_async import (
    CredentialError,
    InvalidAudioError,
    InvalidOptionsError,
    KeyCredential,
    RetryPolicy,
    ServiceError,
    SpeechClient,
    SpeechStatusError,
    SpeechTimeoutError,
    WrongEventLoopError,
)
from speech_async.emulator import Emulator, EmulatorTokenCredential, Fault

from ..support.audio import TINY_WAV

FAST = RetryPolicy(backoff_base=0.01, backoff_max=0.02)
SECRET = "s3cr3t-key-never-shown"
KEY_ENV = "AZURE_SPEECH_API_KEY"
ENTRA_HINT = "AZURE_SPEECH_API_KEY was not set, so Microsoft Entra ID (DefaultAzureCredential) was used"

Call = Callable[..., Awaitable[object]]


def _calls(client: SpeechClient) -> dict[str, Call]:
    return {
        "transcribe": client.transcribe,
        "translate": lambda audio, **kw: client.translate(audio, target_language="de", **kw),  # pyright: ignore[reportUnknownLambdaType]
        "recognize": lambda audio, **kw: client.recognize(audio, language="en-US", **kw),  # pyright: ignore[reportUnknownLambdaType]
    }


CALLS = ["transcribe", "translate", "recognize"]


@pytest.fixture
async def fast_client(emulator: Emulator, speech_emulator_key: str) -> AsyncIterator[SpeechClient]:
    async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key), retry=FAST) as client:
        yield client


# --- 2. shorthands for retry= and timeout= -------------------------------------------------------------


@pytest.mark.parametrize("call", CALLS)
async def test_a_number_of_retries_per_call_counts_retries_and_keeps_the_clients_backoff(
    fast_client: SpeechClient, emulator: Emulator, call: str
) -> None:
    emulator.faults.add(Fault(status=503, count=10, route="*"))
    with pytest.raises(ServiceError) as caught:
        await _calls(fast_client)[call](TINY_WAV, retry=2)
    assert caught.value.attempts == 3, "retry=2 is the first attempt and two retries"
    assert len(emulator.requests) == 3


@pytest.mark.parametrize("no_retries", [0, False], ids=["zero", "false"])
async def test_zero_or_false_turns_retries_off_for_a_call(
    fast_client: SpeechClient, emulator: Emulator, no_retries: int
) -> None:
    emulator.faults.add(Fault(status=503, count=10))
    with pytest.raises(ServiceError) as caught:
        await fast_client.transcribe(TINY_WAV, retry=no_retries)
    assert caught.value.attempts == 1
    assert len(emulator.requests) == 1


async def test_a_number_of_retries_is_taken_by_the_constructor(emulator: Emulator, speech_emulator_key: str) -> None:
    emulator.faults.add(Fault(status=503, count=10))
    async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key), retry=1) as client:
        with pytest.raises(ServiceError) as caught:
            await client.transcribe(TINY_WAV)
    assert caught.value.attempts == 2
    assert len(emulator.requests) == 2


@pytest.mark.parametrize("call", CALLS)
async def test_a_number_of_seconds_per_call_bounds_the_response_wait(
    client: SpeechClient, emulator: Emulator, call: str
) -> None:
    emulator.faults.add(Fault(delay_headers=2, route="*"))
    started = asyncio.get_running_loop().time()
    with pytest.raises(SpeechTimeoutError):
        await _calls(client)[call](TINY_WAV, timeout=0.3, retry=0)
    # Well under the server's 2 s delay: the 0.3 s bound, not the answer, ended the call.
    assert asyncio.get_running_loop().time() - started < 1.5


async def test_a_number_of_seconds_is_taken_by_the_constructor(emulator: Emulator, speech_emulator_key: str) -> None:
    emulator.faults.add(Fault(delay_headers=2))
    async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key), timeout=0.3, retry=0) as client:
        with pytest.raises(SpeechTimeoutError):
            await client.transcribe(TINY_WAV)


BAD_SHORTHANDS: list[tuple[dict[str, object], type[Exception], str]] = [
    ({"timeout": True}, TypeError, "timeout must be a Timeouts, a number of seconds or None, got bool True"),
    ({"timeout": "30"}, TypeError, "timeout must be a Timeouts, a number of seconds or None, got str"),
    ({"timeout": RetryPolicy()}, TypeError, "got RetryPolicy"),
    ({"timeout": 0}, ValueError, "positive, finite number of seconds, got 0"),
    ({"timeout": -5}, ValueError, "got -5"),
    ({"timeout": math.nan}, ValueError, "got nan"),
    ({"timeout": math.inf}, ValueError, r"for no limits, pass Timeouts\(connect=None"),
    ({"retry": True}, TypeError, "retries are on by default"),
    ({"retry": 2.5}, TypeError, r"a number of retries \(an int: 0 for none\), False or None, got float 2.5"),
    ({"retry": "3"}, TypeError, "got str '3'"),
    ({"retry": -1}, ValueError, "number of retries of at least 0, got -1"),
]
BAD_IDS = ["timeout-true", "timeout-str", "timeout-policy", "timeout-0", "timeout-neg", "timeout-nan", "timeout-inf"]
BAD_IDS += ["retry-true", "retry-float", "retry-str", "retry-neg"]


@pytest.mark.parametrize(("kwargs", "error", "message"), BAD_SHORTHANDS, ids=BAD_IDS)
def test_bad_shorthands_are_refused_by_the_constructor(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        SpeechClient("https://eastus.api.cognitive.microsoft.com", KeyCredential("k"), **kwargs)


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize(("kwargs", "error", "message"), BAD_SHORTHANDS, ids=BAD_IDS)
async def test_bad_shorthands_are_refused_by_each_call_before_sending(
    client: SpeechClient, emulator: Emulator, call: str, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        await _calls(client)[call](TINY_WAV, **kwargs)
    assert emulator.requests == []


# --- 5. from_env() without the key variable ----------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An environment without any Speech variable but the endpoint."""
    import os

    for name in list(os.environ):
        if "SPEECH" in name.upper():
            monkeypatch.delenv(name)
    monkeypatch.setenv("AZURE_SPEECH_ENDPOINT", "https://my-res.cognitiveservices.azure.com")
    return monkeypatch


LOOK_ALIKES = [
    "AZURE_SPEECH_KEY",
    "SPEECH_KEY",
    "AZURE_SPEECH_SUBSCRIPTION_KEY",
    "SPEECH__KEY",
    "azure_speech_api_key",
    "Azure_Speech_Key",
    "AZURE_SPEECH_APIKEY",
]


@pytest.mark.parametrize("name", LOOK_ALIKES)
def test_a_look_alike_key_variable_is_refused_instead_of_falling_back_to_entra(
    clean_env: pytest.MonkeyPatch, name: str
) -> None:
    clean_env.setenv(name, SECRET)
    with pytest.raises(InvalidOptionsError) as caught:
        SpeechClient.from_env()
    message = str(caught.value)
    assert f"{KEY_ENV} is not set, but {name} is: did you mean {KEY_ENV}?" in message
    assert "Microsoft Entra ID" in message
    assert SECRET not in message


def test_an_empty_key_variable_is_refused_instead_of_falling_back_to_entra(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv(KEY_ENV, "  ")
    with pytest.raises(InvalidOptionsError, match=f"{KEY_ENV} is set but empty"):
        SpeechClient.from_env()


def test_a_look_alike_endpoint_variable_is_named_when_no_endpoint_is_set(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.delenv("AZURE_SPEECH_ENDPOINT")
    clean_env.setenv("SPEECH_ENDPOINT", "https://my-res.cognitiveservices.azure.com")
    clean_env.setenv("SPEECH_REGION", "eastus")
    clean_env.setenv(KEY_ENV, SECRET)
    with pytest.raises(InvalidOptionsError) as caught:
        SpeechClient.from_env()
    assert "set AZURE_SPEECH_ENDPOINT" in str(caught.value)
    assert "SPEECH_ENDPOINT, SPEECH_REGION are set, but the client reads only these two" in str(caught.value)


class FailingEntra:
    """Stands in for azure.identity.aio.DefaultAzureCredential on a machine with no Azure login."""

    instances: list[FailingEntra] = []  # noqa: RUF012

    def __init__(self) -> None:
        self.closed = False
        FailingEntra.instances.append(self)

    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        raise ClientAuthenticationError("DefaultAzureCredential failed to retrieve a token\nAttempted credentials: …")

    async def close(self) -> None:
        self.closed = True


def test_a_genuine_fallback_to_entra_is_logged_at_info(
    clean_env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    clean_env.setenv("SPEECH_KEYWORDS", "not a key")  # neither a look-alike nor a secret
    clean_env.setattr(azure.identity.aio, "DefaultAzureCredential", FailingEntra)
    caplog.set_level(logging.INFO, logger="speech_async")
    client = SpeechClient.from_env()
    asyncio.run(client.close())
    lines = [r for r in caplog.records if r.name == "speech_async" and r.levelno == logging.INFO]
    assert [r.getMessage() for r in lines] == [
        "AZURE_SPEECH_API_KEY is not set: using Microsoft Entra ID (azure.identity.aio.DefaultAzureCredential)"
    ]


async def test_a_failed_entra_fallback_says_that_no_key_was_set(
    clean_env: pytest.MonkeyPatch, emulator: Emulator
) -> None:
    clean_env.setenv("AZURE_SPEECH_ENDPOINT", emulator.url)
    clean_env.setattr(azure.identity.aio, "DefaultAzureCredential", FailingEntra)
    FailingEntra.instances.clear()
    async with SpeechClient.from_env() as client:
        with pytest.raises(CredentialError) as caught:
            await client.transcribe(TINY_WAV)
    message = str(caught.value)
    assert ENTRA_HINT in message
    assert "ClientAuthenticationError: DefaultAzureCredential failed to retrieve a token" in message
    assert "Attempted credentials" not in message, "only the first line of the cause's message"
    assert isinstance(caught.value.__cause__, ClientAuthenticationError)
    assert emulator.requests == []
    assert [c.closed for c in FailingEntra.instances] == [True], "the client closes the credential it made"


async def test_a_working_entra_fallback_is_used_as_it_is(clean_env: pytest.MonkeyPatch, emulator: Emulator) -> None:
    clean_env.setenv("AZURE_SPEECH_ENDPOINT", emulator.url)
    credentials: list[EmulatorTokenCredential] = []

    def make() -> EmulatorTokenCredential:
        credentials.append(EmulatorTokenCredential(emulator.url))
        return credentials[-1]

    clean_env.setattr(azure.identity.aio, "DefaultAzureCredential", make)
    async with SpeechClient.from_env() as client:
        with pytest.raises(SpeechStatusError, match="ScriptedTranscriptMissing"):  # authenticated, then answered
            await client.transcribe(TINY_WAV)
    assert emulator.counters["entra_token"] == 1
    assert credentials[0].closed


# --- 6. one client, two event loops ------------------------------------------------------------------


TWO_RUNS = textwrap.dedent(
    """
    import asyncio, gc, sys
    from speech_async import KeyCredential, SpeechClient, SpeechStatusError, WrongEventLoopError
    client = SpeechClient(sys.argv[1], KeyCredential(sys.argv[2]))
    try:
        asyncio.run(client.transcribe(bytes.fromhex(sys.argv[3])))
    except SpeechStatusError as err:
        print("first:", err.status_code)
    try:
        asyncio.run(client.transcribe(bytes.fromhex(sys.argv[3])))
    except WrongEventLoopError as err:
        print("second:", type(err).__name__, isinstance(err, RuntimeError), err)
    asyncio.run(client.close())
    print("closed:", client.closed)
    gc.collect()
    """
)


def test_a_client_used_by_a_second_asyncio_run_says_it_belongs_to_the_first_loop_without_warnings(
    emulator: Emulator, speech_emulator_key: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error", "-c", TWO_RUNS, emulator.url, speech_emulator_key, TINY_WAV.hex()],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "first: 422"
    assert lines[1].startswith("second: WrongEventLoopError True this SpeechClient belongs to the event loop")
    assert "which has ended" in lines[1]
    assert lines[2] == "closed: True"
    assert "Unclosed" not in result.stderr
    assert "Event loop is closed" not in result.stderr
    assert len([r for r in emulator.requests if r.path.endswith(":transcribe")]) == 1, "the second run sent nothing"


def test_two_asyncio_runs_in_process_leave_no_unclosed_session(emulator: Emulator, speech_emulator_key: str) -> None:
    import gc
    import warnings

    client = SpeechClient(emulator.url, KeyCredential(speech_emulator_key))
    with pytest.raises(SpeechStatusError, match="ScriptedTranscriptMissing"):
        asyncio.run(client.transcribe(TINY_WAV))
    with pytest.raises(WrongEventLoopError, match="belongs to the event loop it was opened on"):
        asyncio.run(client.recognize(TINY_WAV, language="en-US"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
    assert not [w for w in caught if "nclosed" in str(w.message)]
    assert len(emulator.requests) == 1


async def test_a_client_used_from_another_running_loop_is_refused_before_sending(
    client: SpeechClient, emulator: Emulator
) -> None:
    def elsewhere() -> None:
        asyncio.run(client.transcribe(TINY_WAV))

    with pytest.raises(WrongEventLoopError, match="is used from another one"):
        await anyio.to_thread.run_sync(elsewhere)
    assert emulator.requests == []


# --- 11. common mistakes -------------------------------------------------------------------------


DATA_STRINGS = {
    "wav-as-text": TINY_WAV.decode("latin-1"),
    "base64": base64.b64encode(TINY_WAV).decode(),
    "base64-large": base64.b64encode(TINY_WAV * 2000).decode(),
    "data-url": "data:audio/wav;base64," + base64.b64encode(TINY_WAV).decode(),
    "long-text": "hello " * 2000,
}


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("text", list(DATA_STRINGS.values()), ids=list(DATA_STRINGS))
async def test_a_str_holding_data_gets_a_short_message_before_sending(
    client: SpeechClient, emulator: Emulator, call: str, text: str
) -> None:
    with pytest.raises(InvalidAudioError) as caught:
        await _calls(client)[call](text)
    message = str(caught.value)
    assert "expected a path or bytes; to send base64 data, decode it first (base64.b64decode" in message
    assert len(message) < 400, message
    assert f"a str of {len(text):,} characters" in message
    assert emulator.requests == []


@pytest.mark.parametrize(
    ("endpoint", "suggestion"),
    [
        ("eastus", "https://eastus.api.cognitive.microsoft.com"),
        ("WestEurope", "https://westeurope.api.cognitive.microsoft.com"),
        ("eastus.api.cognitive.microsoft.com", "https://eastus.api.cognitive.microsoft.com"),
        ("my-res.cognitiveservices.azure.com/", "https://my-res.cognitiveservices.azure.com"),
    ],
    ids=["region", "region-capitalized", "host", "custom-domain-host"],
)
def test_an_endpoint_without_a_scheme_gets_a_suggestion(endpoint: str, suggestion: str) -> None:
    with pytest.raises(InvalidOptionsError, match=f"must be an https URL: did you mean {suggestion}\\?"):
        SpeechClient(endpoint, KeyCredential("k"))


def test_a_short_audio_endpoint_without_a_scheme_gets_the_short_audio_host() -> None:
    with pytest.raises(InvalidOptionsError, match=r"did you mean https://eastus\.stt\.speech\.microsoft\.com\?"):
        SpeechClient("https://eastus.api.cognitive.microsoft.com", KeyCredential("k"), short_audio_endpoint="eastus")


@pytest.mark.parametrize(
    ("endpoint", "messages"),
    [
        (
            "https://eastus.stt.speech.microsoft.com",
            [
                "is the speech-to-text host of short-audio recognition",
                "pass https://eastus.api.cognitive.microsoft.com",
                "short_audio_endpoint=",
            ],
        ),
        (
            "https://westus2.tts.speech.microsoft.com/",
            ["is the text-to-speech host", "pass https://westus2.api.cognitive.microsoft.com"],
        ),
        ("https://speech.microsoft.com", ["is a Speech service host", "pass the resource endpoint"]),
        (
            "https://my-res.openai.azure.com/",
            ["is an Azure OpenAI endpoint", "https://my-res.cognitiveservices.azure.com"],
        ),
    ],
    ids=["stt", "tts", "speech-studio", "openai"],
)
def test_the_endpoint_of_another_service_is_refused_with_the_one_meant(endpoint: str, messages: list[str]) -> None:
    with pytest.raises(InvalidOptionsError) as caught:
        SpeechClient(endpoint, KeyCredential("k"))
    for message in messages:
        assert message in str(caught.value)


def test_the_short_audio_host_is_still_accepted_as_the_short_audio_endpoint() -> None:
    client = SpeechClient(
        "https://eastus.api.cognitive.microsoft.com",
        KeyCredential("k"),
        short_audio_endpoint="https://eastus.stt.speech.microsoft.com",
    )
    assert client.endpoint == "https://eastus.api.cognitive.microsoft.com"


MANUAL_LOOP = textwrap.dedent(
    """
    import asyncio, sys, warnings
    from speech_async import KeyCredential, SpeechClient, SpeechStatusError, WrongEventLoopError
    warnings.simplefilter("ignore", ResourceWarning)  # this loop never shut its connections down
    client = SpeechClient(sys.argv[1], KeyCredential(sys.argv[2]))
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(client.transcribe(bytes.fromhex(sys.argv[3])))
    except SpeechStatusError:
        pass
    loop.close()  # without loop.shutdown_asyncgens(): the client could not close its connections
    try:
        asyncio.run(client.transcribe(bytes.fromhex(sys.argv[3])))
    except WrongEventLoopError as err:
        print("second:", err)
    asyncio.run(client.close())
    print("closed:", client.closed)
    """
)


def test_a_loop_closed_by_hand_still_gives_the_typed_error_and_close_is_harmless(
    emulator: Emulator, speech_emulator_key: str
) -> None:
    result = subprocess.run(
        [sys.executable, "-c", MANUAL_LOOP, emulator.url, speech_emulator_key, TINY_WAV.hex()],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("second: this SpeechClient belongs to the event loop it was opened on, which has ended")
    assert "connections were closed" not in lines[0]
    assert lines[1] == "closed: True"
    assert "Traceback" not in result.stderr
