"""A large fast-transcription upload from each source kind, measured in a fresh process (loop_lag, upload_sources).

One child process uploads one large WAV (48 kHz stereo 16-bit, so that 300 MB stays under the 2-hour
limit) to the minimal loopback server and measures either the event loop's lag (``lag``: a ticker task
that sleeps 1 ms at a time, and how late each wake-up is) or its resident memory (``memory``: a sampler
thread, every millisecond), plus the wall time and the CPU time of the upload. It warms up first (the
same kind of call with a small WAV, so imports, the session and the connection exist); for ``bytes``
the caller's buffer is loaded before the start, so the memory figure is the cost beyond it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

from benchmarks._support import BARE_DECODER, PeakSampler, file_chunks, rss_bytes, wav_header

__all__ = ("KINDS", "MIB", "WORK", "child", "write_wav")

KEY = "bench-key"
TRANSCRIBE = "/speechtotext/transcriptions:transcribe?api-version=2025-10-15"
WORK = Path(__file__).resolve().parent / ".work"
MIB = 1024 * 1024
KINDS = ("aiohttp-file", "aiohttp-bytes", "path", "bytes", "file", "async-file", "iter")
"""``aiohttp-*``: bare aiohttp ``FormData``; the others: ``SpeechClient.transcribe()`` from that source."""
ITER_CHUNK = 256 * 1024


def write_wav(path: Path, size: int) -> None:
    """A WAV of ``size`` bytes in all (silence), 48 kHz stereo 16-bit."""
    data_size = size - 44
    block = bytes(MIB)
    with path.open("wb") as out:
        out.write(wav_header(data_size, rate=48000, channels=2))
        remaining = data_size
        while remaining:
            piece = block[: min(MIB, remaining)]
            out.write(piece)
            remaining -= len(piece)


def run_uploads(
    measure: str, tag: str, size: int, scenarios: tuple[str, ...], repetitions: int
) -> dict[str, list[dict[str, Any]]]:
    """Each scenario uploading a ``size``-byte WAV to the minimal server, in a fresh process per repetition.

    The WAV (and a small one for the warm-up) is written to :data:`WORK` under ``tag`` and removed after;
    ``measure`` is ``"lag"`` or ``"memory"``. Returns every run's figures by scenario.
    """
    from benchmarks._support import run_rotated, start_server, stop

    WORK.mkdir(exist_ok=True)
    big, small = WORK / f"{tag}-{os.getpid()}-big.wav", WORK / f"{tag}-{os.getpid()}-small.wav"
    write_wav(big, size)
    write_wav(small, 64000)
    server, url = start_server()
    try:
        common = ["--measure", measure, "--url", url, "--big", str(big), "--small", str(small)]
        return run_rotated("benchmarks._uploads", scenarios, repetitions, lambda _name: common)
    finally:
        stop(server)
        big.unlink(missing_ok=True)
        small.unlink(missing_ok=True)


class _Ticker:
    """A task that sleeps 1 ms at a time and records how late each wake-up is."""

    def __init__(self) -> None:
        self.lateness: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            began = time.perf_counter()
            await asyncio.sleep(0.001)
            self.lateness.append(time.perf_counter() - began - 0.001)

    async def __aenter__(self) -> _Ticker:
        self._task = asyncio.create_task(self._run())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


@contextlib.contextmanager
def _nothing() -> Iterator[None]:
    yield


async def child(kind: str, measure: str, url: str, big: Path, small: Path) -> dict[str, Any]:
    """Upload ``big`` once from the source kind ``kind``, measuring ``lag`` or ``memory``."""
    import aiofiles

    buffers = {small: small.read_bytes()}  # noqa: ASYNC240 - before the timed part
    if kind.endswith("bytes"):
        buffers[big] = big.read_bytes()  # noqa: ASYNC240 - the caller's buffer, loaded before the start

    async def run(upload: Callable[[Path], Awaitable[int]]) -> dict[str, Any]:
        if await upload(small) != 1:
            raise RuntimeError("the warm-up got an unexpected answer")
        start_rss = rss_bytes()
        ticker = _Ticker()
        sampler = PeakSampler() if measure == "memory" else None
        began, cpu = time.perf_counter(), time.process_time()
        with sampler if sampler is not None else _nothing():
            if measure == "lag":
                async with ticker:
                    phrases = await upload(big)
            else:
                phrases = await upload(big)
        seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
        if phrases != 1:
            raise RuntimeError("the upload got an unexpected answer")
        figures: dict[str, Any] = {"name": kind, "seconds": seconds, "cpu": cpu}
        if sampler is not None:
            figures["peak_growth_mib"] = (sampler.peak - start_rss) / MIB
        else:
            lateness = sorted(ticker.lateness) or [0.0]
            figures |= {
                "ticks": len(lateness),
                "lag_max_ms": 1000 * lateness[-1],
                "lag_p99_ms": 1000 * lateness[min(len(lateness) - 1, int(0.99 * len(lateness)))],
                "lag_median_ms": 1000 * statistics.median(lateness),
            }
        return figures

    if kind.startswith("aiohttp"):
        import aiohttp

        headers = {"Ocp-Apim-Subscription-Key": KEY, "Accept": "application/json"}
        timeout = aiohttp.ClientTimeout(total=None, sock_read=600)
        async with aiohttp.ClientSession(timeout=timeout) as session:

            async def post(audio: Any) -> int:
                form = aiohttp.FormData()
                form.add_field("definition", b'{"locales":["en-US"]}', content_type="application/json")
                form.add_field("audio", audio, filename="audio.wav", content_type="application/octet-stream")
                async with session.post(url + TRANSCRIBE, data=form, headers=headers) as response:
                    body = await response.read()
                    if response.status != 200:
                        raise RuntimeError(f"{response.status}: {body[:200]!r}")
                return len(BARE_DECODER.decode(body).phrases)

            async def upload_aiohttp(path: Path) -> int:
                if kind == "aiohttp-bytes":
                    return await post(buffers[path])
                with path.open("rb") as file:
                    return await post(file)

            return await run(upload_aiohttp)

    from speech_async import KeyCredential, SpeechClient, TranscriptionOptions

    options = TranscriptionOptions(locales=["en-US"])
    async with SpeechClient(url, KeyCredential(KEY), timeout=600) as client:

        async def upload_client(path: Path) -> int:
            if kind == "path":
                result = await client.transcribe(path, options=options)
            elif kind == "bytes":
                result = await client.transcribe(buffers[path], options=options)
            elif kind == "file":
                with path.open("rb") as file:
                    result = await client.transcribe(file, options=options)
            elif kind == "async-file":
                async with aiofiles.open(path, "rb") as async_file:
                    result = await client.transcribe(async_file, options=options)
            else:
                chunks = file_chunks(str(path), ITER_CHUNK)
                result = await client.transcribe(chunks, options=options, filename="audio.wav")
            return len(result.phrases)

        return await run(upload_client)


def child_main(argv: list[str]) -> int:
    """``--child KIND --measure lag|memory --url URL --big PATH --small PATH``: one measurement, as JSON."""
    import argparse

    import msgspec

    parser = argparse.ArgumentParser()
    for name in ("--child", "--measure", "--url", "--big", "--small"):
        parser.add_argument(name, required=True)
    args, _ = parser.parse_known_args(argv)
    result = asyncio.run(child(args.child, args.measure, args.url, Path(args.big), Path(args.small)))
    print(msgspec.json.encode(result).decode())
    return 0


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
