"""Retry arithmetic: which failures deserve another attempt, and how long to wait before it.

Everything here is pure except :class:`Cooldown`, which holds one timestamp per client.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio

from ._exceptions import (
    ClientClosedError,
    ResponseDecodeError,
    SpeechConnectionError,
    SpeechError,
    SpeechStatusError,
)
from ._headers import parse_retry_after

if TYPE_CHECKING:
    from ._config import RetryPolicy

__all__ = ["Cooldown", "backoff", "retry_delay"]


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
    def active(self) -> bool:
        """Whether requests are being held back now (a cheap check before awaiting :meth:`wait`)."""
        return self._clock() < self._until

    @property
    def remaining(self) -> float:
        """Seconds until requests may start again (0 when they may now)."""
        return max(self._until - self._clock(), 0.0)

    async def wait(self) -> None:
        """Wait until the cooldown is over (at once when there is none)."""
        remaining = self._until - self._clock()
        if remaining > 0:
            await anyio.sleep(remaining + self._rng() * min(1.0, 0.1 * remaining))
