"""What a finished batch transcription leaves behind: its result files, its report, and their inputs.

A result file (``kind: Transcription``) holds one input's transcript; the report (``report.json``,
kind ``TranscriptionReport``) lists every input with its status. Both are decoded from the published
samples and schemas (``../shared/spec``): the schemas type ticks as integers while the documentation
prints ``7600000.0``, and the millisecond fields of 2024-11-15 are missing from its own sample, so
every timing field is optional and takes an int or a float. Each offset and duration is also read as
a ``timedelta`` from whichever form came (ticks, milliseconds, ISO 8601).

:class:`BatchItem` ties an input (a content URL, or a blob of the input container) to its result file,
or to why it has none (:class:`BatchFailure`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Final, TypeAlias

import msgspec

from .._headers import redact_url

__all__ = [
    "BatchFailure",
    "BatchItem",
    "CombinedRecognizedPhrase",
    "DisplayWord",
    "PhraseAlternative",
    "RecognizedPhrase",
    "ResultWord",
    "TranscriptionReport",
    "TranscriptionReportDetail",
    "TranscriptionResultFile",
]

# Not service limits: sanity bounds, so that a corrupt number fails the decode instead of overflowing a
# timedelta later (10**15 ticks is over three years of audio).
_MAX_TICKS: Final = 10**15
_MAX_MS: Final = _MAX_TICKS // 10_000
Ticks: TypeAlias = (
    Annotated[int, msgspec.Meta(ge=-_MAX_TICKS, le=_MAX_TICKS)]
    | Annotated[float, msgspec.Meta(ge=-_MAX_TICKS, le=_MAX_TICKS)]
)
Milliseconds: TypeAlias = (
    Annotated[int, msgspec.Meta(ge=-_MAX_MS, le=_MAX_MS)] | Annotated[float, msgspec.Meta(ge=-_MAX_MS, le=_MAX_MS)]
)
Count: TypeAlias = int | str
"""The report's counts: numbers in the documentation's sample, strings in Microsoft's Ingestion Client."""

_ISO_DURATION: Final = re.compile(
    r"(?P<sign>-)?P(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?"
)
_DIGITS: Final = re.compile(r"[0-9]{1,18}")
_SUCCEEDED: Final = "Succeeded"


def _iso_duration(text: str | None) -> timedelta | None:
    # Days and time only (what .NET's TimeSpan writes); years and months have no fixed length.
    if not text:
        return None
    match = _ISO_DURATION.fullmatch(text.strip())
    if match is None or not any(match.group(key) for key in ("d", "h", "m", "s")):
        return None
    try:
        value = timedelta(
            days=float(match["d"] or 0),
            hours=float(match["h"] or 0),
            minutes=float(match["m"] or 0),
            seconds=float(match["s"] or 0),
        )
    except (OverflowError, ValueError):
        return None
    return -value if match["sign"] else value


def _timing(ticks: float | None, milliseconds: float | None, text: str | None) -> timedelta:
    # Ticks first: 100 ns is the finest form the service sends.
    if ticks is not None:
        return timedelta(microseconds=ticks / 10)
    if milliseconds is not None:
        return timedelta(milliseconds=milliseconds)
    return _iso_duration(text) or timedelta(0)


class _Timed:
    """``offset`` and ``duration`` as ``timedelta``s from the wire's ticks, milliseconds or ISO text.

    A plain mixin without fields, so that each struct keeps its fields in the wire's key order.
    """

    __slots__ = ()
    offset_ticks: float | None
    offset_milliseconds: float | None
    offset_text: str | None
    duration_ticks: float | None
    duration_milliseconds: float | None
    duration_text: str | None

    @property
    def offset(self) -> timedelta:
        """When it starts, from the start of the audio (zero when no form of it came)."""
        return _timing(self.offset_ticks, self.offset_milliseconds, self.offset_text)

    @property
    def duration(self) -> timedelta:
        """How long it lasts (zero when no form of it came)."""
        return _timing(self.duration_ticks, self.duration_milliseconds, self.duration_text)


class ResultWord(msgspec.Struct, _Timed, kw_only=True, frozen=True, omit_defaults=True, gc=False):
    """One word in lexical form (``wordLevelTimestampsEnabled``), with its timing and confidence."""

    word: str | None = None
    offset_text: str | None = msgspec.field(default=None, name="offset")
    """The wire's ISO ``offset`` (``PT0.76S``); read :attr:`offset` instead."""
    duration_text: str | None = msgspec.field(default=None, name="duration")
    """The wire's ISO ``duration``; read :attr:`duration` instead."""
    offset_ticks: Ticks | None = msgspec.field(default=None, name="offsetInTicks")
    duration_ticks: Ticks | None = msgspec.field(default=None, name="durationInTicks")
    offset_milliseconds: Milliseconds | None = msgspec.field(default=None, name="offsetMilliseconds")
    """2024-11-15 and later."""
    duration_milliseconds: Milliseconds | None = msgspec.field(default=None, name="durationMilliseconds")
    """2024-11-15 and later."""
    confidence: float | None = None


class DisplayWord(msgspec.Struct, _Timed, kw_only=True, frozen=True, omit_defaults=True, gc=False):
    """One word in display form (``displayFormWordLevelTimestampsEnabled``), with its timing."""

    display_text: str | None = msgspec.field(default=None, name="displayText")
    offset_text: str | None = msgspec.field(default=None, name="offset")
    """The wire's ISO ``offset``; read :attr:`offset` instead."""
    duration_text: str | None = msgspec.field(default=None, name="duration")
    """The wire's ISO ``duration``; read :attr:`duration` instead."""
    offset_ticks: Ticks | None = msgspec.field(default=None, name="offsetInTicks")
    duration_ticks: Ticks | None = msgspec.field(default=None, name="durationInTicks")
    offset_milliseconds: Milliseconds | None = msgspec.field(default=None, name="offsetMilliseconds")
    duration_milliseconds: Milliseconds | None = msgspec.field(default=None, name="durationMilliseconds")


class PhraseAlternative(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True, gc=False):
    """One entry of a phrase's ``nBest``: a candidate text in four forms, with its words.

    The first entry is the service's result; the others are not sorted by confidence.
    """

    confidence: float | None = None
    """From 0 to 1."""
    lexical: str = ""
    """The words as recognized, lower case, without punctuation."""
    itn: str = ""
    """Inverse-text-normalized form ("two hundred" becomes "200")."""
    masked_itn: str = msgspec.field(default="", name="maskedITN")
    """The ITN form with profanity masked."""
    display: str = ""
    """The display form: ITN with punctuation and capitals, profanity option applied."""
    # The plain ``list`` factory lets omit_defaults leave an empty list out, as the service leaves the
    # words out without word-level timestamps (and on every candidate but the first).
    words: list[ResultWord] = msgspec.field(default_factory=list)  # pyright: ignore[reportUnknownVariableType]
    display_words: list[DisplayWord] = msgspec.field(default_factory=list, name="displayWords")  # pyright: ignore[reportUnknownVariableType]


class RecognizedPhrase(msgspec.Struct, _Timed, kw_only=True, frozen=True, omit_defaults=True, gc=False):
    """One phrase of one channel, with its timing and its candidates (``nBest``)."""

    recognition_status: str | None = msgspec.field(default=None, name="recognitionStatus")
    """``Success`` or ``Failure`` (kept as text, so that another status still decodes)."""
    channel: int | None = None
    speaker: int | None = None
    """Present with diarization."""
    locale: str | None = None
    """Present with language identification."""
    offset_text: str | None = msgspec.field(default=None, name="offset")
    """The wire's ISO ``offset``; read :attr:`offset` instead."""
    duration_text: str | None = msgspec.field(default=None, name="duration")
    """The wire's ISO ``duration``; read :attr:`duration` instead."""
    offset_ticks: Ticks | None = msgspec.field(default=None, name="offsetInTicks")
    """100-nanosecond ticks, an int or a float such as ``7600000.0``; read :attr:`offset` instead."""
    duration_ticks: Ticks | None = msgspec.field(default=None, name="durationInTicks")
    offset_milliseconds: Milliseconds | None = msgspec.field(default=None, name="offsetMilliseconds")
    """2024-11-15 and later by the schema; absent from the documentation's own sample."""
    duration_milliseconds: Milliseconds | None = msgspec.field(default=None, name="durationMilliseconds")
    nbest: list[PhraseAlternative] = msgspec.field(default_factory=list, name="nBest")  # pyright: ignore[reportUnknownVariableType]

    @property
    def succeeded(self) -> bool:
        """Whether the status is ``Success``."""
        return self.recognition_status == "Success"

    @property
    def best(self) -> PhraseAlternative | None:
        """The service's result: the first candidate, or ``None``."""
        return self.nbest[0] if self.nbest else None

    @property
    def text(self) -> str:
        """The first candidate's display form; empty without one."""
        best = self.best
        return best.display if best is not None else ""


class CombinedRecognizedPhrase(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True, gc=False):
    """The whole text of one channel, in four forms."""

    channel: int | None = None
    lexical: str = ""
    itn: str = ""
    masked_itn: str = msgspec.field(default="", name="maskedITN")
    display: str = ""


class TranscriptionResultFile(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True, gc=False):
    """One input's transcript: a result file of a batch transcription (every version).

    ``msgspec.json.encode(result)`` gives the file's JSON back (the fields it left out stay out).
    """

    source: str | None = None
    """The input this transcript is of: "the only way to confirm the audio input" (the documentation)."""
    timestamp: datetime | None = None
    duration_ticks: Ticks | None = msgspec.field(default=None, name="durationInTicks")
    """The audio's length in 100-nanosecond ticks; read :attr:`duration` instead."""
    duration_milliseconds: Milliseconds | None = msgspec.field(default=None, name="durationMilliseconds")
    """2024-11-15 and later."""
    duration_text: str | None = msgspec.field(default=None, name="duration")
    """The wire's ISO ``duration`` (``PT2.58S``); read :attr:`duration` instead."""
    combined_recognized_phrases: list[CombinedRecognizedPhrase] = msgspec.field(name="combinedRecognizedPhrases")
    """The whole text, one entry per channel."""
    recognized_phrases: list[RecognizedPhrase] = msgspec.field(name="recognizedPhrases")
    """The phrases of every channel, each with its timing and candidates."""

    @property
    def duration(self) -> timedelta:
        """The audio's length (zero when no form of it came)."""
        return _timing(self.duration_ticks, self.duration_milliseconds, self.duration_text)

    @property
    def text(self) -> str:
        """The display text of each channel, one line per channel."""
        return "\n".join(combined.display for combined in self.combined_recognized_phrases)

    def __repr__(self) -> str:
        # Short, and without the source's query: a content URL may carry a SAS.
        source = None if self.source is None else redact_url(self.source)
        return (
            f"TranscriptionResultFile(source={source!r}, duration={self.duration!s}, "
            f"phrases={len(self.recognized_phrases)})"
        )


class TranscriptionReportDetail(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True, gc=False):
    """One input of the report: its source, its status and, when it failed, why."""

    source: str | None = None
    source_url: str | None = msgspec.field(default=None, name="sourceUrl")
    """An alias of ``source`` that Microsoft's Ingestion Client also reads; read :attr:`input_url` instead."""
    status: str | None = None
    """``Succeeded`` or ``Failed`` (kept as text)."""
    error_kind: str | None = msgspec.field(default=None, name="errorKind")
    error_message: str | None = msgspec.field(default=None, name="errorMessage")

    @property
    def input_url(self) -> str | None:
        """``source``, or its alias ``sourceUrl``."""
        return self.source if self.source is not None else self.source_url

    @property
    def succeeded(self) -> bool:
        """Whether the status is ``Succeeded``."""
        return self.status == _SUCCEEDED

    def __repr__(self) -> str:
        url = self.input_url
        return (
            f"TranscriptionReportDetail(source={None if url is None else redact_url(url)!r}, "
            f"status={self.status!r}, error_kind={self.error_kind!r}, error_message={self.error_message!r})"
        )


def _count(value: Count | None) -> int | None:
    if isinstance(value, int):
        return value if value >= 0 else None
    if value is not None and _DIGITS.fullmatch(value.strip()):
        return int(value)
    return None


class TranscriptionReport(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True, gc=False):
    """A batch transcription's ``report.json``: how many inputs succeeded and failed, and each one's status."""

    successful_transcriptions_count: Count | None = msgspec.field(default=None, name="successfulTranscriptionsCount")
    """As it came (a number or a string); read :attr:`successful_count` instead."""
    failed_transcriptions_count: Count | None = msgspec.field(default=None, name="failedTranscriptionsCount")
    """As it came (a number or a string); read :attr:`failed_count` instead."""
    details: list[TranscriptionReportDetail] = msgspec.field(default_factory=list)  # pyright: ignore[reportUnknownVariableType]

    @property
    def successful_count(self) -> int | None:
        """The count of inputs transcribed, whether it came as a number or a string (``None``: not a count)."""
        return _count(self.successful_transcriptions_count)

    @property
    def failed_count(self) -> int | None:
        """The count of inputs that failed, whether it came as a number or a string (``None``: not a count)."""
        return _count(self.failed_transcriptions_count)


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchFailure:
    """Why an input has no result file: the report's entry for it, or nothing at all (``missing``)."""

    status: str | None = None
    """The report's status for the input (``Failed``), or ``None`` without a report entry."""
    error_kind: str | None = None
    """The report's ``errorKind``."""
    error_message: str | None = None
    """The report's ``errorMessage``."""
    missing: bool = False
    """Neither a result file nor a failure in the report: the input's outcome is unknown."""

    def __str__(self) -> str:
        if self.missing:
            said = f" (the report says {self.status})" if self.status else ""
            return f"no result file and no failure in the report{said}"
        reason = ": ".join(part for part in (self.error_kind, self.error_message) if part)
        return f"{self.status or 'Failed'}{f' ({reason})' if reason else ''}"


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchItem:
    """One input of a batch transcription and what became of it.

    ``input`` is the content URL as given (URL input), or the blob's name in the input container (as the
    result file's name shows it, or as the report's source URL when only the report names it). For a URL
    job read without its content URLs, it is the ``source`` the result file names (or the report's, for
    an input with no result file), or the result file's name (``contenturl_0.json``) when nothing names
    its source.
    ``result_file_url`` is where its result file is downloaded, ``None`` when it has none; ``failure``
    says why, or holds the report's failure for an input that also has a result file.
    """

    input: str
    result_file_url: str | None = None
    failure: BatchFailure | None = None
    result_name: str | None = None
    """The result file's name (``contenturl_0.json``, ``<blob>.json``)."""

    @property
    def succeeded(self) -> bool:
        """Whether the input has a result file and no failure."""
        return self.result_file_url is not None and self.failure is None

    def __repr__(self) -> str:
        # Content URLs and result URLs carry SAS signatures: shown without their query.
        url = None if self.result_file_url is None else redact_url(self.result_file_url)
        return (
            f"BatchItem(input={redact_url(self.input)!r}, result_file_url={url!r}, "
            f"failure={self.failure!r}, result_name={self.result_name!r})"
        )


# As in _fast: resolved here, before the package renames the classes' module.
msgspec.json.Decoder(TranscriptionResultFile)
msgspec.json.Decoder(TranscriptionReport)
