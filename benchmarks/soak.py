"""Soak: 1,000 transcriptions through one client while the emulator injects faults of every kind.

    python -m benchmarks.soak [--calls 1000] [--rate 0.2] [--seed 7] [--concurrency 50]

The emulator runs as a subprocess (scripted recognizer). Every call sends a distinct ~100 KB WAV, so
each result and each upload can be traced to its file; sources rotate between a path, bytes, a
BytesIO and a one-shot stream spooled to a temporary file. A first phase with no faults is the
baseline; the second injects faults at ``--rate`` drawn from the emulator's full catalogue (statuses
with and without Retry-After, delays, a stalled upload, connections cut mid-request and mid-answer,
malformed and truncated JSON).

Printed figures: delivered / failed / duplicated (goal: all / 0 / 0), uploads confirmed byte-exact by
the emulator's per-attempt hashes, attempts per call and wall time against the baseline, and the
faults injected by kind.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks._support import start_emulator, wav
from speech_async import KeyCredential, RetryPolicy, SpeechClient, SpeechError

WORK = Path(__file__).resolve().parent / ".work" / "soak"
KEY = "soak-key"
# 0.2 ** 8: about three in a million calls could meet eight faults in a row; the default policy has 5 attempts.
POLICY = RetryPolicy(max_attempts=8)
CLEAN_SUCCESS = {None, "delay-headers", "delay-body", "stall-request"}


def call_audio(index: int, seconds: float = 3.0) -> bytes:
    """A distinct, deterministic mono WAV of noise for call ``index``."""
    return wav(random.Random(index).randbytes(int(seconds * 16000) * 2))


async def admin(session: aiohttp.ClientSession, method: str, url: str, body: Any = None) -> Any:
    async with session.request(method, url, json=body) as response:
        response.raise_for_status()
        return await response.json() if response.status == 200 else None


async def stream(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 16 * 1024):
        yield data[start : start + 16 * 1024]


async def run_phase(url: str, calls: int, concurrency: int, paths: list[Path], audio: list[bytes]) -> dict[str, Any]:
    outcomes: dict[int, Any] = {}
    delivered_count: Counter[int] = Counter()
    gate = asyncio.Semaphore(concurrency)

    async def one(client: SpeechClient, index: int) -> None:
        kind = index % 4
        data = audio[index]
        source: Any = (paths[index], data, io.BytesIO(data), stream(data))[kind]
        async with gate:
            try:
                result = await client.transcribe(source, spool=kind == 3, filename=f"call-{index}.wav")
            except SpeechError as err:
                outcomes[index] = f"{type(err).__name__}: {err}"
                return
        outcomes[index] = result.text
        delivered_count[index] += 1

    started = time.perf_counter()
    async with SpeechClient(url, KeyCredential(KEY), retry=POLICY) as client:
        await asyncio.gather(*(one(client, index) for index in range(calls)))
    elapsed = time.perf_counter() - started
    delivered = sum(1 for i in range(calls) if outcomes.get(i) == f"call {i}")
    failures = {i: text for i, text in outcomes.items() if text != f"call {i}"}
    duplicated = sum(count - 1 for count in delivered_count.values() if count > 1)
    return {"elapsed": elapsed, "delivered": delivered, "failures": failures, "duplicated": duplicated}


def verify(records: list[dict[str, Any]], expected_audio: dict[str, int], calls: int) -> dict[str, Any]:
    by_call: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_call[record["client_request_id"]].append(record)
    exact = 0
    redone = 0
    served_twice = 0
    problems: list[str] = []
    for call_id, attempts in by_call.items():
        complete = [a for a in attempts if a["body_complete"]]
        bodies = {a["attempt_body_sha256"] for a in complete}
        audio_hashes = {p["sha256"] for a in complete for p in a["parts"] if p["name"] == "audio"}
        files = {expected_audio.get(h) for h in audio_hashes}
        if len(bodies) == 1 and len(audio_hashes) == 1 and None not in files:
            exact += 1
        else:
            problems.append(f"{call_id}: {len(bodies)} body hashes, audio {audio_hashes}")
        successes = [a for a in attempts if a["status"] == 200 and a["fault"] in CLEAN_SUCCESS]
        served_twice += len(successes) > 1
        redone += sum(1 for a in attempts if a["status"] == 200 and a["fault"] not in CLEAN_SUCCESS)
    return {
        "calls_seen": len(by_call),
        "byte_exact": exact,
        "answered_twice": served_twice,
        "redone_after_lost_answer": redone,
        "attempts": len(records),
        "problems": problems[:5],
        "missing_calls": calls - len(by_call),
    }


async def soak(args: argparse.Namespace) -> int:
    audio = [call_audio(i) for i in range(args.calls)]
    hashes = {hashlib.sha256(data).hexdigest(): i for i, data in enumerate(audio)}
    WORK.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, data in enumerate(audio):
        path = WORK / f"call-{i}.wav"
        if i % 4 == 0:
            path.write_bytes(data)
        paths.append(path)

    phases: dict[str, dict[str, Any]] = {}
    for phase, rate in (("baseline", 0.0), ("faults", args.rate)):
        extra = ("--fault-rate", str(rate), "--fault-seed", str(args.seed)) if rate else ()
        process, url = start_emulator("--key", KEY, *extra)
        try:
            async with aiohttp.ClientSession() as session:
                await asyncio.gather(
                    *(
                        admin(
                            session,
                            "PUT",
                            f"{url}/_emulator/scripted/{digest}",
                            {"phrases": [{"text": f"call {i}", "offset_ms": 0, "duration_ms": 1000}]},
                        )
                        for digest, i in hashes.items()
                    )
                )
                figures = await run_phase(url, args.calls, args.concurrency, paths, audio)
                records = await admin(session, "GET", f"{url}/_emulator/requests")
                applied = await admin(session, "GET", f"{url}/_emulator/faults/applied")
        finally:
            process.terminate()
            process.wait(10)
        figures.update(verify(records, hashes, args.calls))
        figures["faults"] = applied["counts"]
        phases[phase] = figures
    for path in paths:
        path.unlink(missing_ok=True)

    base, soaked = phases["baseline"], phases["faults"]
    if args.json:
        print(json.dumps(phases, indent=2, default=str))
    print(f"Soak: {args.calls} calls, one client, {args.concurrency} at a time, {POLICY.max_attempts} attempts at most")
    print(
        f"{'phase':<10}{'delivered':>10}{'failed':>8}{'duplicated':>11}{'byte-exact':>11}{'attempts':>9}{'seconds':>9}"
    )
    for name, figures in phases.items():
        print(
            f"{name:<10}{figures['delivered']:>10}{len(figures['failures']):>8}{figures['duplicated']:>11}"
            f"{figures['byte_exact']:>11}{figures['attempts']:>9}{figures['elapsed']:>9.1f}"
        )
    print(
        f"with faults vs baseline: {soaked['attempts'] / base['attempts']:.3f}x attempts, "
        f"{soaked['elapsed'] / base['elapsed']:.2f}x wall time"
    )
    injected = sum(soaked["faults"].values())
    print(f"faults injected: {injected} ({injected / soaked['attempts']:.1%} of attempts)")
    for kind, count in sorted(soaked["faults"].items()):
        print(f"  {kind:<28}{count:>5}")
    print(
        f"service answered one call twice: {soaked['answered_twice']}; "
        f"work redone after an answer was lost in transit: {soaked['redone_after_lost_answer']}"
    )
    for name, figures in phases.items():
        for index, reason in list(figures["failures"].items())[:10]:
            print(f"  {name} failed call {index}: {reason}")
        for problem in figures["problems"]:
            print(f"  {name} upload problem: {problem}")
    ok = all(
        f["delivered"] == args.calls
        and not f["duplicated"]
        and f["byte_exact"] == args.calls
        and not f["answered_twice"]
        for f in phases.values()
    )
    print("RESULT:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--json", action="store_true")
    return asyncio.run(soak(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
