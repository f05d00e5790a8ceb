"""Fuzzing: mutated real payloads through the decoders; only the library's typed errors may come out."""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from speech_async import ResponseDecodeError, SpeechStatusError, TranscriptionResult
from speech_async._formats import _wav, sniff
from speech_async._headers import parse_retry_after
from speech_async._http import Response, status_error
from speech_async._models._common import ErrorDetail, decode_error_body
from speech_async._resources.fast import decode_result

PAYLOADS = json.loads((Path(__file__).parents[1] / "data" / "payloads.json").read_text(encoding="utf-8"))
RESULTS: list[Any] = PAYLOADS["results"]
ERRORS: list[Any] = PAYLOADS["errors"]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _response(content: bytes, status: int = 200) -> Response:
    return Response(status=status, reason="", headers={}, content=content, request_id="rid")


@st.composite
def mutated_json(draw: st.DrawFn, seeds: list[Any]) -> Any:
    """A real payload with a few structural mutations: keys dropped, values replaced, types swapped."""
    document = json.loads(json.dumps(draw(st.sampled_from(seeds))))
    for _ in range(draw(st.integers(1, 4))):
        containers = _containers(document)
        if not containers:
            break
        target = draw(st.sampled_from(containers))
        keys = list(target) if isinstance(target, dict) else list(range(len(target)))
        key = draw(st.sampled_from(keys))
        if draw(st.booleans()):
            del target[key]
        else:
            target[key] = draw(json_values)
    return document


def _containers(node: Any) -> list[Any]:
    """Every non-empty dict and list in a JSON document, outermost first."""
    if not isinstance(node, dict | list) or not node:
        return []
    children = node.values() if isinstance(node, dict) else node
    return [node, *(found for child in children for found in _containers(child))]


def _decoded_or_typed_error(content: bytes) -> None:
    caught: ResponseDecodeError | None = None
    result: TranscriptionResult | None = None
    try:
        result = decode_result(_response(content))
    except ResponseDecodeError as err:
        caught = err
    if caught is not None:
        assert caught.body == content
        assert caught.request_id == "rid"
    else:
        assert isinstance(result, TranscriptionResult)
        assert isinstance(result.text, str)


@pytest.mark.parametrize("payload", RESULTS, ids=lambda p: str(p["combinedPhrases"][0]["text"]))
def test_real_payloads_decode(payload: Any) -> None:
    result = decode_result(_response(json.dumps(payload).encode()))
    assert result.duration_milliseconds == payload["durationMilliseconds"]
    assert result.text == payload["combinedPhrases"][0]["text"]


@FUZZ
@given(mutated_json(RESULTS))
def test_structurally_mutated_results_decode_or_raise_a_decode_error(document: Any) -> None:
    _decoded_or_typed_error(json.dumps(document).encode())


@FUZZ
@given(st.sampled_from(RESULTS), st.data())
def test_byte_mutated_results_decode_or_raise_a_decode_error(payload: Any, data: st.DataObject) -> None:
    raw = bytearray(json.dumps(payload, ensure_ascii=False).encode())
    for _ in range(data.draw(st.integers(1, 6))):
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        at = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        if action == "flip" and raw:
            raw[at] ^= data.draw(st.integers(1, 255))
        elif action == "cut":
            del raw[at:]
        else:
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=4))
    _decoded_or_typed_error(bytes(raw))


@FUZZ
@given(st.one_of(mutated_json(ERRORS).map(lambda d: json.dumps(d).encode()), st.binary(max_size=64)))
def test_error_bodies_decode_or_come_back_as_none(body: bytes) -> None:
    detail = decode_error_body(body)
    assert detail is None or isinstance(detail, ErrorDetail)


@FUZZ
@given(st.integers(400, 599), st.binary(max_size=64) | mutated_json(ERRORS).map(lambda d: json.dumps(d).encode()))
def test_any_error_response_becomes_a_typed_status_error(status: int, body: bytes) -> None:
    error = status_error(_response(body, status=status))
    assert isinstance(error, SpeechStatusError)
    assert error.status_code == status
    assert str(error).startswith(str(status))


@FUZZ
@given(st.binary(max_size=256), st.none() | st.integers(0, 10**12))
def test_sniffing_never_fails(head: bytes, size: int | None) -> None:
    found = sniff(head, size)
    assert found.seconds is None or found.seconds >= 0


@FUZZ
@given(
    st.sampled_from([1, 3, 0xFFFE]),
    st.integers(1, 8),
    st.sampled_from([8000, 16000, 44100, 48000]),
    st.sampled_from([8, 16, 24, 32]),
    st.sampled_from([0, 1, 44, 320000, 0xFFFFFFFF]) | st.integers(0, 2**32 - 1),
    st.none() | st.integers(0, 2**33),
)
def test_the_canonical_wav_header_reads_as_the_chunk_walk_does(
    tag: int, channels: int, rate: int, bits: int, data_size: int, total: int | None
) -> None:
    """The one-unpack path for the usual 44-byte header agrees with walking the RIFF chunks."""
    byte_rate = rate * channels * bits // 8
    fmt = struct.pack("<HHIIHH", tag, channels, rate, byte_rate, channels * bits // 8, bits)
    header = b"RIFF" + struct.pack("<I", 36 + data_size & 0xFFFFFFFF) + b"WAVE"
    header += b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", data_size)
    assert len(header) == 44
    walked = _wav(header + bytes(16), total)  # the walk, bypassing the fast path in sniff()
    assert sniff(header + bytes(16), total) == walked


@FUZZ
@given(st.dictionaries(st.sampled_from(["Retry-After", "retry-after-ms", "x-ms-retry-after-ms"]), st.text(max_size=40)))
def test_retry_after_parsing_never_fails(headers: dict[str, str]) -> None:
    delay = parse_retry_after(headers)
    assert delay is None or 0 <= delay <= 120
