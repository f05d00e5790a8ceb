"""``AsyncPoller[T]``: a long-running job, awaited politely.

Batch jobs take minutes to hours, and the service asks clients not to poll every few seconds: the
poller starts at tens of seconds, backs off to minutes, and never asks sooner than the service's
``Retry-After``. It polls only while someone awaits it (:meth:`~AsyncPoller.result`,
:meth:`~AsyncPoller.wait`): there is no background task to leak, and cancelling the awaiting task stops it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Generic, TypeVar

import anyio

__all__ = ["DEFAULT_POLL_INTERVAL", "AsyncPoller", "PollInterval", "coerce_poll_interval"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class PollInterval:
    """How often a poller asks about its job: ``initial`` seconds, times ``factor`` after each poll, up
    to ``maximum``; never sooner than the service's ``Retry-After`` when ``honor_retry_after``."""

    initial: float = 30.0
    factor: float = 1.5
    maximum: float = 300.0
    honor_retry_after: bool = True

    def __post_init__(self) -> None:
        for name in ("initial", "factor", "maximum"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"PollInterval.{name} must be a number of seconds, not {type(value).__name__}")
            if not value >= 0 or value == float("inf"):  # NaN fails the first test
                raise ValueError(f"PollInterval.{name} must be a finite number of at least 0, not {value!r}")
        if self.factor < 1:
            raise ValueError(f"PollInterval.factor must be at least 1, not {self.factor!r}")
        if self.maximum < self.initial:
            raise ValueError(f"PollInterval.maximum {self.maximum} is less than initial {self.initial}")

    def delay(self, polls: int) -> float:
        """Seconds to wait before poll number ``polls + 1`` (0-based count of polls made)."""
        return min(self.maximum, self.initial * self.factor ** min(polls, 64))


DEFAULT_POLL_INTERVAL = PollInterval()
"""30 s, then 45 s, 67 s... up to 5 min: the service processes jobs one at a time per region, so
polling every few seconds only spends the request quota."""


def coerce_poll_interval(value: object) -> PollInterval:
    """A ``poll_interval=`` argument as a :class:`PollInterval`: one, or a fixed number of seconds.

    Raises:
        TypeError, ValueError: neither, or out of range.
    """
    if isinstance(value, PollInterval):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"poll_interval must be a PollInterval or a number of seconds, not {type(value).__name__}")
    return PollInterval(initial=float(value), factor=1.0, maximum=float(value))


class AsyncPoller(Generic[T]):
    """A long-running job: await it for its result (``await poller`` is ``await poller.result()``).

    ``status`` and :meth:`done` tell what the last poll saw; :meth:`wait` polls until the job ends or
    a timeout passes; :meth:`cancel` stops the job; :attr:`continuation_token` lets another process
    take over with the operation's ``continuation_token=`` argument.
    """

    def __init__(
        self,
        *,
        initial: T,
        refresh: Callable[[], Awaitable[tuple[T, float | None]]],
        is_done: Callable[[T], bool],
        status_of: Callable[[T], str | None],
        finish: Callable[[T], T],
        on_deadline: Callable[[T, float], BaseException],
        cancel: Callable[[], Awaitable[None]],
        continuation_token: str,
        interval: PollInterval,
        deadline: float | None,
        retry_after: float | None = None,
    ) -> None:
        self._latest = initial
        self._refresh = refresh
        self._is_done = is_done
        self._status_of = status_of
        self._finish = finish
        self._on_deadline = on_deadline
        self._cancel = cancel
        self._token = continuation_token
        self._interval = interval
        self._timeout = deadline
        self._started = time.monotonic()
        self._deadline_at = None if deadline is None else self._started + deadline
        self._wall_deadline = None if deadline is None else datetime.now(timezone.utc) + timedelta(seconds=deadline)
        self._retry_after = retry_after
        self._polls = 0
        self._lock = asyncio.Lock()
        self._cancelled = False

    @property
    def latest(self) -> T:
        """The job as the last poll (or the submit) saw it."""
        return self._latest

    @property
    def status(self) -> str | None:
        """The job's status as last seen (``NotStarted``, ``Running``, ``Succeeded``, ``Failed``)."""
        return self._status_of(self._latest)

    @property
    def continuation_token(self) -> str:
        """Text from which the same job can be awaited again, here or in another process."""
        return self._token

    @property
    def deadline(self) -> datetime | None:
        """When :meth:`result` gives up waiting (UTC), or ``None`` for no limit."""
        return self._wall_deadline

    def done(self) -> bool:
        """Whether the job had ended at the last poll (or was cancelled)."""
        return self._cancelled or self._is_done(self._latest)

    async def wait(self, timeout: float | None = None) -> None:  # noqa: ASYNC109 - the pollers' usual shape
        """Poll until the job ends, or ``timeout`` seconds (or the deadline) pass; raises nothing for either."""
        limit = self._deadline_at
        if timeout is not None:
            own = time.monotonic() + max(timeout, 0.0)
            limit = own if limit is None else min(limit, own)
        await self._poll_until(limit)

    async def result(self) -> T:
        """The job's result, once it ends.

        Raises:
            the job's failure (for a transcription: ``TranscriptionFailedError``); the deadline's
            timeout error when it passes first; ``RuntimeError`` after :meth:`cancel`; or the error of a
            poll (``SpeechStatusError``, ``SpeechConnectionError``) once its retries are spent.
        """
        await self._poll_until(self._deadline_at)
        if self._cancelled:
            raise RuntimeError("the job was cancelled (deleted); it has no result")
        if not self._is_done(self._latest):
            raise self._on_deadline(self._latest, self._timeout or 0.0)
        return self._finish(self._latest)

    def __await__(self) -> Generator[Any, None, T]:
        return self.result().__await__()

    async def cancel(self) -> None:
        """Stop the job (for a transcription: delete it, with its files). Later polls and results refuse."""
        await self._cancel()
        self._cancelled = True

    async def _poll_until(self, limit: float | None) -> None:
        async with self._lock:
            while not self.done():
                delay = self._interval.delay(self._polls)
                if self._interval.honor_retry_after and self._retry_after is not None:
                    delay = max(delay, self._retry_after)
                last = False
                if limit is not None:
                    remaining = limit - time.monotonic()
                    if remaining <= 0:
                        return
                    # One last look at the limit, so that a deadline reports the freshest status.
                    if delay >= remaining:
                        delay, last = remaining, True
                await anyio.sleep(delay)
                self._latest, self._retry_after = await self._refresh()
                self._polls += 1
                if last:
                    return
