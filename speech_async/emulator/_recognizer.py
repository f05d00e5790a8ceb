"""The seam between the HTTP front end and whatever turns audio into text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from pathlib import Path

__all__ = (
    "Recognition",
    "RecognitionRequest",
    "RecognizedPhrase",
    "RecognizedWord",
    "Recognizer",
    "RecognizerAudioError",
    "RecognizerLimitation",
)


@dataclass(frozen=True, kw_only=True)
class RecognitionRequest:
    """One validated transcription request, as handed to a :class:`Recognizer`.

    Attributes:
        audio_path: The spooled audio file; it is deleted once the answer has been sent.
        audio_sha256: Hex SHA-256 of the audio bytes.
        audio_format: Sniffed container/codec family: ``wav``, ``flac``, ``mp3``, ``ogg``, ``webm``,
            ``asf``, ``aac`` or ``amr``.
        audio_size: Size of the audio in bytes.
        audio_channels: Channel count from the audio header, ``None`` when unknown.
        audio_duration_ms: Duration from the audio header, ``None`` when unknown.
        locales: ``definition.locales`` as sent (empty: language detection).
        diarization: Whether ``diarization.enabled`` is true.
        max_speakers: ``diarization.maxSpeakers`` when given.
        channels: ``definition.channels`` (duplicates removed), ``None`` when absent.
        task: ``None`` for the standard model; ``"transcribe"`` or ``"translate"`` for LLM speech
            (``enhancedMode`` with ``"enabled": true``).
        target_language: ``enhancedMode.targetLanguage`` for ``translate``.
        prompts: ``enhancedMode.prompt`` (LLM speech only).
        phrases: ``phraseList.phrases``.
        profanity_filter_mode: ``None``, ``Removed``, ``Tags`` or ``Masked`` (the default).
    """

    audio_path: Path
    audio_sha256: str
    audio_format: str
    audio_size: int
    audio_channels: int | None
    audio_duration_ms: int | None
    locales: tuple[str, ...] = ()
    diarization: bool = False
    max_speakers: int | None = None
    channels: tuple[int, ...] | None = None
    task: Literal["transcribe", "translate"] | None = None
    target_language: str | None = None
    prompts: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    profanity_filter_mode: str = "Masked"


@dataclass(frozen=True, kw_only=True)
class RecognizedWord:
    """A word with absolute timing in milliseconds."""

    text: str
    offset_ms: int
    duration_ms: int


@dataclass(frozen=True, kw_only=True)
class RecognizedPhrase:
    """A phrase (segment) as recognized; the emulator shapes it into the wire form.

    ``channel`` is the audio channel the phrase was heard on; the emulator decides whether the wire
    carries it. ``speaker`` is used only when diarization is on (``None`` then becomes speaker 1).
    """

    text: str
    offset_ms: int
    duration_ms: int
    words: tuple[RecognizedWord, ...] = ()
    channel: int = 0
    speaker: int | None = None
    locale: str = "en-US"
    confidence: float = 0.0


@dataclass(frozen=True, kw_only=True)
class Recognition:
    """What a recognizer heard: the audio's duration and its phrases in any order."""

    duration_ms: int
    phrases: tuple[RecognizedPhrase, ...]


class RecognizerLimitation(Exception):
    """Raised by a recognizer for a request it cannot honour faithfully.

    The emulator answers HTTP 422 ``UnprocessableEntity`` with ``str(exc)`` as the message (prefixed
    by ``speech_async emulator:``) instead of inventing a transcript.
    """

    def __init__(self, message: str, *, code: str = "EmulatorLimitation") -> None:
        super().__init__(message)
        self.code = code


class RecognizerAudioError(Exception):
    """Raised by a recognizer when the audio cannot be decoded; answered as 400 ``InvalidAudioFormat``."""


@runtime_checkable
class Recognizer(Protocol):
    """Turns one request's audio into phrases. Implementations must not block the event loop."""

    async def recognize(self, request: RecognitionRequest) -> Recognition:
        """Recognize the audio of ``request``."""
        ...
