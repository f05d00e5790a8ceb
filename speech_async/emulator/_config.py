"""Configuration of the emulator and the protocol constants it enforces."""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._recognizer import Recognizer

__all__ = (
    "API_VERSION_2024_11_15",
    "API_VERSION_2025_10_15",
    "DEFAULT_MAX_AUDIO_BYTES",
    "DEFAULT_MAX_ASSESSMENT_SECONDS",
    "DEFAULT_MAX_AUDIO_SECONDS",
    "DEFAULT_MAX_PHRASES",
    "DEFAULT_MAX_PROMPT_CHARS",
    "DEFAULT_MAX_SHORT_AUDIO_BYTES",
    "DEFAULT_MAX_SHORT_AUDIO_SECONDS",
    "DEFAULT_REGION",
    "DEFAULT_RESOURCE_ID",
    "DEFAULT_TOKEN_LIFETIME",
    "SUPPORTED_API_VERSIONS",
    "EmulatorConfig",
)

API_VERSION_2024_11_15: Final = "2024-11-15"
API_VERSION_2025_10_15: Final = "2025-10-15"
SUPPORTED_API_VERSIONS: Final = (API_VERSION_2024_11_15, API_VERSION_2025_10_15)

# The LLM-speech page (seed) says "less than 2 hours long and less than 300 MB"; the OpenAPI text says
# 250 MB and newer docs 500 MB / 5 h, hence configurable.
DEFAULT_MAX_AUDIO_BYTES: Final = 300 * 1024 * 1024
DEFAULT_MAX_AUDIO_SECONDS: Final = 2 * 60 * 60.0
DEFAULT_MAX_PROMPT_CHARS: Final = 4096
DEFAULT_MAX_PHRASES: Final = 500
DEFAULT_REGION: Final = "East US"
# issueToken tokens are valid for ten minutes (documented).
DEFAULT_TOKEN_LIFETIME: Final = 600.0
# Short audio: at most 60 s of audio, 30 s with pronunciation assessment (documented).
DEFAULT_MAX_SHORT_AUDIO_SECONDS: Final = 60.0
DEFAULT_MAX_ASSESSMENT_SECONDS: Final = 30.0
# unverified: the short-audio API's byte limit is not documented. 60 s of 16 kHz 16-bit mono PCM is
# 1.9 MB; 10 MiB leaves room for a generous header and refuses a runaway upload while it streams.
DEFAULT_MAX_SHORT_AUDIO_BYTES: Final = 10 * 1024 * 1024
# The emulated resource's ARM id, which the short-audio "aad#<resourceId>#<token>" credential must name.
DEFAULT_RESOURCE_ID: Final = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/speech-emulator"
    "/providers/Microsoft.CognitiveServices/accounts/speech-emulator"
)
# ARM ids are case-insensitive; "#" would break the aad# credential, which uses it as the separator.
_RESOURCE_ID: Final = re.compile(
    r"/subscriptions/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"/resourceGroups/[^/#\s]+/providers/Microsoft\.CognitiveServices/accounts/[^/#\s]+",
    re.IGNORECASE,
)

_RECOGNIZER_NAMES: Final = ("whisper", "scripted")


@dataclass(frozen=True, kw_only=True)
class EmulatorConfig:
    """How an emulator instance behaves.

    Attributes:
        key: The accepted ``Ocp-Apim-Subscription-Key`` value. ``None`` accepts any non-empty key.
        recognizer: ``"whisper"`` (real recognition with faster-whisper, needs the ``asr`` extra),
            ``"scripted"`` (transcripts registered per audio content, see
            :class:`ScriptedRecognizer`), or any object implementing :class:`Recognizer`.
        max_audio_bytes: Audio larger than this is refused with HTTP 413 while it streams in.
        max_audio_seconds: Longer audio is refused with HTTP 400 ``AudioLengthLimitExceeded``.
        max_prompt_chars: Limit on the total length of ``enhancedMode.prompt``.
        max_phrases: Limit on the number of ``phraseList.phrases``. The docs only advise 500; whether the
            service enforces it is unverified.
        region: Value of the ``x-ms-region`` response header; its lower-case form without spaces
            (``"eastus"``) goes into the ``region`` and ``aud`` claims of issueToken tokens.
        clock: The emulator's "now" in epoch seconds, for everything about tokens: when they were
            issued, when they expire, and whether they have. Pass your test's fake clock to move
            the emulator's time with the client's. Called on the emulator's event loop: it must
            be cheap and must not block.
        token_lifetime: Lifetime of issueToken tokens in seconds (documented: 10 minutes). A token
            expires at ``ceil(issue time + token_lifetime)`` and is refused from then on.
        resource_id: The ARM id of the emulated Speech resource
            (``/subscriptions/{guid}/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/accounts/{name}``).
            The short-audio API takes Entra tokens as ``Authorization: Bearer aad#{resource_id}#{token}``
            and refuses another resource id (compared case-insensitively, as ARM ids are).
        max_short_audio_seconds: Short-audio requests with longer audio are refused with HTTP 400
            (documented limit: 60 s).
        max_assessment_seconds: The same with pronunciation assessment (documented: 30 s).
        max_short_audio_bytes: Short-audio bodies larger than this are refused with HTTP 413 while
            they stream in (unverified: the service's byte limit is not documented).
    """

    key: str | None = None
    recognizer: Literal["whisper", "scripted"] | Recognizer = "whisper"
    max_audio_bytes: int = DEFAULT_MAX_AUDIO_BYTES
    max_audio_seconds: float = DEFAULT_MAX_AUDIO_SECONDS
    max_prompt_chars: int = DEFAULT_MAX_PROMPT_CHARS
    max_phrases: int = DEFAULT_MAX_PHRASES
    region: str = DEFAULT_REGION
    clock: Callable[[], float] = time.time
    token_lifetime: float = DEFAULT_TOKEN_LIFETIME
    resource_id: str = DEFAULT_RESOURCE_ID
    max_short_audio_seconds: float = DEFAULT_MAX_SHORT_AUDIO_SECONDS
    max_assessment_seconds: float = DEFAULT_MAX_ASSESSMENT_SECONDS
    max_short_audio_bytes: int = DEFAULT_MAX_SHORT_AUDIO_BYTES

    def __post_init__(self) -> None:
        if self.key is not None and not self.key:
            raise ValueError("key must be a non-empty string, or None to accept any key")
        if isinstance(self.recognizer, str):
            if self.recognizer not in _RECOGNIZER_NAMES:
                raise ValueError(f"recognizer must be 'whisper', 'scripted' or a Recognizer, not {self.recognizer!r}")
        elif not callable(getattr(self.recognizer, "recognize", None)):
            raise TypeError("recognizer objects must have an async recognize(request) method")
        if self.max_audio_bytes <= 0:
            raise ValueError("max_audio_bytes must be positive")
        if self.max_audio_seconds <= 0:
            raise ValueError("max_audio_seconds must be positive")
        if self.max_prompt_chars < 0 or self.max_phrases < 0:
            raise ValueError("max_prompt_chars and max_phrases must not be negative")
        if not callable(self.clock):
            raise TypeError("clock must be a callable returning epoch seconds")
        if not (math.isfinite(self.token_lifetime) and self.token_lifetime > 0):
            raise ValueError(f"token_lifetime must be a positive number of seconds, not {self.token_lifetime!r}")
        if _RESOURCE_ID.fullmatch(self.resource_id) is None:
            raise ValueError(
                "resource_id must be an ARM id like /subscriptions/{guid}/resourceGroups/{group}"
                f"/providers/Microsoft.CognitiveServices/accounts/{{name}}, not {self.resource_id!r}"
            )
        for name in ("max_short_audio_seconds", "max_assessment_seconds"):
            value: float = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
        if self.max_short_audio_bytes <= 0:
            raise ValueError("max_short_audio_bytes must be positive")
