"""Cancelling a call at any point leaves nothing behind and ends the way the caller asked.

For every kind of audio source (path, bytes, sync file, aiofiles file, BytesIO, async generator, and an
async generator with ``spool=True``), 300 calls are cancelled, at random moments within each phase of a
call: while the audio is checked or spooled, while waiting for a pooled connection, in the middle of the
upload, and while the answer is awaited. After them: no descriptor more than before, no spool file
left, no ``ResourceWarning``, the caller's own objects usable again (a ``BytesIO`` can be resized) or
closed (an async generator the call was given), and no outcome but ``CancelledError``.
``asyncio.timeout()`` and ``asyncio.TaskGroup`` around every call end in ``TimeoutError`` and in the
group's own exception, never another one.

The phases are made certain by the emulator, not left to timing: a wave of calls is cancelled only once
the emulator has seen them all arrive, and their uploads are larger than the loopback buffers while the
emulator stops reading (``stall_request``: mid-upload), or small while it holds the answer back
(``delay_headers``: awaiting the answer); calls queued behind a single held connection never arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import io
import os
import random
import sys
import tempfile
import warnings
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiofiles
import anyio
import pytest

from speech_async import KeyCredential, SpeechClient
from speech_async.emulator import Emulator, Fault, ScriptedTranscript

from ..support.audio import make_wav

BIG = make_wav(seconds=300, fill=3)
"""9.6 MB: more than loopback buffers take in (about 5.5 MB), so an upload the emulator stalls is still
being written when it is cancelled."""
SMALL = make_wav(seconds=1, fill=3)
"""32 KB: written whole at once, after which the call only awaits the answer."""
AUDIO = make_wav(seconds=40, fill=3)
"""1.3 MB, for the timeout and task group sweeps."""
SHORT_AUDIO = make_wav(seconds=50, fill=3)
"""Short-audio recognition takes at most 60 s."""
KINDS = ["path", "bytes", "sync-file", "async-file", "bytesio", "async-generator", "spooled-generator"]
WAVE = 10  # trials in flight at once
PHASES = {"checking the audio": 60, "waiting for a connection": 40, "mid-upload": 100, "awaiting the answer": 100}
"""Cancellations per source kind (300 in all), by the phase of the call they hit."""

SLOWDOWNS = [Fault(stall_request=0.04), Fault(delay_headers=0.04)]
"""For the random sweeps: some uploads stall mid-way, some answers come late."""


@dataclass
class _Caller:
    """What one kind of caller passes, and what it must find afterwards."""

    kind: str
    path: Path
    data: bytes
    generators: list[_Tracked] = field(default_factory=list)
    locked: int = 0
    """BytesIO objects still locked against resizing after their call ended (a view not released)."""

    @contextlib.asynccontextmanager
    async def audio(self) -> AsyncIterator[Any]:
        if self.kind == "path":
            yield self.path
        elif self.kind == "bytes":
            yield self.data
        elif self.kind == "bytesio":
            buffer = io.BytesIO(self.data)
            yield buffer
            try:
                buffer.truncate(0)
            except BufferError:
                self.locked += 1
        elif self.kind == "sync-file":
            file = await anyio.to_thread.run_sync(self.path.open, "rb")
            try:
                yield file
            finally:
                await anyio.to_thread.run_sync(file.close)
        elif self.kind == "async-file":
            async with aiofiles.open(self.path, "rb") as file:
                yield file
        else:
            generator = _Tracked(self.data)
            self.generators.append(generator)
            yield generator.stream()

    def check_released(self) -> None:
        assert not self.locked, f"{self.locked} BytesIO objects stayed locked by a view after their call"
        unclosed = [g for g in self.generators if not g.finished]
        assert not unclosed, f"{len(unclosed)} of the callers' async generators were never closed"


class _Tracked:
    """A caller's async generator that notes whether it was closed (or ran to its end).

    It awaits between chunks, as a live source does: a cancellation then often finds the request's body
    writer inside it, where an async generator cannot be closed from outside.
    """

    def __init__(self, data: bytes) -> None:
        self._data = data
        self.finished = False

    async def stream(self) -> AsyncIterator[bytes]:
        try:
            for start in range(0, len(self._data), 128 * 1024):
                yield self._data[start : start + 128 * 1024]
                await asyncio.sleep(0.0005)  # like a live source: most of the time is spent in here
        finally:
            self.finished = True


@pytest.fixture
def spool_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "spool"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))  # tempfile caches TMPDIR: set the cache itself
    return folder


@pytest.fixture
def slow_emulator(emulator: Emulator) -> Emulator:
    emulator.scripted.register(AUDIO, ScriptedTranscript(phrases=()))
    emulator.scripted.register(SHORT_AUDIO, ScriptedTranscript(phrases=()))
    emulator.faults.random(rate=0.5, faults=SLOWDOWNS, seed=1234, route="*")
    return emulator


async def _pause(rng: random.Random, longest: float) -> None:
    """Wait a random while: some loop turns (inside the local checks), or some time (on the wire)."""
    if rng.random() < 0.25:
        for _ in range(rng.randrange(40)):
            await asyncio.sleep(0)
    else:
        await asyncio.sleep(rng.uniform(0, longest))


@dataclass
class _Tally:
    outcomes: Counter[str] = field(default_factory=Counter)
    unexpected: list[BaseException] = field(default_factory=list)

    def note(self, outcome: str, error: BaseException | None = None) -> None:
        self.outcomes[outcome] += 1
        if error is not None:
            self.unexpected.append(error)

    def check(self, *, expected: str, at_least: int) -> None:
        if self.unexpected:
            first = self.unexpected[0]
            cause = f" (cause {first.__cause__!r})" if first.__cause__ else ""
            raise AssertionError(f"outcomes {dict(self.outcomes)}; the first unexpected: {first!r}{cause}") from first
        assert self.outcomes[expected] >= at_least, dict(self.outcomes)


async def _outcome(task: asyncio.Future[Any], tally: _Tally, *, may_complete: bool = False) -> None:
    try:
        await task
    except asyncio.CancelledError:
        tally.note("cancelled")
    except BaseException as err:
        tally.note(type(err).__name__, err)
    else:
        tally.note("completed", None if may_complete else AssertionError("the call completed"))


async def _cancel_after_a_while(call: Awaitable[Any], rng: random.Random, longest: float, tally: _Tally) -> None:
    task = asyncio.ensure_future(call)
    await _pause(rng, longest)
    task.cancel()
    await _outcome(task, tally, may_complete=True)


async def _arrived(emulator: Emulator, route: str, count: int) -> None:
    """Until the emulator has seen ``count`` requests on ``route`` (it counts them on arrival)."""
    with anyio.fail_after(10):
        while emulator.counters[route] < count:  # noqa: ASYNC110 - the emulator offers no event to wait on
            await asyncio.sleep(0.002)


async def _descriptors_under(folder: Path) -> list[str]:
    def scan() -> list[str]:
        found: list[str] = []
        for name in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/self/fd/{name}")
                if target.startswith(str(folder)):
                    found.append(target)
        return found

    return await anyio.to_thread.run_sync(scan)


async def _settle(check: Callable[[], Awaitable[list[str]]]) -> list[str]:
    """``check()`` until it finds nothing (releases finish in worker threads), for up to a second."""
    found = await check()
    for _ in range(100):
        if not found:
            break
        await asyncio.sleep(0.01)
        found = await check()
    return found


@pytest.fixture
def audio_files(tmp_path: Path) -> dict[bytes, Path]:
    folder = tmp_path / "audio"
    folder.mkdir()
    files = {BIG: folder / "big.wav", SMALL: folder / "small.wav"}
    for data, path in files.items():
        path.write_bytes(data)
    return files


# asyncio's debug mode records a traceback for every callback and future, which makes these 2,100
# cancellations four times slower; the other tests of this module keep it.
@pytest.mark.parametrize("anyio_backend", [pytest.param(("asyncio", {"debug": False}), id="asyncio")])
@pytest.mark.parametrize("kind", KINDS)
async def test_300_cancellations_in_every_phase_leave_nothing_behind(
    emulator: Emulator,
    speech_emulator_key: str,
    audio_files: dict[bytes, Path],
    spool_dir: Path,
    tmp_path: Path,
    kind: str,
) -> None:
    rng = random.Random(f"cancel-{kind}")
    spool = kind == "spooled-generator"
    callers = {data: _Caller("async-generator" if spool else kind, path, data) for data, path in audio_files.items()}
    for data in callers:
        emulator.scripted.register(data, ScriptedTranscript(phrases=()))
    tallies = {phase: _Tally() for phase in PHASES}
    descriptors_before = await _descriptors_under(tmp_path)
    key = KeyCredential(speech_emulator_key)

    async def start(client: SpeechClient, data: bytes) -> tuple[asyncio.Future[Any], contextlib.AsyncExitStack]:
        stack = contextlib.AsyncExitStack()
        audio = await stack.enter_async_context(callers[data].audio())
        return asyncio.ensure_future(client.transcribe(audio, spool=spool, filename="meeting.wav")), stack

    async def cancel_wave(
        client: SpeechClient, data: bytes, phase: str, *, arrivals: int = 0, then: float = 0.0
    ) -> None:
        """Start a wave of calls; once ``arrivals`` more requests reached the emulator, cancel them all."""
        target = emulator.counters["transcribe"] + arrivals
        calls = [await start(client, data) for _ in range(WAVE)]
        await _arrived(emulator, "transcribe", target)
        await asyncio.sleep(then)
        for task, _ in calls:
            if phase == "checking the audio":
                for _ in range(rng.randrange(6)):
                    await asyncio.sleep(0)
            else:
                await asyncio.sleep(rng.uniform(0, 0.004))
            task.cancel()
        for task, stack in calls:
            await _outcome(task, tallies[phase], may_complete=phase == "checking the audio")
            await stack.aclose()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with SpeechClient(emulator.url, key) as client:
            # While the audio is checked (or spooled): a few loop turns in.
            for _ in range(PHASES["checking the audio"] // WAVE):
                await cancel_wave(client, SMALL, "checking the audio")
            # Mid-upload: the emulator stops reading after 64 KiB, and the body is larger than the buffers.
            for _ in range(PHASES["mid-upload"] // WAVE):
                emulator.faults.add(Fault(stall_request=0.5, count=WAVE))
                await cancel_wave(client, BIG, "mid-upload", arrivals=WAVE)
            # Awaiting the answer: the whole (small) body was sent, and the emulator holds the answer back.
            for _ in range(PHASES["awaiting the answer"] // WAVE):
                emulator.faults.add(Fault(delay_headers=0.5, count=WAVE))
                await cancel_wave(client, SMALL, "awaiting the answer", arrivals=WAVE, then=0.02)

        # Waiting for a connection: the only one is taken by a call whose answer is held back.
        async with SpeechClient(emulator.url, key, connection_limit=1) as single:
            emulator.faults.add(Fault(delay_headers=1.0))
            seen = emulator.counters["transcribe"]
            blocker, blocker_audio = await start(single, SMALL)
            await _arrived(emulator, "transcribe", seen + 1)
            for _ in range(PHASES["waiting for a connection"] // WAVE):
                await cancel_wave(single, SMALL, "waiting for a connection", then=0.01)
            assert emulator.counters["transcribe"] == seen + 1, "the queued calls never reached the service"
            blocker.cancel()
            await _outcome(blocker, tallies["awaiting the answer"])
            await blocker_audio.aclose()
        gc.collect()

    for phase, tally in tallies.items():
        tally.check(
            expected="cancelled", at_least=PHASES[phase] // 2 if phase == "checking the audio" else PHASES[phase]
        )
    assert await _settle(lambda: _descriptors_under(tmp_path)) == descriptors_before
    assert await _settle(lambda: anyio.to_thread.run_sync(os.listdir, spool_dir)) == []
    for caller in callers.values():
        caller.check_released()
    leaked = [w for w in caught if issubclass(w.category, ResourceWarning)]
    assert not leaked, f"{len(leaked)} ResourceWarnings, the first: {leaked[0].message}"


@pytest.mark.parametrize("kind", ["path", "bytes", "async-generator"])
async def test_cancelled_recognitions_leave_nothing_behind(
    slow_emulator: Emulator, speech_emulator_key: str, tmp_path: Path, spool_dir: Path, kind: str
) -> None:
    path = anyio.Path(tmp_path / "short.wav")
    await path.write_bytes(SHORT_AUDIO)
    rng = random.Random(f"recognize-{kind}")
    caller = _Caller(kind, Path(path), SHORT_AUDIO)
    tally = _Tally()
    async with SpeechClient(slow_emulator.url, KeyCredential(speech_emulator_key)) as client:

        async def trial() -> None:
            async with caller.audio() as audio:
                await _cancel_after_a_while(client.recognize(audio, language="en-US"), rng, 0.06, tally)

        for _ in range(60 // WAVE):
            await asyncio.gather(*(trial() for _ in range(WAVE)))
    tally.check(expected="cancelled", at_least=30)
    assert await _settle(lambda: _descriptors_under(tmp_path)) == []
    caller.check_released()


# --- asyncio.timeout() and asyncio.TaskGroup around every call ------------------------------------------


def _calls(client: SpeechClient) -> dict[str, Callable[[Any, bool], Awaitable[Any]]]:
    return {
        "transcribe": lambda audio, spool: client.transcribe(audio, spool=spool, filename="meeting.wav"),
        "translate": lambda audio, spool: client.translate(
            audio, target_language="de", spool=spool, filename="meeting.wav"
        ),
        "recognize": lambda audio, spool: client.recognize(audio, language="en-US", spool=spool),
    }


CALLS = [
    *((kind, call) for call in ("transcribe", "recognize") for kind in KINDS),
    ("bytes", "translate"),
    ("async-generator", "translate"),
]
"""Every source kind through both upload paths; translate is transcribe with other options."""


@pytest.fixture
def translating_emulator(slow_emulator: Emulator) -> Emulator:
    for audio in (AUDIO, SHORT_AUDIO):
        slow_emulator.scripted.register(audio, ScriptedTranscript(phrases=(), translations={"de": ()}))
    return slow_emulator


Trial = Callable[[Callable[[], Awaitable[Any]], random.Random, "_Tally"], Awaitable[None]]


async def _trials_leave_nothing_behind(
    emulator: Emulator,
    key: str,
    tmp_path: Path,
    spool_dir: Path,
    kind: str,
    call: str,
    *,
    label: str,
    expected: str,
    trial: Trial,
) -> None:
    """30 calls of ``call`` on ``kind`` audio, each ended by ``trial``; then nothing may be left behind."""
    data = SHORT_AUDIO if call == "recognize" else AUDIO
    path = anyio.Path(tmp_path / f"{label}.wav")
    await path.write_bytes(data)
    caller = _Caller(kind if kind != "spooled-generator" else "async-generator", Path(path), data)
    rng = random.Random(f"{label}-{kind}-{call}")
    tally = _Tally()
    async with SpeechClient(emulator.url, KeyCredential(key)) as client:
        start = _calls(client)[call]

        async def one() -> None:
            async with caller.audio() as audio:
                await trial(lambda: start(audio, kind == "spooled-generator"), rng, tally)

        for _ in range(30 // WAVE):
            await asyncio.gather(*(one() for _ in range(WAVE)))
    tally.check(expected=expected, at_least=15)
    assert await _settle(lambda: _descriptors_under(tmp_path)) == []
    assert await _settle(lambda: anyio.to_thread.run_sync(os.listdir, spool_dir)) == []
    caller.check_released()


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.timeout is new in Python 3.11")
@pytest.mark.parametrize(("kind", "call"), CALLS)
async def test_asyncio_timeout_around_a_call_ends_in_timeout_error(
    translating_emulator: Emulator,
    speech_emulator_key: str,
    tmp_path: Path,
    spool_dir: Path,
    kind: str,
    call: str,
) -> None:
    async def timed(start: Callable[[], Awaitable[Any]], rng: random.Random, tally: _Tally) -> None:
        try:
            async with asyncio.timeout(rng.uniform(0, 0.08)):  # pyright: ignore[reportAttributeAccessIssue]
                await start()
        except TimeoutError as err:
            # asyncio.timeout's own, not a SpeechTimeoutError (also a TimeoutError) of the call
            tally.note("timed out", None if type(err) is TimeoutError else err)
        except BaseException as err:
            tally.note(type(err).__name__, err)
        else:
            tally.note("completed")

    await _trials_leave_nothing_behind(
        translating_emulator,
        speech_emulator_key,
        tmp_path,
        spool_dir,
        kind,
        call,
        label="timeout",
        expected="timed out",
        trial=timed,
    )


class _Stop(Exception):
    """The sibling task's failure that makes a TaskGroup cancel the call."""


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.TaskGroup is new in Python 3.11")
@pytest.mark.parametrize(("kind", "call"), CALLS)
async def test_a_task_group_cancels_a_call_cleanly(
    translating_emulator: Emulator,
    speech_emulator_key: str,
    tmp_path: Path,
    spool_dir: Path,
    kind: str,
    call: str,
) -> None:
    async def grouped(start: Callable[[], Awaitable[Any]], rng: random.Random, tally: _Tally) -> None:
        stop = _Stop()

        async def sibling() -> None:
            await _pause(rng, 0.08)
            raise stop

        async def the_call() -> None:
            try:
                await start()
            except asyncio.CancelledError:
                tally.note("cancelled")
                raise
            except BaseException as err:
                tally.note(type(err).__name__, err)
                raise
            tally.note("completed")

        try:
            async with asyncio.TaskGroup() as group:  # pyright: ignore[reportAttributeAccessIssue]
                group.create_task(the_call())
                group.create_task(sibling())
        except Exception as caught:
            group_errors = getattr(caught, "exceptions", (caught,))
            if list(group_errors) != [stop]:
                tally.note("group", caught)

    await _trials_leave_nothing_behind(
        translating_emulator,
        speech_emulator_key,
        tmp_path,
        spool_dir,
        kind,
        call,
        label="group",
        expected="cancelled",
        trial=grouped,
    )
