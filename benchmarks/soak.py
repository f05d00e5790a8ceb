"""Soak: transcriptions through one client while the emulator injects faults, with the default retry policy.

    python -m benchmarks.soak [--calls 1000] [--rate 0.2] [--seed 7] [--concurrency 50]
    python -m benchmarks.soak --runs 100 [--files 200] [--rate 0.2] [--seed 7] [--parallel 4]

The emulator runs as a subprocess (scripted recognizer). Every call sends a distinct WAV, so each
result and each upload can be traced to its file. Both modes use the library's default
``RetryPolicy`` unless ``--max-attempts`` says otherwise.

The single soak (no ``--runs``): 1,000 calls of ~100 KB, whose sources rotate between a path, bytes,
a BytesIO and a one-shot stream spooled to a temporary file. A first phase with no faults is the
baseline; the second injects faults at ``--rate`` drawn from the emulator's full catalogue (statuses
with and without Retry-After, delays, a stalled upload, connections cut mid-request and mid-answer,
malformed and truncated JSON). Printed figures: delivered / failed / duplicated (goal: all / 0 / 0),
uploads confirmed byte-exact by the emulator's per-attempt hashes, attempts per call and wall time
against the baseline, and the faults injected by kind.

Repeated runs (``--runs N``): N runs of the bulk scenario of the issue, for the default policy and, in
the same process and interleaved with it, for ``RetryPolicy(max_attempts=5)`` (the old default) as
the comparison. A run is ``--files`` distinct small WAVs sent at once through one new client while
the emulator gives every attempt, independently, a fault with probability ``--rate``, drawn uniformly
from 503, 500, 502, 408, 429 with ``Retry-After: 1``, 429 without it, and a connection dropped
mid-upload. A run passes when every file was delivered to its caller with its own transcript, the
emulator answered each file exactly once, and every attempt that arrived whole carried the call's
bytes (audio SHA-256 = the file's). Printed: the fraction of runs that passed per policy, with a 95 %
Clopper-Pearson interval and the fraction expected from ``(1 - rate**attempts) ** files``, calls
lost, attempts per call, and seconds per run.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import json
import math
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from benchmarks._support import start_emulator, wav
from speech_async import KeyCredential, RetryPolicy, SpeechClient, SpeechError, TranscriptionResult

WORK = Path(__file__).resolve().parent / ".work" / "soak"
KEY = "soak-key"
CLEAN_SUCCESS = {None, "delay-headers", "delay-body", "stall-request"}
# The repeated scenario's faults (the list), as the emulator's admin API takes them. Retry-After
# goes in whole seconds; 1 s is the shortest non-zero one. The files are 3,244 bytes: 1 KiB in, the
# upload is cut in the middle of the audio.
BULK_FAULTS: tuple[dict[str, Any], ...] = (
    {"status": 503},
    {"status": 500},
    {"status": 502},
    {"status": 408},
    {"status": 429, "retry_after": 1},
    {"status": 429},
    {"drop_after_request_bytes": 1024},
)
OLD_DEFAULT = RetryPolicy(max_attempts=5)


def call_audio(index: int, seconds: float = 3.0) -> bytes:
    """A distinct, deterministic mono WAV of noise for call ``index``."""
    return wav(random.Random(index).randbytes(int(seconds * 16000) * 2))


def client_for(url: str, policy: RetryPolicy | None) -> SpeechClient:
    """A client with ``policy``, or with the library's default one (no ``retry=`` at all) for ``None``."""
    if policy is None:
        return SpeechClient(url, KeyCredential(KEY))
    return SpeechClient(url, KeyCredential(KEY), retry=policy)


async def admin(session: aiohttp.ClientSession, method: str, url: str, body: Any = None) -> Any:
    async with session.request(method, url, json=body) as response:
        response.raise_for_status()
        return await response.json() if response.status == 200 else None


async def register_all(session: aiohttp.ClientSession, url: str, hashes: dict[str, int]) -> None:
    """A one-phrase scripted transcript, ``call <index>``, for every file."""
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


async def stream(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 16 * 1024):
        yield data[start : start + 16 * 1024]


# --- the single soak -------------------------------------------------------------------------------------


async def run_phase(
    url: str, calls: int, concurrency: int, paths: list[Path], audio: list[bytes], policy: RetryPolicy | None
) -> dict[str, Any]:
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
    async with client_for(url, policy) as client:
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
    policy = None if args.max_attempts is None else RetryPolicy(max_attempts=args.max_attempts)
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
                await register_all(session, url, hashes)
                figures = await run_phase(url, args.calls, args.concurrency, paths, audio, policy)
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
    attempts = (policy or RetryPolicy()).max_attempts
    which = "the default RetryPolicy" if policy is None else f"RetryPolicy(max_attempts={attempts})"
    print(f"Soak: {args.calls} calls, one client, {args.concurrency} at a time, {which} ({attempts} attempts at most)")
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


# --- repeated runs of the bulk scenario ---------------------------------------------------------------------


@dataclass
class Run:
    """One run of the bulk scenario: what its caller saw, then what the emulator saw."""

    policy: str
    number: int
    elapsed: float = 0.0
    lost: dict[int, str] = field(default_factory=dict[int, str])
    calls_seen: int = 0
    attempts: int = 0
    answered: Counter[int] = field(default_factory=Counter[int])
    not_exact: int = 0
    unplaced: int = 0

    @property
    def prefix(self) -> str:
        return f"{self.policy}-{self.number}-"

    def passed(self, files: int) -> bool:
        """Every file delivered once to its caller, answered once by the service, every upload byte-exact."""
        return (
            not self.lost
            and self.calls_seen == files
            and self.answered == Counter(range(files))
            and not self.not_exact
            and not self.unplaced
        )


async def bulk_run(url: str, run: Run, policy: RetryPolicy | None, audio: list[bytes]) -> None:
    """All files at once through one new client; what each call returned is kept in ``run``."""
    started = time.perf_counter()
    async with client_for(url, policy) as client:
        results = await asyncio.gather(
            *(client.transcribe(data, filename=f"{run.prefix}{i}.wav") for i, data in enumerate(audio)),
            return_exceptions=True,
        )
    run.elapsed = time.perf_counter() - started
    for i, result in enumerate(results):
        if not isinstance(result, TranscriptionResult):
            run.lost[i] = f"{type(result).__name__}: {result}"
        elif result.text != f"call {i}":
            run.lost[i] = f"wrong transcript {result.text!r}"


def verify_runs(records: list[dict[str, Any]], runs: list[Run], expected: list[str]) -> int:
    """Checks each run against the emulator's records; a call is placed in its run by its file name.

    Only attempts the emulator handled record their parts (status faults read the body whole, but
    only hash it), so a call that never succeeded cannot be placed; its caller saw it lost anyway.
    Returns how many calls could not be placed, or were placed in more than one file.
    """
    by_call: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_call[record["client_request_id"]].append(record)
    by_prefix = {run.prefix: run for run in runs}
    unplaced = 0
    for attempts in by_call.values():
        names = {p["filename"] for a in attempts for p in a["parts"] if p["name"] == "audio"}
        run = by_prefix.get(next(iter(names)).rsplit("-", 1)[0] + "-") if len(names) == 1 else None
        if run is None:
            unplaced += 1
            for other in runs:  # a file name of two runs at once would be a mix-up: fail them all
                other.unplaced += any(name.startswith(other.prefix) for name in names)
            continue
        name = next(iter(names))
        index = int(name.removeprefix(run.prefix).removesuffix(".wav"))
        run.calls_seen += 1
        run.attempts += len(attempts)
        complete = [a for a in attempts if a["body_complete"]]
        bodies = {a["attempt_body_sha256"] for a in complete}
        audio = {p["sha256"] for a in complete for p in a["parts"] if p["name"] == "audio"}
        if len(bodies) != 1 or audio != {expected[index]}:
            run.not_exact += 1
        run.answered.update([index] * sum(1 for a in attempts if a["status"] == 200))
    return unplaced


def clopper_pearson(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """The exact (Clopper-Pearson) interval of a binomial proportion, by bisection on the binomial CDF."""

    def cdf(k: int, p: float) -> float:  # P(X <= k) for X ~ Binomial(trials, p)
        return sum(math.comb(trials, i) * p**i * (1 - p) ** (trials - i) for i in range(k + 1))

    def solve(target: float, k: int) -> float:  # the p at which cdf(k, p) == target (cdf falls as p grows)
        low, high = 0.0, 1.0
        for _ in range(60):
            middle = (low + high) / 2
            low, high = (middle, high) if cdf(k, middle) > target else (low, middle)
        return (low + high) / 2

    tail = (1 - confidence) / 2
    lower = 0.0 if successes == 0 else solve(1 - tail, successes - 1)
    upper = 1.0 if successes == trials else solve(tail, successes)
    return lower, upper


async def repeated(args: argparse.Namespace) -> int:
    audio = [call_audio(i, seconds=0.1) for i in range(args.files)]
    expected = [hashlib.sha256(data).hexdigest() for data in audio]
    policies: dict[str, RetryPolicy | None] = {
        "default": None if args.max_attempts is None else RetryPolicy(max_attempts=args.max_attempts),
        "old5": OLD_DEFAULT,
    }
    labels = {
        "default": f"default RetryPolicy() ({RetryPolicy().max_attempts} attempts)"
        if args.max_attempts is None
        else f"RetryPolicy(max_attempts={args.max_attempts})",
        "old5": "RetryPolicy(max_attempts=5)",
    }
    runs: dict[str, list[Run]] = {name: [] for name in policies}
    faults: Counter[str] = Counter()
    unplaced = 0
    process, url = start_emulator("--key", KEY)
    started = time.perf_counter()
    try:
        async with aiohttp.ClientSession() as session:
            await register_all(session, url, {digest: i for i, digest in enumerate(expected)})
            random_faults = {"rate": args.rate, "seed": args.seed, "faults": list(BULK_FAULTS)}
            await admin(session, "POST", f"{url}/_emulator/faults/random", random_faults)
            for first in range(0, args.runs, args.parallel):
                # A batch: up to --parallel runs of each policy side by side, so both meet the same machine.
                batch = [
                    (Run(name, number), policy)
                    for number in range(first, min(first + args.parallel, args.runs))
                    for name, policy in policies.items()
                ]
                await asyncio.gather(*(bulk_run(url, run, policy, audio) for run, policy in batch))
                records = await admin(session, "GET", f"{url}/_emulator/requests")
                await admin(session, "DELETE", f"{url}/_emulator/requests")
                unplaced += verify_runs(records, [run for run, _ in batch], expected)
                for run, _ in batch:
                    runs[run.policy].append(run)
                done = min(first + args.parallel, args.runs)
                passed = {name: sum(r.passed(args.files) for r in runs[name]) for name in policies}
                print(
                    f"  {done}/{args.runs} runs, {time.perf_counter() - started:.0f} s: passed "
                    + ", ".join(f"{name} {count}" for name, count in passed.items()),
                    file=sys.stderr,
                )
            applied = await admin(session, "GET", f"{url}/_emulator/faults/applied")
            faults.update(applied["counts"])
    finally:
        process.terminate()
        process.wait(10)
    elapsed = time.perf_counter() - started

    summary: dict[str, dict[str, Any]] = {}
    for name, policy in policies.items():
        done = runs[name]
        max_attempts = (policy or RetryPolicy()).max_attempts
        passed = sum(r.passed(args.files) for r in done)
        attempts = sum(r.attempts for r in done)
        summary[name] = {
            "policy": labels[name],
            "max_attempts": max_attempts,
            "runs": len(done),
            "passed": passed,
            "fraction": passed / len(done),
            "interval": clopper_pearson(passed, len(done)),
            "expected": (1 - args.rate**max_attempts) ** args.files,
            "calls_lost": sum(len(r.lost) for r in done),
            "answered_twice": sum(sum(1 for n in r.answered.values() if n > 1) for r in done),
            "not_exact": sum(r.not_exact for r in done),
            "unplaced": sum(r.unplaced for r in done),
            "attempts_per_call": attempts / max(1, sum(r.calls_seen for r in done)),
            "seconds_mean": sum(r.elapsed for r in done) / len(done),
            "seconds_max": max(r.elapsed for r in done),
            "failures": [f"run {r.number}: {dict(list(r.lost.items())[:3])}" for r in done if r.lost][:10],
        }
    if args.json:
        print(json.dumps({"summary": summary, "faults": faults}, indent=2, default=str))

    kinds = "503, 500, 502, 408, 429 with Retry-After: 1, 429 without, connection dropped mid-upload"
    print(
        f"Repeated soak: {args.runs} runs per policy; a run is {args.files} distinct {len(audio[0]):,}-byte WAVs at "
        f"once through one client; {args.rate:.0%} independent faults per attempt ({kinds}); fault seed "
        f"{args.seed}; {args.parallel} runs of each policy at a time; {elapsed:.0f} s in all"
    )
    print(
        f"{'policy':<37}{'runs':>5}{'passed':>7}{'fraction':>9}{'95% interval':>17}{'expected':>10}"
        f"{'lost calls':>11}{'twice':>6}{'inexact':>8}{'att/call':>9}{'s/run':>7}{'max s':>7}"
    )
    for figures in summary.values():
        low, high = figures["interval"]
        print(
            f"{figures['policy']:<37}{figures['runs']:>5}{figures['passed']:>7}{figures['fraction']:>9.3f}"
            f"{f'[{low:.3f}, {high:.3f}]':>17}{figures['expected']:>10.5f}{figures['calls_lost']:>11}"
            f"{figures['answered_twice']:>6}{figures['not_exact']:>8}{figures['attempts_per_call']:>9.3f}"
            f"{figures['seconds_mean']:>7.1f}{figures['seconds_max']:>7.1f}"
        )
    new, old = summary["default"], summary["old5"]
    lost_new, lost_old = new["runs"] - new["passed"], old["runs"] - old["passed"]
    print(
        f"default vs old: runs with a loss {lost_new} vs {lost_old} of {new['runs']}; "
        f"{new['attempts_per_call'] / old['attempts_per_call']:.3f}x attempts per call, "
        f"{new['seconds_mean'] / old['seconds_mean']:.2f}x seconds per run"
    )
    injected = sum(faults.values())
    print(f"calls that never reached the recognizer (cannot be placed in a run): {unplaced}")
    print(f"faults injected: {injected} in all, by kind: " + ", ".join(f"{k} {n}" for k, n in sorted(faults.items())))
    for name, figures in summary.items():
        for failure in figures["failures"]:
            print(f"  {name} lost calls in {failure}")
    ok = new["fraction"] >= 0.99 and not new["answered_twice"] and not new["not_exact"]
    print("RESULT:", "PASS" if ok else "FAIL", "(goal: the default policy passes at least 99 % of runs)")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls of the single soak")
    parser.add_argument("--rate", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--concurrency", type=int, default=50, help="calls at a time in the single soak")
    parser.add_argument("--runs", type=int, default=0, help="repeated runs of the bulk scenario per policy")
    parser.add_argument("--files", type=int, default=200, help="files per run of the bulk scenario")
    parser.add_argument("--parallel", type=int, default=4, help="runs of each policy at a time")
    parser.add_argument("--max-attempts", type=int, default=None, help="instead of the default policy's")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    return asyncio.run(repeated(args) if args.runs > 0 else soak(args))


if __name__ == "__main__":
    sys.exit(main())
