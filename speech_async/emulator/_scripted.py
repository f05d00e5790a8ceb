"""The scripted recognizer: deterministic transcripts registered per audio content (SHA-256)."""

# No "from __future__ import annotations": the admin API decodes into these dataclasses with msgspec,
# which would resolve string annotations in the public package (their __module__), not here.

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from ._recognizer import (
    Recognition,
    RecognitionRequest,
    RecognizedPhrase,
    RecognizedWord,
    RecognizerLimitation,
)
from ._strict import decode_strict
from ._words import spread_words

__all__ = (
    "ScriptedPhrase",
    "ScriptedRecognizer",
    "ScriptedTranscript",
    "ScriptedWord",
    "decode_transcript",
    "is_sha256_hex",
)

_DEFAULT_LOCALE: Final = "en-US"
_DEFAULT_CONFIDENCE: Final = 0.9
_SHA256_HEX: Final = re.compile(r"[0-9a-fA-F]{64}")


def is_sha256_hex(value: str) -> bool:
    """Whether ``value`` is 64 hex digits."""
    return _SHA256_HEX.fullmatch(value) is not None


def _check_span(kind: str, offset_ms: int, duration_ms: int) -> None:
    if offset_ms < 0 or duration_ms < 0:
        raise ValueError(f"{kind} offset_ms and duration_ms must not be negative")


@dataclass(frozen=True, kw_only=True)
class ScriptedWord:
    """A word of a scripted phrase; times are absolute milliseconds from the start of the audio."""

    text: str
    offset_ms: int
    duration_ms: int

    def __post_init__(self) -> None:
        _check_span("word", self.offset_ms, self.duration_ms)


@dataclass(frozen=True, kw_only=True)
class ScriptedPhrase:
    """A phrase the scripted recognizer returns.

    Attributes:
        text: Display text.
        offset_ms: Start, in milliseconds from the start of the audio.
        duration_ms: Length in milliseconds.
        speaker: Speaker label used when the request enables diarization (``None``: speaker 1).
        channel: The audio channel the phrase is heard on. Requests without ``channels`` get every
            phrase merged by offset; requests with ``channels`` on multi-channel audio get the
            phrases of the selected channels.
        locale: The phrase's locale as returned.
        confidence: Returned for the standard model; LLM speech always answers 0.
        words: Word timings; ``None`` splits ``text`` on white space and spreads the words evenly
            over the phrase.

    Times are answered as given, rounded to the model's grid (40 ms for the standard model, 10 ms
    for LLM speech). Real phrases span exactly their words (first word start to last word end):
    keep explicit ``words`` consistent with ``offset_ms`` and ``duration_ms``.
    """

    text: str
    offset_ms: int
    duration_ms: int
    speaker: int | None = None
    channel: int = 0
    locale: str = _DEFAULT_LOCALE
    confidence: float = _DEFAULT_CONFIDENCE
    words: tuple[ScriptedWord, ...] | None = None

    def __post_init__(self) -> None:
        _check_span("phrase", self.offset_ms, self.duration_ms)
        if self.channel < 0:
            raise ValueError("channel must not be negative")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError("confidence must be between 0 and 1")
        if self.words is not None:
            object.__setattr__(self, "words", tuple(self.words))


def _phrases(value: Iterable[ScriptedPhrase]) -> tuple[ScriptedPhrase, ...]:
    phrases = tuple(value)
    for phrase in phrases:
        # Checked at run time: dictionaries passed by mistake should fail here, not mid-request.
        if not isinstance(phrase, ScriptedPhrase):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"phrases must be ScriptedPhrase objects, not {type(phrase).__name__}")
    return phrases


@dataclass(frozen=True, kw_only=True)
class ScriptedTranscript:
    """What the scripted recognizer answers for one audio content.

    Attributes:
        phrases: The phrases, in any order.
        duration_ms: ``durationMilliseconds`` of the answer. ``None`` takes the duration from the
            audio header (parsed natively for WAV and FLAC, with PyAV for other formats when
            installed); a request whose audio duration is unknown then fails with HTTP 422.
        translations: Phrases by ``enhancedMode.targetLanguage`` (``"de"``, ``"ko"``, ...) for LLM
            speech ``translate`` requests. Their locale becomes the target locale and their words
            carry no timings, as the service does.
    """

    phrases: tuple[ScriptedPhrase, ...]
    duration_ms: int | None = None
    translations: Mapping[str, tuple[ScriptedPhrase, ...]] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "phrases", _phrases(self.phrases))
        translations = {language: _phrases(phrases) for language, phrases in self.translations.items()}
        object.__setattr__(self, "translations", MappingProxyType(translations))
        if self.duration_ms is not None and self.duration_ms < 0:
            raise ValueError("duration_ms must not be negative")


def decode_transcript(raw: bytes) -> ScriptedTranscript:
    """Parse the admin API's JSON form of a :class:`ScriptedTranscript`; raise ``ValueError``."""
    return decode_strict(raw, ScriptedTranscript, what="a scripted transcript")


def _spread_words(phrase: ScriptedPhrase) -> tuple[RecognizedWord, ...]:
    if phrase.words is not None:
        return tuple(
            RecognizedWord(text=w.text, offset_ms=w.offset_ms, duration_ms=w.duration_ms) for w in phrase.words
        )
    return spread_words(phrase.text, phrase.offset_ms, phrase.duration_ms)


def _recognized(phrase: ScriptedPhrase) -> RecognizedPhrase:
    return RecognizedPhrase(
        text=phrase.text,
        offset_ms=phrase.offset_ms,
        duration_ms=phrase.duration_ms,
        words=_spread_words(phrase),
        channel=phrase.channel,
        speaker=phrase.speaker,
        locale=phrase.locale,
        confidence=phrase.confidence,
    )


def _lookup(translations: Mapping[str, tuple[ScriptedPhrase, ...]], language: str) -> tuple[ScriptedPhrase, ...] | None:
    if language in translations:
        return translations[language]
    wanted = language.casefold()
    return next((v for k, v in translations.items() if k.casefold() == wanted), None)


class ScriptedRecognizer:
    """Registry of transcripts by the SHA-256 of the audio bytes; a :class:`Recognizer`.

    Safe to use from any thread (registrations are single dictionary operations). Over HTTP,
    ``PUT /_emulator/scripted/{sha256}`` registers the JSON form of a :class:`ScriptedTranscript`
    (snake_case member names).
    """

    def __init__(self) -> None:
        self._transcripts: dict[str, ScriptedTranscript] = {}

    def register(self, audio: bytes | bytearray | memoryview, transcript: ScriptedTranscript) -> str:
        """Answer ``transcript`` for requests whose audio is exactly ``audio``; returns its SHA-256."""
        digest = hashlib.sha256(audio).hexdigest()
        self._transcripts[digest] = transcript
        return digest

    def register_digest(self, sha256_hex: str, transcript: ScriptedTranscript) -> None:
        """Answer ``transcript`` for audio whose SHA-256 (hex) is ``sha256_hex``."""
        if not is_sha256_hex(sha256_hex):
            raise ValueError(f"not a hex SHA-256 digest: {sha256_hex!r}")
        self._transcripts[sha256_hex.lower()] = transcript

    def get(self, sha256_hex: str) -> ScriptedTranscript | None:
        """The transcript registered for ``sha256_hex``, if any."""
        return self._transcripts.get(sha256_hex.lower())

    def clear(self) -> None:
        """Forget every registration."""
        self._transcripts.clear()

    async def recognize(self, request: RecognitionRequest) -> Recognition:
        """Answer the registered transcript (or translation) for the request's audio."""
        digest = request.audio_sha256
        transcript = self._transcripts.get(digest)
        if transcript is None:
            raise RecognizerLimitation(
                f"no scripted transcript is registered for the audio with sha256 {digest}; "
                "register one with Emulator.scripted.register(audio_bytes, ScriptedTranscript(...)) "
                f"or PUT /_emulator/scripted/{digest}",
                code="ScriptedTranscriptMissing",
            )
        duration = transcript.duration_ms
        if duration is None:
            duration = request.audio_duration_ms
        if duration is None:
            raise RecognizerLimitation(
                f"the duration of this {request.audio_format} audio (sha256 {digest}) is unknown; "
                "give ScriptedTranscript.duration_ms when registering it",
                code="ScriptedDurationUnknown",
            )
        phrases = transcript.phrases
        if request.task == "translate" and request.target_language is not None:
            found = _lookup(transcript.translations, request.target_language)
            if found is None:
                raise RecognizerLimitation(
                    f"no scripted translation into '{request.target_language}' is registered for "
                    f"the audio with sha256 {digest}; add it to ScriptedTranscript.translations",
                    code="ScriptedTranslationMissing",
                )
            phrases = found
        return Recognition(duration_ms=duration, phrases=tuple(_recognized(p) for p in phrases))
