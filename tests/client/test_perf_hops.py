"""How many worker-thread hops a call costs: each is a context switch and a loop wake-up, so they are pinned.

Hops are counted where every one goes through: the running loop's ``run_in_executor`` and anyio's
``to_thread.run_sync``, wrapped for the counted call only (after a first call has opened the client and
its connection). The HTTP path is real: the emulator over loopback.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from pathlib import Path
from typing import Any, BinaryIO

import anyio
import anyio.to_thread
import pytest

from speech_async import SpeechClient
from speech_async.emulator import Emulator, make_wav
from tests.support.samples import HELLO_TRANSCRIPT

pytestmark = pytest.mark.anyio


_COUNTING: contextvars.ContextVar[bool] = contextvars.ContextVar("counting_hops", default=False)


class Hops:
    """The hops to a worker thread of what runs from now on in this context (the call, and the tasks it starts,
    such as aiohttp's body writer), through the running loop's executor and anyio's threads.

    The emulator serves on the same loop, from tasks of its own context: its own hops are not counted.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.names: list[str] = []
        loop = asyncio.get_running_loop()
        run_in_executor = loop.run_in_executor
        run_sync = anyio.to_thread.run_sync

        def counted_run_in_executor(
            executor: Executor | None, func: Callable[..., Any], *args: Any
        ) -> asyncio.Future[Any]:
            self._hop(func)
            return run_in_executor(executor, func, *args)

        async def counted_run_sync(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            self._hop(func)
            return await run_sync(func, *args, **kwargs)

        monkeypatch.setattr(loop, "run_in_executor", counted_run_in_executor)
        monkeypatch.setattr(anyio.to_thread, "run_sync", counted_run_sync)
        _COUNTING.set(True)  # in the test's own context only

    @property
    def count(self) -> int:
        return len(self.names)

    def _hop(self, func: Callable[..., Any]) -> None:
        if not _COUNTING.get():
            return
        inner = getattr(func, "func", func)  # a functools.partial names what it calls
        self.names.append(getattr(inner, "__name__", type(inner).__name__))


@pytest.fixture
def small_wav(tmp_path: Path, emulator: Emulator) -> Path:
    path = tmp_path / "small.wav"
    audio = make_wav(3.0)  # 96 KB: less than one chunk
    path.write_bytes(audio)
    emulator.scripted.register(audio, HELLO_TRANSCRIPT)
    return path


@pytest.fixture
def small_file(small_wav: Path) -> Iterator[BinaryIO]:
    with small_wav.open("rb") as file:
        yield file


@pytest.fixture
def tiny_wav(tmp_path: Path, emulator: Emulator) -> Path:
    path = tmp_path / "tiny.wav"
    audio = make_wav(1.0)  # 32 KB: no more than the head read when it is checked
    path.write_bytes(audio)
    emulator.scripted.register(audio, HELLO_TRANSCRIPT)
    return path


@pytest.fixture
def ten_seconds_wav(tmp_path: Path, emulator: Emulator) -> Path:
    path = tmp_path / "ten.wav"
    audio = make_wav(10.0)  # 320 KB: two chunks
    path.write_bytes(audio)
    emulator.scripted.register(audio, HELLO_TRANSCRIPT)
    return path


async def test_transcribe_of_a_small_path_takes_two_thread_hops(
    client: SpeechClient, small_wav: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await client.transcribe(small_wav)  # opens the client and its connection
    hops = Hops(monkeypatch)

    await client.transcribe(small_wav)

    # One to check the file (stat, open, head, close), one for the whole pass (open, read, close).
    assert hops.count <= 2, hops.names


async def test_transcribe_of_an_open_file_takes_two_thread_hops(
    client: SpeechClient, small_wav: Path, small_file: BinaryIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    await client.transcribe(small_wav)
    hops = Hops(monkeypatch)

    await client.transcribe(small_file)

    # One to measure it and read its head, one to rewind and read it whole.
    assert hops.count <= 2, hops.names


async def test_audio_no_larger_than_its_head_takes_one_thread_hop(
    client: SpeechClient, tiny_wav: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await client.transcribe(tiny_wav)
    hops = Hops(monkeypatch)

    await client.transcribe(tiny_wav)
    with tiny_wav.open("rb") as file:
        await client.transcribe(file)
    await client.recognize(tiny_wav, language="en-US")

    # The check reads the whole file as its head, and the pass sends that head from memory.
    assert hops.count == 3, hops.names


async def test_each_byte_of_a_file_is_read_once(
    client: SpeechClient, small_wav: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await client.transcribe(small_wav)
    size = len(await anyio.Path(small_wav).read_bytes())
    read: list[int] = []
    real_pread = os.pread

    def counted(fd: int, size: int, offset: int) -> bytes:
        data = real_pread(fd, size, offset)
        read.append(len(data))
        return data

    monkeypatch.setattr("speech_async._audio._PREAD", counted)

    await client.transcribe(small_wav)
    with small_wav.open("rb") as file:
        await client.transcribe(file)
        assert file.tell() == 0  # read at offsets: the caller's file is where it stood

    assert sum(read) == 2 * size, read


async def test_recognize_of_a_ten_second_path_takes_two_thread_hops(
    client: SpeechClient, ten_seconds_wav: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await client.recognize(ten_seconds_wav, language="en-US")
    hops = Hops(monkeypatch)

    await client.recognize(ten_seconds_wav, language="en-US")

    # The check (which reads the head), then a pass that sends the head from memory and reads the rest
    # in one chunk, whose read also finds the end and closes the file.
    assert hops.count <= 2, hops.names


async def test_bytes_take_no_thread_hop(
    client: SpeechClient, hello_bytes: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    await client.transcribe(hello_bytes)
    hops = Hops(monkeypatch)

    await client.transcribe(hello_bytes)
    await client.recognize(hello_bytes, language="en-US")

    assert hops.count == 0, hops.names
