"""Shared fixtures: an emulator with registered transcripts, and a client connected to it.

Every async test runs on asyncio (aiohttp cannot run on trio), in debug mode.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from blockbuster import blockbuster_ctx

from speech_async import KeyCredential, SpeechClient
from speech_async.emulator import Emulator, ScriptedPhrase, ScriptedTranscript

pytest_plugins = ["speech_async.emulator.pytest_plugin"]

SAMPLES = Path(__file__).resolve().parent.parent / "speech_async" / "demo" / "samples"

HELLO_TRANSCRIPT = ScriptedTranscript(
    phrases=(
        ScriptedPhrase(text="Hello, and thank you for calling.", offset_ms=40, duration_ms=2000),
        ScriptedPhrase(text="How can I help you today?", offset_ms=2440, duration_ms=1880),
    )
)


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, Any]]:
    return ("asyncio", {"debug": True})


@pytest.fixture(autouse=True)
def no_blocking_calls() -> Iterator[None]:
    """Any blocking call on an event-loop thread (the client's and the emulator's) fails the test."""
    with blockbuster_ctx():
        yield


@pytest.fixture(scope="session")
def hello_wav() -> Path:
    return SAMPLES / "hello.wav"


@pytest.fixture(scope="session")
def hello_bytes(hello_wav: Path) -> bytes:
    return hello_wav.read_bytes()


@pytest.fixture(scope="session")
def samples() -> dict[str, bytes]:
    """Every bundled sample's bytes, by file name (read once, outside any event loop)."""
    return {path.name: path.read_bytes() for path in SAMPLES.iterdir() if path.suffix in (".wav", ".flac")}


@pytest.fixture
def hello_file(hello_wav: Path) -> Iterator[BinaryIO]:
    """hello.wav opened the way users open it: a plain synchronous binary file."""
    with hello_wav.open("rb") as file:
        yield file


@pytest.fixture
def emulator(speech_emulator: Emulator, hello_bytes: bytes) -> Emulator:
    """The plugin's scripted emulator, with a transcript registered for hello.wav."""
    speech_emulator.scripted.register(hello_bytes, HELLO_TRANSCRIPT)
    return speech_emulator


@pytest.fixture
async def client(emulator: Emulator, speech_emulator_key: str) -> AsyncIterator[SpeechClient]:
    async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key)) as client:
        yield client
