"""The issue-13 benchmarks run end to end: each with ``--quick`` (tiny sizes, one repetition) in a subprocess.

They start their own loopback server and child processes, so they run side by side here (one process
each) to stay within a few seconds of wall time; each must exit 0 and write JSON in which its
baseline's ratio to itself is 1 and every other scenario has a positive ratio.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = {
    "request_cpu": ("aiohttp-file", "cpu_x_baseline"),
    "short_audio_cpu": ("path@10", "cpu_x_baseline"),
    "decode": ("decode-msgspec", "cpu_x_baseline"),
    "loop_lag": ("aiohttp-file", "lag_p99_x_baseline"),
    "upload_sources": ("aiohttp-file", "peak_growth_x_baseline"),
}


@pytest.mark.timeout(120)
def test_every_new_benchmark_runs_quick_and_reports_ratios(tmp_path: Path) -> None:
    processes = {
        name: subprocess.Popen(
            [sys.executable, "-m", f"benchmarks.{name}", "--quick", "--json", str(tmp_path / f"{name}.json")],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in BENCHMARKS
    }
    outputs = {name: process.communicate(timeout=110) for name, process in processes.items()}
    for name, (stdout, stderr) in outputs.items():
        assert processes[name].returncode == 0, f"{name} failed:\n{stdout}\n{stderr[-3000:]}"
        assert "JSON:" in stdout, stdout
        figures = json.loads((tmp_path / f"{name}.json").read_text())
        assert figures["benchmark"] == name
        assert figures["machine"]["cpus"] >= 1
        scenario, key = BENCHMARKS[name]
        ratios = {row: values[key] for row, values in figures["figures"].items() if values.get(key) is not None}
        assert scenario in ratios, (name, sorted(ratios))
        assert all(ratio > 0 for ratio in ratios.values()), (name, ratios)
        if name in ("request_cpu", "decode", "loop_lag", "upload_sources"):
            base = figures.get("baseline") or figures["figures"][scenario]["baseline"]
            assert figures["figures"][base][key] == 1.0
