"""Every result carries the HTTP response it came from, and encodes back to the service's JSON.

Issue 9, item 4: ``result.response`` (request id, status, headers, raw body, attempts) for
transcribe, translate and recognize, over real loopback HTTP against the emulator; and
``msgspec.json.encode(result)`` gives the wire JSON back, with no ``null`` added.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest

from speech_async import (
    CombinedPhrase,
    DiarizationOptions,
    Phrase,
    RecognitionResult,
    ResponseInfo,
    RetryPolicy,
    ServiceError,
    SpeechClient,
    TranscriptionOptions,
    TranscriptionResult,
    Word,
)
from speech_async.emulator import Emulator, Fault, RecordedRequest, ScriptedPhrase, ScriptedTranscript

from ..support.audio import make_wav
from ..support.samples import HELLO_TRANSCRIPT

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(backoff_base=0.01, backoff_max=0.05)
DATA = Path(__file__).resolve().parents[1] / "data"
SPEC = Path(__file__).resolve().parents[1] / "data" / "spec-examples"

Call = Callable[[SpeechClient, bytes], Awaitable[TranscriptionResult | RecognitionResult]]

CALLS: dict[str, tuple[str, Call]] = {
    "transcribe": ("transcribe", lambda client, audio: client.transcribe(audio, retry=FAST)),
    "translate": ("transcribe", lambda client, audio: client.translate(audio, target_language="de", retry=FAST)),
    "recognize": ("short_audio", lambda client, audio: client.recognize(audio, language="en-US", retry=FAST)),
}


@pytest.fixture(autouse=True)
def translations(emulator: Emulator, hello_bytes: bytes) -> None:
    """hello.wav also translates into German."""
    german = (ScriptedPhrase(text="Hallo, danke für Ihren Anruf.", offset_ms=40, duration_ms=2000),)
    emulator.scripted.register(
        hello_bytes, ScriptedTranscript(phrases=HELLO_TRANSCRIPT.phrases, translations={"de": german})
    )


def served(emulator: Emulator, route: str) -> list[RecordedRequest]:
    return [r for r in emulator.requests if r.route == route]


def info_of(result: TranscriptionResult | RecognitionResult) -> ResponseInfo:
    info = result.response
    assert isinstance(info, ResponseInfo)
    return info


def ordered(payload: bytes) -> str:
    """The JSON re-serialized as parsed: equal strings mean equal values and the same key order."""
    return json.dumps(json.loads(payload))


@pytest.mark.parametrize("operation", list(CALLS))
async def test_result_carries_the_response_it_came_from(
    client: SpeechClient, emulator: Emulator, hello_bytes: bytes, operation: str
) -> None:
    route, call = CALLS[operation]
    result = await call(client, hello_bytes)

    info = info_of(result)
    (recorded,) = served(emulator, route)
    assert info.status_code == 200
    assert info.reason == "OK"
    assert info.request_id == recorded.request_id
    assert info.headers["apim-request-id"] == recorded.request_id
    assert info.headers["APIM-Request-Id"] == recorded.request_id  # case-insensitive, as aiohttp's
    assert info.headers["Content-Type"].startswith("application/json")
    assert info.client_request_id is not None
    assert info.client_request_id == recorded.client_request_id
    assert info.attempts == 1
    assert info.elapsed > 0
    assert recorded.request_id in repr(info)
    assert "body" not in repr(info)  # a transcript can be megabytes
    # The raw body is the wire JSON, and decoding it again gives the same result.
    assert info.body.startswith(b"{")
    assert msgspec.json.decode(info.body, type=type(result), strict=False) == result


@pytest.mark.parametrize("operation", list(CALLS))
async def test_attempts_count_the_retries_and_the_response_is_the_last_attempts(
    client: SpeechClient, emulator: Emulator, hello_bytes: bytes, operation: str
) -> None:
    route, call = CALLS[operation]
    emulator.faults.add(Fault(route=route, status=503, count=2))

    result = await call(client, hello_bytes)

    info = info_of(result)
    attempts = served(emulator, route)
    assert [r.status for r in attempts] == [503, 503, 200]
    assert info.attempts == 3
    assert info.request_id == attempts[-1].request_id
    assert len({r.request_id for r in attempts}) == 3
    assert {r.client_request_id for r in attempts} == {info.client_request_id}


async def test_each_call_has_its_own_client_request_id_in_uuid4_form(
    client: SpeechClient, emulator: Emulator, hello_bytes: bytes
) -> None:
    results = [await client.recognize(hello_bytes, language="en-US") for _ in range(3)]

    ids = [info_of(result).client_request_id for result in results]
    assert len(set(ids)) == 3
    for text in ids:
        assert text is not None
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
    assert {r.client_request_id for r in emulator.requests} >= set(ids)


_FORK_IDS = """
import os
from speech_async._headers import new_client_request_id
parent = new_client_request_id()
read, write = os.pipe()
pid = os.fork()
if pid == 0:
    os.write(write, new_client_request_id().encode())
    os._exit(0)
os.close(write)
child = os.read(read, 100).decode()
os.waitpid(pid, 0)
print(parent, child)
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() here")
def test_a_forked_child_draws_ids_of_its_own() -> None:
    """After fork() the child's ids share nothing with the parent's: not its prefix, not its count.

    (In a fresh process of one thread, where fork() is safe.)
    """
    done = subprocess.run([sys.executable, "-c", _FORK_IDS], capture_output=True, text=True, check=True, timeout=60)
    parent, child = done.stdout.split()
    assert uuid.UUID(child).version == 4
    assert child[:24] != parent[:24], (parent, child)
    assert int(child[24:], 16) != int(parent[24:], 16) + 1


async def test_a_failed_call_still_reports_its_attempts_on_the_error(
    client: SpeechClient, emulator: Emulator, hello_bytes: bytes
) -> None:
    emulator.faults.add(Fault(route="transcribe", status=503, count=2))
    with pytest.raises(ServiceError) as caught:
        await client.transcribe(hello_bytes, retry=RetryPolicy(max_attempts=2, backoff_base=0.01, backoff_max=0.05))
    assert caught.value.attempts == 2


async def test_transcription_encodes_back_to_the_exact_wire_bytes(
    client: SpeechClient, emulator: Emulator, hello_bytes: bytes
) -> None:
    result = await client.transcribe(hello_bytes, options=TranscriptionOptions(locales=["en-US"]))
    body = info_of(result).body
    assert b'"channel"' not in body
    assert msgspec.json.encode(result) == body


async def test_speakers_and_channels_encode_back_to_the_exact_wire_bytes(
    client: SpeechClient, emulator: Emulator
) -> None:
    wav = make_wav(2.0)
    emulator.scripted.register(
        wav,
        ScriptedTranscript(
            phrases=(
                ScriptedPhrase(text="Good morning.", offset_ms=0, duration_ms=900, speaker=1),
                ScriptedPhrase(text="Hi there.", offset_ms=1000, duration_ms=700, speaker=2),
            )
        ),
    )
    result = await client.transcribe(
        wav, options=TranscriptionOptions(diarization=DiarizationOptions(max_speakers=2), channels=[0])
    )
    body = info_of(result).body
    assert b'"speaker":' in body
    assert b'"channel":0' in body
    assert [p.speaker for p in result.phrases] == [1, 2]
    assert msgspec.json.encode(result) == body


def _published_transcriptions() -> list[tuple[str, bytes]]:
    found: list[tuple[str, bytes]] = []
    payloads = json.loads((DATA / "payloads.json").read_bytes())
    for index, body in enumerate(payloads["results"]):
        found.append((f"payloads.json#{index}", json.dumps(body).encode()))
    for path in sorted(SPEC.glob("transcribe-*.json")):
        body = json.loads(path.read_bytes())["responses"]["200"]["body"]
        found.append((path.name, json.dumps(body).encode()))
    return found


@pytest.mark.parametrize(("name", "wire"), _published_transcriptions(), ids=lambda value: str(value)[:40])
def test_published_transcriptions_encode_back_unchanged(name: str, wire: bytes) -> None:
    result = msgspec.json.decode(wire, type=TranscriptionResult)
    encoded = msgspec.json.encode(result)
    assert b"null" not in encoded
    assert ordered(encoded) == ordered(wire), name


def test_optional_phrase_fields_are_left_out_rather_than_null() -> None:
    result = TranscriptionResult(
        duration_milliseconds=1000,
        combined_phrases=[CombinedPhrase(text="Hi.")],
        phrases=[
            Phrase(
                offset_milliseconds=0,
                duration_milliseconds=500,
                text="Hi.",
                words=[Word(text="hi", offset_milliseconds=0, duration_milliseconds=500)],
                confidence=0.5,
            )
        ],
    )
    assert msgspec.json.encode(result) == (
        b'{"durationMilliseconds":1000,"combinedPhrases":[{"text":"Hi."}],"phrases":[{"offsetMilliseconds":0,'
        b'"durationMilliseconds":500,"text":"Hi.","words":[{"text":"hi","offsetMilliseconds":0,'
        b'"durationMilliseconds":500}],"confidence":0.5}]}'
    )


def _ticks_as_numbers(value: Any) -> Any:
    # The documentation sends Offset and Duration as strings in some samples; they decode to ints.
    if isinstance(value, dict):
        return {
            key: int(item) if key in ("Offset", "Duration") and isinstance(item, str) else _ticks_as_numbers(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_ticks_as_numbers(item) for item in value]
    return value


@pytest.mark.parametrize("name", ["simple", "detailed", "pronunciation-assessment"])
def test_documented_recognition_results_encode_back_without_nulls(name: str) -> None:
    wire = (DATA / "shortaudio" / f"shortaudio-{name}.json").read_bytes()
    result = msgspec.json.decode(wire, type=RecognitionResult, strict=False)
    encoded = msgspec.json.encode(result)
    assert b"null" not in encoded
    assert json.loads(encoded) == _ticks_as_numbers(json.loads(wire))


@pytest.mark.parametrize("output_format", ["simple", "detailed"])
async def test_recognition_from_the_emulator_encodes_back_to_its_json(
    client: SpeechClient, hello_bytes: bytes, output_format: Any
) -> None:
    result = await client.recognize(hello_bytes, language="en-US", output_format=output_format)
    body = info_of(result).body
    assert result.text
    assert b"null" not in msgspec.json.encode(result)
    assert json.loads(msgspec.json.encode(result)) == json.loads(body)


async def test_the_response_is_not_part_of_the_value(client: SpeechClient, hello_bytes: bytes) -> None:
    first = await client.transcribe(hello_bytes)
    second = await client.transcribe(hello_bytes)
    assert info_of(first).request_id != info_of(second).request_id
    # Equality, hashing and encoding are the wire fields' only.
    assert first == second
    assert msgspec.json.encode(first) == msgspec.json.encode(second)
    assert b"apim" not in msgspec.json.encode(first)


def test_a_result_built_or_decoded_by_hand_has_no_response() -> None:
    built = TranscriptionResult(duration_milliseconds=0, combined_phrases=[], phrases=[])
    assert built.response is None
    decoded = msgspec.json.decode(b'{"RecognitionStatus":"Success","DisplayText":"Hi."}', type=RecognitionResult)
    assert decoded.response is None


@pytest.mark.parametrize(
    "wire",
    [
        b'{"RecognitionStatus":"InitialSilenceTimeout","Offset":0,"Duration":0}',
        b'{"RecognitionStatus":"Success","DisplayText":"Hi.","Offset":0,"Duration":5000000}',
        b'{"RecognitionStatus":"NoMatch","Offset":1200000,"Duration":0}',
        b'{"RecognitionStatus":"EndOfDictation"}',
    ],
    ids=["silence", "offset-zero", "no-match", "no-timing"],
)
def test_short_audio_answers_keep_their_zeros_and_leave_out_what_was_not_sent(wire: bytes) -> None:
    """A 0 the service sent is encoded back; a field it left out stays out (no null, no invented 0)."""
    result = msgspec.json.decode(wire, type=RecognitionResult)
    assert json.loads(msgspec.json.encode(result)) == json.loads(wire)
