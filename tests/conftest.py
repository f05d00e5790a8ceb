"""The global gates (blocking calls, leaks, secrets in logs) and the fixtures both sides share: an emulator
with registered transcripts, and a client connected to it.

Every async test runs on asyncio (aiohttp cannot run on trio), in debug mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import logging
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import aiohttp
import anyio.to_thread
import pytest
from blockbuster import blockbuster_ctx

from speech_async import KeyCredential, SpeechClient
from speech_async.emulator import Emulator
from tests.support.azurite import DEV_ACCOUNT_KEY, azurite  # noqa: F401 - registers the session fixture
from tests.support.samples import HELLO_TRANSCRIPT, SAMPLES

pytest_plugins = ["speech_async.emulator.pytest_plugin"]


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, Any]]:
    return ("asyncio", {"debug": True})


@pytest.fixture(autouse=True)
def no_blocking_calls() -> Iterator[None]:
    """Any blocking call on an event-loop thread (the client's and the emulator's) fails the test."""
    with blockbuster_ctx():
        yield


KNOWN_SECRETS = ("emulator-test-key", "s3cr3t-key-never-shown", DEV_ACCOUNT_KEY)


@pytest.fixture(autouse=True)
def no_secrets_in_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Everything the library and the emulator log, at every level, is checked for keys."""
    caplog.set_level(logging.DEBUG, logger="speech_async")
    yield
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    records = caplog.get_records("setup") + caplog.get_records("call")
    text = "\n".join(formatter.format(record) for record in records)
    for secret in KNOWN_SECRETS:
        assert secret not in text, f"a key reached the logs: {secret!r}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The leak check must wrap every other fixture of an async test, so it goes first.
    for item in items:
        if isinstance(item, pytest.Function) and inspect.iscoroutinefunction(item.obj):
            item.fixturenames.insert(0, "no_leaks")


def _open_fds() -> dict[int, str]:
    # fd -> what it points at; the listing's own descriptor is closed by the time it is read, and skipped.
    fds: dict[int, str] = {}
    for name in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            fds[int(name)] = os.readlink(f"/proc/self/fd/{name}")
    return fds


@pytest.fixture
async def no_leaks() -> AsyncIterator[None]:
    """Fails an async test that leaves a task running or a file descriptor open."""
    fds_before = await anyio.to_thread.run_sync(_open_fds)
    tasks_before = asyncio.all_tasks()
    yield
    current = asyncio.current_task()
    leaked_tasks: set[asyncio.Task[Any]] = set()
    leaked_fds: dict[int, str] = {}
    for attempt in range(50):  # closing transports and cancelled tasks finish over a few loop turns
        await asyncio.sleep(0.01)
        if attempt:
            # A full collection is slow with the session's large heap, and it can only close what is
            # left (a descriptor held by a cycle), never open more: it is worth it only once a first
            # look has found something still open or running.
            gc.collect()
        leaked_tasks = {
            t
            for t in asyncio.all_tasks() - tasks_before
            if t is not current and not t.done() and not _is_test_runner(t)
        }
        fds_after = await anyio.to_thread.run_sync(_open_fds)
        leaked_fds = {fd: what for fd, what in fds_after.items() if fds_before.get(fd) != what}
        if not leaked_tasks and not leaked_fds:
            break
    assert not leaked_tasks, f"tasks left running: {leaked_tasks}"
    assert not leaked_fds, f"file descriptors left open: {leaked_fds}"


def _is_test_runner(task: asyncio.Task[Any]) -> bool:
    # anyio's pytest runner keeps its own tasks on the loop between a test and its fixtures.
    return getattr(task.get_coro(), "__qualname__", "").startswith("TestRunner.")


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain aiohttp session, for tests that talk to the emulator without the client."""
    async with aiohttp.ClientSession() as session:
        yield session


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
