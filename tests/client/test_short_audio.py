"""Short-audio recognition through the public client, against the emulator over real loopback HTTP."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiofiles
import aiohttp
import aiohttp.abc
import pytest
from aiohttp import web
from yarl import URL

from speech_async import (
    AudioNotReplayableError,
    AuthenticationError,
    InvalidAudioError,
    InvalidOptionsError,
    IssueTokenCredential,
    KeyCredential,
    PronunciationAssessment,
    RecognitionResult,
    RecognitionStatus,
    ResponseDecodeError,
    RetryPolicy,
    ServiceError,
    SpeechClient,
)
from speech_async.emulator import (
    Emulator,
    EmulatorTokenCredential,
    Fault,
    RecordedRequest,
    ScriptedTranscript,
)

from ..support.audio import make_wav
from ..support.http import chunks_of, serve_on_loopback
from ..support.samples import HELLO_TRANSCRIPT

DATA = Path(__file__).resolve().parents[1] / "data" / "shortaudio"
HELLO_TEXT = "Hello, and thank you for calling. How can I help you today?"
RESOURCE_PATH = "/speech/recognition/conversation/cognitiveservices/v1"
FAST = RetryPolicy(backoff_base=0.01, backoff_max=0.05)


@pytest.fixture(scope="session")
def documented() -> dict[str, bytes]:
    """The documentation's example payloads, by name (read once, outside any event loop)."""
    return {path.stem.removeprefix("shortaudio-"): path.read_bytes() for path in DATA.glob("*.json")}


def short_requests(emulator: Emulator) -> list[RecordedRequest]:
    return [r for r in emulator.requests if r.route == "short_audio"]


def only_request(emulator: Emulator) -> RecordedRequest:
    requests = short_requests(emulator)
    assert len(requests) == 1, requests
    return requests[0]


def header(request: RecordedRequest, name: str) -> str | None:
    return next((value for key, value in request.headers if key.lower() == name.lower()), None)


# --- Recognition -------------------------------------------------------------------------------------------------


async def test_simple_recognition_streams_the_audio_chunked_after_100_continue(
    client: SpeechClient, emulator: Emulator, hello_wav: Path, hello_bytes: bytes
) -> None:
    result = await client.recognize(hello_wav, language="en-US")

    assert isinstance(result, RecognitionResult)
    assert result.succeeded
    assert result.recognition_status == RecognitionStatus.SUCCESS
    assert result.text == result.display_text == HELLO_TEXT
    assert result.nbest == []
    first, last = HELLO_TRANSCRIPT.phrases[0], HELLO_TRANSCRIPT.phrases[-1]
    assert result.offset.total_seconds() == pytest.approx(first.offset_ms / 1000)
    assert result.duration.total_seconds() == pytest.approx(
        (last.offset_ms + last.duration_ms - first.offset_ms) / 1000
    )
    request = only_request(emulator)
    assert request.path == RESOURCE_PATH
    assert request.query == {"language": "en-US", "format": "simple"}
    assert request.chunked
    assert request.expect_continue
    assert request.content_length is None
    assert request.content_type == "audio/wav; codecs=audio/pcm; samplerate=16000"
    assert header(request, "Accept") == "application/json"
    assert request.attempt_body_sha256 == hashlib.sha256(hello_bytes).hexdigest()
    assert request.auth == "key"


async def test_detailed_recognition_gives_every_form_of_the_text(client: SpeechClient, hello_bytes: bytes) -> None:
    result = await client.recognize(hello_bytes, language="en-US", output_format="detailed")

    assert result.succeeded
    assert result.display_text is None
    best = result.best
    assert best is not None
    assert result.text == best.display == HELLO_TEXT
    assert best.lexical == "hello and thank you for calling how can i help you today"
    assert best.itn
    assert best.masked_itn
    assert 0.0 <= best.confidence <= 1.0
    assert best.accuracy_score is None
    assert best.words == []


@pytest.mark.parametrize("kind", ["bytes", "bytearray", "memoryview", "bytesio"])
async def test_audio_in_memory_goes_with_a_content_length_by_default(
    client: SpeechClient, emulator: Emulator, hello_bytes: bytes, kind: str
) -> None:
    audio: Any = {
        "bytes": hello_bytes,
        "bytearray": bytearray(hello_bytes),
        "memoryview": memoryview(hello_bytes),
        "bytesio": io.BytesIO(hello_bytes),
    }[kind]
    result = await client.recognize(audio, language="en-US")

    assert result.text == HELLO_TEXT
    request = only_request(emulator)
    assert (request.chunked, request.expect_continue, request.content_length) == (False, False, len(hello_bytes))
    assert request.attempt_body_sha256 == hashlib.sha256(hello_bytes).hexdigest()


async def test_chunked_true_streams_bytes_after_100_continue(
    client: SpeechClient, emulator: Emulator, hello_bytes: bytes
) -> None:
    result = await client.recognize(hello_bytes, language="en-US", chunked=True)

    assert result.text == HELLO_TEXT
    request = only_request(emulator)
    assert (request.chunked, request.expect_continue, request.content_length) == (True, True, None)
    assert request.attempt_body_sha256 == hashlib.sha256(hello_bytes).hexdigest()


@pytest.mark.parametrize("kind", ["path", "sync-file", "aiofiles"])
async def test_chunked_false_sends_a_file_with_its_length(
    client: SpeechClient, emulator: Emulator, hello_wav: Path, hello_bytes: bytes, kind: str
) -> None:
    if kind == "path":
        result = await client.recognize(hello_wav, language="en-US", chunked=False)
    elif kind == "sync-file":
        with hello_wav.open("rb") as file:
            result = await client.recognize(file, language="en-US", chunked=False)
    else:
        async with aiofiles.open(hello_wav, "rb") as file:
            result = await client.recognize(file, language="en-US", chunked=False)

    assert result.text == HELLO_TEXT
    request = only_request(emulator)
    assert (request.chunked, request.expect_continue, request.content_length) == (False, False, len(hello_bytes))


@pytest.mark.parametrize("kind", ["bytesio", "sync-file", "aiofiles", "async-iterable"])
async def test_every_kind_of_source_sends_the_exact_audio(
    client: SpeechClient, emulator: Emulator, hello_wav: Path, hello_bytes: bytes, kind: str
) -> None:
    if kind == "bytesio":
        result = await client.recognize(io.BytesIO(hello_bytes), language="en-US")
    elif kind == "sync-file":
        with hello_wav.open("rb") as file:
            result = await client.recognize(file, language="en-US")
    elif kind == "aiofiles":
        async with aiofiles.open(hello_wav, "rb") as file:
            result = await client.recognize(file, language="en-US")
    else:
        result = await client.recognize(chunks_of(hello_bytes, 1024), language="en-US")
    assert result.text == HELLO_TEXT
    request = only_request(emulator)
    assert request.attempt_body_sha256 == hashlib.sha256(hello_bytes).hexdigest()
    # Files and streams are streamed as the API documents; only audio already in memory is sized.
    assert (request.chunked, request.expect_continue) == (kind != "bytesio", kind != "bytesio")


@pytest.mark.parametrize("mode", ["conversation", "interactive", "dictation"])
async def test_modes_profanity_and_custom_endpoint_go_into_the_url(
    client: SpeechClient, emulator: Emulator, hello_bytes: bytes, mode: Any
) -> None:
    endpoint_id = "afa0669c-a01e-4693-ae3a-93baf40f26d6"
    await client.recognize(hello_bytes, language="en-US", mode=mode, profanity="raw", endpoint_id=endpoint_id)

    request = only_request(emulator)
    assert request.path == f"/speech/recognition/{mode}/cognitiveservices/v1"
    assert request.query == {"language": "en-US", "format": "simple", "profanity": "raw", "cid": endpoint_id}


async def test_silence_is_a_result_without_text_not_an_error(client: SpeechClient, emulator: Emulator) -> None:
    silence = make_wav(1.5)
    emulator.scripted.register(silence, ScriptedTranscript(phrases=(), duration_ms=1500))

    result = await client.recognize(silence, language="en-US", output_format="detailed")

    assert not result.succeeded
    assert result.recognition_status == RecognitionStatus.INITIAL_SILENCE_TIMEOUT
    assert result.text == ""
    assert result.best is None


# --- Where requests go -------------------------------------------------------------------------------------------


class _Loopback(aiohttp.abc.AbstractResolver):
    """Resolves every host name to 127.0.0.1, so Azure host names reach the emulator."""

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[Any]:
        flags = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV
        return [
            {"hostname": host, "host": "127.0.0.1", "port": port, "family": socket.AF_INET, "proto": 0, "flags": flags}
        ]

    async def close(self) -> None:
        pass


@pytest.mark.parametrize(
    ("host", "sent_to", "path"),
    [
        ("eastus.api.cognitive.microsoft.com", "eastus.stt.speech.microsoft.com", RESOURCE_PATH),
        ("my-speech.cognitiveservices.azure.com", "my-speech.cognitiveservices.azure.com", "/stt" + RESOURCE_PATH),
    ],
)
async def test_the_short_audio_host_is_derived_from_the_resource_endpoint(
    emulator: Emulator, speech_emulator_key: str, hello_bytes: bytes, host: str, sent_to: str, path: str
) -> None:
    port = URL(emulator.url).port
    async with (
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=_Loopback())) as session,
        SpeechClient(
            f"http://{host}:{port}", KeyCredential(speech_emulator_key), session=session, allow_insecure_http=True
        ) as client,
    ):
        result = await client.recognize(hello_bytes, language="en-US")

    assert result.text == HELLO_TEXT
    request = only_request(emulator)
    assert header(request, "Host") == f"{sent_to}:{port}"
    assert request.path == path


async def test_an_explicit_short_audio_endpoint_wins(
    emulator: Emulator, speech_emulator_key: str, hello_bytes: bytes
) -> None:
    async with SpeechClient(
        "https://westus.api.cognitive.microsoft.com",
        KeyCredential(speech_emulator_key),
        short_audio_endpoint=emulator.url + "/stt",
    ) as client:
        result = await client.recognize(hello_bytes, language="en-US")

    assert result.text == HELLO_TEXT
    assert only_request(emulator).path == "/stt" + RESOURCE_PATH


# --- Pronunciation assessment ------------------------------------------------------------------------------------


async def test_pronunciation_assessment_sends_the_documented_header_and_returns_scores(
    client: SpeechClient, emulator: Emulator, hello_bytes: bytes
) -> None:
    assessment = PronunciationAssessment(
        reference_text="Hello, and thank you for calling.",
        grading_system="HundredMark",
        granularity="Word",
        dimension="Comprehensive",
        enable_miscue=True,
        enable_prosody_assessment=True,
    )
    result = await client.recognize(hello_bytes, language="en-US", pronunciation_assessment=assessment)

    request = only_request(emulator)
    assert request.query["format"] == "detailed", "assessment scores only come in the detailed format"
    sent = header(request, "Pronunciation-Assessment")
    assert sent is not None
    assert json.loads(base64.b64decode(sent)) == {
        "ReferenceText": "Hello, and thank you for calling.",
        "GradingSystem": "HundredMark",
        "Granularity": "Word",
        "Dimension": "Comprehensive",
        "EnableMiscue": "True",
        "EnableProsodyAssessment": "True",
    }
    best = result.best
    assert best is not None
    for score in (best.accuracy_score, best.fluency_score, best.completeness_score, best.pron_score):
        assert score is not None
        assert 0 <= score <= 100
    assert best.prosody_score is not None
    words = [word.word.lower() for word in best.words]
    assert words[:5] == ["hello", "and", "thank", "you", "for"]
    # Miscue checks on: the words spoken beyond the reference text are insertions.
    assert {word.error_type for word in best.words[6:]} == {"Insertion"}


async def test_the_documented_parameter_example_is_what_goes_on_the_wire(
    client: SpeechClient, emulator: Emulator, hello_bytes: bytes, documented: dict[str, bytes]
) -> None:
    assessment = PronunciationAssessment(
        reference_text="Good morning.",
        grading_system="HundredMark",
        granularity="Word",
        dimension="Comprehensive",
        enable_prosody_assessment=True,
    )
    await client.recognize(hello_bytes, language="en-US", pronunciation_assessment=assessment)

    sent = header(only_request(emulator), "Pronunciation-Assessment")
    assert sent is not None
    example = json.loads(documented["pronunciation-assessment-params"])
    assert json.loads(base64.b64decode(sent)) == {**example, "EnableMiscue": "False"}


# --- Checked before sending --------------------------------------------------------------------------------------


def stereo_wav() -> bytes:
    return make_wav(0.2, channels=2)


BAD_AUDIO: dict[str, tuple[Any, str]] = {
    "stereo": (stereo_wav(), "2 channels"),
    "8 kHz": (make_wav(0.2, rate=8000), "8000 Hz"),
    "8-bit": (make_wav(0.1, bits=8), "8-bit"),
    "text": (b"this is not audio at all", "not audio"),
    "61 s": (make_wav(61), "at most 60 s"),
    "empty": (b"", "empty"),
    "url": ("https://example.com/audio.wav", "not a URL"),
    "none": (None, "no audio"),
}


@pytest.mark.parametrize("case", BAD_AUDIO)
async def test_audio_the_api_does_not_take_is_refused_before_sending(
    client: SpeechClient, emulator: Emulator, case: str
) -> None:
    audio, message = BAD_AUDIO[case]
    with pytest.raises(InvalidAudioError, match=message):
        await client.recognize(audio, language="en-US")
    assert short_requests(emulator) == []


async def test_flac_is_refused_with_a_pointer_to_transcribe(
    client: SpeechClient, emulator: Emulator, samples: dict[str, bytes]
) -> None:
    with pytest.raises(InvalidAudioError, match=r"FLAC.*transcribe\(\)"):
        await client.recognize(samples["call-stereo.flac"], language="en-US")
    assert short_requests(emulator) == []


async def test_assessment_audio_is_limited_to_thirty_seconds(client: SpeechClient, emulator: Emulator) -> None:
    with pytest.raises(InvalidAudioError, match=r"pronunciation assessment takes at most 30 s"):
        await client.recognize(
            make_wav(31), language="en-US", pronunciation_assessment=PronunciationAssessment(reference_text="Hi.")
        )
    assert short_requests(emulator) == []


def untyped(value: str) -> Any:
    """A value the type checker lets through, as a caller without type checking would pass it."""
    return value


BAD_OPTIONS: dict[str, tuple[dict[str, Any], str]] = {
    "underscore locale": ({"language": "en_US"}, r"did you mean 'en-US'"),
    "empty language": ({"language": ""}, "not a locale"),
    "mode": ({"language": "en-US", "mode": "batch"}, "mode 'batch'"),
    "format": ({"language": "en-US", "output_format": "verbose"}, "output_format 'verbose'"),
    "profanity": ({"language": "en-US", "profanity": "tags"}, "profanity 'tags'"),
    "endpoint id": ({"language": "en-US", "endpoint_id": "my-model"}, "GUID"),
    "simple with assessment": (
        {
            "language": "en-US",
            "output_format": "simple",
            "pronunciation_assessment": PronunciationAssessment(reference_text="x"),
        },
        "detailed output",
    ),
    "no reference text": (
        {"language": "en-US", "pronunciation_assessment": PronunciationAssessment(reference_text=" ")},
        "reference_text",
    ),
    "grading": (
        {
            "language": "en-US",
            "pronunciation_assessment": PronunciationAssessment(reference_text="x", grading_system=untyped("Ten")),
        },
        "grading_system 'Ten'",
    ),
    "scenario": (
        {
            "language": "en-US",
            "pronunciation_assessment": PronunciationAssessment(reference_text="x", scenario_id="abc"),
        },
        "not a GUID",
    ),
}


@pytest.mark.parametrize("case", BAD_OPTIONS)
async def test_options_the_api_does_not_take_are_refused_before_sending(
    client: SpeechClient, emulator: Emulator, hello_bytes: bytes, case: str
) -> None:
    options, message = BAD_OPTIONS[case]
    with pytest.raises(InvalidOptionsError, match=message):
        await client.recognize(hello_bytes, **options)
    assert short_requests(emulator) == []


# --- Credentials -------------------------------------------------------------------------------------------------


async def test_issue_token_bearer_tokens_authenticate_short_audio(
    emulator: Emulator, speech_emulator_key: str, hello_bytes: bytes
) -> None:
    async with SpeechClient(emulator.url, IssueTokenCredential(speech_emulator_key)) as client:
        for _ in range(3):
            assert (await client.recognize(hello_bytes, language="en-US")).text == HELLO_TEXT
        assert client.token_stats is not None
        assert client.token_stats.exchanges == 1
    assert {r.auth for r in short_requests(emulator)} == {"bearer"}


async def test_entra_tokens_go_to_short_audio_in_the_aad_form(emulator: Emulator, hello_bytes: bytes) -> None:
    credential = EmulatorTokenCredential(emulator.url)
    async with SpeechClient(emulator.url, credential, resource_id=emulator.config.resource_id) as client:
        assert (await client.recognize(hello_bytes, language="en-US")).text == HELLO_TEXT
        # The same cached token serves fast transcription, in the plain Bearer form.
        await client.transcribe(hello_bytes)
        assert credential.calls == 1
    assert credential.closed
    assert [r.status for r in emulator.requests if r.route in ("short_audio", "transcribe")] == [200, 200]


async def test_an_entra_token_refused_by_short_audio_is_replaced_and_the_request_replayed(
    emulator: Emulator, hello_bytes: bytes
) -> None:
    credential = EmulatorTokenCredential(emulator.url)
    async with SpeechClient(emulator.url, credential, resource_id=emulator.config.resource_id) as client:
        await client.recognize(hello_bytes, language="en-US")
        emulator.faults.add(Fault(route="short_audio", expire_token=True))
        assert (await client.recognize(hello_bytes, language="en-US")).text == HELLO_TEXT
        assert credential.calls == 2
    assert [r.status for r in short_requests(emulator)] == [200, 401, 200]


async def test_a_wrong_resource_id_is_an_authentication_error(
    emulator: Emulator, hello_bytes: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    other = (
        "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg"
        "/providers/Microsoft.CognitiveServices/accounts/other"
    )
    async with SpeechClient(emulator.url, EmulatorTokenCredential(emulator.url), resource_id=other) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.recognize(hello_bytes, language="en-US")
    assert caught.value.status_code == 401
    # One replay with a fresh token, then the refusal stands.
    assert [r.status for r in short_requests(emulator)] == [401, 401]
    # Neither the token (a JWT: "eyJ...") nor the aad# value reaches the error or the logs.
    seen = str(caught.value) + repr(caught.value) + caplog.text + repr(client)
    assert "eyJ" not in seen
    assert "Bearer aad#" not in seen


async def test_entra_without_a_resource_id_is_refused_before_sending(emulator: Emulator, hello_bytes: bytes) -> None:
    credential = EmulatorTokenCredential(emulator.url)
    async with SpeechClient(emulator.url, credential) as client:
        with pytest.raises(InvalidOptionsError, match="resource_id="):
            await client.recognize(hello_bytes, language="en-US")
    assert credential.calls == 0
    assert short_requests(emulator) == []


@pytest.mark.parametrize(
    "resource_id", ["", "my-speech", "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Storage/accounts/a"]
)
def test_a_malformed_resource_id_is_refused_by_the_constructor(resource_id: str) -> None:
    with pytest.raises(InvalidOptionsError, match="not a Speech resource id"):
        SpeechClient("https://my-speech.cognitiveservices.azure.com", KeyCredential("k"), resource_id=resource_id)


async def test_a_wrong_key_is_an_authentication_error(emulator: Emulator, hello_bytes: bytes) -> None:
    async with SpeechClient(emulator.url, KeyCredential("s3cr3t-key-never-shown")) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.recognize(hello_bytes, language="en-US")
    assert "s3cr3t-key-never-shown" not in str(caught.value) + repr(caught.value)
    assert len(short_requests(emulator)) == 1


# --- Failures and retries ----------------------------------------------------------------------------------------


async def test_a_transient_failure_is_retried_with_the_same_audio(
    emulator: Emulator, speech_emulator_key: str, hello_bytes: bytes
) -> None:
    emulator.faults.add(Fault(route="short_audio", status=503))
    emulator.faults.add(Fault(route="short_audio", drop_after_request_bytes=5000))
    async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key), retry=FAST) as client:
        result = await client.recognize(hello_bytes, language="en-US")

    assert result.text == HELLO_TEXT
    attempts = short_requests(emulator)
    assert [r.fault for r in attempts] == ["status-503", "drop-after-request-bytes", None]
    assert len({r.client_request_id for r in attempts}) == 1
    assert attempts[-1].attempt_body_sha256 == hashlib.sha256(hello_bytes).hexdigest()


async def test_a_live_stream_cannot_be_replayed_unless_spooled(
    emulator: Emulator, speech_emulator_key: str, hello_bytes: bytes
) -> None:
    async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key), retry=FAST) as client:
        emulator.faults.add(Fault(route="short_audio", status=503, read_body_first=True))
        with pytest.raises(AudioNotReplayableError):
            await client.recognize(chunks_of(hello_bytes, 1024), language="en-US")
        emulator.faults.add(Fault(route="short_audio", status=503, read_body_first=True))
        result = await client.recognize(chunks_of(hello_bytes, 1024), language="en-US", spool=True)
    assert result.text == HELLO_TEXT


async def test_an_error_status_that_persists_is_a_typed_error(
    emulator: Emulator, speech_emulator_key: str, hello_bytes: bytes
) -> None:
    emulator.faults.add(Fault(route="short_audio", status=500, count=2))
    policy = RetryPolicy(max_attempts=2, backoff_base=0.01)
    async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key), retry=policy) as client:
        with pytest.raises(ServiceError) as caught:
            await client.recognize(hello_bytes, language="en-US")
    assert caught.value.status_code == 500
    assert caught.value.attempts == 2


# --- Decoding the documented payloads ----------------------------------------------------------------------------


EXAMPLES = ("simple", "detailed", "pronunciation-assessment")


@pytest.fixture
async def documented_service(documented: dict[str, bytes]) -> AsyncIterator[str]:
    """A tiny server answering the documented example bodies; the client's HTTP path is the real one.

    Each example is served under its own prefix (``/simple/speech/recognition/...``); ``/broken/``
    answers a body that is not JSON.
    """
    bodies = {name: documented[name] for name in EXAMPLES}
    bodies["broken"] = b'{"RecognitionStatus": '

    async def answer(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=bodies[request.match_info["example"]], content_type="application/json")

    app = web.Application()
    app.router.add_post("/{example}" + RESOURCE_PATH, answer)
    async with serve_on_loopback(app) as url:
        yield url


async def recognize_example(url: str, example: str) -> RecognitionResult:
    async with SpeechClient(
        url, KeyCredential("k"), short_audio_endpoint=f"{url}/{example}", retry=RetryPolicy(max_attempts=1)
    ) as client:
        return await client.recognize(make_wav(0.1), language="en-US", output_format="detailed")


async def test_the_documented_simple_example_decodes_with_string_ticks(documented_service: str) -> None:
    result = await recognize_example(documented_service, "simple")
    assert result.succeeded
    assert result.text == "Remind me to buy 5 pencils."
    assert result.offset_ticks == result.duration_ticks == 1236645672289
    assert result.duration.total_seconds() == pytest.approx(123664.5672289)


async def test_the_documented_detailed_example_gives_the_first_candidate_not_the_most_confident(
    documented_service: str,
) -> None:
    # The documentation's detailed sample: the service's result comes first, at 0.905, before a 0.925.
    result = await recognize_example(documented_service, "detailed")
    assert [item.confidence for item in result.nbest] == [0.9052885, 0.92459863]
    best = result.best
    assert best is not None
    assert best is result.nbest[0]
    assert result.text == best.display == "What's the weather like?"
    assert best.lexical == best.itn == best.masked_itn == "what's the weather like"
    assert result.nbest[1].display == "what is the weather like"


async def test_the_documented_assessment_example_decodes_every_score(documented_service: str) -> None:
    result = await recognize_example(documented_service, "pronunciation-assessment")
    assert result.snr == pytest.approx(38.76819)
    assert result.text == "Good morning."
    best = result.best
    assert best is not None
    assert (best.accuracy_score, best.fluency_score, best.prosody_score, best.completeness_score, best.pron_score) == (
        100.0,
        100.0,
        87.8,
        100.0,
        95.1,
    )
    morning = best.words[1]
    assert morning.word == "morning"
    assert morning.error_type == "None"
    assert morning.offset.total_seconds() == pytest.approx(0.34)
    assert morning.duration.total_seconds() == pytest.approx(0.57)
    assert morning.feedback is not None
    assert morning.feedback.prosody is not None
    pause = morning.feedback.prosody.break_
    assert pause is not None
    assert pause.missing_break is not None
    assert pause.missing_break.confidence == 1.0
    intonation = morning.feedback.prosody.intonation
    assert intonation is not None
    assert intonation.monotone is not None
    assert intonation.monotone.syllable_pitch_delta_confidence == pytest.approx(0.91385907)


async def test_a_body_that_is_not_the_documented_shape_is_a_decode_error(documented_service: str) -> None:
    with pytest.raises(ResponseDecodeError) as caught:
        await recognize_example(documented_service, "broken")
    assert caught.value.body == b'{"RecognitionStatus": '


def test_short_audio_limits_must_be_positive() -> None:
    from speech_async import Limits

    with pytest.raises(ValueError, match="max_short_audio_seconds"):
        Limits(max_short_audio_seconds=0)
    with pytest.raises(ValueError, match="max_assessment_seconds"):
        Limits(max_assessment_seconds=-1)
