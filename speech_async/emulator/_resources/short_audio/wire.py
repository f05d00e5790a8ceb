"""Wire structs of the short-audio answers; field order is the documented samples' key order."""

from __future__ import annotations

from typing import Final

import msgspec

__all__ = (
    "ENCODER",
    "NO_MONOTONE",
    "Break",
    "Confidence",
    "DetailedBody",
    "Feedback",
    "Intonation",
    "Monotone",
    "NBest",
    "Prosody",
    "SimpleBody",
    "Word",
)


class SimpleBody(msgspec.Struct, kw_only=True, omit_defaults=True, rename="pascal"):
    """``format=simple``: key order as in the documented sample."""

    recognition_status: str
    display_text: str | None = None
    offset: int
    duration: int


class Confidence(msgspec.Struct, kw_only=True, rename="pascal"):
    confidence: float


class Break(msgspec.Struct, kw_only=True, omit_defaults=True, rename="pascal"):
    error_types: list[str]
    unexpected_break: Confidence | None = None
    missing_break: Confidence | None = None
    break_length: int


class Monotone(msgspec.Struct, kw_only=True, rename="pascal"):
    confidence: float
    word_pitch_slope_confidence: float
    syllable_pitch_delta_confidence: float


class Intonation(msgspec.Struct, kw_only=True, rename="pascal"):
    error_types: list[str]
    monotone: Monotone


class Prosody(msgspec.Struct, kw_only=True, rename="pascal"):
    break_: Break = msgspec.field(name="Break")
    intonation: Intonation


class Feedback(msgspec.Struct, kw_only=True, rename="pascal"):
    prosody: Prosody


class Word(msgspec.Struct, kw_only=True, omit_defaults=True, rename="pascal"):
    word: str
    offset: int
    duration: int
    confidence: float
    accuracy_score: float
    error_type: str | None = None
    feedback: Feedback | None = None


class NBest(msgspec.Struct, kw_only=True, omit_defaults=True, rename="pascal"):
    """One ``NBest`` item: key order as in the documented pronunciation-assessment sample."""

    confidence: float
    lexical: str
    itn: str = msgspec.field(name="ITN")
    masked_itn: str = msgspec.field(name="MaskedITN")
    display: str
    accuracy_score: float | None = None
    fluency_score: float | None = None
    prosody_score: float | None = None
    completeness_score: float | None = None
    pron_score: float | None = None
    words: list[Word] | None = None


class DetailedBody(msgspec.Struct, kw_only=True, omit_defaults=True, rename="pascal"):
    """``format=detailed``; ``DisplayText`` only with pronunciation assessment (as in the samples)."""

    recognition_status: str
    offset: int
    duration: int
    display_text: str | None = None
    n_best: list[NBest] | None = msgspec.field(default=None, name="NBest")


ENCODER: Final = msgspec.json.Encoder()
# unverified: no pitch analysis is done, so no monotone intonation is ever detected.
NO_MONOTONE: Final = Intonation(
    error_types=[],
    monotone=Monotone(confidence=0.0, word_pitch_slope_confidence=0.0, syllable_pitch_delta_confidence=0.0),
)
