"""Retry arithmetic: which failures deserve another attempt, and how long to wait before it.

Everything here is pure except :class:`Cooldown`, which holds one timestamp per client.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import anyio

from ._exceptions import (
    ClientClosedError,
    ResponseDecodeError,
    SpeechConnectionError,
    SpeechError,
    SpeechStatusError,
)

if TYPE_CHECKING:
    from ._config import RetryPolicy

__all__ = ["Cooldown", "backoff", "parse_retry_after", "retry_delay"]

_MAX_RETRY_AFTER = 120.0  # seconds; a larger value is capped rather than obeyed
_ABSURD_RETRY_AFTER = 86_400.0  # seconds; a value beyond a day is nonsense, not a request to wait


def parse_retry_after(
    headers: Mapping[str, str], *, now: float | None = None, cap: float | None = _MAX_RETRY_AFTER
) -> float | None:
    """Return the delay in seconds that the response headers ask for, or ``None`` if they don't.

    ``retry-after-ms`` (and ``x-ms-retry-after-ms``) win over ``Retry-After``, which may hold seconds or
    an HTTP date. A value that is negative (a date in the past included), not a number, infinite or
    beyond a day asks for nothing: ``None``, so that the policy's own backoff applies and a broken
    header never causes a zero-delay burst. Values above ``cap`` (two minutes) are capped.
    """
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        raw = _get(headers, name)
        if raw is not None:
            try:
                delay = _clamp(float(raw) / 1000.0, cap)
            except ValueError:
                delay = None
            if delay is not None:
                return delay
    raw = _get(headers, "retry-after")
    if raw is None:
        return None
    try:
        return _clamp(float(raw), cap)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    current = time.time() if now is None else now
    return _clamp(when.timestamp() - current, cap)


def _get(headers: Mapping[str, str], name: str) -> str | None:
    # aiohttp's CIMultiDictProxy is case-insensitive; a plain dict from a caller may not be.
    value = headers.get(name)
    if value is None:
        for key, candidate in headers.items():
            if key.lower() == name:
                return candidate
    return value


def _clamp(seconds: float, cap: float | None) -> float | None:
    if not 0.0 <= seconds <= _ABSURD_RETRY_AFTER:  # NaN, infinities and negatives fail this too
        return None
    return seconds if cap is None else min(seconds, cap)


def backoff(attempt: int, policy: RetryPolicy, rng: Callable[[], float] = random.random) -> float:
    """Full-jitter exponential backoff before attempt ``attempt + 1``: uniform in [0, base * 2**(attempt-1)]."""
    ceiling = min(policy.backoff_max, policy.backoff_base * (2 ** min(attempt - 1, 30)))
    return ceiling * rng()


def retry_delay(
    error: SpeechError,
    attempt: int,
    policy: RetryPolicy,
    *,
    idempotent: bool,
    rng: Callable[[], float] = random.random,
) -> float | None:
    """Seconds to wait before retrying after ``error`` on attempt ``attempt``, or ``None`` not to retry.

    ``idempotent`` says whether repeating the request is harmless even if the service already acted on
    it; when it is not, only failures that happened before the request was sent are retried.
    """
    if attempt >= policy.max_attempts or isinstance(error, ClientClosedError):
        return None
    if isinstance(error, SpeechStatusError):
        if error.status_code not in policy.statuses:
            return None
        asked = parse_retry_after(error.headers, cap=None)
        if asked is not None:
            return asked if asked <= policy.max_retry_after else None
        return backoff(attempt, policy, rng)
    if isinstance(error, SpeechConnectionError):
        if idempotent or not error.request_sent:
            return backoff(attempt, policy, rng)
        return None
    if isinstance(error, ResponseDecodeError) and idempotent and policy.retry_decode_errors:
        return backoff(attempt, policy, rng)
    return None


class Cooldown:
    """A moment before which no request of a client starts: set by a 429, shared by every task.

    Waiters wake with a little jitter, so that a crowd released at once doesn't arrive as one burst.
    """

    __slots__ = ("_clock", "_rng", "_until")

    def __init__(self, clock: Callable[[], float] = time.monotonic, rng: Callable[[], float] = random.random) -> None:
        self._clock = clock
        self._rng = rng
        self._until = 0.0

    def extend(self, seconds: float) -> None:
        """Hold every request back for at least ``seconds`` from now."""
        self._until = max(self._until, self._clock() + seconds)

    @property
    def remaining(self) -> float:
        """Seconds until requests may start again (0 when they may now)."""
        return max(self._until - self._clock(), 0.0)

    async def wait(self) -> None:
        """Wait until the cooldown is over (at once when there is none)."""
        remaining = self._until - self._clock()
        if remaining > 0:
            await anyio.sleep(remaining + self._rng() * min(1.0, 0.1 * remaining))
