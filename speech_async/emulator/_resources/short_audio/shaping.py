"""The 200 body of a short-audio request, from a recognition (text forms, assessment scores)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from ..._text_forms import apply_profanity, dictation_display, itn_form, lexical_form
from ..._words import spread_words
from .assessment import assess
from .wire import (
    ENCODER,
    NO_MONOTONE,
    Break,
    Confidence,
    DetailedBody,
    Feedback,
    NBest,
    Prosody,
    SimpleBody,
    Word,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..._recognizer import Recognition, RecognizedPhrase, RecognizedWord
    from .assessment import AssessedWord, Assessment, AssessmentParams
    from .request import Format, ShortAudioRequest

__all__ = ("shape_short_audio",)

_TICKS_PER_MS: Final = 10_000


def _ticks(milliseconds: int) -> int:
    return milliseconds * _TICKS_PER_MS


def _language(tag: str) -> str:
    return tag.split("-", 1)[0].casefold()


def _status_only(status: str, offset_ms: int, duration_ms: int, response_format: Format) -> bytes:
    offset, duration = _ticks(offset_ms), _ticks(duration_ms)
    if response_format == "simple":
        return ENCODER.encode(SimpleBody(recognition_status=status, offset=offset, duration=duration))
    return ENCODER.encode(DetailedBody(recognition_status=status, offset=offset, duration=duration))


def _words(phrase: RecognizedPhrase) -> tuple[RecognizedWord, ...]:
    if phrase.words:
        return phrase.words
    # A recognizer may leave words out: spread the phrase's words evenly over it.
    return spread_words(phrase.text, phrase.offset_ms, phrase.duration_ms)


class _Scale:
    """Scores from 0-100 to the requested grading system (unverified: the rounding)."""

    def __init__(self, params: AssessmentParams) -> None:
        self._five_point = params.grading_system == "FivePoint"

    def __call__(self, score: float) -> float:
        return round(score / 20, 2) if self._five_point else round(score, 1)


def _feedback(word: AssessedWord) -> Feedback | None:
    feedback = word.prosody
    if feedback is None:
        return None
    unexpected = None if feedback.unexpected_break is None else Confidence(confidence=feedback.unexpected_break)
    missing = None if feedback.missing_break is None else Confidence(confidence=feedback.missing_break)
    brk = Break(
        error_types=list(feedback.error_types),
        unexpected_break=unexpected,
        missing_break=missing,
        break_length=feedback.break_length_ticks,
    )
    return Feedback(prosody=Prosody(break_=brk, intonation=NO_MONOTONE))


def _assessed_words(params: AssessmentParams, assessment: Assessment, scale: _Scale) -> list[Word] | None:
    """``Words``; unverified: which entries and members each granularity and dimension shows."""
    if params.granularity == "FullText":
        return None
    comprehensive = params.dimension == "Comprehensive"
    # Omissions and insertions are shown only with EnableMiscue (documented) and only where error
    # types are (Comprehensive); otherwise the words heard for a reference word are listed.
    miscue = comprehensive and params.enable_miscue
    words: list[Word] = []
    for word in assessment.words:
        if word.error_type in ("Omission", "Insertion") and not miscue:
            continue
        words.append(
            Word(
                word=word.word,
                offset=_ticks(word.offset_ms),
                duration=_ticks(word.duration_ms),
                # The documented sample's words all have Confidence 0.0.
                confidence=0.0,
                accuracy_score=scale(word.accuracy),
                error_type=word.error_type if comprehensive else None,
                feedback=_feedback(word) if params.enable_prosody else None,
            )
        )
    return words


def _assessed_item(item: NBest, params: AssessmentParams, words: Sequence[RecognizedWord], *, language: str) -> NBest:
    """The NBest item with scores; unverified: ``Basic`` shows accuracy (and prosody) only."""
    assessment = assess(params, words, language=language)
    scale = _Scale(params)
    comprehensive = params.dimension == "Comprehensive"
    item.accuracy_score = scale(assessment.accuracy)
    if assessment.prosody is not None:
        item.prosody_score = scale(assessment.prosody)
    if comprehensive:
        item.fluency_score = scale(assessment.fluency)
        item.completeness_score = scale(assessment.completeness)
        item.pron_score = scale(assessment.pronunciation)
    item.words = _assessed_words(params, assessment, scale)
    return item


def shape_short_audio(recognition: Recognition, request: ShortAudioRequest) -> bytes:
    """The 200 body for ``recognition``: its phrases joined, in time order, into one result.

    ``RecognitionStatus`` (all unverified but ``Success``):

    * ``InitialSilenceTimeout`` when nothing was heard, with ``Offset`` = the audio's duration
      and ``Duration`` 0 (as in a logged real answer for silent audio);
    * ``NoMatch`` when every phrase heard is in another language than ``language`` (the phrase's
      ``locale``), or when ``profanity=removed`` left no text (documented: "no speech result"),
      with the span of the speech as ``Offset`` / ``Duration``;
    * ``Success`` otherwise, from the phrases in the requested language.

    Text forms (see :mod:`speech_async.emulator._text_forms`): ``Display`` is the recognizer's text (spoken punctuation
    converted in ``dictation`` mode) with the profanity option applied; ``Lexical`` and ``ITN`` are
    unfiltered, ``MaskedITN`` carries the profanity option (unverified: which forms the service
    filters). ``Confidence`` is the mean of the phrases' confidences.
    """
    phrases = sorted((p for p in recognition.phrases if p.text.strip()), key=lambda p: p.offset_ms)
    if not phrases:
        return _status_only("InitialSilenceTimeout", recognition.duration_ms, 0, request.format)
    start = phrases[0].offset_ms
    end = max(p.offset_ms + p.duration_ms for p in phrases)
    language = _language(request.language)
    phrases = [p for p in phrases if _language(p.locale) == language]
    if not phrases:
        return _status_only("NoMatch", start, end - start, request.format)
    start = phrases[0].offset_ms
    end = max(p.offset_ms + p.duration_ms for p in phrases)
    text = " ".join(p.text.strip() for p in phrases)
    display = dictation_display(text) if request.mode == "dictation" else text
    display = apply_profanity(display, request.profanity)
    if not display.strip():
        return _status_only("NoMatch", start, end - start, request.format)
    offset, duration = _ticks(start), _ticks(end - start)
    if request.format == "simple":
        # unverified: the simple format carries no assessment scores (the docs use detailed for them).
        body = SimpleBody(recognition_status="Success", display_text=display, offset=offset, duration=duration)
        return ENCODER.encode(body)
    itn = itn_form(text)
    item = NBest(
        confidence=round(sum(p.confidence for p in phrases) / len(phrases), 8),
        lexical=lexical_form(text, request.language),
        itn=itn,
        masked_itn=apply_profanity(itn, request.profanity),
        display=display,
    )
    params = request.assessment
    if params is None:
        detailed = DetailedBody(recognition_status="Success", offset=offset, duration=duration, n_best=[item])
        return ENCODER.encode(detailed)
    words = [word for phrase in phrases for word in _words(phrase)]
    item = _assessed_item(item, params, words, language=request.language)
    detailed = DetailedBody(
        recognition_status="Success", offset=offset, duration=duration, display_text=display, n_best=[item]
    )
    return ENCODER.encode(detailed)
