"""The clock-driven lifecycle of jobs, on a fake clock: statuses change when the clock moves, never by timers."""

from __future__ import annotations

import math

import pytest

from speech_async.emulator._lifecycle import FAILED, NOT_STARTED, RUNNING, SUCCEEDED, Lifecycle, Phase

from ..support.clock import START, FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_a_job_walks_through_its_phases(clock: FakeClock) -> None:
    job = Lifecycle.job(clock, not_started=2.0, running=5.0)
    assert job.started_at == START
    observed = []
    for offset in (0.0, 1.999, 2.0, 6.999, 7.0, 10_000.0):
        clock.now = START + offset
        observed.append((job.status, job.since() - START, job.retry_after(), job.done))
    assert observed == [
        (NOT_STARTED, 0.0, 2, False),
        (NOT_STARTED, 0.0, 1, False),
        (RUNNING, 2.0, 5, False),
        (RUNNING, 2.0, 1, False),
        (SUCCEEDED, 7.0, None, True),
        (SUCCEEDED, 7.0, None, True),
    ]


def test_nothing_happens_without_the_clock(clock: FakeClock) -> None:
    job = Lifecycle.job(clock, not_started=1.0, running=1.0)
    assert [job.status for _ in range(3)] == [NOT_STARTED] * 3
    clock.now += 1.5
    assert job.status == RUNNING


def test_failed_outcome_and_zero_length_phases(clock: FakeClock) -> None:
    job = Lifecycle.job(clock, running=3.0, outcome=FAILED)
    assert (job.status, job.retry_after()) == (RUNNING, 3)
    clock.now += 3
    assert job.status == FAILED
    instant = Lifecycle.job(clock)
    assert (instant.status, instant.done, instant.retry_after()) == (SUCCEEDED, True, None)


def test_status_at_any_time_is_deterministic(clock: FakeClock) -> None:
    job = Lifecycle.job(clock, not_started=10.0, running=10.0, started_at=START + 100)
    assert job.status_at(START) == NOT_STARTED  # before it began (a clock set back): the first status
    assert job.status_at(START + 105) == NOT_STARTED
    assert job.status_at(START + 115) == RUNNING
    assert job.status_at(START + 120) == SUCCEEDED
    assert job.status_at(START + 115) == RUNNING  # reading is free of side effects


def test_finish_ends_a_job_early_and_for_good(clock: FakeClock) -> None:
    job = Lifecycle.job(clock, not_started=5.0, running=5.0)
    clock.now += 6
    job.finish(FAILED)
    assert (job.status, job.since(), job.done, job.retry_after()) == (FAILED, START + 6, True, None)
    clock.now += 100
    assert job.status == FAILED
    done = Lifecycle.job(clock)
    done.finish(FAILED)  # already final: left as it is
    assert done.status == SUCCEEDED


def test_retry_after_rounds_up_to_whole_seconds(clock: FakeClock) -> None:
    job = Lifecycle.job(clock, running=2.5)
    assert job.retry_after() == 3
    clock.now += 2.4
    assert job.retry_after() == 1


def test_any_phases_for_other_entities(clock: FakeClock) -> None:
    # A web hook: NotStarted until its challenge is answered, then Succeeded (its own statuses).
    hook = Lifecycle(clock, (Phase("NotStarted", 0.5),), "Succeeded")
    assert hook.status == "NotStarted"
    clock.now += 0.5
    assert hook.status == "Succeeded"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda c: Phase(RUNNING, -1), "seconds"),
        (lambda c: Phase(RUNNING, math.inf), "seconds"),
        (lambda c: Phase("", 1), "status"),
        (lambda c: Lifecycle(c, (), ""), "final"),
        (lambda c: Lifecycle.job(c, outcome="Done"), "outcome"),
        (lambda c: Lifecycle.job(c, started_at=math.nan), "started_at"),
        (lambda c: Lifecycle.job(c).finish(""), "status"),
    ],
    ids=["negative", "infinite", "no-status", "no-final", "bad-outcome", "nan-start", "empty-finish"],
)
def test_bad_values_are_refused(clock: FakeClock, make: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make(clock)  # type: ignore[operator]
