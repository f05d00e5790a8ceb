"""Token cache: exchanges and refresh waits of 1,000 callers over two simulated hours.

    python -m benchmarks.token_cache [--callers 1000] [--hours 2] [--step 30] [--per-step 50]

The emulator runs in this process with the client's fake clock, so issueToken tokens expire in the
emulator exactly when the client believes they do. 1,000 caller tasks share one client with an
``IssueTokenCredential``; every simulated ``--step`` seconds, ``--per-step`` of them (drawn at random)
transcribe a short WAV. Time then moves on. A second phase runs the same workload with a plain key
(no tokens) as the baseline for wall time.

Printed: token exchanges (goal: one per nine minutes, 14 in two hours), callers that waited for a
token (goal: only the first), failures, and wall time against the key baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from typing import Any

from benchmarks._support import wav
from speech_async import IssueTokenCredential, KeyCredential, SpeechClient
from speech_async.emulator import Emulator, EmulatorConfig, ScriptedPhrase, ScriptedTranscript

KEY = "bench-key"


class FakeClock:
    """Seconds since the epoch that move only when told to."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def _refreshed(client: SpeechClient) -> None:
    """Let a background refresh finish before simulated time moves on (polled: the cache has no event)."""
    for _ in range(5000):
        stats = client.token_stats
        if stats is None or not stats.refreshing:
            return
        await asyncio.sleep(0.001)


async def run(args: argparse.Namespace, *, tokens: bool) -> dict[str, Any]:
    clock = FakeClock()
    audio = wav(bytes(6400))
    rng = random.Random(args.seed)
    config = EmulatorConfig(key=KEY, recognizer="scripted", clock=clock)
    failures = 0
    requests = 0
    async with Emulator(config) as emulator:
        emulator.scripted.register(
            audio, ScriptedTranscript(phrases=(ScriptedPhrase(text="ok", offset_ms=0, duration_ms=200),))
        )
        credential: object = IssueTokenCredential(KEY) if tokens else KeyCredential(KEY)
        started = time.perf_counter()
        async with SpeechClient(emulator.url, credential, clock=clock, connection_limit=200) as client:
            queues = [asyncio.Queue[asyncio.Future[None]]() for _ in range(args.callers)]

            async def caller(queue: asyncio.Queue[asyncio.Future[None]]) -> None:
                nonlocal failures, requests
                while True:
                    done = await queue.get()
                    try:
                        await client.transcribe(audio)
                        requests += 1
                    except Exception as err:
                        failures += 1
                        print("failed:", type(err).__name__, err, file=sys.stderr)
                    done.set_result(None)

            tasks = [asyncio.create_task(caller(queue)) for queue in queues]
            first_waits = 0
            try:
                steps = int(args.hours * 3600 / args.step)
                loop = asyncio.get_running_loop()
                for step in range(steps):
                    futures = []
                    for index in rng.sample(range(args.callers), args.per_step):
                        future = loop.create_future()
                        queues[index].put_nowait(future)
                        futures.append(future)
                    await asyncio.gather(*futures)
                    await _refreshed(client)
                    if step == 0 and client.token_stats is not None:
                        first_waits = client.token_stats.waits
                    clock.now += args.step
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
            stats = client.token_stats
        elapsed = time.perf_counter() - started
        exchanges = emulator.counters.get("issue_token", 0)
    return {
        "requests": requests,
        "failures": failures,
        "exchanges": exchanges,
        "client_exchanges": stats.exchanges if stats else 0,
        "first_round_waits": first_waits,
        "later_waits": (stats.waits - first_waits) if stats else 0,
        "refresh_failures": stats.failures if stats else 0,
        "seconds": elapsed,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--callers", type=int, default=1000)
    parser.add_argument("--hours", type=float, default=2.0)
    parser.add_argument("--step", type=float, default=30.0, help="simulated seconds between rounds")
    parser.add_argument("--per-step", type=int, default=50, help="callers that make a request each round")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    baseline = asyncio.run(run(args, tokens=False))
    measured = asyncio.run(run(args, tokens=True))
    expected = int(args.hours * 3600 // 540) + (1 if (args.hours * 3600) % 540 else 0)
    if args.json:
        print(json.dumps({"baseline": baseline, "tokens": measured}, indent=2))
    print(
        f"Token cache: {args.callers} callers, {args.hours:g} simulated hours, {args.per_step} requests "
        f"every {args.step:g} simulated seconds ({measured['requests']} requests)"
    )
    print(f"  issueToken exchanges    {measured['exchanges']:>6}   (goal {expected}: one per nine minutes)")
    print(f"  callers that waited     {measured['first_round_waits']:>6}   in the first round, for the first token")
    print(f"  ... and after it        {measured['later_waits']:>6}   (goal 0: refreshes happen in the background)")
    print(f"  failed requests         {measured['failures']:>6}")
    print(f"  exchanges per request   {measured['exchanges'] / max(measured['requests'], 1):>9.5f}")
    print(
        f"  wall time {measured['seconds']:.2f} s vs {baseline['seconds']:.2f} s with a plain key "
        f"({measured['seconds'] / baseline['seconds']:.2f}x)"
    )
    ok = measured["exchanges"] == expected and measured["later_waits"] == 0 and not measured["failures"]
    ok = ok and not baseline["failures"]
    print("RESULT:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
