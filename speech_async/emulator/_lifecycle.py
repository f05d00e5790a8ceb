"""A job's status as a function of the clock: no background timers, nothing to cancel or leak.

A :class:`Lifecycle` is created with the clock (``EmulatorConfig.clock``), a sequence of timed
phases and a final status; whenever it is read it works out where the clock has got to::

    job = Lifecycle.job(config.clock, not_started=2.0, running=5.0, outcome="Succeeded")
    job.status         # "NotStarted" for 2 s, then "Running" for 5 s, then "Succeeded" for good
    job.retry_after()  # whole seconds until the status can change next; None once it is final

A test with a fake clock moves a job to its end by moving the clock, and two reads at the same
clock value always agree. :meth:`Lifecycle.finish` ends a job early (a delete, a failed download,
a test forcing ``Failed``). Batch transcriptions and web hooks are its first users.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ("FAILED", "NOT_STARTED", "RUNNING", "SUCCEEDED", "Lifecycle", "Phase")

# The status values of batch transcriptions, models, datasets and web hooks (the Status enum).
NOT_STARTED: Final = "NotStarted"
RUNNING: Final = "Running"
SUCCEEDED: Final = "Succeeded"
FAILED: Final = "Failed"


@dataclass(frozen=True)
class Phase:
    """A status and how many seconds an entity stays in it."""

    status: str
    seconds: float

    def __post_init__(self) -> None:
        if not self.status:
            raise ValueError("a phase needs a status")
        if not (math.isfinite(self.seconds) and self.seconds >= 0):
            raise ValueError(f"phase {self.status!r}: seconds must be finite and >= 0, not {self.seconds!r}")


class Lifecycle:
    """Statuses over time, read off ``clock`` (epoch seconds): ``phases`` one after another, then ``final``.

    A phase of 0 seconds is skipped. The lifecycle starts at ``started_at`` (default: the clock's
    value when it is created). Safe to read from any thread.
    """

    def __init__(
        self,
        clock: Callable[[], float],
        phases: Sequence[Phase],
        final: str,
        *,
        started_at: float | None = None,
    ) -> None:
        if not final:
            raise ValueError("a lifecycle needs a final status")
        self._clock = clock
        self._phases = tuple(phases)
        self._final = final
        self._started_at = clock() if started_at is None else started_at
        if not math.isfinite(self._started_at):
            raise ValueError(f"started_at must be finite, not {self._started_at!r}")
        self._lock = threading.Lock()
        # (status, when): an early end from finish(), which wins over the timed phases from then on.
        self._finished: tuple[str, float] | None = None

    @classmethod
    def job(
        cls,
        clock: Callable[[], float],
        *,
        not_started: float = 0.0,
        running: float = 0.0,
        outcome: str = SUCCEEDED,
        started_at: float | None = None,
    ) -> Lifecycle:
        """``NotStarted`` for ``not_started`` seconds, ``Running`` for ``running`` seconds, then ``outcome``."""
        if outcome not in (SUCCEEDED, FAILED):
            raise ValueError(f"outcome must be {SUCCEEDED!r} or {FAILED!r}, not {outcome!r}")
        phases = (Phase(NOT_STARTED, not_started), Phase(RUNNING, running))
        return cls(clock, phases, outcome, started_at=started_at)

    @property
    def started_at(self) -> float:
        """When the first phase began (epoch seconds)."""
        return self._started_at

    def _timeline(self) -> list[tuple[str, float]]:
        """(status, start time) of every non-empty phase, then of the final status."""
        timeline: list[tuple[str, float]] = []
        at = self._started_at
        for phase in self._phases:
            if phase.seconds > 0:
                timeline.append((phase.status, at))
                at += phase.seconds
        timeline.append((self._final, at))
        return timeline

    def _state(self, now: float) -> tuple[str, float, float | None]:
        """(status, since, next change or None) at ``now``."""
        with self._lock:
            finished = self._finished
        timeline = self._timeline()
        if finished is not None and now >= finished[1]:
            return finished[0], finished[1], None
        # The last phase that has begun; before started_at (a clock set back) that is the first one.
        current = 0
        for index, (_, start) in enumerate(timeline):
            if start > now:
                break
            current = index
        status, since = timeline[current]
        following = timeline[current + 1][1] if current + 1 < len(timeline) else None
        if following is not None and finished is not None:
            following = min(following, finished[1])
        return status, since, following

    @property
    def status(self) -> str:
        """The status now."""
        return self._state(self._clock())[0]

    def status_at(self, now: float) -> str:
        """The status at ``now`` (epoch seconds)."""
        return self._state(now)[0]

    def since(self) -> float:
        """When the current status began (epoch seconds): the entity's ``lastActionDateTime``."""
        return self._state(self._clock())[1]

    @property
    def done(self) -> bool:
        """Whether the status is final (it will not change again)."""
        return self._state(self._clock())[2] is None

    def retry_after(self) -> int | None:
        """Whole seconds (at least 1) until the status may change; ``None`` once it is final."""
        now = self._clock()
        following = self._state(now)[2]
        if following is None:
            return None
        return max(1, math.ceil(following - now))

    def finish(self, status: str) -> None:
        """End now with ``status`` (``Failed``, say), whatever the phases say; a final lifecycle is left as it is."""
        if not status:
            raise ValueError("finish() needs a status")
        now = self._clock()
        if self._state(now)[2] is None:
            return
        with self._lock:
            self._finished = (status, now)
