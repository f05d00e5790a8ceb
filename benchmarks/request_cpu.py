"""Client CPU per request and requests/s of fast transcription, from each source kind, against bare aiohttp.

    python -m benchmarks.request_cpu [--requests 500] [--size-kib 100] [--concurrency 50] [--repetitions 3]
                                     [--quick] [--json PATH]

A minimal loopback server (``benchmarks._server``, a raw asyncio protocol in its own process) reads
each whole multipart body and answers a canned fast-transcription JSON, so its cost does not hide the
client's. Every scenario runs in a fresh client process: it writes nothing, warms up (``--concurrency``
requests at once, so the connection pool is full), then sends ``--requests`` distinct WAVs
(``--size-kib`` each) at ``--concurrency`` through one ``asyncio.gather`` over an ``asyncio.Semaphore``
(the same driver for all). The figure is that process's CPU time (``time.process_time()``: user +
system, all its threads, so worker-thread hops count) per request, and its requests per second. The
order of the scenarios rotates between repetitions; ratios are medians of per-repetition ratios.

Scenarios (every one sends ``{"locales": ["en-US"]}`` as the definition and decodes the answer):

* ``aiohttp-file`` (**the baseline**): ``aiohttp.FormData`` with the file opened by ``open()`` (on the
  loop, as one writes it by hand), the answer decoded by ``msgspec`` into a struct of the same shape;
* ``aiohttp-bytes``: the same with the bytes (read before the timed part);
* ``aiohttp-iter``: the same with an async generator that reads the file in 64 KiB chunks through
  ``asyncio.to_thread`` (aiohttp sends it chunked);
* ``sdk-file``: Microsoft's ``azure-ai-transcription`` async client with the open file;
* ``path``, ``bytes``, ``file``, ``iter``: ``SpeechClient.transcribe()`` given the path, the bytes, the
  open binary file, the same async generator (``spool=False``: a one-shot stream, as bare aiohttp sends
  it; the client refuses to retry it after a failed attempt rather than resend different bytes);
* ``iter-spool``: the async generator with ``spool=True`` (copied to a temporary file first so that it
  can be retried): the price of replayability, shown for information.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import msgspec

from benchmarks._support import (
    BARE_DECODER,
    Load,
    file_chunks,
    median_ratio,
    run_rotated,
    spread,
    start_server,
    stop,
    wav,
    write_results,
)

KEY = "bench-key"
DEFINITION = b'{"locales":["en-US"]}'
TRANSCRIBE = "/speechtotext/transcriptions:transcribe?api-version=2025-10-15"
BASELINE = "aiohttp-file"
SCENARIOS = ("aiohttp-file", "aiohttp-bytes", "aiohttp-iter", "sdk-file", "path", "bytes", "file", "iter", "iter-spool")
OWN_BASELINE = {"bytes": "aiohttp-bytes", "iter": "aiohttp-iter", "iter-spool": "aiohttp-iter"}
GOALS = {"path": 1.10, "file": 1.10}
"""Issue 13's goals: client CPU per request against ``aiohttp-file``."""


async def _child(name: str, url: str, folder: Path, requests: int, concurrency: int) -> dict[str, Any]:
    paths = sorted(str(path) for path in folder.iterdir())[:requests]  # noqa: ASYNC240 - before the timed part
    paths = [paths[i % len(paths)] for i in range(requests)]
    datas = [Path(p).read_bytes() for p in paths] if "bytes" in name else []  # noqa: ASYNC240 - the caller's buffers
    load = Load(name, range(requests), concurrency, ok=lambda phrases: phrases == 1)
    measured = load.measure

    if name.startswith("aiohttp"):
        import aiohttp

        headers = {"Ocp-Apim-Subscription-Key": KEY, "Accept": "application/json"}
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

            async def post(audio: Any, filename: str) -> int:
                form = aiohttp.FormData()
                form.add_field("definition", DEFINITION, content_type="application/json")
                form.add_field("audio", audio, filename=filename, content_type="application/octet-stream")
                async with session.post(url + TRANSCRIBE, data=form, headers=headers) as response:
                    body = await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"{response.status}: {body[:200]!r}")
                return len(BARE_DECODER.decode(body).phrases)

            async def one_aiohttp(index: int) -> int:
                path = paths[index]
                if name == "aiohttp-bytes":
                    return await post(datas[index], "audio.wav")
                if name == "aiohttp-iter":
                    return await post(file_chunks(path), "audio.wav")
                with open(path, "rb") as file:  # noqa: ASYNC230 - what a hand-written script does
                    return await post(file, "audio.wav")

            seconds, cpu = await measured(one_aiohttp)
    elif name == "sdk-file":
        from azure.ai.transcription.aio import TranscriptionClient
        from azure.ai.transcription.models import TranscriptionContent, TranscriptionOptions
        from azure.core.credentials import AzureKeyCredential

        async with TranscriptionClient(endpoint=url, credential=AzureKeyCredential(KEY)) as sdk:

            async def one_sdk(index: int) -> int:
                with open(paths[index], "rb") as file:  # noqa: ASYNC230 - as the SDK's samples do
                    content = TranscriptionContent(definition=TranscriptionOptions(locales=["en-US"]), audio=file)
                    result = await sdk.transcribe(content)
                return len(result.phrases)

            seconds, cpu = await measured(one_sdk)
    else:
        from speech_async import KeyCredential, SpeechClient, TranscriptionOptions

        options = TranscriptionOptions(locales=["en-US"])
        async with SpeechClient(url, KeyCredential(KEY), connection_limit=concurrency) as client:

            async def one_client(index: int) -> int:
                path = paths[index]
                if name == "path":
                    result = await client.transcribe(path, options=options)
                elif name == "bytes":
                    result = await client.transcribe(datas[index], options=options)
                elif name == "file":
                    with open(path, "rb") as file:  # noqa: ASYNC230 - as bare aiohttp's baseline does
                        result = await client.transcribe(file, options=options)
                else:
                    chunks = file_chunks(path)
                    result = await client.transcribe(
                        chunks, options=options, filename="audio.wav", spool=name == "iter-spool"
                    )
                return len(result.phrases)

            seconds, cpu = await measured(one_client)
    return {"name": name, "requests": requests, "seconds": seconds, "cpu": cpu, "failures": load.failures}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--size-kib", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated subset (default: all)")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 20 requests at 5, 1 repetition")
    parser.add_argument("--json", type=Path, help="where to write the figures (default benchmarks/results/)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = asyncio.run(_child(args.child, args.url, Path(args.folder), args.requests, args.concurrency))
        print(msgspec.json.encode(result).decode())
        return 0
    if args.quick:
        args.requests, args.concurrency = 20, 5
        if "--repetitions" not in sys.argv:
            args.repetitions = 1
    scenarios = tuple(s for s in args.scenarios.split(",") if s)
    needed = {BASELINE, *(OWN_BASELINE[s] for s in scenarios if s in OWN_BASELINE)}
    scenarios = tuple(s for s in SCENARIOS if s in scenarios or s in needed)
    server, url = start_server()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-request-cpu-") as tmp:
            folder = Path(tmp)
            for index in range(args.requests):
                # Distinct files: a few bytes of each differ.
                samples = index.to_bytes(4, "little") + bytes(args.size_kib * 1024 - 44 - 4)
                (folder / f"f{index:05d}.wav").write_bytes(wav(samples))
            common = ["--url", url, "--folder", str(folder), "--requests", str(args.requests)]
            common += ["--concurrency", str(args.concurrency)]
            rows = run_rotated("benchmarks.request_cpu", scenarios, args.repetitions, lambda _name: common)
    finally:
        stop(server)
    return report(args, rows)


def report(args: argparse.Namespace, rows: dict[str, list[dict[str, Any]]]) -> int:
    print(
        f"Fast transcription: {args.requests} x {args.size_kib} KiB WAVs at concurrency {args.concurrency}, "
        f"{args.repetitions} repetition(s), fresh processes, order rotated; client CPU (process_time) per request."
    )
    print(f"Baseline: {BASELINE} (bare aiohttp FormData with an open file + msgspec). Ratios: medians per repetition.")
    header = f"{'scenario':<15}{'CPU ms/req':>11}{'req/s':>9}{'CPU x base':>12}{'(min-max)':>14}"
    print(header + f"{'x own base':>12}{'x SDK':>8}{'req/s x base':>14}  goal")
    figures: dict[str, dict[str, Any]] = {}
    failed = False
    for name, runs in rows.items():
        cpu_ms = statistics.median(1000 * r["cpu"] / r["requests"] for r in runs)
        rate = statistics.median(r["requests"] / r["seconds"] for r in runs)
        ratio = median_ratio(rows, name, BASELINE, "cpu")
        low, high = spread(rows, name, BASELINE, "cpu")
        own = OWN_BASELINE.get(name)
        own_ratio = median_ratio(rows, name, own, "cpu") if own in rows else None
        sdk_ratio = median_ratio(rows, name, "sdk-file", "cpu") if "sdk-file" in rows else None
        speed = 1 / median_ratio(rows, name, BASELINE, "seconds")
        failures = sum(r["failures"] for r in runs)
        failed |= failures > 0
        goal = GOALS.get(name)
        verdict = f"<= {goal:.2f}: {'PASS' if ratio <= goal else 'FAIL'}" if goal else ""
        own_text = f"{own_ratio:.3f}" if own_ratio is not None else ""
        sdk_text = f"{sdk_ratio:.3f}" if sdk_ratio is not None else ""
        print(
            f"{name:<15}{cpu_ms:>11.3f}{rate:>9.1f}{ratio:>12.3f}{f'({low:.2f}-{high:.2f})':>14}"
            f"{own_text:>12}{sdk_text:>8}{speed:>14.3f}  {verdict}" + (f"  FAILURES {failures}" if failures else "")
        )
        figures[name] = {
            "cpu_ms_per_request": cpu_ms,
            "requests_per_second": rate,
            "cpu_x_baseline": ratio,
            "cpu_x_baseline_range": [low, high],
            "cpu_x_own_baseline": own_ratio,
            "own_baseline": own,
            "cpu_x_sdk": sdk_ratio,
            "throughput_x_baseline": speed,
            "goal": goal,
            "failures": failures,
        }
    settings = {k: getattr(args, k) for k in ("requests", "size_kib", "concurrency", "repetitions")}
    payload = {"settings": settings, "baseline": BASELINE, "figures": figures, "runs": rows}
    path = write_results("request_cpu", payload, args.json, quick=args.quick)
    print(f"JSON: {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
