"""Peak client memory of batch transcription: a large upload to blob storage, and a job of 1,000 files.

    python -m benchmarks.batch_memory [--size-mib 500] [--files 1000] [--part upload|batch]

Every scenario runs in a fresh subprocess, so each figure is one client process's own resident memory:
the scenario warms up (a small upload, or a one-file job end to end, so imports, sessions and
connections exist), records its resident set size, then runs while a sampler thread tracks the peak.
The figure is the peak growth over that start.

* **upload**: a ``--size-mib`` WAV file (and a ``--small-mib`` one) to an Azurite container (its own
  process, on a temp dir so the file fits), with :func:`speech_async.blob.upload_files` (4 MiB blocks)
  and, as the baseline, azure-storage-blob's ``BlobClient.upload_blob`` of the open file with its
  defaults: a file up to ``max_single_put_size`` (64 MiB) goes as one request read whole into memory,
  a larger one as 4 MiB blocks.
* **batch**: a job of ``--files`` content URLs (a tiny WAV, served by a small aiohttp server in its own
  process) against the emulator (its own process: scripted recognizer, 0.2 s per status), with
  :meth:`client.batch.iter_results` over every result. The baseline downloads the same job's result
  files with plain aiohttp into a list, as one would by hand; the same iteration over 10 files shows
  that the growth does not follow the number of files. Each result has ``PHRASES`` phrases, about
  20 KB of JSON, so holding them all is visible.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from benchmarks._support import PeakSampler, rss_bytes, wav
from benchmarks.upload_memory import write_wav

WORK = Path(__file__).resolve().parent / ".work"
ROOT = Path(__file__).resolve().parent.parent
AZURITE_BLOB = ROOT / ".azurite" / "node_modules" / ".bin" / "azurite-blob"
DEV_ACCOUNT = "devstoreaccount1"
DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
MIB = 1024 * 1024
UPLOAD_SCENARIOS = ("sdk-upload_blob", "speech_async-upload_files")
UPLOAD_BASELINE = "sdk-upload_blob"
BATCH_SCENARIOS = ("aiohttp-list", "iter_results-small", "iter_results")
BATCH_BASELINE = "aiohttp-list"
SMALL_JOB = 10
PHRASES = 40
CONCURRENCY = 4


def tiny_wav() -> bytes:
    return wav(bytes(3200))  # 0.1 s of silence


def sas(account_url: str, container: str, permissions: str) -> str:
    from speech_async.blob import container_sas_url

    return container_sas_url(
        DEV_ACCOUNT,
        DEV_KEY,
        container,
        permissions=permissions,
        expires_in=timedelta(hours=48),
        account_url=account_url,
    )


# --- the scenarios, each in its own process ---------------------------------------------------------


async def upload_scenario(name: str, container_url: str, path: Path) -> dict[str, Any]:
    from azure.storage.blob.aio import ContainerClient

    from speech_async.blob import upload_files

    warm = WORK / "warm-up.wav"
    if name == UPLOAD_BASELINE:
        async with ContainerClient.from_container_url(container_url) as container:
            with warm.open("rb") as file:
                await container.get_blob_client("warm-up.wav").upload_blob(file, overwrite=True)
            start = rss_bytes()
            began = time.perf_counter()
            with PeakSampler() as sampler, path.open("rb") as file:
                await container.get_blob_client(path.name).upload_blob(file, overwrite=True)
    else:
        report = await upload_files(container_url, [warm])
        assert report.ok, report
        start = rss_bytes()
        began = time.perf_counter()
        with PeakSampler() as sampler:
            report = await upload_files(container_url, [path])
        assert report.ok, report.failed
    return {"scenario": name, "peak_growth_mib": (sampler.peak - start) / MIB, "seconds": time.perf_counter() - began}


async def batch_scenario(name: str, url: str, audio_url: str, files: int) -> dict[str, Any]:
    import aiohttp

    from speech_async import KeyCredential, PollInterval, SpeechClient, TranscriptionResultFile

    polls = PollInterval(initial=0.2, factor=1.0, maximum=0.2)
    count = SMALL_JOB if name == "iter_results-small" else files

    async def job(client: SpeechClient, size: int) -> tuple[Any, list[str]]:
        urls = [f"{audio_url}/audio/{index}.wav" for index in range(size)]
        poller = await client.batch.begin_transcription(
            content_urls=urls, locale="en-US", display_name=f"bench {size}", poll_interval=polls
        )
        return await poller, urls

    async def iterate(client: SpeechClient, size: int) -> int:
        transcription, urls = await job(client, size)
        phrases = 0
        results = client.batch.iter_results(transcription, content_urls=urls, concurrency=CONCURRENCY)
        async with contextlib.aclosing(results) as outcomes:
            async for _item, outcome in outcomes:
                if not isinstance(outcome, TranscriptionResultFile):
                    raise RuntimeError(f"an input failed: {outcome!r}")
                phrases += len(outcome.recognized_phrases)
        return phrases

    async def into_a_list(client: SpeechClient, session: aiohttp.ClientSession, size: int) -> int:
        transcription, _urls = await job(client, size)
        links = [
            file.content_url
            async for file in client.batch.list_files(transcription.id)
            if file.kind == "Transcription" and file.content_url
        ]
        limiter = asyncio.Semaphore(CONCURRENCY)

        async def one(link: str) -> Any:
            async with limiter, session.get(link) as response:
                response.raise_for_status()
                return json.loads(await response.read())

        everything = await asyncio.gather(*(one(link) for link in links))
        return sum(len(result["recognizedPhrases"]) for result in everything)

    async with SpeechClient(url, KeyCredential("bench")) as client, aiohttp.ClientSession() as session:
        # The warm-up: one job of one file, the same way.
        await (into_a_list(client, session, 1) if name == BATCH_BASELINE else iterate(client, 1))
        start = rss_bytes()
        began = time.perf_counter()
        with PeakSampler() as sampler:
            phrases = await (into_a_list(client, session, count) if name == BATCH_BASELINE else iterate(client, count))
    if phrases != count * PHRASES:
        raise RuntimeError(f"{phrases} phrases, not {count * PHRASES}")
    return {
        "scenario": name,
        "files": count,
        "peak_growth_mib": (sampler.peak - start) / MIB,
        "seconds": time.perf_counter() - began,
    }


# --- helper processes -------------------------------------------------------------------------------


async def serve(kind: str) -> None:
    """Serve the emulator (``emulator``) or the content URLs (``audio``) until SIGTERM; prints the URL."""
    from aiohttp import web

    from speech_async.emulator import BatchConfig, Emulator, EmulatorConfig

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    if kind == "emulator":
        batch = BatchConfig(not_started_seconds=0.2, running_seconds=0.2)
        async with Emulator(EmulatorConfig(recognizer="scripted", batch=batch)) as emulator:
            print(emulator.url, flush=True)
            await stop.wait()
        return
    body = tiny_wav()

    async def audio(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="audio/wav")

    app = web.Application()
    app.router.add_get(r"/audio/{index:\d+}.wav", audio)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        print(f"http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
        await stop.wait()
    finally:
        await runner.cleanup()


def start(*command: str, ready: re.Pattern[str]) -> tuple[subprocess.Popen[str], str]:
    """Start a helper process and read its output until ``ready`` matches; returns it and the match."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if found := ready.search(line):
            # Keep reading what it says, so a full pipe never stalls it.
            threading.Thread(target=process.stdout.read, daemon=True).start()
            return process, found.group(1)
    process.kill()
    raise RuntimeError(f"{command[0]} did not start: {''.join(seen)[-500:]}")


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def in_fresh_process(*arguments: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.batch_memory", *arguments], check=False, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"scenario {arguments[1]} failed:\n{done.stdout}{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_upload(sizes_mib: list[int]) -> list[dict[str, Any]]:
    from azure.storage.blob import BlobServiceClient

    if shutil.which("node") is None or not AZURITE_BLOB.exists():
        raise SystemExit("the upload part needs Node.js and Azurite: run `make azurite`")
    warm = WORK / "warm-up.wav"
    warm.write_bytes(wav(bytes(64 * 1024)))
    results = []
    with tempfile.TemporaryDirectory(dir=WORK) as location:
        # On disk, not in memory: Azurite's in-memory extents would have to hold the whole file.
        azurite, url = start(
            str(AZURITE_BLOB),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            "0",
            "--location",
            location,
            "--disableTelemetry",
            "--skipApiVersionCheck",
            ready=re.compile(r"successfully listens on (http://127\.0\.0\.1:\d+)"),
        )
        try:
            account_url = f"{url}/{DEV_ACCOUNT}"
            connection = (
                f"DefaultEndpointsProtocol=http;AccountName={DEV_ACCOUNT};AccountKey={DEV_KEY};"
                f"BlobEndpoint={account_url};"
            )
            with BlobServiceClient.from_connection_string(connection) as service:
                for size_mib in sizes_mib:
                    path = WORK / f"batch-upload-{size_mib}mib.wav"
                    write_wav(path, size_mib)
                    try:
                        for scenario in UPLOAD_SCENARIOS:
                            name = f"bench-{uuid.uuid4().hex[:12]}"
                            container = service.create_container(name)
                            try:
                                result = in_fresh_process(
                                    "--scenario", scenario, "--url", sas(account_url, name, "cw"), "--file", str(path)
                                )
                                size = container.get_blob_client(path.name).get_blob_properties().size
                                if size != path.stat().st_size:
                                    raise RuntimeError(
                                        f"{scenario}: the blob has {size} bytes, not {path.stat().st_size}"
                                    )
                                results.append(result | {"size_mib": size_mib})
                            finally:
                                container.delete_container()
                    finally:
                        path.unlink(missing_ok=True)
        finally:
            stop(azurite)
            warm.unlink(missing_ok=True)
    return results


def run_batch(files: int) -> list[dict[str, Any]]:
    url_line = re.compile(r"^(http://127\.0\.0\.1:\d+)")
    emulator, url = start(sys.executable, "-m", "benchmarks.batch_memory", "--serve", "emulator", ready=url_line)
    try:
        audio, audio_url = start(sys.executable, "-m", "benchmarks.batch_memory", "--serve", "audio", ready=url_line)
        try:
            text = "Phrase number {} of the benchmark's scripted transcript."
            phrases = [{"text": text.format(n), "offset_ms": n * 1000, "duration_ms": 900} for n in range(PHRASES)]
            register(url, hashlib.sha256(tiny_wav()).hexdigest(), phrases, duration_ms=PHRASES * 1000)
            return [
                in_fresh_process("--scenario", scenario, "--url", url, "--audio-url", audio_url, "--files", str(files))
                for scenario in BATCH_SCENARIOS
            ]
        finally:
            stop(audio)
    finally:
        stop(emulator)


def register(url: str, sha256: str, phrases: list[dict[str, Any]], *, duration_ms: int) -> None:
    import urllib.request

    request = urllib.request.Request(
        f"{url}/_emulator/scripted/{sha256}",
        data=json.dumps({"phrases": phrases, "duration_ms": duration_ms}).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        assert response.status in (200, 204)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=500)
    parser.add_argument(
        "--small-mib", type=int, default=60, help="a second file, under the SDK's 64 MiB single-put size (default 60)"
    )
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--part", choices=("upload", "batch"), help="run one part only")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--scenario", choices=(*UPLOAD_SCENARIOS, *BATCH_SCENARIOS), help=argparse.SUPPRESS)
    parser.add_argument("--serve", choices=("emulator", "audio"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--audio-url", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.serve:
        asyncio.run(serve(args.serve))
        return 0
    if args.scenario in UPLOAD_SCENARIOS:
        print(json.dumps(asyncio.run(upload_scenario(args.scenario, args.url, args.file))))
        return 0
    if args.scenario:
        print(json.dumps(asyncio.run(batch_scenario(args.scenario, args.url, args.audio_url, args.files))))
        return 0

    WORK.mkdir(exist_ok=True)
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    figures: dict[str, Any] = {"date": when}
    if args.part in (None, "upload"):
        results = run_upload([args.size_mib, args.small_mib])
        figures["upload"] = results
        print(f"Upload of a WAV to Azurite: client peak RSS growth (baseline: {UPLOAD_BASELINE} of the same file)")
        print(f"{'scenario':<28}{'file MiB':>9}{'growth MiB':>12}{'x baseline':>12}{'x file size':>13}{'seconds':>9}")
        for r in results:
            growth = r["peak_growth_mib"]
            baseline = next(
                b["peak_growth_mib"]
                for b in results
                if b["scenario"] == UPLOAD_BASELINE and b["size_mib"] == r["size_mib"]
            )
            print(
                f"{r['scenario']:<28}{r['size_mib']:>9}{growth:>12.1f}{growth / baseline:>12.3f}"
                f"{growth / r['size_mib']:>13.4f}{r['seconds']:>9.2f}"
            )
    if args.part in (None, "batch"):
        results = run_batch(args.files)
        figures["batch"] = results
        baseline = next(r for r in results if r["scenario"] == BATCH_BASELINE)["peak_growth_mib"]
        print(
            f"Batch job end to end, {PHRASES} phrases per result: client peak RSS growth (baseline: {BATCH_BASELINE})"
        )
        print(f"{'scenario':<28}{'files':>7}{'growth MiB':>12}{'x baseline':>12}{'KiB per file':>14}{'seconds':>9}")
        for r in results:
            growth = r["peak_growth_mib"]
            print(
                f"{r['scenario']:<28}{r['files']:>7}{growth:>12.1f}{growth / baseline:>12.3f}"
                f"{growth * 1024 / r['files']:>14.1f}{r['seconds']:>9.2f}"
            )
    if args.json:
        print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
