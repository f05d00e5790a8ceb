"""Short-audio recognition: the pronunciation-assessment parameters a request sends and the result it gets.

Wire names are PascalCase, with the service's own spellings (``ITN``, ``MaskedITN``, ``NBest``,
``SNR``). Result structs skip fields they don't know, and encode without the fields left at their
defaults (``IntonationFeedback`` excepted: the service sends its empty ``ErrorTypes``). ``Offset``
and ``Duration`` are 100-nanosecond ticks; the documentation's samples show them both as JSON numbers
and as strings, and both decode.
"""

from __future__ import annotations

import enum
from datetime import timedelta
from typing import Literal

import msgspec

from . import WithResponse

__all__ = [
    "AssessedWord",
    "BreakConfidence",
    "BreakFeedback",
    "IntonationFeedback",
    "MonotoneFeedback",
    "NBestItem",
    "ProsodyFeedback",
    "PronunciationAssessment",
    "RecognitionMode",
    "RecognitionResult",
    "RecognitionStatus",
    "WordFeedback",
]

RecognitionMode = Literal["conversation", "interactive", "dictation"]
"""The recognition mode in the short-audio URL: ``conversation`` (the default, up to 60 s),
``interactive`` (single utterances up to about 15 s) or ``dictation`` (spoken punctuation is interpreted)."""


class RecognitionStatus(str, enum.Enum):
    """The documented values of :attr:`RecognitionResult.recognition_status`; all arrive with HTTP 200."""

    SUCCESS = "Success"
    """Recognized: the result has text."""
    NO_MATCH = "NoMatch"
    """Speech was detected, but nothing matched the language (often the wrong ``language``)."""
    INITIAL_SILENCE_TIMEOUT = "InitialSilenceTimeout"
    """The audio began with silence only, and the service stopped waiting."""
    BABBLE_TIMEOUT = "BabbleTimeout"
    """The audio began with noise only."""
    ERROR = "Error"
    """The service failed internally."""

    def __str__(self) -> str:
        return self.value


class PronunciationAssessment(msgspec.Struct, kw_only=True, frozen=True):
    """How the service should grade the speaker against ``reference_text``.

    Sent base64-encoded in the ``Pronunciation-Assessment`` header; the scores arrive in the
    detailed output (:attr:`NBestItem.accuracy_score` and the others). Audio for an assessment may
    last 30 seconds.
    """

    reference_text: str
    """The text the speaker is expected to read."""
    grading_system: Literal["FivePoint", "HundredMark"] = "FivePoint"
    """Scores from 0 to 5, or from 0 to 100."""
    granularity: Literal["Phoneme", "Word", "FullText"] = "Phoneme"
    """The finest level scored."""
    dimension: Literal["Basic", "Comprehensive"] = "Basic"
    """Accuracy only, or also fluency, completeness and word-level error types."""
    enable_miscue: bool = False
    """Compare the words against the reference text, reporting omissions and insertions."""
    enable_prosody_assessment: bool = False
    """Also score prosody (stress, intonation, speed, rhythm): :attr:`NBestItem.prosody_score`."""
    scenario_id: str | None = None
    """The GUID of a customized assessment scenario."""


class MonotoneFeedback(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True, rename="pascal", gc=False):
    """How flat the pitch of a word was."""

    confidence: float | None = None
    word_pitch_slope_confidence: float | None = None
    syllable_pitch_delta_confidence: float | None = None


class IntonationFeedback(msgspec.Struct, kw_only=True, frozen=True, rename="pascal", gc=False):
    """Intonation errors of a word."""

    # ``list[str]``, not ``list``: an empty ``ErrorTypes`` is sent, and so encoded, despite omit_defaults.
    error_types: list[str] = msgspec.field(default_factory=list[str])
    monotone: MonotoneFeedback | None = None


class BreakConfidence(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True, rename="pascal", gc=False):
    """How sure the service is of a break error."""

    confidence: float | None = None


class BreakFeedback(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True, rename="pascal", gc=False):
    """Pauses before a word that should not be there, or missing ones."""

    error_types: list[str] = msgspec.field(default_factory=list[str])
    unexpected_break: BreakConfidence | None = None
    missing_break: BreakConfidence | None = None
    break_length: int | None = None


class ProsodyFeedback(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True, rename="pascal", gc=False):
    """Prosody feedback on a word (with ``enable_prosody_assessment``)."""

    break_: BreakFeedback | None = msgspec.field(default=None, name="Break")
    intonation: IntonationFeedback | None = None


class WordFeedback(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True, rename="pascal", gc=False):
    """Feedback on one assessed word."""

    prosody: ProsodyFeedback | None = None


class _Ticked(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True, rename="pascal", gc=False):
    """Timing from the start of the audio, in the wire's 100-nanosecond ticks and as ``timedelta``."""

    # ``None`` when the service left the field out, so that a 0 it sent is kept (and encoded back).
    offset_ticks: int | None = msgspec.field(default=None, name="Offset")
    """Where it starts, in ticks from the start of the audio (see :attr:`offset`); ``None`` if not sent."""
    duration_ticks: int | None = msgspec.field(default=None, name="Duration")
    """How long it lasts, in ticks (see :attr:`duration`); ``None`` if not sent."""

    @property
    def offset(self) -> timedelta:
        """When it starts, from the start of the audio (zero when not sent)."""
        return timedelta(microseconds=(self.offset_ticks or 0) / 10)

    @property
    def duration(self) -> timedelta:
        """How long it lasts (zero when not sent)."""
        return timedelta(microseconds=(self.duration_ticks or 0) / 10)


class AssessedWord(_Ticked, kw_only=True, frozen=True, rename="pascal", gc=False):
    """One word of a pronunciation assessment."""

    word: str
    confidence: float | None = None
    accuracy_score: float | None = None
    error_type: str | None = None
    """``None``, ``Omission``, ``Insertion`` or ``Mispronunciation`` (the last three need miscue checks on)."""
    feedback: WordFeedback | None = None


class NBestItem(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True, rename="pascal", gc=False):
    """One candidate of the detailed output, with its forms of the text (and scores, when assessed)."""

    confidence: float = 0.0
    """From 0.0 to 1.0. Candidates come best first, which is not necessarily the highest confidence first."""
    lexical: str = ""
    """The words as recognized, lower case, without punctuation."""
    itn: str = msgspec.field(default="", name="ITN")
    """Inverse-text-normalized form: "two hundred" becomes "200", "doctor smith" "dr smith"."""
    masked_itn: str = msgspec.field(default="", name="MaskedITN")
    """The ITN form with profanity masked, if masking was asked for."""
    display: str = ""
    """The display form: ITN with punctuation and capitals, profanity option applied."""
    accuracy_score: float | None = None
    fluency_score: float | None = None
    prosody_score: float | None = None
    completeness_score: float | None = None
    pron_score: float | None = None
    """The overall pronunciation score."""
    # The plain ``list`` factory (not ``list[AssessedWord]``) lets omit_defaults leave an empty list out,
    # as the service leaves out ``Words`` without an assessment (and ``NBest`` in the simple format).
    words: list[AssessedWord] = msgspec.field(default_factory=list)  # pyright: ignore[reportUnknownVariableType]
    """Word-level assessment (empty without pronunciation assessment, or with ``FullText`` granularity)."""


class RecognitionResult(_Ticked, WithResponse, kw_only=True, frozen=True, omit_defaults=True, rename="pascal", gc=True):
    """The answer of short-audio recognition, in the simple or the detailed format.

    Check :attr:`recognition_status` (or :attr:`succeeded`): audio that holds no speech is answered
    with HTTP 200 too, with a status such as ``InitialSilenceTimeout`` and no text.

    :attr:`response` is the HTTP response it came from (request id, headers, raw body, attempts).
    ``msgspec.json.encode(result)`` gives the service's JSON back: the fields it left out stay out
    (no ``null`` is added) and the ones it sent are kept, zeros included. The one difference from
    :attr:`ResponseInfo.body` is the form of ticks the documentation shows as strings, which come back
    as the numbers the live service sends.
    """

    recognition_status: str
    """One of :class:`RecognitionStatus` (kept as text, so a status added later still decodes)."""
    display_text: str | None = None
    """The display form (simple format, and the detailed format with an assessment)."""
    snr: float | None = msgspec.field(default=None, name="SNR")
    """Signal-to-noise ratio, when the service reports it."""
    nbest: list[NBestItem] = msgspec.field(default_factory=list, name="NBest")  # pyright: ignore[reportUnknownVariableType]
    """The candidates of the detailed format, best first, as the service ranks them (empty in the simple format)."""

    @property
    def succeeded(self) -> bool:
        """Whether the status is ``Success``."""
        return self.recognition_status == RecognitionStatus.SUCCESS.value

    @property
    def best(self) -> NBestItem | None:
        """The service's result in the detailed format: the first candidate, or ``None``.

        The service sends the candidates best first; its ranking is not by :attr:`NBestItem.confidence`
        alone (the documented sample puts 0.905 before 0.925), so the first one is the result.
        """
        return self.nbest[0] if self.nbest else None

    @property
    def text(self) -> str:
        """The display text: ``DisplayText``, else the first candidate's ``Display``; empty without speech."""
        if self.display_text is not None:
            return self.display_text
        best = self.best
        return best.display if best is not None else ""


# As in _fast: resolved here, before the package renames the classes' module.
msgspec.json.Decoder(PronunciationAssessment)
