"""Client CPU per request of short-audio ``recognize()``, from a path and from bytes, against bare aiohttp.

    python -m benchmarks.short_audio_cpu [--requests 1000] [--seconds 10] [--concurrency 100,1000]
                                         [--repetitions 3] [--quick] [--json PATH]

The minimal loopback server (``benchmarks._server``, its own process) answers ``Expect: 100-continue``,
reads each whole chunked (or sized) body and answers a canned simple-format JSON. Every scenario runs
in a fresh client process: it warms up (one request per connection of the pool), then sends
``--requests`` recognitions of a ``--seconds`` s WAV (16 kHz mono 16-bit, 320 KB for 10 s) at each
``--concurrency`` through one ``asyncio.gather`` over an ``asyncio.Semaphore``. The figure is the
process's CPU time (``time.process_time()``, all threads) per request, and requests per second. The
order rotates between repetitions; ratios are medians of per-repetition ratios.

Scenarios, at each concurrency:

* ``aiohttp-path`` (the baseline of ``path``): a bare aiohttp POST whose body is an async generator
  reading the file in 64 KiB chunks through ``asyncio.to_thread`` (sent chunked), with
  ``Expect: 100-continue`` as the API documents, the answer decoded by msgspec;
* ``aiohttp-bytes`` (the baseline of ``bytes``): a bare POST of the same bytes (``Content-Length``);
* ``path``, ``bytes``: ``SpeechClient.recognize(..., language="en-US")`` with its defaults (a path goes
  chunked with ``Expect: 100-continue``; bytes in memory go with a ``Content-Length``);
* ``aiohttp-bytes-chunked`` (the baseline of ``bytes-chunked``): bare aiohttp sending the bytes chunked
  with ``Expect: 100-continue`` (64 KiB memoryview slices from an async generator);
* ``bytes-chunked``: ``recognize(bytes, chunked=True)``, the bytes streamed the documented way. Its ratio
  to ``aiohttp-bytes`` (printed too) is the price of that protocol choice, the one to its own baseline
  the client's.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec

from benchmarks._support import (
    BareSimpleResult,
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
RECOGNIZE = "/speech/recognition/conversation/cognitiveservices/v1?language=en-US&format=simple"
WAV_TYPE = "audio/wav; codecs=audio/pcm; samplerate=16000"
KINDS = ("aiohttp-path", "aiohttp-bytes", "aiohttp-bytes-chunked", "path", "bytes", "bytes-chunked")
BASELINES = {"path": "aiohttp-path", "bytes": "aiohttp-bytes", "bytes-chunked": "aiohttp-bytes-chunked"}
GOAL = 1.15
DECODER = msgspec.json.Decoder(BareSimpleResult)
DISTINCT = 100
"""Distinct WAV files, cycled over the requests."""


async def slices(data: bytes) -> AsyncIterator[memoryview]:
    """``data`` in 64 KiB memoryview slices (what ``recognize()`` sends from bytes)."""
    view = memoryview(data)
    for start in range(0, len(view), 64 * 1024):
        yield view[start : start + 64 * 1024]


async def _child(kind: str, url: str, folder: Path, requests: int, concurrency: int) -> dict[str, Any]:
    files = sorted(str(path) for path in folder.iterdir())  # noqa: ASYNC240 - before the timed part
    paths = [files[i % len(files)] for i in range(requests)]
    buffers = {p: Path(p).read_bytes() for p in files} if "bytes" in kind else {}  # noqa: ASYNC240
    load = Load(kind, paths, concurrency)
    measured = load.measure

    if kind.startswith("aiohttp"):
        import aiohttp

        headers = {"Ocp-Apim-Subscription-Key": KEY, "Accept": "application/json", "Content-Type": WAV_TYPE}
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def one_aiohttp(path: str) -> bool:
                if kind == "aiohttp-bytes":
                    request = session.post(url + RECOGNIZE, data=buffers[path], headers=headers)
                elif kind == "aiohttp-bytes-chunked":
                    body = slices(buffers[path])
                    request = session.post(url + RECOGNIZE, data=body, headers=headers, expect100=True)
                else:
                    request = session.post(url + RECOGNIZE, data=file_chunks(path), headers=headers, expect100=True)
                async with request as response:
                    body = await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"{response.status}: {body[:200]!r}")
                return DECODER.decode(body).recognition_status == "Success"

            seconds, cpu = await measured(one_aiohttp)
    else:
        from speech_async import KeyCredential, SpeechClient

        async with SpeechClient(url, KeyCredential(KEY), connection_limit=concurrency) as client:

            async def one_client(path: str) -> bool:
                if kind == "path":
                    result = await client.recognize(path, language="en-US")
                else:
                    result = await client.recognize(buffers[path], language="en-US", chunked=kind == "bytes-chunked")
                return result.succeeded

            seconds, cpu = await measured(one_client)
    return {"name": kind, "requests": requests, "seconds": seconds, "cpu": cpu, "failures": load.failures}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0, help="the length of each WAV")
    parser.add_argument("--concurrency", default="100,1000", help="comma-separated concurrencies")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 20 requests at 10, 1 repetition")
    parser.add_argument("--json", type=Path, help="where to write the figures (default benchmarks/results/)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, _, concurrency = args.child.partition("@")
        result = asyncio.run(_child(kind, args.url, Path(args.folder), args.requests, int(concurrency)))
        print(msgspec.json.encode(result).decode())
        return 0
    if args.quick:
        args.requests, args.concurrency, args.seconds = 20, "10", 2.0
        if "--repetitions" not in sys.argv:
            args.repetitions = 1
    concurrencies = [int(c) for c in args.concurrency.split(",") if c]
    scenarios = tuple(f"{kind}@{c}" for c in concurrencies for kind in KINDS)
    server, url = start_server()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-short-audio-") as tmp:
            folder = Path(tmp)
            samples = int(args.seconds * 16000) * 2
            for index in range(min(DISTINCT, args.requests)):
                (folder / f"f{index:04d}.wav").write_bytes(wav(index.to_bytes(4, "little") + bytes(samples - 4)))
            common = ["--url", url, "--folder", str(folder), "--requests", str(args.requests)]
            rows = run_rotated("benchmarks.short_audio_cpu", scenarios, args.repetitions, lambda _name: common)
    finally:
        stop(server)

    print(
        f"Short-audio recognize(): {args.requests} requests of a {args.seconds:g} s WAV at concurrency "
        f"{args.concurrency}, {args.repetitions} repetition(s), fresh processes, order rotated."
    )
    print("Client CPU (process_time) per request; ratios: medians of per-repetition ratios to the bare baseline.")
    columns = f"{'CPU ms/req':>11}{'req/s':>9}{'CPU x base':>12}{'(min-max)':>14}{'req/s x base':>14}"
    print(f"{'scenario':<26}{columns}  goal")
    figures: dict[str, dict[str, Any]] = {}
    failed = False
    for name, runs in rows.items():
        kind, _, concurrency = name.partition("@")
        cpu_ms = statistics.median(1000 * r["cpu"] / r["requests"] for r in runs)
        rate = statistics.median(r["requests"] / r["seconds"] for r in runs)
        failures = sum(r["failures"] for r in runs)
        failed |= failures > 0
        entry: dict[str, Any] = {"cpu_ms_per_request": cpu_ms, "requests_per_second": rate, "failures": failures}
        line = f"{name:<26}{cpu_ms:>11.3f}{rate:>9.1f}"
        base = BASELINES.get(kind)
        if base is not None:
            baseline = f"{base}@{concurrency}"
            ratio = median_ratio(rows, name, baseline, "cpu")
            low, high = spread(rows, name, baseline, "cpu")
            speed = 1 / median_ratio(rows, name, baseline, "seconds")
            goal = GOAL
            verdict = f"<= {GOAL:.2f}: {'PASS' if ratio <= GOAL else 'FAIL'}" if goal else "(for information)"
            line += f"{ratio:>12.3f}{f'({low:.2f}-{high:.2f})':>14}{speed:>14.3f}  {verdict}"
            entry |= {
                "baseline": baseline,
                "cpu_x_baseline": ratio,
                "cpu_x_baseline_range": [low, high],
                "throughput_x_baseline": speed,
                "goal": goal,
            }
        else:
            line += f"{'1.000':>12}{'':>14}{'1.000':>14}  (baseline)"
        print(line + (f"  FAILURES {failures}" if failures else ""))
        figures[name] = entry
    for concurrency in concurrencies:
        chunked, sized = f"bytes-chunked@{concurrency}", f"aiohttp-bytes@{concurrency}"
        price = median_ratio(rows, chunked, sized, "cpu")
        figures[chunked]["cpu_x_content_length_post"] = price
        print(f"{chunked} against {sized} (the price of chunked + 100-continue): {price:.3f}")
    settings = {"requests": args.requests, "seconds": args.seconds, "concurrency": concurrencies}
    settings["repetitions"] = args.repetitions
    path = write_results(
        "short_audio_cpu", {"settings": settings, "figures": figures, "runs": rows}, args.json, quick=args.quick
    )
    print(f"JSON: {path}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
