"""Peak RSS growth and wall time of a 200 MiB upload from each source kind, against bare aiohttp with a file.

    python -m benchmarks.upload_sources [--size-mib 200] [--repetitions 2] [--quick] [--json PATH]

One fast-transcription call uploads a ``--size-mib`` MiB WAV to the minimal loopback server
(``benchmarks._server``, its own process) while a sampler thread records the client process's
resident set every millisecond; the figure is the peak growth over the start (taken after a warm-up
call), and the wall time. For ``bytes`` the caller's buffer is loaded before the start, so the figure
is the cost beyond it. Every scenario runs in a fresh process (see ``benchmarks._uploads``); the order
rotates between repetitions; ratios are medians of per-repetition ratios. Baseline: ``aiohttp-file``,
bare aiohttp ``FormData`` with the open file; ``aiohttp-bytes`` (aiohttp with the bytes, which it
copies) is shown for reference. ``speech_async`` from a ``path``, ``bytes``, an open ``file``, an
``async-file`` (aiofiles) and an async iterator (``iter``). ``benchmarks.upload_memory`` measures the
same against the emulator, with issue 2's targets.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path
from typing import Any

from benchmarks._support import median_ratio, spread, write_results
from benchmarks._uploads import KINDS, MIB, run_uploads

BASELINE = "aiohttp-file"
SCENARIOS = KINDS


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--size-mib", type=float, default=200.0)
    parser.add_argument("--repetitions", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 4 MiB, 1 repetition")
    parser.add_argument("--json", type=Path, help="where to write the figures (default benchmarks/results/)")
    args = parser.parse_args()
    if args.quick:
        args.size_mib = 4.0
        if "--repetitions" not in sys.argv:
            args.repetitions = 1
    rows = run_uploads("memory", "sources", int(args.size_mib * MIB), SCENARIOS, args.repetitions)
    return report(args, rows)


def report(args: argparse.Namespace, rows: dict[str, list[dict[str, Any]]]) -> int:
    print(
        f"Upload of a {args.size_mib:g} MiB WAV: client peak RSS growth and wall time; {args.repetitions} "
        f"repetition(s), fresh processes, order rotated. Baseline: {BASELINE} (bare aiohttp FormData, open file)."
    )
    print(
        f"{'scenario':<15}{'growth MiB':>11}{'x base':>9}{'(min-max)':>19}{'x file':>8}"
        f"{'seconds':>9}{'time x base':>13}{'(min-max)':>14}"
    )
    figures: dict[str, dict[str, Any]] = {}
    for name, runs in rows.items():
        growth = statistics.median(r["peak_growth_mib"] for r in runs)
        seconds = statistics.median(r["seconds"] for r in runs)
        ratio = median_ratio(rows, name, BASELINE, "peak_growth_mib")
        low, high = spread(rows, name, BASELINE, "peak_growth_mib")
        time_ratio = median_ratio(rows, name, BASELINE, "seconds")
        time_low, time_high = spread(rows, name, BASELINE, "seconds")
        print(
            f"{name:<15}{growth:>11.1f}{ratio:>9.2f}{f'({low:.2f}-{high:.2f})':>19}{growth / args.size_mib:>8.3f}"
            f"{seconds:>9.2f}{time_ratio:>13.2f}{f'({time_low:.2f}-{time_high:.2f})':>14}"
        )
        figures[name] = {
            "peak_growth_mib": growth,
            "peak_growth_x_baseline": ratio,
            "peak_growth_x_baseline_range": [low, high],
            "peak_growth_x_file_size": growth / args.size_mib,
            "seconds": seconds,
            "seconds_x_baseline": time_ratio,
            "seconds_x_baseline_range": [time_low, time_high],
        }
    settings = {"size_mib": args.size_mib, "repetitions": args.repetitions}
    payload = {"settings": settings, "baseline": BASELINE, "figures": figures, "runs": rows}
    print(f"JSON: {write_results('upload_sources', payload, args.json, quick=args.quick)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
