"""Web hooks end to end: a hook registered with the client on the emulator, a :class:`WebHookReceiver` on
loopback that answers the emulator's challenge, and one signed ``TranscriptionCompletion`` callback when a
batch job submitted with the client finishes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from speech_async import (
    KeyCredential,
    NotFoundError,
    PollInterval,
    RetryPolicy,
    SpeechClient,
    WebHook,
    WebHookStatus,
)
from speech_async.emulator import Emulator
from speech_async.webhooks import SIGNATURE_HEADER, WebHookEvent, WebHookEventKind, WebHookReceiver

from ..support.http import serve_on_loopback
from ..support.webhooks import receiving, until_succeeded

SECRET = "e2e-hook-signing-secret"
QUICK = RetryPolicy(max_attempts=3, backoff_base=0.0, backoff_max=0.0)
POLLS = PollInterval(initial=0.05, factor=1.5, maximum=0.2)
WAIT = 15.0


@pytest.fixture
async def audio_base(hello_bytes: bytes) -> AsyncIterator[str]:
    """A server of the tests' own with hello.wav, for the job's content URL."""

    async def wav(request: web.Request) -> web.Response:
        return web.Response(body=hello_bytes, content_type="audio/wav")

    app = web.Application()
    app.router.add_get("/hello.wav", wav)
    async with serve_on_loopback(app) as base:
        yield base


async def test_a_finished_batch_job_reaches_the_receiver_once_signed(
    emulator: Emulator, speech_emulator_key: str, audio_base: str
) -> None:
    async with (
        receiving(SECRET) as (url, events, headers, arrived),
        SpeechClient(emulator.url, KeyCredential(speech_emulator_key), retry=QUICK) as client,
    ):
        hook = await client.webhooks.create_webhook(
            web_url=url,
            events={WebHookEventKind.TRANSCRIPTION_COMPLETION},
            display_name="e2e",
            secret=SECRET,
        )
        assert hook.status == WebHookStatus.NOT_STARTED.value or hook.status == WebHookStatus.SUCCEEDED.value
        assert hook.events.kinds == {WebHookEventKind.TRANSCRIPTION_COMPLETION}
        hook = await asyncio.wait_for(until_succeeded(client, hook), WAIT)
        # The receiver answered the challenge, which the handler never sees.
        assert events == []
        assert any(request.get("X-MicrosoftSpeechServices-Event") == "Challenge" for request in headers)

        poller = await client.batch.begin_transcription(
            content_urls=[f"{audio_base}/hello.wav"], locale="en-US", display_name="hooked", poll_interval=POLLS
        )
        job = await poller
        await asyncio.wait_for(arrived.wait(), WAIT)
        await asyncio.sleep(0.5)  # time for a duplicate to show up, if one were sent

        assert len(events) == 1, events
        event = events[0]
        assert event.kind is WebHookEventKind.TRANSCRIPTION_COMPLETION
        assert event.self_url == job.self_url
        assert event.invocation_id
        completion = [h for h in headers if h.get("X-MicrosoftSpeechServices-Event") == "TranscriptionCompletion"]
        assert len(completion) == 1
        assert completion[0].get(SIGNATURE_HEADER)  # and the receiver checked it: it holds the secret

        # A ping reaches the receiver too, signed, with the hook as its body.
        arrived.clear()
        await client.webhooks.ping_webhook(hook)
        await asyncio.wait_for(arrived.wait(), WAIT)
        assert events[1].kind is WebHookEventKind.PING

        await client.webhooks.delete_webhook(hook)
        assert [h.id async for h in client.webhooks.list_webhooks()] == []


@pytest.mark.parametrize("version", ["2025-10-15", "2024-11-15", "v3.2", "v3.1"])
async def test_every_operation_against_the_emulator(
    emulator: Emulator, speech_emulator_key: str, audio_base: str, version: str
) -> None:
    async with (
        receiving(SECRET) as (url, events, _, arrived),
        SpeechClient(
            emulator.url, KeyCredential(speech_emulator_key), retry=QUICK, management_api_version=version
        ) as client,
    ):
        hook = await client.webhooks.create_webhook(
            web_url=url,
            events={WebHookEventKind.TRANSCRIPTION_COMPLETION, WebHookEventKind.TRANSCRIPTION_CREATION},
            display_name="ops",
            description="every operation",
            secret=SECRET,
            custom_properties={"team": "audio"},
        )
        assert hook.properties.api_version == version
        assert hook.custom_properties is not None
        assert hook.custom_properties["team"] == "audio"
        hook = await asyncio.wait_for(until_succeeded(client, hook), WAIT)
        assert hook.id is not None

        # Nothing to resend yet: no transcription exists.
        assert await client.webhooks.test_webhook(hook) is False

        updated = await client.webhooks.update_webhook(hook, display_name="renamed", description="")
        assert (updated.display_name, updated.description) == ("renamed", "")
        assert updated.status == WebHookStatus.SUCCEEDED.value  # the same webUrl: no new challenge needed
        assert [h.display_name async for h in client.webhooks.list_webhooks()] == ["renamed"]

        await client.batch.begin_transcription(
            content_urls=[f"{audio_base}/hello.wav"], locale="en-US", display_name="made", poll_interval=POLLS
        )
        await asyncio.wait_for(arrived.wait(), WAIT)
        assert events[0].kind is WebHookEventKind.TRANSCRIPTION_CREATION
        assert await client.webhooks.test_webhook(hook.id) is True

        await client.webhooks.delete_webhook(hook.id)
        with pytest.raises(NotFoundError):
            await client.webhooks.get_webhook(hook.id)


async def test_a_failed_hook_is_re_enabled_by_sending_the_same_web_url(
    emulator: Emulator, speech_emulator_key: str
) -> None:
    async def ignore(event: WebHookEvent) -> None:
        return None

    # The receiver behind the URL changes: first one with the wrong secret (the challenge fails), then the right one.
    wrong, right = WebHookReceiver("not-the-hooks-secret", ignore), WebHookReceiver(SECRET, ignore)
    current = [wrong]

    async def route(request: web.Request) -> web.StreamResponse:
        return await current[0](request)

    app = web.Application()
    app.router.add_post("/speech-events", route)
    async with (
        wrong,
        right,
        serve_on_loopback(app) as base,
        SpeechClient(emulator.url, KeyCredential(speech_emulator_key), retry=QUICK) as client,
    ):
        url = f"{base}/speech-events"
        hook = await client.webhooks.create_webhook(
            web_url=url, events={WebHookEventKind.TRANSCRIPTION_COMPLETION}, display_name="flaky", secret=SECRET
        )
        assert hook.id is not None
        hook_id = hook.id

        async def until(status: str) -> WebHook:
            while True:
                seen = await client.webhooks.get_webhook(hook_id)
                if seen.status == status:
                    return seen
                await asyncio.sleep(0.05)

        failed = await asyncio.wait_for(until(WebHookStatus.FAILED.value), WAIT)
        assert failed.error is not None
        current[0] = right
        await client.webhooks.update_webhook(hook_id, web_url=url)
        await asyncio.wait_for(until(WebHookStatus.SUCCEEDED.value), WAIT)
        await client.webhooks.delete_webhook(hook_id)
