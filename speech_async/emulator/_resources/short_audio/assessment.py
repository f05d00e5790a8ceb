"""Pronunciation assessment for the short-audio API: the ``Pronunciation-Assessment`` header and scores.

The header is ``base64(UTF-8 JSON)`` of the documented parameters (short-audio digest, section 4).

The real service scores pronunciation with acoustic models (phonemes, pitch, pauses). The emulator
cannot; its scores are deterministic stand-ins computed from aligning the recognized words with the
reference text (unverified, all of them): a word said as in the reference scores 100, a word heard
differently scores the character similarity of the two spellings; completeness is the share of
reference words heard correctly; fluency the share of the spoken span filled with words; prosody the
share of word boundaries without a break error. The overall ``PronScore`` uses the weighting of
Microsoft's pronunciation-assessment samples (lowest score 0.4 and the others 0.2 each with prosody;
lowest 0.6 and the others 0.2 each without), which reproduces the documented example (95.1).
"""

from __future__ import annotations

import base64
import binascii
import difflib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, TypeVar

import msgspec

from ..._ids import GUID
from ..._text_forms import lexical_words

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from ..._recognizer import RecognizedWord

__all__ = (
    "ASSESSMENT_HEADER",
    "AssessedWord",
    "Assessment",
    "AssessmentError",
    "AssessmentParams",
    "BreakFeedback",
    "assess",
    "decode_assessment_header",
)

ASSESSMENT_HEADER: Final = "Pronunciation-Assessment"
GradingSystem = Literal["FivePoint", "HundredMark"]
Granularity = Literal["Phoneme", "Word", "FullText"]
Dimension = Literal["Basic", "Comprehensive"]
ErrorType = Literal["None", "Omission", "Insertion", "Mispronunciation"]

_GRADING: Final[dict[str, GradingSystem]] = {"fivepoint": "FivePoint", "hundredmark": "HundredMark"}
_GRANULARITY: Final[dict[str, Granularity]] = {"phoneme": "Phoneme", "word": "Word", "fulltext": "FullText"}
_DIMENSION: Final[dict[str, Dimension]] = {"basic": "Basic", "comprehensive": "Comprehensive"}
_PUNCTUATION_BREAK: Final = re.compile(r"[,.;:!?]")
# unverified: the emulator's own thresholds. A word scoring below 60 is a mispronunciation; a
# silence over 300 ms where the reference has no punctuation is an unexpected break (certain at
# 1 s); under 100 ms where it has punctuation is a missing break; shorter silences count as none.
_MISPRONOUNCED_BELOW: Final = 60.0
_UNEXPECTED_BREAK_MS: Final = 300
_UNEXPECTED_BREAK_CERTAIN_MS: Final = 1000
_MISSING_BREAK_MS: Final = 100
_BREAK_CONFIDENCE: Final = 0.5
_TICKS_PER_MS: Final = 10_000


class AssessmentError(ValueError):
    """The header is not valid; the message says why (it is answered as a 400)."""


@dataclass(frozen=True, kw_only=True)
class AssessmentParams:
    """The decoded ``Pronunciation-Assessment`` header (documented defaults)."""

    reference_text: str
    grading_system: GradingSystem = "FivePoint"
    granularity: Granularity = "Phoneme"
    dimension: Dimension = "Basic"
    enable_miscue: bool = False
    enable_prosody: bool = False
    scenario_id: str | None = None


_Choice = TypeVar("_Choice", bound=str)


def _choice(document: Mapping[str, object], name: str, choices: Mapping[str, _Choice], default: str) -> _Choice:
    value = document.get(name, default)
    # unverified: values are matched case-insensitively (.NET enum parsing usually is).
    if not isinstance(value, str) or value.casefold() not in choices:
        allowed = ", ".join(choices.values())
        raise AssessmentError(f"{name} must be one of {allowed}, not {value!r}")
    return choices[value.casefold()]


def _flag(document: Mapping[str, object], name: str) -> bool:
    value = document.get(name, False)
    # The docs pass "True"/"False" strings; unverified: JSON booleans are accepted too.
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.casefold() in ("true", "false"):
        return value.casefold() == "true"
    raise AssessmentError(f'{name} must be "True" or "False", not {value!r}')


def decode_assessment_header(value: str) -> AssessmentParams:
    """The parameters of a ``Pronunciation-Assessment`` header; :class:`AssessmentError` if invalid.

    unverified: unknown JSON members are ignored (the Speech SDK sends more than this page lists);
    member names are matched exactly; an empty ``ReferenceText`` counts as missing.
    """
    text = value.strip()
    try:
        # Standard base64 as .NET's Convert.ToBase64String writes it; missing padding is tolerated.
        raw = base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
        document: object = msgspec.json.decode(raw)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise AssessmentError(f"the {ASSESSMENT_HEADER} header is not base64 of UTF-8 JSON") from None
    if not isinstance(document, dict):
        raise AssessmentError(f"the {ASSESSMENT_HEADER} header must hold a JSON object")
    members: dict[str, object] = document  # pyright: ignore[reportUnknownVariableType]
    reference = members.get("ReferenceText")
    if not isinstance(reference, str) or not reference.strip():
        raise AssessmentError("ReferenceText is required")
    scenario = members.get("ScenarioId")
    if scenario is not None and (not isinstance(scenario, str) or GUID.fullmatch(scenario) is None):
        raise AssessmentError(f"ScenarioId must be a GUID, not {scenario!r}")
    return AssessmentParams(
        reference_text=reference,
        grading_system=_choice(members, "GradingSystem", _GRADING, "FivePoint"),
        granularity=_choice(members, "Granularity", _GRANULARITY, "Phoneme"),
        dimension=_choice(members, "Dimension", _DIMENSION, "Basic"),
        enable_miscue=_flag(members, "EnableMiscue"),
        enable_prosody=_flag(members, "EnableProsodyAssessment"),
        scenario_id=scenario,
    )


@dataclass(frozen=True, kw_only=True)
class BreakFeedback:
    """``Feedback.Prosody.Break`` of one word; confidences are ``None`` for the first word spoken."""

    error_types: tuple[str, ...]
    unexpected_break: float | None
    missing_break: float | None
    break_length_ticks: int


@dataclass(frozen=True, kw_only=True)
class AssessedWord:
    """One entry of ``Words``: scores on the 0-100 scale, times in milliseconds."""

    word: str
    offset_ms: int
    duration_ms: int
    accuracy: float
    error_type: ErrorType
    prosody: BreakFeedback | None = None


@dataclass(frozen=True, kw_only=True)
class Assessment:
    """Scores on the 0-100 scale; ``prosody`` is ``None`` unless prosody assessment was asked for."""

    accuracy: float
    fluency: float
    completeness: float
    prosody: float | None
    pronunciation: float
    words: tuple[AssessedWord, ...]


@dataclass(frozen=True, kw_only=True)
class _Heard:
    text: str
    offset_ms: int
    duration_ms: int

    @property
    def end_ms(self) -> int:
        return self.offset_ms + self.duration_ms


@dataclass(frozen=True, kw_only=True)
class _Reference:
    text: str
    break_after: bool  # punctuation follows the word in the reference text


def _heard_words(words: Sequence[RecognizedWord], language: str) -> list[_Heard]:
    heard: list[_Heard] = []
    for word in sorted(words, key=lambda w: w.offset_ms):
        pieces = lexical_words(word.text, language)
        # A recognized word that normalizes to several ("well-known", "25") shares its time evenly.
        for index, piece in enumerate(pieces):
            start = word.offset_ms + word.duration_ms * index // len(pieces)
            end = word.offset_ms + word.duration_ms * (index + 1) // len(pieces)
            heard.append(_Heard(text=piece, offset_ms=start, duration_ms=end - start))
    return heard


def _reference_words(text: str, language: str) -> list[_Reference]:
    words: list[_Reference] = []
    for chunk in text.split():
        pieces = lexical_words(chunk, language)
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            words.append(_Reference(text=piece, break_after=last and bool(_PUNCTUATION_BREAK.search(chunk[-1:]))))
    return words


@dataclass
class _Aligned:
    """One alignment entry: a heard word, a reference word, or both."""

    heard: _Heard | None
    reference: int | None  # index into the reference words
    accuracy: float
    error_type: ErrorType


def _similarity(heard: str, reference: str) -> float:
    return round(100.0 * difflib.SequenceMatcher(None, heard, reference, autojunk=False).ratio(), 1)


def _pair_block(heard: list[_Heard], reference: list[_Reference], j0: int) -> list[_Aligned]:
    """Align a block of differing words: the in-order pairing with the most similar spellings.

    Ties go to more pairs (a word said differently is a mispronunciation rather than an omission
    plus an insertion). Unpaired heard words are insertions, unpaired reference words omissions.
    """
    rows, cols = len(heard), len(reference)
    similarity = [[_similarity(h.text, r.text) for r in reference] for h in heard]
    # best[i][j]: (total similarity, pairs) for heard[i:] against reference[j:].
    best = [[(0.0, 0)] * (cols + 1) for _ in range(rows + 1)]
    for i in range(rows - 1, -1, -1):
        for j in range(cols - 1, -1, -1):
            total, pairs = best[i + 1][j + 1]
            best[i][j] = max((total + similarity[i][j], pairs + 1), best[i + 1][j], best[i][j + 1])
    aligned: list[_Aligned] = []
    i = j = 0
    while i < rows and j < cols:
        total, pairs = best[i + 1][j + 1]
        if best[i][j] == (total + similarity[i][j], pairs + 1):
            score = similarity[i][j]
            error: ErrorType = "Mispronunciation" if score < _MISPRONOUNCED_BELOW else "None"
            aligned.append(_Aligned(heard[i], j0 + j, score, error))
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            aligned.append(_Aligned(heard[i], None, 0.0, "Insertion"))
            i += 1
        else:
            aligned.append(_Aligned(None, j0 + j, 0.0, "Omission"))
            j += 1
    aligned += [_Aligned(heard[k], None, 0.0, "Insertion") for k in range(i, rows)]
    aligned += [_Aligned(None, j0 + k, 0.0, "Omission") for k in range(j, cols)]
    return aligned


def _align(heard: list[_Heard], reference: list[_Reference]) -> list[_Aligned]:
    matcher = difflib.SequenceMatcher(None, [h.text for h in heard], [r.text for r in reference], autojunk=False)
    aligned: list[_Aligned] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            aligned += [_Aligned(heard[i], j1 + k, 100.0, "None") for k, i in enumerate(range(i1, i2))]
        else:
            aligned += _pair_block(heard[i1:i2], reference[j1:j2], j1)
    return aligned


def _break(entry: _Aligned, previous: _Heard | None, reference: list[_Reference]) -> BreakFeedback:
    heard = entry.heard
    if heard is None or previous is None:
        return BreakFeedback(error_types=("None",), unexpected_break=None, missing_break=None, break_length_ticks=0)
    gap = max(0, heard.offset_ms - previous.end_ms)
    expected = entry.reference is not None and entry.reference > 0 and reference[entry.reference - 1].break_after
    unexpected = 0.0
    missing = 0.0
    if expected:
        missing = 1.0 if gap < _MISSING_BREAK_MS else 0.0
    elif gap > _UNEXPECTED_BREAK_MS:
        span = _UNEXPECTED_BREAK_CERTAIN_MS - _UNEXPECTED_BREAK_MS
        unexpected = round(min(1.0, (gap - _UNEXPECTED_BREAK_MS) / span), 8)
    errors = tuple(
        name
        for name, confidence in (("UnexpectedBreak", unexpected), ("MissingBreak", missing))
        if confidence >= _BREAK_CONFIDENCE
    )
    length = gap * _TICKS_PER_MS if gap >= _MISSING_BREAK_MS else 0
    return BreakFeedback(
        error_types=errors or ("None",),
        unexpected_break=unexpected,
        missing_break=missing,
        break_length_ticks=length,
    )


def _pron_score(accuracy: float, fluency: float, completeness: float, prosody: float | None) -> float:
    if prosody is None:
        low, *rest = sorted((accuracy, fluency, completeness))
        return low * 0.6 + sum(rest) * 0.2
    low, *rest = sorted((accuracy, fluency, completeness, prosody))
    return low * 0.4 + sum(rest) * 0.2


def _fluency(heard: list[_Heard]) -> float:
    if not heard:
        return 0.0
    span = heard[-1].end_ms - heard[0].offset_ms
    spoken = sum(word.duration_ms for word in heard)
    return 100.0 if span <= 0 else min(100.0, 100.0 * spoken / span)


def assess(params: AssessmentParams, words: Sequence[RecognizedWord], *, language: str) -> Assessment:
    """Score the recognized ``words`` (absolute times) against ``params.reference_text``.

    Both sides are compared in their lexical form in ``language`` (lower case, no punctuation,
    English numbers spelled out), so "5" said for "five" is no error. Every alignment entry is
    returned (omissions and insertions included); the caller decides which to show. Insertions and
    omissions score 0 (unverified) and do not count in the accuracy, which is the mean over the
    words heard for a reference word.
    """
    heard = _heard_words(words, language)
    reference = _reference_words(params.reference_text, language)
    aligned = _align(heard, reference)
    matched = [entry for entry in aligned if entry.heard is not None and entry.reference is not None]
    accuracy = sum(entry.accuracy for entry in matched) / len(matched) if matched else 0.0
    correct = sum(1 for entry in matched if entry.error_type == "None")
    completeness = 100.0 * correct / len(reference) if reference else 0.0
    fluency = _fluency(heard)
    assessed: list[AssessedWord] = []
    previous: _Heard | None = None
    flagged = 0
    boundaries = 0
    for entry in aligned:
        feedback = _break(entry, previous, reference)
        if entry.heard is not None and previous is not None:
            boundaries += 1
            flagged += int(feedback.error_types != ("None",))
        if entry.heard is not None:
            word, offset, duration = entry.heard.text, entry.heard.offset_ms, entry.heard.duration_ms
            previous = entry.heard
        else:
            # unverified: an omitted word sits where it was due (after the last word heard), 0 long.
            word, offset, duration = "", 0 if previous is None else previous.end_ms, 0
        if entry.reference is not None:
            word = reference[entry.reference].text
        assessed.append(
            AssessedWord(
                word=word,
                offset_ms=offset,
                duration_ms=duration,
                accuracy=entry.accuracy,
                error_type=entry.error_type,
                prosody=feedback if entry.heard is not None else None,
            )
        )
    prosody: float | None = None
    if params.enable_prosody:
        prosody = 100.0 * (1 - flagged / boundaries) if boundaries else (100.0 if heard else 0.0)
    return Assessment(
        accuracy=accuracy,
        fluency=fluency,
        completeness=completeness,
        prosody=prosody,
        pronunciation=_pron_score(accuracy, fluency, completeness, prosody),
        words=tuple(assessed),
    )
