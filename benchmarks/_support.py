"""What the benchmarks share: WAV files made from bytes, and the emulator as a subprocess."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import urllib.request


def wav_header(data_size: int, *, rate: int = 16000, channels: int = 1) -> bytes:
    """The 44-byte header of a 16-bit PCM WAV whose samples take ``data_size`` bytes."""
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * 2 * channels, 2 * channels, 16)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_size)
        + b"WAVEfmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", data_size)
    )


def wav(samples: bytes, *, rate: int = 16000) -> bytes:
    """A mono 16-bit PCM WAV holding ``samples``."""
    return wav_header(len(samples), rate=rate) + samples


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
