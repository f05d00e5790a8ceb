"""Bulk transcription: ``transcribe_many`` against a bare ``asyncio.gather`` + semaphore script.

    python -m benchmarks.bulk [--files 1000] [--concurrency 64] [--repetitions 3]

The emulator runs in its own process (scripted recognizer, one transcript registered for the shared
WAV). Each scenario runs in a fresh client process over the same 1,000 small files (0.1 s of audio,
3.2 KB) at the same concurrency, with no rate bound (``requests_per_minute=None``: the emulator has no
quota) and no output folder, so both do the same work: open each file when its request starts, send
it, decode the result. The order of the two scenarios alternates between repetitions; the figure is the
median of the per-repetition ratios. ``transcribe_many`` runs twice: given the folder (walked in a
worker thread) and given the sorted list of its paths (each stat-ed in a worker thread, a batch at a
time). Printed: files per second and client CPU (user + system) per file for each, and the ratios
(transcribe_many / gather).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._support import register, start_emulator, wav

KEY = "bench-key"
SCENARIOS = ("gather", "transcribe_many", "transcribe_many_list")
"""The baseline, ``transcribe_many`` over the folder, and over the list of its paths."""


async def _scenario(name: str, url: str, folder: Path, concurrency: int) -> dict[str, Any]:
    from speech_async import KeyCredential, SpeechClient
    from speech_async.bulk import transcribe_many

    paths = sorted(str(path) for path in folder.iterdir())  # noqa: ASYNC240 - before the timed part
    async with SpeechClient(url, KeyCredential(KEY), connection_limit=concurrency) as client:
        await client.transcribe(paths[0])  # warm-up: the connection pool and the imports
        started = time.perf_counter()
        cpu = time.process_time()
        failures = 0
        if name.startswith("transcribe_many"):
            sources: Any = paths if name == "transcribe_many_list" else folder
            async with transcribe_many(client, sources, concurrency=concurrency, requests_per_minute=None) as run:
                async for item in run:
                    failures += not item.ok
        else:
            semaphore = asyncio.Semaphore(concurrency)

            async def one(path: str) -> None:
                nonlocal failures
                async with semaphore:
                    try:
                        await client.transcribe(path)
                    except Exception:
                        failures += 1

            await asyncio.gather(*(one(path) for path in paths))
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
    return {"name": name, "files": len(paths), "seconds": seconds, "cpu": cpu, "failures": failures}


def _child(args: argparse.Namespace) -> int:
    result = asyncio.run(_scenario(args.child, args.url, Path(args.folder), args.concurrency))
    print(json.dumps(result))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(args)
    audio = wav(bytes(3200))
    emulator, url = start_emulator("--key", KEY)
    try:
        register(url, hashlib.sha256(audio).hexdigest(), "ok", duration_ms=100)
        with tempfile.TemporaryDirectory(prefix="bench-bulk-") as tmp:
            folder = Path(tmp)
            for index in range(args.files):
                (folder / f"f{index:05d}.wav").write_bytes(audio)
            rows: dict[str, list[dict[str, Any]]] = {name: [] for name in SCENARIOS}
            for repetition in range(args.repetitions):
                order = list(SCENARIOS) if repetition % 2 == 0 else list(reversed(SCENARIOS))
                for name in order:
                    command = [
                        sys.executable, "-m", "benchmarks.bulk", "--child", name, "--url", url,
                        "--folder", str(folder), "--concurrency", str(args.concurrency),
                    ]  # fmt: skip
                    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
                    rows[name].append(json.loads(output.strip().splitlines()[-1]))
    finally:
        emulator.terminate()
        emulator.wait()
    print(f"{args.files} files at concurrency {args.concurrency}, {args.repetitions} repetitions (fresh processes)")
    print(f"{'scenario':<22}{'files/s (median)':>18}{'CPU ms/file (median)':>22}{'failures':>10}")
    for name, runs in rows.items():
        rate = statistics.median(r["files"] / r["seconds"] for r in runs)
        cpu = statistics.median(1000 * r["cpu"] / r["files"] for r in runs)
        print(f"{name:<22}{rate:>18.1f}{cpu:>22.3f}{sum(r['failures'] for r in runs):>10}")
    for name in SCENARIOS[1:]:
        pairs = list(zip(rows[name], rows["gather"], strict=True))
        speed = statistics.median((b["seconds"] / a["seconds"]) for a, b in pairs)
        cpu = statistics.median((a["cpu"] / b["cpu"]) for a, b in pairs)
        print(f"{name} / gather: throughput x{speed:.3f}, CPU per file x{cpu:.3f} (medians of per-repetition ratios)")
    failures = sum(r["failures"] for runs in rows.values() for r in runs)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
