"""The emulator's own wire structs for success bodies; field order is the observed key order."""

from __future__ import annotations

from typing import Final

import msgspec

__all__ = ("LocalesBody", "WireCombinedPhrase", "WirePhrase", "WireResult", "WireWord", "encode")


class WireWord(msgspec.Struct, kw_only=True, rename="camel"):
    """``phrases[].words[]``: ``text, offsetMilliseconds, durationMilliseconds``."""

    text: str
    offset_milliseconds: int
    duration_milliseconds: int


class WirePhrase(msgspec.Struct, kw_only=True, omit_defaults=True, rename="camel"):
    """``phrases[]``; ``channel`` and ``speaker`` are omitted when ``None``."""

    channel: int | None = None
    speaker: int | None = None
    offset_milliseconds: int
    duration_milliseconds: int
    text: str
    words: list[WireWord] | None = None
    locale: str | None = None
    confidence: float


class WireCombinedPhrase(msgspec.Struct, kw_only=True, omit_defaults=True):
    """``combinedPhrases[]``: one per transcribed channel."""

    channel: int | None = None
    text: str


class WireResult(msgspec.Struct, kw_only=True, rename="camel"):
    """The 200 body of ``transcriptions:transcribe``."""

    duration_milliseconds: int
    combined_phrases: list[WireCombinedPhrase]
    phrases: list[WirePhrase]


class LocalesBody(msgspec.Struct, kw_only=True, rename="pascal"):
    """The 200 body of ``transcriptions/locales``: ``{"Transcribe": [...], "Submit": [...]}``."""

    transcribe: list[str]
    submit: list[str]


_ENCODER: Final = msgspec.json.Encoder()


def encode(value: msgspec.Struct) -> bytes:
    """Compact JSON."""
    return _ENCODER.encode(value)
