"""What the benchmarks share: WAV files made from bytes (the emulator's builder), and the emulator as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.request

from speech_async.emulator import make_wav, wav_header

__all__ = ("PeakSampler", "register", "rss_bytes", "start_emulator", "wav", "wav_header")


def wav(samples: bytes, *, rate: int = 16000) -> bytes:
    """A mono 16-bit PCM WAV holding ``samples`` (the emulator's public builder)."""
    return make_wav(samples=samples, rate=rate)


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
