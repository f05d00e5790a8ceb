"""Client configuration: API versions, timeouts, retries, pre-flight limits and the client's keywords.

:class:`Limits` is one flat, public bag; each REST area reads only its own frozen view of it
(:attr:`Limits.fast`, :attr:`Limits.short_audio`, :attr:`Limits.upload`).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Final, TypedDict

from ._headers import MAX_RETRY_AFTER

if TYPE_CHECKING:
    import aiohttp

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_RETRY",
    "DEFAULT_TIMEOUTS",
    "LATEST_API_VERSION",
    "LATEST_MANAGEMENT_API_VERSION",
    "ApiVersion",
    "ClientOptions",
    "FastLimits",
    "Limits",
    "RetryPolicy",
    "ShortAudioLimits",
    "Timeouts",
    "UploadLimits",
    "coerce_retry",
    "coerce_timeouts",
]


def _positive_finite(value: object) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and 0 < value < math.inf


class ApiVersion(str, enum.Enum):
    """The versions of the speech-to-text REST API that this client speaks.

    Each area takes its own set. Fast transcription (:meth:`SpeechClient.transcribe`) takes the dated
    ``api-version`` values, 2024-11-15 and later. The management API (locales, health status; batch
    transcription and custom speech next) takes 2025-10-15 (the default), 2024-11-15, and the path
    versions v3.2 and v3.1 for resources that still need them: the service documentation retires
    v3.0 to v3.2 on 2026-03-31, so neither is ever a default; v3.0 is refused.
    """

    V3_1 = "v3.1"
    """Management API only: a path version (``/speechtotext/v3.1/...``); the only one with the health status."""
    V3_2 = "v3.2"
    """Management API only: a path version (``/speechtotext/v3.2/...``)."""
    V2024_11_15 = "2024-11-15"
    """First GA version of fast transcription."""
    V2025_10_15 = "2025-10-15"
    """Adds ``audioUrl``, ``phraseList`` and ``enhancedMode`` (LLM speech)."""

    def __str__(self) -> str:
        return self.value


LATEST_API_VERSION: Final = ApiVersion.V2025_10_15
LATEST_MANAGEMENT_API_VERSION: Final = ApiVersion.V2025_10_15


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
    """Waiting for the response once the upload is complete, and between its body's reads.

    ``upload_stall`` and ``response`` are checked for every request under way by one timer, about ten
    times per limit (at least once a second): a limit fires after 100 % to 110 % of itself. A request
    waiting for a free pooled connection is not timed."""
    total: float | None = None
    """An overall deadline for the whole call, if you want one."""
    expect_continue: float | None = 1.0
    """After sending ``Expect: 100-continue`` (short audio), how long to wait for the server's ``100
    Continue`` before sending the body anyway, as curl and .NET do (one second). A server, or a load
    balancer in front of a dead one, that never answers the headers cannot hold the request forever: the
    body goes, and the ``response`` timeout takes over. ``None`` waits for as long as ``response``."""

    def __post_init__(self) -> None:
        for name in ("connect", "upload_stall", "response", "total", "expect_continue"):
            value: float | None = getattr(self, name)
            if value is not None and not _positive_finite(value):
                raise ValueError(f"Timeouts.{name} must be a positive number of seconds or None, got {value!r}")


DEFAULT_TIMEOUTS: Final = Timeouts()


@dataclass(frozen=True, kw_only=True, slots=True)
class Limits:
    """Service limits checked before any request is sent, so bad input fails fast and locally.

    The defaults follow the service documentation; raise them when the service raises its own (the
    documented audio limits have grown over time). Each API reads only its own part, through a frozen
    view: :attr:`fast`, :attr:`short_audio` and :attr:`upload` (every audio upload).
    """

    max_audio_bytes: int | None = 300 * 1024 * 1024
    """Largest audio accepted for fast transcription (the LLM speech page: under 300 MB)."""
    max_audio_seconds: float | None = 2 * 60 * 60
    """Longest audio accepted (the LLM speech page: under 2 hours); checked where the header tells (WAV, FLAC)."""
    check_audio_format: bool = True
    """Refuse, before sending, content that is not one of the service's audio formats."""
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
    max_short_audio_seconds: float | None = 60.0
    """Longest audio for short-audio recognition (:meth:`SpeechClient.recognize`; documented: 60 s)."""
    max_assessment_seconds: float | None = 30.0
    """Longest audio for pronunciation assessment (documented: 30 s)."""
    max_response_bytes: int = 64 * 1024 * 1024
    """Largest response body read; a larger one is a ``ResponseTooLargeError`` after reading no more.

    The largest real answer is the transcript of the longest audio the service takes (two hours, with
    word timestamps on two channels: a few MiB), so 64 MiB is an order of magnitude above it, and still
    far from memory trouble when hundreds of calls run at once."""

    def __post_init__(self) -> None:
        if self.max_audio_bytes is not None and self.max_audio_bytes <= 0:
            raise ValueError("Limits.max_audio_bytes must be positive or None")
        if self.max_audio_seconds is not None and not self.max_audio_seconds > 0:
            raise ValueError("Limits.max_audio_seconds must be positive or None")
        for name in ("max_short_audio_seconds", "max_assessment_seconds"):
            value: float | None = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"Limits.{name} must be positive or None")
        if type(self.max_response_bytes) is not int or self.max_response_bytes < 1:
            raise ValueError("Limits.max_response_bytes must be a positive int")
        if not 0 < self.min_speakers <= self.max_speakers:
            raise ValueError("Limits: need 0 < min_speakers <= max_speakers")
        if not 0 <= self.min_biasing_weight <= self.max_biasing_weight:
            raise ValueError("Limits: need 0 <= min_biasing_weight <= max_biasing_weight")

    @property
    def upload(self) -> UploadLimits:
        """What every upload of audio is held to, whichever API it goes to."""
        return UploadLimits(max_audio_bytes=self.max_audio_bytes)

    @property
    def fast(self) -> FastLimits:
        """The limits of fast transcription (:meth:`SpeechClient.transcribe`)."""
        return FastLimits(
            max_audio_seconds=self.max_audio_seconds,
            check_audio_format=self.check_audio_format,
            max_prompt_chars=self.max_prompt_chars,
            max_phrases=self.max_phrases,
            max_phrase_chars=self.max_phrase_chars,
            min_speakers=self.min_speakers,
            max_speakers=self.max_speakers,
            min_biasing_weight=self.min_biasing_weight,
            max_biasing_weight=self.max_biasing_weight,
        )

    @property
    def short_audio(self) -> ShortAudioLimits:
        """The limits of short-audio recognition (:meth:`SpeechClient.recognize`)."""
        return ShortAudioLimits(
            max_seconds=self.max_short_audio_seconds,
            max_assessment_seconds=self.max_assessment_seconds,
            check_audio_format=self.check_audio_format,
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class UploadLimits:
    """The part of :class:`Limits` that every audio upload is held to."""

    max_audio_bytes: int | None
    """:attr:`Limits.max_audio_bytes`."""


@dataclass(frozen=True, kw_only=True, slots=True)
class FastLimits:
    """The part of :class:`Limits` that fast transcription reads (the fields keep their names there)."""

    max_audio_seconds: float | None
    check_audio_format: bool
    max_prompt_chars: int
    max_phrases: int
    max_phrase_chars: int
    min_speakers: int
    max_speakers: int
    min_biasing_weight: float
    max_biasing_weight: float


@dataclass(frozen=True, kw_only=True, slots=True)
class ShortAudioLimits:
    """The part of :class:`Limits` that short-audio recognition reads."""

    max_seconds: float | None
    """:attr:`Limits.max_short_audio_seconds`."""
    max_assessment_seconds: float | None
    """:attr:`Limits.max_assessment_seconds`."""
    check_audio_format: bool
    """:attr:`Limits.check_audio_format`, applied to this API's own formats (WAV/PCM 16 kHz mono, Ogg/Opus)."""


DEFAULT_LIMITS: Final = Limits()


RETRYABLE_STATUSES: Final = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True, kw_only=True, slots=True)
class RetryPolicy:
    """When and how a failed request is sent again.

    Retried: the statuses in ``statuses``, connection failures and timeouts, and (for requests that are
    safe to repeat) a success whose body could not be decoded. Other 4xx answers are never retried. A
    delay the service asks for (``retry-after-ms`` or ``Retry-After``) is obeyed, up to
    ``max_retry_after``; otherwise the delay grows exponentially with full jitter. After a 429 every
    request of the client waits out the same cooldown, so a thousand tasks don't stampede.
    The request body is rebuilt from its source for every attempt; one that cannot be (a one-shot
    stream already partly sent) ends the retries with an ``AudioNotReplayableError``.
    """

    max_attempts: int = 10
    """Attempts in all, the first included; 1 turns retries off.

    Ten, because throttling and brief outages are normal operation for this service: with 20 % of
    attempts failing independently, five attempts lose one call in 3,125 (a bulk run of 200 files loses
    one in about 6 % of runs), ten lose one in ten million. azure-core allows ten retries for the same
    reason. The ``budget`` still bounds the time a call can spend, whatever the count."""
    statuses: frozenset[int] = RETRYABLE_STATUSES
    """Statuses worth another attempt."""
    backoff_base: float = 0.5
    """The first backoff's upper bound, in seconds; it doubles with each attempt."""
    backoff_max: float = 30.0
    """The largest backoff, in seconds."""
    max_retry_after: float = MAX_RETRY_AFTER
    """The longest delay obeyed when the service asks for one; a longer request ends the retries."""
    budget: float | None = 600.0
    """Seconds from the first attempt after which no further attempt starts."""
    retry_decode_errors: bool = True
    """Retry a success whose body is cut short or malformed."""

    def __post_init__(self) -> None:
        if type(self.max_attempts) is not int or self.max_attempts < 1:
            raise ValueError(f"RetryPolicy.max_attempts must be an int of at least 1, got {self.max_attempts!r}")
        for name in ("backoff_base", "backoff_max", "max_retry_after"):
            value: object = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
                raise ValueError(f"RetryPolicy.{name} must be a finite number of seconds, at least 0, got {value!r}")
        if self.budget is not None and not _positive_finite(self.budget):
            raise ValueError(f"RetryPolicy.budget must be a positive number of seconds or None, got {self.budget!r}")
        if not isinstance(self.statuses, frozenset) or not all(type(s) is int for s in self.statuses):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError("RetryPolicy.statuses must be a frozenset of status codes")


DEFAULT_RETRY: Final = RetryPolicy()


def coerce_timeouts(value: object, *, what: str = "timeout") -> Timeouts | None:
    """The :class:`Timeouts` meant by a ``timeout=`` argument; ``None`` stays ``None`` (the default).

    A number of seconds sets every phase to it, as httpx does: ``timeout=30`` is ``Timeouts(connect=30,
    upload_stall=30, response=30)``, with no total deadline and ``expect_continue`` at its default.
    ``None`` means the default (the client's timeouts, for a call), not "no limits": for no limits pass
    ``Timeouts(connect=None, upload_stall=None, response=None)``.

    Raises:
        TypeError: ``value`` is not a ``Timeouts``, a number or ``None`` (a bool included).
        ValueError: a number that is not positive and finite (0, negative, NaN, infinity).
    """
    if value is None or isinstance(value, Timeouts):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(
            f"{what} must be a Timeouts, a number of seconds or None, got {type(value).__name__}"
            + (f" {value!r}" if isinstance(value, bool) else "")
        )
    if not _positive_finite(value):
        raise ValueError(
            f"{what} must be a positive, finite number of seconds, got {value!r}; for no limits, "
            "pass Timeouts(connect=None, upload_stall=None, response=None)"
        )
    seconds = float(value)
    return Timeouts(connect=seconds, upload_stall=seconds, response=seconds)


def coerce_retry(value: object, *, base: RetryPolicy = DEFAULT_RETRY, what: str = "retry") -> RetryPolicy | None:
    """The :class:`RetryPolicy` meant by a ``retry=`` argument; ``None`` stays ``None`` (the default).

    An int counts retries, as openai's ``max_retries`` and urllib3's ``Retry(total=...)`` do: ``retry=3``
    is ``base`` with ``max_attempts=4`` (the first attempt and three retries); ``retry=0`` and
    ``retry=False`` turn retries off (``max_attempts=1``). ``base`` is the client's policy for a call, so
    its other settings (statuses, backoff, budget) are kept.

    Raises:
        TypeError: ``value`` is not a ``RetryPolicy``, an int, ``False`` or ``None`` (``True`` and floats
            included: retries are on by default).
        ValueError: a negative int.
    """
    if value is None or isinstance(value, RetryPolicy):
        return value
    if value is False:
        return replace(base, max_attempts=1)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(
            f"{what} must be a RetryPolicy, a number of retries (an int: 0 for none), False or None, "
            f"got {type(value).__name__} {value!r}" + ("; retries are on by default" if value is True else "")
        )
    if value < 0:
        raise ValueError(f"{what} must be a number of retries of at least 0, got {value!r}")
    return replace(base, max_attempts=value + 1)


class ClientOptions(TypedDict, total=False):
    """The keyword arguments of :class:`SpeechClient` besides endpoint and credential."""

    api_version: ApiVersion | str
    management_api_version: ApiVersion | str
    timeout: Timeouts | float | None
    retry: RetryPolicy | int | None
    limits: Limits
    session: aiohttp.ClientSession | None
    connection_limit: int
    user_agent: str | None
    allow_insecure_http: bool
    token_refresh_interval: float
    clock: Callable[[], float]
    resource_id: str | None
    short_audio_endpoint: str | None
