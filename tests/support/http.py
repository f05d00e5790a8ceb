"""HTTP helpers of the tests: the emulator CLI in a subprocess, raw replies, byte streams, a loopback server."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@contextlib.contextmanager
def scripted_cli(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Run ``python -m speech_async.emulator --port 0 --recognizer scripted ARGS``; yield it and its URL line."""
    command = [sys.executable, "-m", "speech_async.emulator", "--port", "0", "--recognizer", "scripted", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield process, process.stdout.readline().strip()
    finally:
        if process.poll() is None:
            process.terminate()
        process.communicate(timeout=10)


@dataclass
class Reply:
    """An answer read with a raw client: status, headers and body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


async def chunks_of(data: bytes, size: int) -> AsyncIterator[bytes]:
    """``data`` as an async stream of ``size``-byte chunks (the last one shorter)."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


@contextlib.asynccontextmanager
async def serve_on_loopback(app: web.Application) -> AsyncIterator[str]:
    """Run ``app`` on 127.0.0.1 at a free port; yields its base URL, and cleans up on the way out."""
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
