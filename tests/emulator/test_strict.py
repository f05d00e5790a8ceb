"""The admin API's strict decoder: unknown fields fail at any depth, values go through msgspec.convert."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
import pytest

from speech_async.emulator import Fault, ScriptedPhrase, ScriptedTranscript, ScriptedWord, ServiceHealth
from speech_async.emulator._strict import decode_strict


@dataclass(frozen=True, kw_only=True)
class Leaf:
    value: int


@dataclass(frozen=True, kw_only=True)
class Tree:
    name: str
    leaves: list[Leaf]
    by_key: dict[str, Leaf]
    maybe: Leaf | None = None


class Loose(msgspec.Struct, kw_only=True):
    a: int


class Tight(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    a: int


def test_decodes_nested_values() -> None:
    tree = decode_strict(b'{"name": "t", "leaves": [{"value": 1}], "by_key": {"k": {"value": 2}}}', Tree)
    assert tree == Tree(name="t", leaves=[Leaf(value=1)], by_key={"k": Leaf(value=2)})
    assert decode_strict({"a": 1}, Loose) == Loose(a=1)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"name": "t", "leaves": [], "by_key": {}, "extra": 1, "more": 2}', "unknown Tree fields: extra, more"),
        (b'{"name": "t", "leaves": [{"value": 1, "x": 0}], "by_key": {}}', "unknown Leaf fields at $.leaves[0]: x"),
        (b'{"name": "t", "leaves": [], "by_key": {"k": {"y": 1}}}', "unknown Leaf fields at $.by_key.k: y"),
        (b'{"name": "t", "leaves": [], "by_key": {}, "maybe": {"z": 1}}', "unknown Leaf fields at $.maybe: z"),
        (b'{"name": 1, "leaves": [], "by_key": {}}', "Expected `str`, got `int` - at `$.name`"),
        (b'{"name": "t"', "not valid JSON"),
    ],
    ids=["top-level", "in-list", "in-dict", "in-union", "wrong-type", "not-json"],
)
def test_refuses_bad_input(data: bytes, message: str) -> None:
    with pytest.raises(ValueError) as caught:  # noqa: PT011 (the message is checked below)
        decode_strict(data, Tree)
    assert message in str(caught.value)


def test_structs_without_their_own_check_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown Loose fields: b"):
        decode_strict({"a": 1, "b": 2}, Loose)
    with pytest.raises(ValueError, match="unknown field `b`"):
        decode_strict({"a": 1, "b": 2}, Tight)


def test_what_names_a_non_object() -> None:
    with pytest.raises(ValueError, match=r"^a leaf must be a JSON object with Leaf field names$"):
        decode_strict(b"[1]", Leaf, what="a leaf")


def test_post_init_checks_run() -> None:
    with pytest.raises(ValueError, match="exactly one misbehaviour"):
        decode_strict({"status": 429, "delay_body": 1}, Fault)
    with pytest.raises(ValueError, match=r"confidence must be between 0 and 1 - at `\$\.phrases\[0\]`"):
        decode_strict(
            {"phrases": [{"text": "a", "offset_ms": 0, "duration_ms": 1, "confidence": 2}]}, ScriptedTranscript
        )
    with pytest.raises(ValueError, match=r"Invalid enum value 'Fine' - at `\$\.components\[0\]\.status`"):
        decode_strict({"components": [{"name": "a", "type": "b", "status": "Fine"}]}, ServiceHealth)


def test_public_dataclasses_decode() -> None:
    transcript = decode_strict(
        b'{"phrases": [{"text": "a b", "offset_ms": 0, "duration_ms": 8, '
        b'"words": [{"text": "a", "offset_ms": 0, "duration_ms": 4}]}], "translations": {"de": []}}',
        ScriptedTranscript,
    )
    word = ScriptedWord(text="a", offset_ms=0, duration_ms=4)
    assert transcript.phrases == (ScriptedPhrase(text="a b", offset_ms=0, duration_ms=8, words=(word,)),)
    assert dict(transcript.translations) == {"de": ()}
    with pytest.raises(ValueError, match=r"unknown ScriptedWord fields at \$\.phrases\[0\]\.words\[0\]: txet"):
        decode_strict(
            b'{"phrases": [{"text": "a", "offset_ms": 0, "duration_ms": 8, '
            b'"words": [{"txet": "a", "offset_ms": 0, "duration_ms": 4}]}]}',
            ScriptedTranscript,
        )
