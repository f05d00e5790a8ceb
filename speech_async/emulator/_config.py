"""Configuration of the emulator and the protocol constants it enforces.

:class:`EmulatorConfig` holds what every area shares (key, region, clock, recognizer, resource id) and
one settings object per area (:class:`FastConfig`, :class:`ShortAudioConfig`, :class:`TokenConfig`,
the initial :class:`ServiceHealth`). The flat keywords of 0.1 (``max_audio_bytes=``,
``token_lifetime=`` ...) still construct, with a ``DeprecationWarning`` naming the nested spelling,
and the flat attributes still read.
"""

from __future__ import annotations

import dataclasses
import math
import re
import time
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Literal

from ._resources.health.model import DEFAULT_HEALTH, ServiceHealth

if TYPE_CHECKING:
    from collections.abc import Callable

    from ._recognizer import Recognizer

__all__ = (
    "API_VERSION_2024_11_15",
    "API_VERSION_2025_10_15",
    "DEFAULT_BATCH_MAX_AUDIO_BYTES",
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
    "BatchConfig",
    "EmulatorConfig",
    "FastConfig",
    "ShortAudioConfig",
    "TokenConfig",
    "WebHookConfig",
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
# The quotas page: at most 1 GB per audio file in batch transcription.
DEFAULT_BATCH_MAX_AUDIO_BYTES: Final = 1024 * 1024 * 1024


def _positive_seconds(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")


@dataclass(frozen=True, kw_only=True)
class FastConfig:
    """Limits of fast transcription (``transcriptions:transcribe``).

    Attributes:
        max_audio_bytes: Audio larger than this is refused with HTTP 413 while it streams in.
        max_audio_seconds: Longer audio is refused with HTTP 400 ``AudioLengthLimitExceeded``.
        max_prompt_chars: Limit on the total length of ``enhancedMode.prompt``.
        max_phrases: Limit on the number of ``phraseList.phrases``. The docs only advise 500; whether the
            service enforces it is unverified.
    """

    max_audio_bytes: int = DEFAULT_MAX_AUDIO_BYTES
    max_audio_seconds: float = DEFAULT_MAX_AUDIO_SECONDS
    max_prompt_chars: int = DEFAULT_MAX_PROMPT_CHARS
    max_phrases: int = DEFAULT_MAX_PHRASES

    def __post_init__(self) -> None:
        if self.max_audio_bytes <= 0:
            raise ValueError("FastConfig.max_audio_bytes must be positive")
        if self.max_audio_seconds <= 0:
            raise ValueError("FastConfig.max_audio_seconds must be positive")
        if self.max_prompt_chars < 0 or self.max_phrases < 0:
            raise ValueError("FastConfig.max_prompt_chars and max_phrases must not be negative")


@dataclass(frozen=True, kw_only=True)
class ShortAudioConfig:
    """Limits of the REST API for short audio.

    Attributes:
        max_seconds: Requests with longer audio are refused with HTTP 400 (documented limit: 60 s).
        max_assessment_seconds: The same with pronunciation assessment (documented: 30 s).
        max_bytes: Bodies larger than this are refused with HTTP 413 while they stream in
            (unverified: the service's byte limit is not documented).
    """

    max_seconds: float = DEFAULT_MAX_SHORT_AUDIO_SECONDS
    max_assessment_seconds: float = DEFAULT_MAX_ASSESSMENT_SECONDS
    max_bytes: int = DEFAULT_MAX_SHORT_AUDIO_BYTES

    def __post_init__(self) -> None:
        _positive_seconds("ShortAudioConfig.max_seconds", self.max_seconds)
        _positive_seconds("ShortAudioConfig.max_assessment_seconds", self.max_assessment_seconds)
        if self.max_bytes <= 0:
            raise ValueError("ShortAudioConfig.max_bytes must be positive")


@dataclass(frozen=True, kw_only=True)
class TokenConfig:
    """The token service (``issueToken``).

    Attributes:
        lifetime: Lifetime of issueToken tokens in seconds (documented: 10 minutes). A token
            expires at ``ceil(issue time + lifetime)`` and is refused from then on.
    """

    lifetime: float = DEFAULT_TOKEN_LIFETIME

    def __post_init__(self) -> None:
        _positive_seconds("TokenConfig.lifetime", self.lifetime)


@dataclass(frozen=True, kw_only=True)
class BatchConfig:
    """Batch transcription (``transcriptions:submit``, v3.x ``POST /transcriptions``).

    The real service takes minutes to hours; the defaults are short so that a demo finishes in
    seconds. A test with a fake :attr:`EmulatorConfig.clock` moves jobs along by moving the clock.

    Attributes:
        not_started_seconds: How long a new job stays ``NotStarted``.
        running_seconds: How long it then stays ``Running`` (the audio is fetched and transcribed
            when a read first finds it ``Running``; a read after this time waits for that work).
        max_audio_bytes: A content URL whose body is larger fails in the report (quotas page: 1 GB).
        sas_seconds: Default lifetime of the SAS of result-file URLs when the request gives none
            (documented: 12 hours).
    """

    not_started_seconds: float = 1.0
    running_seconds: float = 1.0
    max_audio_bytes: int = DEFAULT_BATCH_MAX_AUDIO_BYTES
    sas_seconds: float = 12 * 60 * 60.0

    def __post_init__(self) -> None:
        for name in ("not_started_seconds", "running_seconds"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"BatchConfig.{name} must be a finite number >= 0, not {value!r}")
        if self.max_audio_bytes <= 0:
            raise ValueError("BatchConfig.max_audio_bytes must be positive")
        _positive_seconds("BatchConfig.sas_seconds", self.sas_seconds)


@dataclass(frozen=True, kw_only=True)
class WebHookConfig:
    """Web hooks: how the emulator delivers callbacks to ``webUrl``.

    The service retries a failing notification "several times", then sets the hook ``Failed``
    (addendum §3.7); the counts and delays are not published, so the defaults are short for tests.

    Attributes:
        retries: Further attempts after a delivery's first one fails (a non-2xx answer or no answer).
        backoff_seconds: The wait before the first retry; it doubles with each retry.
        timeout_seconds: How long one POST to ``webUrl`` (the challenge included) may take.
        tick_seconds: How often jobs are moved along while a hook waits for transcription events
            (jobs otherwise advance only when they are read).
    """

    retries: int = 2
    backoff_seconds: float = 0.05
    timeout_seconds: float = 5.0
    tick_seconds: float = 0.05

    def __post_init__(self) -> None:
        if self.retries < 0:
            raise ValueError("WebHookConfig.retries must not be negative")
        if not (math.isfinite(self.backoff_seconds) and self.backoff_seconds >= 0):
            raise ValueError(
                f"WebHookConfig.backoff_seconds must be a finite number >= 0, not {self.backoff_seconds!r}"
            )
        _positive_seconds("WebHookConfig.timeout_seconds", self.timeout_seconds)
        _positive_seconds("WebHookConfig.tick_seconds", self.tick_seconds)


# Flat keyword of 0.1 -> (nested field, attribute of the nested config).
_FLAT: Final = {
    "max_audio_bytes": ("fast", "max_audio_bytes"),
    "max_audio_seconds": ("fast", "max_audio_seconds"),
    "max_prompt_chars": ("fast", "max_prompt_chars"),
    "max_phrases": ("fast", "max_phrases"),
    "token_lifetime": ("tokens", "lifetime"),
    "max_short_audio_seconds": ("short_audio", "max_seconds"),
    "max_assessment_seconds": ("short_audio", "max_assessment_seconds"),
    "max_short_audio_bytes": ("short_audio", "max_bytes"),
}
_NESTED_CLASS: Final = {"fast": "FastConfig", "tokens": "TokenConfig", "short_audio": "ShortAudioConfig"}


@dataclass(frozen=True, kw_only=True, init=False)
class EmulatorConfig:
    """How an emulator instance behaves.

    Example::

        EmulatorConfig(key="k", recognizer="scripted", fast=FastConfig(max_audio_seconds=60),
                       tokens=TokenConfig(lifetime=120))

    Attributes:
        key: The accepted ``Ocp-Apim-Subscription-Key`` value. ``None`` accepts any non-empty key.
        recognizer: ``"whisper"`` (real recognition with faster-whisper, needs the ``asr`` extra),
            ``"scripted"`` (transcripts registered per audio content, see
            :class:`ScriptedRecognizer`), or any object implementing :class:`Recognizer`.
        region: Value of the ``x-ms-region`` response header; its lower-case form without spaces
            (``"eastus"``) goes into the ``region`` and ``aud`` claims of issueToken tokens.
        clock: The emulator's "now" in epoch seconds, for everything about tokens: when they were
            issued, when they expire, and whether they have. Pass your test's fake clock to move
            the emulator's time with the client's. Called on the emulator's event loop: it must
            be cheap and must not block.
        resource_id: The ARM id of the emulated Speech resource
            (``/subscriptions/{guid}/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/accounts/{name}``).
            The short-audio API takes Entra tokens as ``Authorization: Bearer aad#{resource_id}#{token}``
            and refuses another resource id (compared case-insensitively, as ARM ids are).
        fast: Limits of fast transcription.
        short_audio: Limits of the short-audio API.
        tokens: The token service.
        batch: Batch transcription: job durations and limits.
        webhooks: Web hooks: delivery retries, backoff and timeout.
        health: What the health-status route answers until :meth:`Emulator.set_health` changes it.

    The flat keywords and attributes of 0.1 map onto the nested ones: ``max_audio_bytes``,
    ``max_audio_seconds``, ``max_prompt_chars``, ``max_phrases`` (``fast``), ``token_lifetime``
    (``tokens.lifetime``), ``max_short_audio_seconds``, ``max_assessment_seconds``,
    ``max_short_audio_bytes`` (``short_audio.max_seconds`` / ``.max_assessment_seconds`` /
    ``.max_bytes``). Passing one warns (``DeprecationWarning``); reading one does not.
    """

    key: str | None = None
    recognizer: Literal["whisper", "scripted"] | Recognizer = "whisper"
    region: str = DEFAULT_REGION
    clock: Callable[[], float] = time.time
    resource_id: str = DEFAULT_RESOURCE_ID
    fast: FastConfig = field(default_factory=FastConfig)
    short_audio: ShortAudioConfig = field(default_factory=ShortAudioConfig)
    tokens: TokenConfig = field(default_factory=TokenConfig)
    batch: BatchConfig = field(default_factory=BatchConfig)
    webhooks: WebHookConfig = field(default_factory=WebHookConfig)
    health: ServiceHealth = DEFAULT_HEALTH

    def __init__(
        self,
        *,
        key: str | None = None,
        recognizer: Literal["whisper", "scripted"] | Recognizer = "whisper",
        region: str = DEFAULT_REGION,
        clock: Callable[[], float] = time.time,
        resource_id: str = DEFAULT_RESOURCE_ID,
        fast: FastConfig | None = None,
        short_audio: ShortAudioConfig | None = None,
        tokens: TokenConfig | None = None,
        batch: BatchConfig | None = None,
        webhooks: WebHookConfig | None = None,
        health: ServiceHealth = DEFAULT_HEALTH,
        max_audio_bytes: int | None = None,
        max_audio_seconds: float | None = None,
        max_prompt_chars: int | None = None,
        max_phrases: int | None = None,
        token_lifetime: float | None = None,
        max_short_audio_seconds: float | None = None,
        max_assessment_seconds: float | None = None,
        max_short_audio_bytes: int | None = None,
    ) -> None:
        flat = {
            "max_audio_bytes": max_audio_bytes,
            "max_audio_seconds": max_audio_seconds,
            "max_prompt_chars": max_prompt_chars,
            "max_phrases": max_phrases,
            "token_lifetime": token_lifetime,
            "max_short_audio_seconds": max_short_audio_seconds,
            "max_assessment_seconds": max_assessment_seconds,
            "max_short_audio_bytes": max_short_audio_bytes,
        }
        nested: dict[str, FastConfig | ShortAudioConfig | TokenConfig] = {
            "fast": FastConfig() if fast is None else fast,
            "short_audio": ShortAudioConfig() if short_audio is None else short_audio,
            "tokens": TokenConfig() if tokens is None else tokens,
        }
        for name, value in flat.items():
            if value is not None:
                group, attribute = _FLAT[name]
                warnings.warn(
                    f"EmulatorConfig({name}=...) is deprecated; use "
                    f"EmulatorConfig({group}={_NESTED_CLASS[group]}({attribute}=...))",
                    DeprecationWarning,
                    stacklevel=2,
                )
                nested[group] = dataclasses.replace(nested[group], **{attribute: value})
        for name, value in (
            ("key", key),
            ("recognizer", recognizer),
            ("region", region),
            ("clock", clock),
            ("resource_id", resource_id),
            *nested.items(),
            ("batch", BatchConfig() if batch is None else batch),
            ("webhooks", WebHookConfig() if webhooks is None else webhooks),
            ("health", health),
        ):
            object.__setattr__(self, name, value)
        self.__post_init__()

    def __post_init__(self) -> None:
        if self.key is not None and not self.key:
            raise ValueError("key must be a non-empty string, or None to accept any key")
        if isinstance(self.recognizer, str):
            if self.recognizer not in _RECOGNIZER_NAMES:
                raise ValueError(f"recognizer must be 'whisper', 'scripted' or a Recognizer, not {self.recognizer!r}")
        elif not callable(getattr(self.recognizer, "recognize", None)):
            raise TypeError("recognizer objects must have an async recognize(request) method")
        if not callable(self.clock):
            raise TypeError("clock must be a callable returning epoch seconds")
        if _RESOURCE_ID.fullmatch(self.resource_id) is None:
            raise ValueError(
                "resource_id must be an ARM id like /subscriptions/{guid}/resourceGroups/{group}"
                f"/providers/Microsoft.CognitiveServices/accounts/{{name}}, not {self.resource_id!r}"
            )
        for name, kind in (
            ("fast", FastConfig),
            ("short_audio", ShortAudioConfig),
            ("tokens", TokenConfig),
            ("batch", BatchConfig),
            ("webhooks", WebHookConfig),
            ("health", ServiceHealth),
        ):
            if not isinstance(getattr(self, name), kind):
                raise TypeError(f"{name} must be a {kind.__name__}")

    # --- the flat attributes of 0.1, read through to the nested settings ---

    @property
    def max_audio_bytes(self) -> int:
        """``fast.max_audio_bytes``."""
        return self.fast.max_audio_bytes

    @property
    def max_audio_seconds(self) -> float:
        """``fast.max_audio_seconds``."""
        return self.fast.max_audio_seconds

    @property
    def max_prompt_chars(self) -> int:
        """``fast.max_prompt_chars``."""
        return self.fast.max_prompt_chars

    @property
    def max_phrases(self) -> int:
        """``fast.max_phrases``."""
        return self.fast.max_phrases

    @property
    def token_lifetime(self) -> float:
        """``tokens.lifetime``."""
        return self.tokens.lifetime

    @property
    def max_short_audio_seconds(self) -> float:
        """``short_audio.max_seconds``."""
        return self.short_audio.max_seconds

    @property
    def max_assessment_seconds(self) -> float:
        """``short_audio.max_assessment_seconds``."""
        return self.short_audio.max_assessment_seconds

    @property
    def max_short_audio_bytes(self) -> int:
        """``short_audio.max_bytes``."""
        return self.short_audio.max_bytes
