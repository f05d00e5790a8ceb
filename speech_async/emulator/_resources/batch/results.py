"""The result file (``kind: Transcription``) and the report file (``kind: TranscriptionReport``), per version.

Shapes from ``examples/batch-result-file.json``, ``examples/batch-report-file.json`` and the published
result schemas (addendum §3.5): from 2024-11-15 on the root, phrases, words and display words carry
``offsetMilliseconds``/``durationMilliseconds`` too; ``speaker`` is at phrase level; ticks are integers.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Final

import msgspec

from ..._text_forms import apply_profanity, itn_form, lexical_form

if TYPE_CHECKING:
    from ..._recognizer import Recognition, RecognizedPhrase, RecognizedWord
    from ..._text_forms import ProfanityOption
    from .request import Submission

__all__ = ("iso_datetime", "iso_duration", "report_file", "result_file")

_TICKS_PER_MS: Final = 10_000
_PROFANITY: Final[dict[str, ProfanityOption]] = {"Masked": "masked", "Removed": "removed", "None": "raw"}


def iso_datetime(epoch: float) -> str:
    """``YYYY-MM-DDThh:mm:ssZ`` (digest §2)."""
    return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_duration(ms: int) -> str:
    """An ISO 8601 duration as the result files write them: ``PT2.58S``, ``PT1M2.3S``, ``PT0S``."""
    hours, rest = divmod(max(ms, 0), 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds = f"{rest / 1000:.3f}".rstrip("0").rstrip(".")
    text = "PT"
    if hours:
        text += f"{hours}H"
    if minutes:
        text += f"{minutes}M"
    if rest or not (hours or minutes):
        text += f"{seconds}S"
    return text


def _span(offset_ms: int, duration_ms: int, *, milliseconds: bool) -> dict[str, object]:
    span: dict[str, object] = {
        "offset": iso_duration(offset_ms),
        "duration": iso_duration(duration_ms),
        # The schema types ticks as int64 (the docs sample's 7600000.0 is a float rendering).
        "offsetInTicks": offset_ms * _TICKS_PER_MS,
        "durationInTicks": duration_ms * _TICKS_PER_MS,
    }
    if milliseconds:
        span["offsetMilliseconds"] = offset_ms
        span["durationMilliseconds"] = duration_ms
    return span


def _words(phrase: RecognizedPhrase) -> tuple[RecognizedWord, ...]:
    return phrase.words


def _forms(text: str, locale: str, profanity: ProfanityOption) -> dict[str, str]:
    itn = itn_form(text)
    return {
        "lexical": lexical_form(text, locale),
        "itn": itn,
        "maskedITN": apply_profanity(itn, "masked"),
        "display": apply_profanity(text, profanity),
    }


def _phrase(phrase: RecognizedPhrase, submission: Submission, *, milliseconds: bool) -> dict[str, object]:
    profanity = _PROFANITY.get(submission.profanity_filter_mode, "raw")
    shaped: dict[str, object] = {"recognitionStatus": "Success", "channel": phrase.channel}
    if submission.diarization:
        shaped["speaker"] = 1 if phrase.speaker is None else phrase.speaker
    if submission.language_identification:
        shaped["locale"] = phrase.locale
    shaped.update(_span(phrase.offset_ms, phrase.duration_ms, milliseconds=milliseconds))
    best: dict[str, object] = {"confidence": phrase.confidence, **_forms(phrase.text, phrase.locale, profanity)}
    if submission.word_timestamps:
        best["words"] = [
            {
                "word": lexical_form(word.text, phrase.locale),
                **_span(word.offset_ms, word.duration_ms, milliseconds=milliseconds),
                "confidence": phrase.confidence,
            }
            for word in _words(phrase)
        ]
    if submission.display_word_timestamps:
        best["displayWords"] = [
            {"displayText": word.text, **_span(word.offset_ms, word.duration_ms, milliseconds=milliseconds)}
            for word in _words(phrase)
        ]
    shaped["nBest"] = [best]
    return shaped


def result_file(
    recognition: Recognition, submission: Submission, *, source: str, timestamp: float, milliseconds: bool
) -> bytes:
    """The JSON result file of one input."""
    phrases = sorted(
        (p for p in recognition.phrases if p.channel in submission.channels),
        key=lambda p: (p.offset_ms, p.channel),
    )
    profanity = _PROFANITY.get(submission.profanity_filter_mode, "raw")
    combined: list[dict[str, object]] = []
    for channel in sorted({p.channel for p in phrases}):
        text = " ".join(p.text for p in phrases if p.channel == channel)
        locale = next(p.locale for p in phrases if p.channel == channel)
        combined.append({"channel": channel, **_forms(text, locale, profanity)})
    root: dict[str, object] = {
        "source": source,
        "timestamp": iso_datetime(timestamp),
        "durationInTicks": recognition.duration_ms * _TICKS_PER_MS,
    }
    if milliseconds:
        root["durationMilliseconds"] = recognition.duration_ms
    root["duration"] = iso_duration(recognition.duration_ms)
    root["combinedRecognizedPhrases"] = combined
    root["recognizedPhrases"] = [_phrase(p, submission, milliseconds=milliseconds) for p in phrases]
    return msgspec.json.encode(root)


def report_file(details: list[dict[str, str]]) -> bytes:
    """``report.json``: the two counts (integers, as in the docs sample), then one entry per input."""
    succeeded = sum(1 for entry in details if entry["status"] == "Succeeded")
    body = {
        "successfulTranscriptionsCount": succeeded,
        "failedTranscriptionsCount": len(details) - succeeded,
        "details": details,
    }
    return msgspec.json.encode(body)
