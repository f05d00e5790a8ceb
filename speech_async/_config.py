"""Client configuration: API versions, timeouts and pre-flight limits."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

__all__ = ["DEFAULT_LIMITS", "DEFAULT_TIMEOUTS", "LATEST_API_VERSION", "ApiVersion", "Limits", "Timeouts"]


class ApiVersion(str, enum.Enum):
    """The ``api-version`` values of the speech-to-text REST API that this client speaks."""

    V2024_11_15 = "2024-11-15"
    """First GA version of fast transcription."""
    V2025_10_15 = "2025-10-15"
    """Adds ``audioUrl``, ``phraseList`` and ``enhancedMode`` (LLM speech)."""

    def __str__(self) -> str:
        return self.value


LATEST_API_VERSION: Final = ApiVersion.V2025_10_15


@dataclass(frozen=True, kw_only=True, slots=True)
class Timeouts:
    """How long each phase of a request may take, in seconds; ``None`` means no limit.

    There is deliberately no total timeout by default: a two-hour recording can take many minutes to
    upload, and aiohttp's default of 300 s for the whole request would cut it off. Instead each phase
    is bounded on its own.
    """

    connect: float | None = 20.0
    """Establishing the TCP (and TLS) connection."""
    upload_stall: float | None = 60.0
    """The longest the upload may make no progress (one chunk not accepted by the socket)."""
    response: float | None = 600.0
    """Waiting for the response once the upload is complete, and between its body's reads."""
    total: float | None = None
    """An overall deadline for the whole call, if you want one."""

    def __post_init__(self) -> None:
        for name in ("connect", "upload_stall", "response", "total"):
            value: float | None = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"Timeouts.{name} must be a positive number of seconds or None, got {value!r}")


DEFAULT_TIMEOUTS: Final = Timeouts()


@dataclass(frozen=True, kw_only=True, slots=True)
class Limits:
    """Service limits checked before any request is sent, so bad input fails fast and locally.

    The defaults follow the service documentation; raise them when the service raises its own (the
    documented audio limits have grown over time).
    """

    max_audio_bytes: int | None = 300 * 1024 * 1024
    """Largest audio accepted for fast transcription (the LLM speech page: under 300 MB)."""
    max_prompt_chars: int = 4096
    """Total characters of an ``enhancedMode.prompt`` list."""
    max_phrases: int = 500
    """Phrases in a ``phraseList`` (the documentation advises at most 500)."""
    max_phrase_chars: int = 1000
    """Characters of a single phrase-list entry (unverified: no documented figure; a guard against mistakes)."""
    min_speakers: int = 2
    """Lowest ``diarization.maxSpeakers`` the service accepts."""
    max_speakers: int = 35
    """Highest ``diarization.maxSpeakers`` the service accepts."""
    min_biasing_weight: float = 1.0
    """Lowest ``phraseList.biasingWeight`` (range from the service's SDK documentation)."""
    max_biasing_weight: float = 20.0
    """Highest ``phraseList.biasingWeight``."""

    def __post_init__(self) -> None:
        if self.max_audio_bytes is not None and self.max_audio_bytes <= 0:
            raise ValueError("Limits.max_audio_bytes must be positive or None")
        if not 0 < self.min_speakers <= self.max_speakers:
            raise ValueError("Limits: need 0 < min_speakers <= max_speakers")
        if not 0 <= self.min_biasing_weight <= self.max_biasing_weight:
            raise ValueError("Limits: need 0 <= min_biasing_weight <= max_biasing_weight")


DEFAULT_LIMITS: Final = Limits()
