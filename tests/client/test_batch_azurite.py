"""Batch transcription end to end with real blob storage: local files uploaded to an Azurite container,
a job on the container's SAS URL, the poller, every blob mapped to its result or its failure, and a
web-hook receiver told of the job's completion once, signed."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import timedelta
from pathlib import Path

import anyio.to_thread
from azure.storage.blob.aio import ContainerClient

from speech_async import (
    BatchItemError,
    KeyCredential,
    PollInterval,
    RetryPolicy,
    SpeechClient,
    SpeechError,
    TranscriptionResultFile,
)
from speech_async.blob import container_sas_url, upload_files
from speech_async.emulator import Emulator
from speech_async.webhooks import SIGNATURE_HEADER, WebHookEventKind

from ..support.azurite import Azurite
from ..support.samples import HELLO_TRANSCRIPT
from ..support.webhooks import receiving, until_succeeded

QUICK = RetryPolicy(max_attempts=3, backoff_base=0.0, backoff_max=0.0)
POLLS = PollInterval(initial=0.2, factor=1.5, maximum=1.0)
HELLO_TEXT = " ".join(phrase.text for phrase in HELLO_TRANSCRIPT.phrases)
SECRET = "azurite-e2e-hook-secret"


def _write_inputs(directory: Path, hello: bytes) -> list[Path]:
    inputs = {"hello.wav": hello, "again.wav": hello, "notes.wav": b"no audio here, only text " * 40}
    for name, data in inputs.items():
        (directory / name).write_bytes(data)
    return [directory / name for name in inputs]


async def test_local_files_to_a_container_to_results_mapped_to_their_blobs(
    emulator: Emulator, speech_emulator_key: str, azurite: Azurite, tmp_path: Path, hello_bytes: bytes
) -> None:
    paths = await anyio.to_thread.run_sync(_write_inputs, tmp_path, hello_bytes)
    name = f"batch-{uuid.uuid4().hex[:12]}"
    outcomes: dict[str, TranscriptionResultFile | SpeechError] = {}
    async with ContainerClient.from_connection_string(azurite.connection_string, name) as container:
        await container.create_container()
        try:
            upload = container_sas_url(
                azurite.account_name,
                azurite.account_key,
                name,
                permissions="cw",
                expires_in=timedelta(hours=1),
                account_url=azurite.account_url,
            )
            uploaded = await upload_files(upload, paths)
            assert not uploaded.failed
            read = container_sas_url(
                azurite.account_name,
                azurite.account_key,
                name,
                permissions="rl",
                expires_in=timedelta(hours=48),
                account_url=azurite.account_url,
            )
            async with (
                receiving(SECRET) as (hook_url, events, headers, arrived),
                SpeechClient(emulator.url, KeyCredential(speech_emulator_key), retry=QUICK) as client,
            ):
                hook = await client.webhooks.create_webhook(
                    web_url=hook_url,
                    events={WebHookEventKind.TRANSCRIPTION_COMPLETION},
                    display_name="azurite e2e",
                    secret=SECRET,
                )
                await asyncio.wait_for(until_succeeded(client, hook), 15)
                poller = await client.batch.begin_transcription(
                    content_container_url=read, locale="en-US", display_name="from azurite", poll_interval=POLLS
                )
                job = await poller
                await asyncio.wait_for(arrived.wait(), 15)
                await asyncio.sleep(0.5)  # time for a duplicate to show up, if one were sent
                assert [(event.kind, event.self_url) for event in events] == [
                    (WebHookEventKind.TRANSCRIPTION_COMPLETION, job.self_url)
                ]
                completions = [
                    h for h in headers if h.get("X-MicrosoftSpeechServices-Event") == "TranscriptionCompletion"
                ]
                assert len(completions) == 1
                assert completions[0].get(SIGNATURE_HEADER)
                async with contextlib.aclosing(client.batch.iter_results(job)) as results:
                    async for item, outcome in results:
                        assert item.input not in outcomes, f"{item.input} came back twice"
                        outcomes[item.input.rsplit("/", 1)[-1]] = outcome
        finally:
            await container.delete_container()

    assert job.status == "Succeeded"  # one input failing does not fail the job
    assert set(outcomes) == {"hello.wav", "again.wav", "notes.wav"}
    for blob in ("hello.wav", "again.wav"):
        result = outcomes[blob]
        assert isinstance(result, TranscriptionResultFile), result
        assert [phrase.display for phrase in result.combined_recognized_phrases] == [HELLO_TEXT]
    failure = outcomes["notes.wav"]
    assert isinstance(failure, BatchItemError), failure
    assert failure.item.failure is not None
    assert failure.item.failure.error_kind
