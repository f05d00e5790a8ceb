"""Turning a :class:`Recognition` into the service's response body, per the request options."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Final

from ..._locales import target_locale, uses_per_character_words
from .wire import WireCombinedPhrase, WirePhrase, WireResult, WireWord

if TYPE_CHECKING:
    from ..._recognizer import Recognition, RecognizedPhrase, RecognizedWord
    from .definition import Definition

__all__ = ("billing_usage", "separate_channels", "shape")

# Observed: standard-model times are multiples of 40 ms, LLM speech times multiples of 10 ms.
_STANDARD_STEP_MS: Final = 40
_LLM_STEP_MS: Final = 10
_STANDARD_METER: Final = "CognitiveServices.SpeechServices.BatchSpeechtoTextSync"
# Observed for LLM speech transcribe; unverified whether translate is metered under the same name.
_LLM_METER: Final = "CognitiveServices.SpeechServices.LLMSpeechTranscribe"
# unverified: whether LLM speech's zero confidence is written 0 or 0.0; the service is .NET, whose
# serializer writes a zero double as 0.
_LLM_CONFIDENCE: Final = 0


def _quantize(value: int, step: int) -> int:
    return (value + step // 2) // step * step


def separate_channels(definition: Definition, audio_channels: int | None) -> bool:
    """Whether the answer has one transcript per selected channel: channels given, audio not mono."""
    return definition.channels is not None and (audio_channels is None or audio_channels > 1)


def _words(words: tuple[RecognizedWord, ...], step: int) -> list[WireWord]:
    shaped: list[WireWord] = []
    for word in words:
        start = _quantize(word.offset_ms, step)
        end = _quantize(word.offset_ms + word.duration_ms, step)
        shaped.append(WireWord(text=word.text, offset_milliseconds=start, duration_milliseconds=end - start))
    return shaped


def _translated_words(text: str, locale: str) -> list[WireWord]:
    # As in the published translate example: no timings, one entry per character for zh/ja/ko.
    tokens = [char for char in text if not char.isspace()] if uses_per_character_words(locale) else text.split()
    return [WireWord(text=t, offset_milliseconds=0, duration_milliseconds=0) for t in tokens]


def _phrase(phrase: RecognizedPhrase, definition: Definition, *, channel: int | None, step: int) -> WirePhrase:
    start = _quantize(phrase.offset_ms, step)
    end = _quantize(phrase.offset_ms + phrase.duration_ms, step)
    translate = definition.task == "translate" and definition.target_language is not None
    speaker: int | None = None
    if definition.diarization:
        # Docs: with translate every phrase gets speaker 1.
        speaker = 1 if translate or phrase.speaker is None else phrase.speaker
    if translate:
        locale = target_locale(definition.target_language or "")
        words = _translated_words(phrase.text, locale)
    else:
        locale = phrase.locale
        words = _words(phrase.words, step)
    return WirePhrase(
        channel=channel,
        speaker=speaker,
        offset_milliseconds=start,
        duration_milliseconds=end - start,
        text=phrase.text,
        words=words,
        locale=locale,
        confidence=_LLM_CONFIDENCE if definition.llm else phrase.confidence,
    )


def shape(recognition: Recognition, definition: Definition, audio_channels: int | None) -> WireResult:
    """The response body: channel/speaker fields, ordering, combined phrases, time granularity."""
    step = _LLM_STEP_MS if definition.llm else _STANDARD_STEP_MS
    separate = separate_channels(definition, audio_channels)
    phrases: list[WirePhrase] = []
    combined: list[WireCombinedPhrase] = []
    if separate and definition.channels is not None:
        for channel in definition.channels:
            selected = sorted((p for p in recognition.phrases if p.channel == channel), key=lambda p: p.offset_ms)
            shaped = [_phrase(p, definition, channel=channel, step=step) for p in selected]
            phrases.extend(shaped)
            text = " ".join(p.text for p in shaped)
            combined.append(WireCombinedPhrase(channel=channel, text=text))
    else:
        # `channel` is present exactly when `channels` was given. Mono audio (Errata E1, E3,
        # recorded for [0, 1] and [0]): one channel-0 transcript, every phrase `channel: 0`; for
        # [1] alone on mono the same is assumed (unverified). Diarization alone adds no channel (E2).
        channel = 0 if definition.channels is not None else None
        ordered = sorted(recognition.phrases, key=lambda p: p.offset_ms)
        phrases = [_phrase(p, definition, channel=channel, step=step) for p in ordered]
        combined.append(WireCombinedPhrase(channel=channel, text=" ".join(p.text for p in phrases)))
    return WireResult(duration_milliseconds=recognition.duration_ms, combined_phrases=combined, phrases=phrases)


def billing_usage(definition: Definition, duration_ms: int) -> str:
    """The ``CSP-Billing-Usage`` value: meter name and billed seconds (rounded up)."""
    meter = _LLM_METER if definition.llm else _STANDARD_METER
    return f"{meter}={math.ceil(duration_ms / 1000)}"
