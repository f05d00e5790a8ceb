"""What the benchmarks share: WAV files, the emulator or the minimal server as a subprocess, and the harness.

The harness (:func:`run_rotated`, :func:`median_ratio`, :func:`write_results`) runs every scenario in a
fresh process per repetition, rotates their order, and reports medians of per-repetition ratios to a
baseline measured in the same run; each benchmark also writes its figures to ``benchmarks/results/``.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec

__all__ = (
    "RESULTS",
    "Load",
    "PeakSampler",
    "machine",
    "median_ratio",
    "register",
    "rss_bytes",
    "run_rotated",
    "spread",
    "start_emulator",
    "start_server",
    "stop",
    "wav",
    "wav_header",
    "write_results",
    "file_chunks",
    "BARE_DECODER",
    "BareResult",
    "BareSimpleResult",
)

RESULTS = Path(__file__).resolve().parent / "results"
"""Where each benchmark writes its JSON (``<name>.json``; git-ignored)."""


def wav(samples: bytes, *, rate: int = 16000) -> bytes:
    """A mono 16-bit PCM WAV holding ``samples`` (the emulator's public builder, imported when first needed)."""
    from speech_async.emulator import make_wav

    return make_wav(samples=samples, rate=rate)


def wav_header(data_size: int, **format: int) -> bytes:
    """The 44-byte header of a WAV with ``data_size`` bytes of samples (the emulator's ``wav_header``)."""
    from speech_async.emulator import wav_header as build

    return build(data_size, **format)


def start_emulator(*arguments: str) -> tuple[subprocess.Popen[str], str]:
    """Start ``speech-async emulator --port 0 --recognizer scripted ARGUMENTS``; returns it and its URL."""
    command = [sys.executable, "-m", "speech_async.emulator", "--port", "0", "--recognizer", "scripted", *arguments]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    if not url.startswith("http://"):
        process.kill()
        raise RuntimeError(f"the emulator did not start: {url!r}")
    return process, url


def register(url: str, sha256: str, text: str, *, duration_ms: int | None = None) -> None:
    """Register a one-phrase scripted transcript for the audio with this SHA-256."""
    transcript: dict[str, object] = {"phrases": [{"text": text, "offset_ms": 0, "duration_ms": 1000}]}
    if duration_ms is not None:
        transcript["duration_ms"] = duration_ms
    request = urllib.request.Request(
        f"{url}/_emulator/scripted/{sha256}",
        data=json.dumps(transcript).encode(),
        method="PUT",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        assert response.status in (200, 204)


def rss_bytes() -> int:
    """This process's resident set size in bytes."""
    with open("/proc/self/statm", "rb") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakSampler:
    """Samples this process's resident set size every millisecond on a thread."""

    def __init__(self) -> None:
        self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.001):
            self.peak = max(self.peak, rss_bytes())

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes())


def start_server(*arguments: str) -> tuple[subprocess.Popen[str], str]:
    """Start the minimal loopback server (``benchmarks._server``) in its own process; returns it and its URL."""
    command = [sys.executable, "-m", "benchmarks._server", *arguments]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    if not url.startswith("http://"):
        process.kill()
        raise RuntimeError(f"the benchmark server did not start: {url!r}")
    return process, url


def stop(process: subprocess.Popen[str]) -> None:
    """Terminate a server started here and wait for it."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def run_rotated(
    module: str,
    scenarios: Sequence[str],
    repetitions: int,
    arguments: Callable[[str], Sequence[str]],
    *,
    progress: bool = True,
) -> dict[str, list[dict[str, Any]]]:
    """Run every scenario once per repetition, each in a fresh ``python -m MODULE --child NAME ...``.

    The order rotates by one scenario per repetition, so no scenario always runs first (or right after
    the same neighbour). Each child prints one JSON object on its last line; returns them per scenario.
    """
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in scenarios}
    for repetition in range(repetitions):
        shift = repetition % len(scenarios)
        order = [*scenarios[shift:], *scenarios[:shift]]
        for name in order:
            command = [sys.executable, "-m", module, "--child", name, *arguments(name)]
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"{module} {name} failed ({done.returncode}):\n{done.stderr[-3000:]}")
            rows[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
        if progress:
            print(f"  repetition {repetition + 1}/{repetitions} done", file=sys.stderr, flush=True)
    return rows


def median_ratio(rows: dict[str, list[dict[str, Any]]], name: str, baseline: str, key: str) -> float:
    """The median over repetitions of ``rows[name][i][key] / rows[baseline][i][key]``."""
    pairs = zip(rows[name], rows[baseline], strict=True)
    return statistics.median(a[key] / b[key] if b[key] else float("inf") for a, b in pairs)


def spread(rows: dict[str, list[dict[str, Any]]], name: str, baseline: str, key: str) -> tuple[float, float]:
    """The lowest and highest per-repetition ratio (as :func:`median_ratio`)."""
    ratios = [a[key] / b[key] if b[key] else float("inf") for a, b in zip(rows[name], rows[baseline], strict=True)]
    return min(ratios), max(ratios)


def machine() -> dict[str, Any]:
    """What the figures were measured on (the load average tells how shared the machine was)."""
    import aiohttp

    load = os.getloadavg()
    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "python": platform.python_version(),
        "aiohttp": aiohttp.__version__,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": [round(value, 2) for value in load],
    }


def write_results(name: str, payload: dict[str, Any], path: Path | None = None, *, quick: bool = False) -> Path:
    """Write a benchmark's figures as JSON to ``path``.

    The default is ``benchmarks/results/<name>.json``, or ``<name>-quick.json`` for a ``--quick`` smoke
    run, so that a smoke run never overwrites the figures of a full one.
    """
    target = path if path is not None else RESULTS / (f"{name}-quick.json" if quick else f"{name}.json")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"benchmark": name, "machine": machine(), **payload}, indent=2) + "\n")
    return target


CHUNK = 64 * 1024


async def file_chunks(path: str, chunk: int = CHUNK) -> AsyncIterator[bytes]:
    """A file as an async iterator: ``chunk``-byte reads through ``asyncio.to_thread`` (the same for every side)."""
    file = await asyncio.to_thread(open, path, "rb")
    try:
        while data := await asyncio.to_thread(file.read, chunk):
            yield data
    finally:
        file.close()


class BareWord(msgspec.Struct, rename="camel", gc=False):
    """A hand-written script's word: the same shape as ``speech_async``'s ``Word``."""

    text: str
    offset_milliseconds: int
    duration_milliseconds: int


class BarePhrase(msgspec.Struct, rename="camel", gc=False):
    """A hand-written script's phrase."""

    offset_milliseconds: int
    duration_milliseconds: int
    text: str
    confidence: float
    words: list[BareWord] = msgspec.field(default_factory=list[BareWord])
    locale: str | None = None
    channel: int | None = None
    speaker: int | None = None


class BareCombined(msgspec.Struct, rename="camel", gc=False):
    """A hand-written script's combined phrase."""

    text: str
    channel: int | None = None


class BareResult(msgspec.Struct, rename="camel"):
    """What a hand-written script decodes a fast-transcription answer into (the shape of ``TranscriptionResult``).

    Its parts are ``gc=False`` like ``speech_async``'s own, so the baseline is as lean as msgspec allows.
    """

    duration_milliseconds: int
    combined_phrases: list[BareCombined]
    phrases: list[BarePhrase]


class BareSimpleResult(msgspec.Struct, rename="pascal"):
    """What a hand-written script decodes a simple short-audio answer into."""

    recognition_status: str
    display_text: str | None = None
    offset: int | None = None
    duration: int | None = None


BARE_DECODER = msgspec.json.Decoder(BareResult)


class Load:
    """Calls ``one(item)`` over ``items``, ``concurrency`` at a time, counting the calls that fail.

    A call fails when it raises (the first three are printed, under ``label``) or when ``ok`` of its
    answer is false. :meth:`measure` runs a warm-up (imports, the pool filled with connections), then
    times the whole list: wall seconds and this process's CPU seconds.
    """

    def __init__(self, label: str, items: Sequence[Any], concurrency: int, ok: Callable[[Any], bool] = bool) -> None:
        self.label = label
        self.items = items
        self.concurrency = concurrency
        self.ok = ok
        self.failures = 0

    async def run(self, one: Callable[[Any], Awaitable[Any]], count: int) -> None:
        semaphore = asyncio.Semaphore(self.concurrency)

        async def call(item: Any) -> None:
            async with semaphore:
                try:
                    answer = await one(item)
                except Exception as err:
                    self.failures += 1
                    if self.failures <= 3:
                        print(f"{self.label}: {type(err).__name__}: {err}", file=sys.stderr)
                    return
                self.failures += not self.ok(answer)

        await asyncio.gather(*(call(self.items[i]) for i in range(count)))

    async def measure(self, one: Callable[[Any], Awaitable[Any]]) -> tuple[float, float]:
        await self.run(one, min(self.concurrency, len(self.items)))
        started, cpu = time.perf_counter(), time.process_time()
        await self.run(one, len(self.items))
        return time.perf_counter() - started, time.process_time() - cpu
