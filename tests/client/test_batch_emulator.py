"""Batch transcription end to end: the public client against the emulator's batch routes (part B), on
every version: submit, await the poller, files, lists across pages, update, delete, cancel, resume from
a continuation token, and a lost submit answer recovered by its tag.

The audio comes from a loopback server of the tests' own, which the emulator fetches as the service
fetches content URLs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web

from speech_async import (
    KeyCredential,
    NotFoundError,
    PollInterval,
    RetryPolicy,
    SpeechClient,
    Transcription,
)
from speech_async._resources.batch.transcriptions import SUBMIT_TAG
from speech_async.emulator import Emulator, Fault

from ..support.http import serve_on_loopback

QUICK = RetryPolicy(max_attempts=3, backoff_base=0.0, backoff_max=0.0)
# The emulator's jobs take about 2 s; its Retry-After (1 s) is honoured.
POLLS = PollInterval(initial=0.2, factor=1.5, maximum=1.0)
VERSIONS = ["2025-10-15", "2024-11-15", "v3.2", "v3.1"]


@pytest.fixture
async def audio_url(hello_bytes: bytes) -> AsyncIterator[str]:
    async def wav(request: web.Request) -> web.Response:
        return web.Response(body=hello_bytes, content_type="audio/wav")

    app = web.Application()
    app.router.add_get("/hello.wav", wav)
    async with serve_on_loopback(app) as base:
        yield f"{base}/hello.wav"


@pytest.fixture
async def batch_client(emulator: Emulator, speech_emulator_key: str) -> AsyncIterator[SpeechClient]:
    async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key), retry=QUICK) as client:
        yield client


def submits(emulator: Emulator) -> list[Any]:
    return [r for r in emulator.requests if r.method == "POST" and "transcriptions" in r.path]


@pytest.mark.parametrize("version", VERSIONS)
async def test_submit_await_and_read_the_files_on_every_version(
    batch_client: SpeechClient, emulator: Emulator, audio_url: str, version: str
) -> None:
    poller = await batch_client.batch.begin_transcription(
        content_urls=[audio_url],
        locale="en-US",
        display_name=f"e2e {version}",
        word_level_timestamps=True,
        api_version=version,
        poll_interval=POLLS,
        deadline=60,
    )
    assert poller.status in ("NotStarted", "Running")

    job = await poller

    assert isinstance(job, Transcription)
    assert job.status == "Succeeded"
    assert job.locale == "en-US"
    assert job.properties.word_level_timestamps_enabled is True
    assert job.id is not None
    if not version.startswith("v3."):
        assert job.properties.time_to_live == timedelta(hours=48)
    (post,) = submits(emulator)
    expected = (
        "/speechtotext/transcriptions:submit"
        if not version.startswith("v3.")
        else f"/speechtotext/{version}/transcriptions"
    )
    assert post.path == expected

    files = [f async for f in batch_client.batch.list_files(job.id, api_version=version)]
    kinds = sorted(f.kind or "" for f in files)
    assert kinds == ["Transcription", "TranscriptionReport"]
    result = next(f for f in files if f.kind == "Transcription")
    assert result.name == "contenturl_0.json"
    assert result.content_url is not None
    assert result.id is not None
    again = await batch_client.batch.get_file(job.id, result.id, api_version=version)
    assert again.name == result.name


async def test_lists_follow_the_emulators_next_links_and_filters(batch_client: SpeechClient, audio_url: str) -> None:
    for n in range(7):
        await batch_client.batch.begin_transcription(content_urls=[audio_url], locale="en-US", display_name=f"list {n}")

    pages = [page async for page in batch_client.batch.list_transcriptions(top=3).by_page()]
    names = [job.display_name or "" for page in pages for job in page.items]

    assert len(pages) == 3
    assert sorted(names) == sorted(f"list {n}" for n in range(7))
    filtered = [job async for job in batch_client.batch.list_transcriptions(filter="displayName eq 'list 3'")]
    assert [job.display_name for job in filtered] == ["list 3"]


async def test_update_delete_and_cancel(batch_client: SpeechClient, audio_url: str) -> None:
    poller = await batch_client.batch.begin_transcription(
        content_urls=[audio_url], locale="en-US", display_name="u", poll_interval=POLLS
    )
    assert poller.id is not None

    updated = await batch_client.batch.update_transcription(poller.id, description="now described")
    assert updated.description == "now described"
    fetched = await batch_client.batch.get_transcription(poller.id)
    assert fetched.description == "now described"

    await poller.cancel()
    with pytest.raises(NotFoundError):
        await batch_client.batch.get_transcription(poller.id)
    await batch_client.batch.delete_transcription(poller.id)  # gone already: still 204


async def test_a_second_client_resumes_from_the_token(
    batch_client: SpeechClient, emulator: Emulator, speech_emulator_key: str, audio_url: str
) -> None:
    poller = await batch_client.batch.begin_transcription(
        content_urls=[audio_url], locale="en-US", display_name="resume", api_version="v3.2"
    )
    async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key)) as other:
        resumed = await other.batch.begin_transcription(
            continuation_token=poller.continuation_token, poll_interval=POLLS
        )
        job = await resumed
    assert job.id == poller.id
    assert job.status == "Succeeded"


async def test_a_submit_whose_answer_is_cut_off_is_found_not_resent(
    batch_client: SpeechClient, emulator: Emulator, audio_url: str
) -> None:
    emulator.faults.add(Fault(route="transcriptions_submit", drop_mid_response=True))

    poller = await batch_client.batch.begin_transcription(content_urls=[audio_url], locale="en-US", display_name="cut")

    assert len(submits(emulator)) == 1
    searches = [r for r in emulator.requests if r.method == "GET" and r.path == "/speechtotext/transcriptions"]
    assert [r.query.get("filter") for r in searches] == ["displayName eq 'cut'"]  # the recovery ran
    jobs = [job async for job in batch_client.batch.list_transcriptions()]
    assert len(jobs) == 1
    assert jobs[0].id == poller.id
    assert jobs[0].custom_properties is not None
    assert SUBMIT_TAG in jobs[0].custom_properties
