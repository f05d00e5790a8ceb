"""``TranscriptionPoller`` (an ``AsyncPoller``): awaitable, polite (``Retry-After``, backoff), with a deadline,
cancel, and a continuation token another client resumes from. Against the tests' own batch service
(:class:`~tests.client.test_batch.FakeBatch`) on loopback, with small intervals."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

import anyio
import pytest

from speech_async import (
    KeyCredential,
    PollInterval,
    SpeechClient,
    Transcription,
    TranscriptionFailedError,
    TranscriptionTimeoutError,
    UntrustedLinkError,
)

from ..support.http import serve_on_loopback
from .test_batch import AUDIO, FAST_POLLS, KEY, QUICK, FakeBatch

Start = Callable[..., Awaitable[tuple[SpeechClient, FakeBatch]]]


@pytest.fixture
async def fake() -> AsyncIterator[Start]:
    async with contextlib.AsyncExitStack() as stack:

        async def start(service: FakeBatch | None = None, **options: Any) -> tuple[SpeechClient, FakeBatch]:
            service = service or FakeBatch()
            service.base = await stack.enter_async_context(serve_on_loopback(service.app()))
            options.setdefault("retry", QUICK)
            client = await stack.enter_async_context(SpeechClient(service.base, KeyCredential(KEY), **options))
            return client, service

        yield start


async def submit(client: SpeechClient, **options: Any) -> Any:
    options.setdefault("poll_interval", FAST_POLLS)
    return await client.batch.begin_transcription(content_urls=[AUDIO], locale="en-US", display_name="p", **options)


def polls(service: FakeBatch) -> int:
    return len([seen for seen in service.of("GET") if "/transcriptions/" in seen.path])


async def test_awaiting_the_poller_gives_the_succeeded_job(fake: Start) -> None:
    client, service = await fake()
    poller = await submit(client)

    job = await poller

    assert isinstance(job, Transcription)
    assert job.status == "Succeeded"
    assert poller.done()
    assert poller.status == "Succeeded"
    assert polls(service) == 2  # NotStarted (the submit) -> Running -> Succeeded
    assert await poller.result() is job  # a finished poller answers without polling again
    assert polls(service) == 2


async def test_a_failed_job_raises_with_its_code_and_message(fake: Start) -> None:
    client, _ = await fake(
        FakeBatch(
            lifecycle=("NotStarted", "Failed"),
            error={"code": "InvalidUri", "message": "The recordings URI is invalid."},
        )
    )
    poller = await submit(client)

    with pytest.raises(TranscriptionFailedError) as caught:
        await poller

    assert caught.value.code == "InvalidUri"
    assert caught.value.message == "The recordings URI is invalid."
    assert caught.value.transcription.status == "Failed"
    assert "InvalidUri" in str(caught.value)


async def test_retry_after_is_a_floor_under_the_interval(fake: Start) -> None:
    client, _ = await fake(FakeBatch(lifecycle=("NotStarted", "Succeeded"), retry_after="1"))
    poller = await submit(client)

    started = time.monotonic()
    await poller
    assert time.monotonic() - started >= 0.95


async def test_retry_after_can_be_ignored(fake: Start) -> None:
    client, _ = await fake(FakeBatch(lifecycle=("NotStarted", "Succeeded"), retry_after="30"))
    poller = await submit(client, poll_interval=PollInterval(initial=0.01, maximum=0.01, honor_retry_after=False))

    with anyio.fail_after(5):
        await poller


async def test_the_deadline_raises_and_the_job_goes_on(fake: Start) -> None:
    client, service = await fake(FakeBatch(lifecycle=("NotStarted", "Running")))
    poller = await submit(client, deadline=0.2)
    assert poller.deadline is not None
    assert poller.deadline > datetime.now(timezone.utc)

    with pytest.raises(TranscriptionTimeoutError) as caught:
        await poller

    assert isinstance(caught.value, TimeoutError)
    assert caught.value.transcription.status == "Running"
    assert len(service.jobs) == 1
    assert service.of("DELETE") == []


async def test_wait_with_a_timeout_returns_without_raising(fake: Start) -> None:
    client, service = await fake(FakeBatch(lifecycle=("NotStarted", "Running")))
    poller = await submit(client)

    await poller.wait(timeout=0.1)

    assert not poller.done()
    assert poller.status == "Running"
    assert polls(service) >= 1


async def test_cancel_deletes_the_job(fake: Start) -> None:
    client, service = await fake(FakeBatch(lifecycle=("NotStarted", "Running")))
    poller = await submit(client)

    await poller.cancel()

    assert service.jobs == {}
    assert [seen.path for seen in service.of("DELETE")] == [f"/speechtotext/transcriptions/{poller.id}"]
    assert poller.done()
    with pytest.raises(RuntimeError, match="cancelled"):
        await poller


@pytest.mark.parametrize("version", ["2025-10-15", "v3.2"])
async def test_another_client_resumes_from_the_continuation_token(fake: Start, version: str) -> None:
    first, service = await fake(management_api_version=version)
    poller = await submit(first)
    token = poller.continuation_token
    assert isinstance(token, str)
    assert KEY not in token

    async with SpeechClient(service.base, KeyCredential(KEY), retry=QUICK) as second:  # default version
        resumed = await second.batch.begin_transcription(continuation_token=token, poll_interval=FAST_POLLS)
        job = await resumed

    assert resumed.id == poller.id
    assert job.status == "Succeeded"
    expected = (
        f"/speechtotext/v3.2/transcriptions/{poller.id}"
        if version == "v3.2"
        else f"/speechtotext/transcriptions/{poller.id}"
    )
    assert {seen.path for seen in service.of("GET")} == {expected}
    assert len(service.of("POST")) == 1


async def test_a_token_for_another_host_is_refused_before_sending(fake: Start) -> None:
    first, _ = await fake()
    poller = await submit(first)
    second, other = await fake()

    with pytest.raises(UntrustedLinkError):
        await second.batch.begin_transcription(continuation_token=poller.continuation_token)

    assert other.seen == []


async def test_two_waiters_share_the_polls(fake: Start) -> None:
    client, service = await fake()
    poller = await submit(client)

    one, two = await asyncio.gather(poller.result(), poller.result())

    assert one is two
    assert polls(service) == 2


async def test_cancelling_the_waiting_task_stops_polling(fake: Start) -> None:
    client, service = await fake(FakeBatch(lifecycle=("NotStarted", "Running")))
    poller = await submit(client)
    task = asyncio.ensure_future(poller.result())
    await asyncio.sleep(0.1)

    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    # A poll already on the wire when the task was cancelled may reach the
    # server a moment later; let it land, then no further poll may start.
    await asyncio.sleep(0.05)
    made = polls(service)
    await asyncio.sleep(0.2)

    assert made > 0
    assert polls(service) == made


def test_the_default_interval_starts_at_tens_of_seconds_and_backs_off_to_minutes() -> None:
    interval = PollInterval()
    delays = [interval.delay(n) for n in range(10)]
    assert delays[0] == 30.0
    assert delays == sorted(delays)
    assert delays[-1] == 300.0


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"initial": -1.0}, ValueError),
        ({"factor": 0.5}, ValueError),
        ({"initial": 10.0, "maximum": 5.0}, ValueError),
        ({"initial": float("nan")}, ValueError),
        ({"initial": "30"}, TypeError),
    ],
    ids=["negative", "shrinking", "maximum-below-initial", "nan", "text"],
)
def test_bad_intervals_are_refused(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        PollInterval(**kwargs)
