"""Helpers shared by the emulator's test modules."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

MISSING_KEY_BODY = {
    "error": {
        "code": "401",
        "message": "Access denied due to missing subscription key. Make sure to include subscription key when "
        "making requests to an API.",
    }
}
INVALID_KEY_BODY = {
    "error": {
        "code": "401",
        "message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a "
        "valid key for an active subscription and use a correct regional API endpoint for your resource.",
    }
}


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
