"""Event-loop lag during a 300 MB upload from each source kind, against bare aiohttp uploading an open file.

    python -m benchmarks.loop_lag [--size-mb 300] [--repetitions 3] [--quick] [--json PATH]

While one fast-transcription call uploads a ``--size-mb`` MB WAV to the minimal loopback server
(``benchmarks._server``, its own process), a ticker task on the same loop sleeps 1 ms at a time and
records how late each wake-up is; the figures are the maximum and the 99th percentile of that
lateness, and the upload's wall time. Every scenario runs in a fresh process (see
``benchmarks._uploads``); the order rotates between repetitions; ratios are medians of per-repetition
ratios. Baseline: ``aiohttp-file``, bare aiohttp ``FormData`` with the open file (aiohttp reads it in
64 KiB chunks through the default executor). ``speech_async`` from a ``path``, ``bytes``, an open
``file``, an ``async-file`` (aiofiles) and an async iterator (``iter``: 256 KiB chunks read through
``asyncio.to_thread``).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

from benchmarks._support import median_ratio, spread, write_results
from benchmarks._uploads import run_uploads

BASELINE = "aiohttp-file"
SCENARIOS = ("aiohttp-file", "path", "bytes", "file", "async-file", "iter")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--size-mb", type=float, default=300.0, help="the upload's size in MB (10**6 bytes)")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 4 MB, 1 repetition")
    parser.add_argument("--json", type=Path, help="where to write the figures (default benchmarks/results/)")
    args = parser.parse_args()
    if args.quick:
        args.size_mb = 4.0
        if "--repetitions" not in sys.argv:
            args.repetitions = 1
    rows = run_uploads("lag", "lag", int(args.size_mb * 1e6), SCENARIOS, args.repetitions)
    return report(args, rows)


def report(args: argparse.Namespace, rows: dict[str, list[dict[str, Any]]]) -> int:
    print(
        f"Event-loop lag of a 1 ms ticker during a {args.size_mb:g} MB upload; {args.repetitions} repetition(s), "
        f"fresh processes, order rotated. Baseline: {BASELINE} (bare aiohttp FormData with an open file)."
    )
    print(
        f"{'scenario':<13}{'max ms':>9}{'p99 ms':>9}{'seconds':>9}{'max x base':>12}{'(min-max)':>16}"
        f"{'p99 x base':>12}{'(min-max)':>16}{'time x base':>13}"
    )
    figures: dict[str, dict[str, Any]] = {}
    for name, runs in rows.items():
        lag_max = statistics.median(r["lag_max_ms"] for r in runs)
        lag_p99 = statistics.median(r["lag_p99_ms"] for r in runs)
        seconds = statistics.median(r["seconds"] for r in runs)
        max_ratio, p99_ratio = (
            median_ratio(rows, name, BASELINE, "lag_max_ms"),
            median_ratio(rows, name, BASELINE, "lag_p99_ms"),
        )
        max_low, max_high = spread(rows, name, BASELINE, "lag_max_ms")
        p99_low, p99_high = spread(rows, name, BASELINE, "lag_p99_ms")
        time_ratio = median_ratio(rows, name, BASELINE, "seconds")
        print(
            f"{name:<13}{lag_max:>9.2f}{lag_p99:>9.2f}{seconds:>9.2f}{max_ratio:>12.2f}"
            f"{f'({max_low:.2f}-{max_high:.2f})':>16}{p99_ratio:>12.2f}{f'({p99_low:.2f}-{p99_high:.2f})':>16}"
            f"{time_ratio:>13.2f}"
        )
        figures[name] = {
            "lag_max_ms": lag_max,
            "lag_p99_ms": lag_p99,
            "seconds": seconds,
            "lag_max_x_baseline": max_ratio,
            "lag_max_x_baseline_range": [max_low, max_high],
            "lag_p99_x_baseline": p99_ratio,
            "lag_p99_x_baseline_range": [p99_low, p99_high],
            "seconds_x_baseline": time_ratio,
        }
    settings = {"size_mb": args.size_mb, "repetitions": args.repetitions}
    payload = {"settings": settings, "baseline": BASELINE, "figures": figures, "runs": rows}
    print(f"JSON: {write_results('loop_lag', payload, args.json, quick=args.quick)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
