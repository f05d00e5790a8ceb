"""The demo's batch section: the samples as one batch job, from content URLs and from a blob container.

The content URLs come from a loopback server of the demo's own, which the emulator fetches as the
service fetches recordings. The container leg runs when Azurite (``make azurite``, needs Node.js) and the
``blob`` extra are installed: the samples are uploaded to an Azurite container and the job reads them
through the container's read+list SAS. Either leg prints one line per input with its result.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import time
import uuid
from collections.abc import AsyncGenerator, Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Final
from urllib.parse import quote

import anyio.to_thread

from speech_async import (
    PollInterval,
    SpeechClient,
    SpeechError,
    Transcription,
    TranscriptionPoller,
    TranscriptionResultFile,
)

__all__ = ("AZURITE_BLOB", "run_batch")

# Where `make azurite` (and `make test`) install Azurite.
AZURITE_BLOB: Final = Path(__file__).resolve().parents[2] / ".azurite" / "node_modules" / ".bin" / "azurite-blob"
# Azurite's published development account.
_DEV_ACCOUNT: Final = "devstoreaccount1"
_DEV_KEY: Final = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
_LISTENS: Final = re.compile(rb"successfully listens on (http://127\.0\.0\.1:\d+)")
_AZURITE_START_SECONDS: Final = 30.0
# One poll a second: the emulator's jobs take half a second, and its Retry-After (1 s) is honoured anyway.
_POLL_SECONDS: Final = 1.0
_POLLS: Final = PollInterval(initial=_POLL_SECONDS, factor=1.0, maximum=_POLL_SECONDS)


async def run_batch(client: SpeechClient, paths: Sequence[Path], *, locale: str, azurite: Path = AZURITE_BLOB) -> int:
    """Both legs on ``paths``; returns 0 when every input of every leg that ran was transcribed."""
    status = await _content_urls_leg(client, paths, locale)
    return max(status, await _container_leg(client, paths, locale, azurite))


async def _content_urls_leg(client: SpeechClient, paths: Sequence[Path], locale: str) -> int:
    from aiohttp import web

    app = web.Application()
    by_index = dict(enumerate(paths))

    async def serve(request: web.Request) -> web.StreamResponse:
        path = by_index.get(int(request.match_info["index"]))
        if path is None:
            raise web.HTTPNotFound()
        return web.FileResponse(path)  # sent off the event loop (sendfile, or reads in the executor)

    app.router.add_get(r"/audio/{index:\d+}/{name}", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        urls = [f"{base}/audio/{index}/{quote(path.name)}" for index, path in by_index.items()]
        print(f"\n== Batch transcription of {len(urls)} file(s) from content URLs (served at {base})")
        poller = await client.batch.begin_transcription(
            content_urls=urls, locale=locale, display_name="speech-async demo: content URLs", poll_interval=_POLLS
        )
        job = await _await_with_progress(poller)
        names = {url: path.name for url, path in zip(urls, paths, strict=True)}
        return await _print_results(client, job, names, content_urls=urls)
    finally:
        await runner.cleanup()


async def _container_leg(client: SpeechClient, paths: Sequence[Path], locale: str, azurite: Path) -> int:
    print("\n== Batch transcription of a blob container (Azurite)")
    if not await anyio.to_thread.run_sync(_has_azurite, azurite):
        print("Skipped: this leg needs Node.js 20+ with npm and Azurite (`make azurite` installs it).")
        return 0
    try:
        from azure.storage.blob.aio import ContainerClient

        from speech_async.blob import container_sas_url, upload_files
    except ImportError:
        print("Skipped: this leg needs the blob extra: pip install 'speech-async[blob]'.")
        return 0
    async with _azurite(azurite) as url:
        account_url = f"{url}/{_DEV_ACCOUNT}"
        name = f"demo-{uuid.uuid4().hex[:12]}"
        connection = (
            f"DefaultEndpointsProtocol=http;AccountName={_DEV_ACCOUNT};AccountKey={_DEV_KEY};"
            f"BlobEndpoint={account_url};"
        )

        def sas(permissions: str, hours: int) -> str:
            return container_sas_url(
                _DEV_ACCOUNT,
                _DEV_KEY,
                name,
                permissions=permissions,
                expires_in=timedelta(hours=hours),
                account_url=account_url,
            )

        async with ContainerClient.from_connection_string(connection, name) as container:
            await container.create_container()
            try:
                report = await upload_files(sas("cw", 1), paths)
                if not report.ok:
                    for failed in report.failed:
                        print(f"  {failed.path.name}: upload FAILED: {type(failed.error).__name__}")
                    return 1
                print(f"Uploaded {len(report.uploaded)} blob(s) to container {name} at {account_url}")
                # Read and list for the whole time the job may wait in the queue.
                poller = await client.batch.begin_transcription(
                    content_container_url=sas("rl", 48),
                    locale=locale,
                    display_name="speech-async demo: container",
                    poll_interval=_POLLS,
                )
                job = await _await_with_progress(poller)
                return await _print_results(client, job, {blob: blob for blob in report.names})
            finally:
                await container.delete_container()


async def _await_with_progress(poller: TranscriptionPoller) -> Transcription:
    """Await ``poller``, printing the job's status after each poll."""
    started = time.perf_counter()
    print(f"Job {poller.id}: {poller.status}")
    while not poller.done():
        await poller.wait(timeout=_POLL_SECONDS)
        print(f"  [{time.perf_counter() - started:4.1f} s] {poller.status}")
    return await poller


async def _print_results(
    client: SpeechClient, job: Transcription, names: Mapping[str, str], *, content_urls: Sequence[str] | None = None
) -> int:
    failures = 0
    seen = 0
    async with contextlib.aclosing(client.batch.iter_results(job, content_urls=content_urls)) as results:
        async for item, outcome in results:
            seen += 1
            name = names.get(item.input, item.input)
            if isinstance(outcome, TranscriptionResultFile):
                combined = outcome.combined_recognized_phrases
                # Batch results name a channel even for mono audio: label them only when there are several.
                texts = [c.display if len(combined) == 1 else f"[channel {c.channel}] {c.display}" for c in combined]
                print(f"  {name} ({outcome.duration.total_seconds():.1f} s): " + " ".join(texts))
            else:
                failures += 1
                print(f"  {name}: FAILED: {_describe(outcome)}")
    print(f"{seen - failures} of {seen} input(s) transcribed.")
    return 1 if failures else 0


def _has_azurite(executable: Path) -> bool:
    return shutil.which("node") is not None and executable.exists()


def _describe(error: SpeechError) -> str:
    return f"{type(error).__name__}: {error}"


@contextlib.asynccontextmanager
async def _azurite(executable: Path) -> AsyncGenerator[str, None]:
    """Run Azurite's blob service on a free loopback port, in memory, until the block ends; yields its URL."""
    process = await asyncio.create_subprocess_exec(
        str(executable),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        "0",
        "--inMemoryPersistence",
        "--disableTelemetry",
        # azure-storage-blob sends an x-ms-version newer than Azurite knows.
        "--skipApiVersionCheck",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        start_new_session=True,  # its own process group: stopping it stops what it started
    )
    drain: asyncio.Task[None] | None = None
    try:
        assert process.stdout is not None
        url = await asyncio.wait_for(_listening_url(process.stdout), _AZURITE_START_SECONDS)
        # Keep reading its output, so that a full pipe never stalls it.
        drain = asyncio.create_task(_discard(process.stdout))
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 10)
        except asyncio.TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
        if drain is not None:
            drain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await drain


async def _listening_url(stream: asyncio.StreamReader) -> str:
    seen = b""
    while line := await stream.readline():
        seen += line
        if found := _LISTENS.search(line):
            return found.group(1).decode()
    raise RuntimeError(f"Azurite exited before listening: {seen.decode(errors='replace')[-500:]}")


async def _discard(stream: asyncio.StreamReader) -> None:
    while await stream.read(65536):
        pass
