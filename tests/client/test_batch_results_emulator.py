"""A batch job's results, end to end: every input of a job on the emulator comes back once, with its
transcript or with the report's reason, downloaded from content URLs that get no key."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from speech_async import (
    BatchItemError,
    InvalidOptionsError,
    KeyCredential,
    PollInterval,
    RetryPolicy,
    SpeechClient,
    SpeechError,
    TranscriptionFailedError,
    TranscriptionResultFile,
)
from speech_async.emulator import Emulator

from ..support.http import serve_on_loopback
from ..support.samples import HELLO_TRANSCRIPT

QUICK = RetryPolicy(max_attempts=3, backoff_base=0.0, backoff_max=0.0)
POLLS = PollInterval(initial=0.2, factor=1.5, maximum=1.0)
HELLO_TEXT = " ".join(phrase.text for phrase in HELLO_TRANSCRIPT.phrases)


@pytest.fixture
async def audio_base(hello_bytes: bytes) -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    """A server of the tests' own with hello.wav and a text file; it records every request's headers."""
    seen: list[dict[str, str]] = []

    async def wav(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.Response(body=hello_bytes, content_type="audio/wav")

    async def text(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.Response(body=b"this is not audio at all, only text " * 40, content_type="text/plain")

    app = web.Application()
    app.router.add_get("/hello.wav", wav)
    app.router.add_get("/notes.wav", text)
    async with serve_on_loopback(app) as base:
        yield base, seen


@pytest.mark.parametrize("version", ["2025-10-15", "v3.2"])
async def test_every_input_comes_back_once_with_its_transcript_or_its_failure(
    emulator: Emulator, speech_emulator_key: str, audio_base: tuple[str, list[dict[str, str]]], version: str
) -> None:
    base, seen = audio_base
    urls = [f"{base}/hello.wav?sv=2024&sig=abc", f"{base}/missing.wav", f"{base}/notes.wav", f"{base}/hello.wav"]
    async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key), retry=QUICK) as client:
        poller = await client.batch.begin_transcription(
            content_urls=urls, locale="en-US", display_name="results", api_version=version, poll_interval=POLLS
        )
        job = await poller
        outcomes: dict[str, TranscriptionResultFile | SpeechError] = {}
        async with contextlib.aclosing(
            client.batch.iter_results(job, content_urls=urls, concurrency=2, api_version=version)
        ) as results:
            async for item, outcome in results:
                assert item.input not in outcomes, f"{item.input} came back twice"
                outcomes[item.input] = outcome

    assert set(outcomes) == set(urls)
    for url in (urls[0], urls[3]):
        result = outcomes[url]
        assert isinstance(result, TranscriptionResultFile), result
        assert [phrase.display for phrase in result.combined_recognized_phrases] == [HELLO_TEXT]
    for url in (urls[1], urls[2]):
        failure = outcomes[url]
        assert isinstance(failure, BatchItemError), failure
        assert failure.item.failure is not None
        assert failure.item.failure.error_kind, failure.item.failure
    # The audio server saw the emulator's fetches, never the client's key.
    assert seen
    assert all(speech_emulator_key not in value for headers in seen for value in headers.values())


@pytest.mark.parametrize("version", ["2025-10-15", "v3.2"])
async def test_by_the_job_id_alone_every_input_comes_back_once_by_its_source(
    emulator: Emulator, speech_emulator_key: str, audio_base: tuple[str, list[dict[str, str]]], version: str
) -> None:
    base, _ = audio_base
    urls = [f"{base}/notes.wav?sv=2024&sig=abc", f"{base}/hello.wav?sv=2024&sig=def", f"{base}/missing.wav"]
    urls.append(f"{base}/hello.wav")
    async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key), retry=QUICK) as client:
        poller = await client.batch.begin_transcription(
            content_urls=urls, locale="en-US", display_name="by id", api_version=version, poll_interval=POLLS
        )
        job = await poller
        assert job.id is not None
        # The service does not return contentUrls: the id is all a later reader has.
        outcomes: dict[str, TranscriptionResultFile | SpeechError] = {}
        async with contextlib.aclosing(
            client.batch.iter_results(job.id, concurrency=1, api_version=version)
        ) as results:
            async for item, outcome in results:
                assert item.input not in outcomes, f"{item.input} came back twice"
                outcomes[item.input] = outcome
                assert "sig=" not in repr(item)

    assert sorted(outcomes) == sorted(urls)  # no "contenturl_<n>" item, no input reported missing
    for url in (urls[1], urls[3]):
        result = outcomes[url]
        assert isinstance(result, TranscriptionResultFile), result
        assert result.source == url
        assert [phrase.display for phrase in result.combined_recognized_phrases] == [HELLO_TEXT]
    for url in (urls[0], urls[2]):
        failure = outcomes[url]
        assert isinstance(failure, BatchItemError), failure
        assert failure.item.failure is not None
        assert not failure.item.failure.missing
        assert failure.item.failure.error_kind, failure.item.failure
        assert "sig=" not in str(failure)


async def test_results_of_a_job_without_an_id_are_refused_before_the_network(
    client: SpeechClient, emulator: Emulator
) -> None:
    async with contextlib.aclosing(client.batch.iter_results("")) as results:
        with pytest.raises(InvalidOptionsError, match="no id"):
            await anext(results)
    assert emulator.requests == []


async def test_a_job_whose_every_input_fails_raises_with_the_jobs_error(
    emulator: Emulator, speech_emulator_key: str, audio_base: tuple[str, list[dict[str, str]]]
) -> None:
    base, _ = audio_base
    async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key), retry=QUICK) as client:
        poller = await client.batch.begin_transcription(
            content_urls=[f"{base}/missing.wav", f"{base}/notes.wav"],
            locale="en-US",
            display_name="all bad",
            poll_interval=POLLS,
        )
        with pytest.raises(TranscriptionFailedError) as caught:
            await poller
        job = await client.batch.get_transcription(poller.id or "")

    assert caught.value.code == "InvalidUri"
    assert caught.value.message
    assert caught.value.transcription.status == "Failed"
    assert job.status == "Failed"
    assert job.properties.error is not None
    assert job.properties.error.code == caught.value.code
