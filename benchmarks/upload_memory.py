"""Peak memory of uploading a large WAV file, against a baseline measured in the same run.

    python -m benchmarks.upload_memory [--size-mib 200]

The emulator runs as a separate process (scripted recognizer), and every scenario runs in a fresh
subprocess, so each figure is one client process's own resident memory. A scenario first warms up (one
small transcription, so imports, the session and the connection exist), then records its resident set
size, then uploads the large file while a sampler thread tracks the peak. The figure is the peak growth
over that starting point; for the bytes scenarios the caller's own buffer is loaded before the start,
so the figure is what the upload costs beyond it.

Baseline: aiohttp's own ``FormData`` with the bytes, the way one would write it by hand.
Targets (issue 2): from a path at most 4 MiB; from bytes at most 16 MiB beyond the caller's buffer.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks._support import PeakSampler, register, rss_bytes, start_emulator, wav, wav_header

WORK = Path(__file__).resolve().parent / ".work"
MIB = 1024 * 1024
TARGETS_MIB = {"speech_async-path": 4.0, "speech_async-bytes": 16.0}
SCENARIOS = ("aiohttp-formdata-bytes", "aiohttp-formdata-file", "speech_async-bytes", "speech_async-path")
BASELINE = "aiohttp-formdata-bytes"


def write_wav(path: Path, size_mib: int) -> str:
    """A 16 kHz mono 16-bit WAV of ``size_mib`` MiB (silence); returns its sha256."""
    data_size = size_mib * MIB - 44
    header = wav_header(data_size)
    digest = hashlib.sha256(header)
    block = bytes(MIB)
    with path.open("wb") as out:
        out.write(header)
        remaining = data_size
        while remaining:
            piece = block[: min(MIB, remaining)]
            out.write(piece)
            digest.update(piece)
            remaining -= len(piece)
    return digest.hexdigest()


def small_wav() -> bytes:
    return wav(bytes(32000))


async def run_scenario(name: str, url: str, path: Path) -> dict[str, Any]:
    """Measure one scenario in this process; returns its figures."""
    import aiohttp

    from speech_async import KeyCredential, SpeechClient

    transcribe_url = f"{url}/speechtotext/transcriptions:transcribe?api-version=2025-10-15"
    headers = {"Ocp-Apim-Subscription-Key": "bench"}

    async def aiohttp_post(session: aiohttp.ClientSession, audio: Any) -> None:
        form = aiohttp.FormData()
        form.add_field("definition", "{}", content_type="application/json")
        form.add_field("audio", audio, filename="big.wav", content_type="application/octet-stream")
        async with session.post(transcribe_url, data=form, headers=headers) as response:
            body = await response.read()
            if response.status != 200:
                raise RuntimeError(f"{response.status}: {body[:300]!r}")

    caller_buffer = b""
    if name.endswith("bytes"):
        caller_buffer = path.read_bytes()  # noqa: ASYNC240 - the caller's buffer, loaded before measuring

    if name.startswith("aiohttp"):
        timeout = aiohttp.ClientTimeout(total=None, sock_read=600)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            await aiohttp_post(session, small_wav())
            start_rss, start_max = rss_bytes(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            began = time.perf_counter()
            with PeakSampler() as sampler:
                if name == "aiohttp-formdata-bytes":
                    await aiohttp_post(session, caller_buffer)
                else:
                    with path.open("rb") as file:
                        await aiohttp_post(session, file)
    else:
        async with SpeechClient(url, KeyCredential("bench")) as client:
            await client.transcribe(small_wav())
            start_rss, start_max = rss_bytes(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
            began = time.perf_counter()
            with PeakSampler() as sampler:
                result = await client.transcribe(caller_buffer if name.endswith("bytes") else path)
            if not result.phrases:
                raise RuntimeError("the emulator returned no phrases")
    seconds = time.perf_counter() - began
    end_max = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    growth = max(sampler.peak - start_rss, end_max - start_max)
    del caller_buffer
    return {"scenario": name, "peak_growth_mib": growth / MIB, "seconds": seconds}


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=200)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--scenario", choices=SCENARIOS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.scenario:
        print(json.dumps(asyncio.run(run_scenario(args.scenario, args.url, args.file))))
        return 0

    WORK.mkdir(exist_ok=True)
    path = WORK / f"upload-{args.size_mib}mib.wav"
    sha256 = write_wav(path, args.size_mib)
    process, url = start_emulator("--max-audio-mb", "4096", "--max-audio-seconds", "1000000")
    try:
        register(url, sha256, "Silence, mostly.", duration_ms=(args.size_mib * MIB - 44) // 32)
        register(url, hashlib.sha256(small_wav()).hexdigest(), "Silence.", duration_ms=1000)
        results = []
        for scenario in SCENARIOS:
            output = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "benchmarks.upload_memory",
                    "--scenario",
                    scenario,
                    "--url",
                    url,
                    "--file",
                    path,
                ],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            results.append(json.loads(output.strip().splitlines()[-1]))
    finally:
        process.terminate()
        process.wait(10)
        path.unlink(missing_ok=True)

    baseline = next(r for r in results if r["scenario"] == BASELINE)["peak_growth_mib"]
    failed = False
    if args.json:
        print(json.dumps({"size_mib": args.size_mib, "results": results}, indent=2))
    print(f"Upload of a {args.size_mib} MiB WAV: client peak RSS growth (baseline: {BASELINE})")
    print(f"{'scenario':<26}{'growth MiB':>12}{'x baseline':>12}{'x file size':>13}{'seconds':>9}  target")
    for result in results:
        growth = result["peak_growth_mib"]
        target = TARGETS_MIB.get(result["scenario"])
        verdict = ""
        if target is not None:
            ok = growth <= target
            failed |= not ok
            verdict = f"<= {target:g} MiB: {'PASS' if ok else 'FAIL'}"
        print(
            f"{result['scenario']:<26}{growth:>12.1f}{growth / baseline:>12.3f}"
            f"{growth / args.size_mib:>13.3f}{result['seconds']:>9.2f}  {verdict}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
