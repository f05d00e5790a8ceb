"""Audio sources under hostile conditions: paths that are not files, too few descriptors, broken caller
objects, a full disk while spooling.

Every test goes through the public client against the emulator; what is asserted is what a caller sees
(the exception, its message and cause) and what the service received (the emulator's own records).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import io
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from speech_async import (
    AudioSourceError,
    InvalidAudioError,
    KeyCredential,
    Limits,
    RetryPolicy,
    SpeechClient,
    SpeechConnectionError,
)
from speech_async.emulator import Emulator, Fault, ScriptedTranscript

from ..support.audio import TINY_WAV, make_wav
from ..support.http import scripted_cli

ROOT = Path(__file__).resolve().parents[2]
QUICK_RETRIES = RetryPolicy(max_attempts=5, backoff_base=0.01, backoff_max=0.02)
"""Retries that would happen at once: a test that must see one attempt would see five without the fix."""


@pytest.fixture
async def quick(emulator: Emulator, speech_emulator_key: str) -> AsyncIterator[SpeechClient]:
    async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key), retry=QUICK_RETRIES) as client:
        yield client


# --- item 7: a path that is not a regular file is refused before anything could block -------------------


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    """A named pipe nobody writes to: opening it for reading blocks until a writer comes."""
    path = tmp_path / "live.wav"
    os.mkfifo(path)
    yield path
    # Should a reader still be stuck in open() (the bug this guards against), a writer lets it go, so
    # that a failing test cannot also hang the interpreter's exit on a blocked worker thread.
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))


@pytest.fixture
def unix_socket() -> Iterator[Path]:
    """A listening unix socket, at a path short enough for sun_path (tmp_path may be too long)."""
    folder = Path(tempfile.mkdtemp(prefix="sa-"))
    path = folder / "s.wav"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)
    try:
        yield path
    finally:
        listener.close()
        path.unlink(missing_ok=True)
        folder.rmdir()


async def test_a_fifo_is_refused_at_once_instead_of_hanging(
    client: SpeechClient, emulator: Emulator, fifo: Path
) -> None:
    with anyio.fail_after(5), pytest.raises(InvalidAudioError) as caught:
        await client.transcribe(fifo)
    assert str(caught.value).startswith(f"{str(fifo)!r} is a FIFO (named pipe), not an audio file")
    assert "open it yourself and pass the file object" in str(caught.value)
    assert emulator.requests == []


async def test_a_fifo_is_refused_by_short_audio_recognition_too(
    client: SpeechClient, emulator: Emulator, fifo: Path
) -> None:
    with anyio.fail_after(5), pytest.raises(InvalidAudioError, match=r"is a FIFO \(named pipe\), not an audio file"):
        await client.recognize(fifo, language="en-US")
    assert emulator.requests == []


@pytest.mark.parametrize(
    ("path", "kind"),
    [("/dev/zero", "a character device"), ("/dev/null", "a character device")],
    ids=["dev-zero", "dev-null"],
)
async def test_a_device_is_refused_before_sending(
    client: SpeechClient, emulator: Emulator, path: str, kind: str
) -> None:
    if not await anyio.Path(path).exists():
        pytest.skip(f"{path} does not exist here")
    with anyio.fail_after(5), pytest.raises(InvalidAudioError) as caught:
        await client.transcribe(path)
    assert str(caught.value).startswith(f"{path!r} is {kind}, not an audio file")
    assert emulator.requests == []


async def test_a_directory_and_a_socket_are_refused_before_sending(
    client: SpeechClient, emulator: Emulator, tmp_path: Path, unix_socket: Path
) -> None:
    with anyio.fail_after(5):
        with pytest.raises(InvalidAudioError, match=r"is a directory, not an audio file$"):
            await client.transcribe(tmp_path)
        with pytest.raises(InvalidAudioError) as caught:
            await client.transcribe(unix_socket)
    assert str(caught.value) == f"{str(unix_socket)!r} is a socket, not an audio file"
    assert emulator.requests == []


async def test_a_symlink_to_a_regular_file_is_still_sent(
    client: SpeechClient, emulator: Emulator, tmp_path: Path, hello_bytes: bytes
) -> None:
    target = anyio.Path(tmp_path / "real.wav")
    await target.write_bytes(hello_bytes)
    link = anyio.Path(tmp_path / "link.wav")
    await link.symlink_to(target)
    result = await client.transcribe(Path(link))
    assert result.phrases[0].text == "Hello, and thank you for calling."
    assert emulator.requests[-1].part("audio").filename == "link.wav"  # type: ignore[union-attr]


# --- item 9: a path holds a descriptor only while it is being sent --------------------------------------

_TRANSCRIBE_MANY = r"""
import asyncio, collections, json, os, resource, sys

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[4]), hard))

from speech_async import KeyCredential, SpeechClient


async def main(url, key, folder):
    paths = sorted(os.path.join(folder, name) for name in os.listdir(folder))
    async with SpeechClient(url, KeyCredential(key)) as client:
        results = await asyncio.gather(*(client.transcribe(path) for path in paths), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    errors = collections.Counter(f"{type(r).__name__}: {r}"[:240] for r in failures)
    texts = collections.Counter(r.phrases[0].text for r in results if not isinstance(r, BaseException))
    print(json.dumps({
        "limit": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
        "calls": len(paths),
        "succeeded": len(paths) - len(failures),
        "texts": dict(texts),
        "errors": errors.most_common(3),
    }))


asyncio.run(main(*sys.argv[1:4]))
"""


@contextlib.contextmanager
def _emulator_process(key: str, audio: bytes, text: str) -> Iterator[str]:
    """The emulator in a process of its own (its descriptors are not ours), with ``audio`` registered."""
    with scripted_cli("--key", key) as (_, url):
        transcript = {"phrases": [{"text": text, "offset_ms": 0, "duration_ms": 100}]}
        put = urllib.request.Request(
            f"{url}/_emulator/scripted/{hashlib.sha256(audio).hexdigest()}",
            data=json.dumps(transcript).encode(),
            method="PUT",
        )
        with urllib.request.urlopen(put, timeout=10) as answer:
            assert answer.status == 204
        yield url


def _run_script(script: str, *args: str) -> dict[str, Any]:
    run = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=120, cwd=ROOT, check=False
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def _needs_descriptors(limit: int) -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < limit:
        pytest.skip(f"the hard descriptor limit is {hard}")


def test_a_thousand_concurrent_paths_succeed_with_256_file_descriptors(tmp_path: Path) -> None:
    limit = 256
    _needs_descriptors(limit)
    folder = tmp_path / "calls"
    folder.mkdir()
    for index in range(1000):
        (folder / f"call-{index:04}.wav").write_bytes(TINY_WAV)
    key = "fd-limit-test-key"
    with _emulator_process(key, TINY_WAV, "one of a thousand") as url:
        report = _run_script(_TRANSCRIBE_MANY, url, key, str(folder), str(limit))
    assert report == {
        "limit": limit,
        "calls": 1000,
        "succeeded": 1000,
        "texts": {"one of a thousand": 1000},
        "errors": [],
    }


_WITHOUT_DESCRIPTORS = r"""
import asyncio, json, os, resource, sys

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))

from speech_async import AudioSourceError, InvalidAudioError, KeyCredential, SpeechClient
import speech_async._audio

speech_async._audio._DESCRIPTOR_PATIENCE = 1.0  # instead of 10 s, to keep the test short


def take_every_descriptor():
    taken = []
    try:
        while True:
            taken.append(os.open(os.devnull, os.O_RDONLY))
    except OSError:
        return taken


async def attempt(client, path, give_back_after):
    taken = take_every_descriptor()
    loop = asyncio.get_running_loop()
    if give_back_after is not None:
        loop.call_later(give_back_after, lambda: [os.close(fd) for fd in taken[:16]])
    try:
        result = await client.transcribe(path)
        return {"outcome": "ok", "text": result.phrases[0].text}
    except Exception as err:
        cause = err.__cause__
        return {
            "outcome": type(err).__name__,
            "message": str(err),
            "bad audio": isinstance(err, InvalidAudioError),
            "cause errno": getattr(cause, "errno", None),
        }
    finally:
        for fd in taken[16 if give_back_after is not None else 0:]:
            os.close(fd)


async def main(url, key, path):
    async with SpeechClient(url, KeyCredential(key)) as client:
        await client.transcribe(path)  # a process at work: its modules loaded, a connection in the pool
        print(json.dumps({
            "freed soon": await attempt(client, path, 0.3),
            "never freed": await attempt(client, path, None),
        }))


asyncio.run(main(*sys.argv[1:4]))
"""


def test_running_out_of_descriptors_waits_then_says_so_but_never_blames_the_audio(tmp_path: Path) -> None:
    _needs_descriptors(64)
    path = tmp_path / "call.wav"
    path.write_bytes(TINY_WAV)
    key = "fd-exhaustion-test-key"
    with _emulator_process(key, TINY_WAV, "patience") as url:
        report = _run_script(_WITHOUT_DESCRIPTORS, url, key, str(path))
    assert report["freed soon"] == {"outcome": "ok", "text": "patience"}, report
    never = report["never freed"]
    assert never["outcome"] == "AudioSourceError"
    assert not never["bad audio"]
    assert never["cause errno"] == errno.EMFILE
    assert never["message"].startswith("too many open files: the process's descriptor limit (64) stayed full for 1 s")
    assert "raise the limit (ulimit -n), or run fewer calls at once" in never["message"]


async def test_a_path_holds_no_descriptor_between_the_checks_and_the_upload(
    emulator: Emulator, speech_emulator_key: str, tmp_path: Path
) -> None:
    # 100 calls queued behind one connection, whose first answer is held back for a second: all of
    # them are checked and waiting by then, and none may hold its file open while it waits.
    audio = make_wav(seconds=0.2)
    emulator.scripted.register(audio, ScriptedTranscript(phrases=()))
    emulator.faults.add(Fault(delay_headers=1.0))
    paths = [tmp_path / f"{index}.wav" for index in range(100)]
    for path in paths:
        await anyio.Path(path).write_bytes(audio)
    folder = str(tmp_path)

    def count_open() -> int:
        return sum(1 for name in os.listdir("/proc/self/fd") if _points_under(name, folder))

    async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key), connection_limit=1) as client:
        calls = [asyncio.create_task(client.transcribe(path)) for path in paths]
        await asyncio.sleep(0.6)
        waiting = sum(not call.done() for call in calls)
        samples = []
        for _ in range(20):
            samples.append(await anyio.to_thread.run_sync(count_open))
            await asyncio.sleep(0.01)
        results = await asyncio.gather(*calls)
    assert len(results) == 100
    assert waiting == 100, "every call was still waiting while the descriptors were counted"
    assert max(samples) <= 1, f"{max(samples)} of the queued files were open while they waited"


def _points_under(fd: str, folder: str) -> bool:
    with contextlib.suppress(OSError):
        return os.readlink(f"/proc/self/fd/{fd}").startswith(folder + os.sep)
    return False


@pytest.mark.parametrize("change", ["deleted", "replaced-by-a-fifo"])
async def test_a_file_that_goes_away_before_its_turn_fails_at_once_without_hanging(
    emulator: Emulator, speech_emulator_key: str, tmp_path: Path, hello_bytes: bytes, change: str
) -> None:
    # The file is checked, then waits for the only connection; meanwhile it is deleted, or replaced by a
    # pipe nobody writes to. Opening it to send it must neither hang nor be retried.
    path = tmp_path / "queued.wav"
    await anyio.Path(path).write_bytes(hello_bytes)
    emulator.faults.add(Fault(delay_headers=0.5))
    async with SpeechClient(
        emulator.url, KeyCredential(speech_emulator_key), connection_limit=1, retry=QUICK_RETRIES
    ) as client:
        blocker = asyncio.create_task(client.transcribe(hello_bytes))
        queued = asyncio.create_task(client.transcribe(path))
        await asyncio.sleep(0.2)
        await anyio.Path(path).unlink()
        if change == "replaced-by-a-fifo":
            await anyio.to_thread.run_sync(os.mkfifo, path)
        with anyio.fail_after(5), pytest.raises(AudioSourceError) as caught:
            await queued
        await blocker
    expected = {
        "deleted": f"the audio file {str(path)!r} cannot be opened to send it: No such file or directory",
        "replaced-by-a-fifo": f"the audio file {str(path)!r} changed since it was checked: it is now a FIFO",
    }[change]
    assert str(caught.value).startswith(expected)
    assert emulator.counters["transcribe"] == 2, "the failed call was not retried"


# --- item 13: the caller's own source failing is an AudioSourceError, at once, never retried -------------


class _Broken(Exception):
    """What the caller's own object raises."""


class _SeekableFailing(io.RawIOBase):
    """A caller's seekable file object whose read fails once the upload is well under way."""

    def __init__(self, data: bytes, fail_at: int, failure: BaseException) -> None:
        self._data = io.BytesIO(data)
        self._fail_at = fail_at
        self._failure = failure

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._data.tell()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._data.seek(offset, whence)

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        if self._data.tell() >= self._fail_at:
            raise self._failure
        return self._data.read(size)


class _AsyncSeekableFailing:
    """The same, as an async file object (the shape of an aiofiles or anyio file)."""

    def __init__(self, data: bytes, fail_at: int, failure: BaseException) -> None:
        self._file = _SeekableFailing(data, fail_at, failure)
        self.name = "async.wav"

    async def read(self, size: int = -1) -> bytes:
        await asyncio.sleep(0)
        return self._file.read(size)

    async def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    async def tell(self) -> int:
        return self._file.tell()


class _UnseekableFailing(_SeekableFailing):
    def seekable(self) -> bool:
        return False


BIG = make_wav(seconds=40)  # 1.28 MB: the request is well on the wire before the source fails
FAIL_AT = 512 * 1024


def _failing_source(kind: str, failure: BaseException) -> Any:
    if kind == "async-generator":

        async def stream() -> AsyncIterator[bytes]:
            for start in range(0, FAIL_AT, 64 * 1024):
                yield BIG[start : start + 64 * 1024]
            await asyncio.sleep(0.05)
            raise failure

        return stream()
    if kind == "sync-file":
        return _SeekableFailing(BIG, FAIL_AT, failure)
    if kind == "unseekable-file":
        return _UnseekableFailing(BIG, FAIL_AT, failure)
    if kind == "async-file":
        return _AsyncSeekableFailing(BIG, FAIL_AT, failure)
    raise AssertionError(kind)


async def _settled_attempts(emulator: Emulator) -> int:
    """The attempts the emulator saw, once every attempt the client made has been recorded."""
    with anyio.fail_after(5):
        while not emulator.requests:  # noqa: ASYNC110 - the emulator offers no event to wait on
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)  # a retry (the bug) would have arrived by now
    return emulator.counters["transcribe"]


@pytest.mark.parametrize("kind", ["async-generator", "sync-file", "unseekable-file", "async-file"])
@pytest.mark.parametrize(
    "failure",
    [_Broken("the caller's disk went away"), RuntimeError("caller bug"), SpeechConnectionError("caller's own")],
    ids=["custom-exception", "runtime-error", "caller-raises-a-speech-error"],
)
async def test_a_failing_caller_source_is_an_audio_source_error_sent_once(
    quick: SpeechClient, emulator: Emulator, kind: str, failure: BaseException
) -> None:
    with pytest.raises(AudioSourceError) as caught:
        await quick.transcribe(_failing_source(kind, failure), filename="call.wav")
    error = caught.value
    assert type(error) is AudioSourceError, "not AudioNotReplayableError: the source, not a retry, failed"
    assert error.__cause__ is failure, f"the original exception is the cause, not {error.__cause__!r}"
    assert f"{type(failure).__name__}: {failure}" in str(error)
    assert await _settled_attempts(emulator) == 1
    assert not emulator.requests[0].body_complete


@pytest.mark.parametrize("kind", ["async-generator", "sync-file", "async-file"])
async def test_a_caller_source_yielding_text_is_an_audio_source_error_sent_once(
    quick: SpeechClient, emulator: Emulator, kind: str
) -> None:
    if kind == "async-generator":

        async def stream() -> AsyncIterator[Any]:
            for start in range(0, FAIL_AT, 64 * 1024):
                yield BIG[start : start + 64 * 1024]
            await asyncio.sleep(0.05)
            yield "not bytes"

        audio: Any = stream()
    else:

        class Texty(_SeekableFailing):
            def read(self, size: int = -1) -> Any:
                return "not bytes" if self.tell() >= FAIL_AT else super().read(size)

        audio = Texty(BIG, FAIL_AT, _Broken())
        if kind == "async-file":
            wrapper = _AsyncSeekableFailing(BIG, FAIL_AT, _Broken())
            wrapper._file = audio
            audio = wrapper
    with pytest.raises(AudioSourceError, match=r"produced str, not bytes: open files in binary mode"):
        await quick.transcribe(audio, filename="call.wav")
    assert await _settled_attempts(emulator) == 1


async def test_a_caller_source_failing_before_sending_is_an_audio_source_error(
    quick: SpeechClient, emulator: Emulator
) -> None:
    failure = _Broken("no audio today")

    async def stream() -> AsyncIterator[bytes]:
        raise failure
        yield b""

    class Unreadable(_SeekableFailing):
        def seekable(self) -> bool:
            raise failure

    sources: list[Any] = [
        stream(),
        _SeekableFailing(BIG, 0, failure),
        _AsyncSeekableFailing(BIG, 0, failure),
        Unreadable(BIG, 0, failure),
    ]
    for audio in sources:
        with pytest.raises(AudioSourceError) as caught:
            await quick.transcribe(audio, filename="call.wav")
        assert caught.value.__cause__ is failure
    assert emulator.requests == []


# --- item 14: spooling to a full disk -------------------------------------------------------------------


@pytest.fixture
def spool_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Spool files go here for the test (tempfile caches its directory, so set it, not TMPDIR)."""
    folder = tmp_path / "spool"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def full_disk(spool_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Spool files are created as usual, but their descriptor writes to /dev/full: ENOSPC, for real."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    made = spool_dir / "speech-async-full.audio"
    real_mkstemp = tempfile.mkstemp

    def mkstemp(*args: Any, **kwargs: Any) -> tuple[int, str]:
        fd, path = real_mkstemp(*args, **kwargs)
        os.close(fd)
        os.replace(path, made)
        return os.open("/dev/full", os.O_WRONLY), str(made)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    return made


@pytest.mark.parametrize("seconds", [0.1, 20], ids=["fails-at-the-final-flush", "fails-mid-copy"])
async def test_a_full_disk_while_spooling_is_an_audio_source_error_and_leaves_no_file(
    client: SpeechClient, emulator: Emulator, full_disk: Path, seconds: float
) -> None:
    audio = make_wav(seconds=seconds)

    async def stream() -> AsyncIterator[bytes]:
        for start in range(0, len(audio), 100_000):
            yield audio[start : start + 100_000]

    with pytest.raises(AudioSourceError) as caught:
        await client.transcribe(stream(), spool=True, filename="live.wav")
    assert "to a temporary file (spool=True) failed: No space left on device" in str(caught.value)
    assert isinstance(caught.value.__cause__, OSError)
    assert caught.value.__cause__.errno == errno.ENOSPC
    assert not await anyio.Path(full_disk).exists(), "the failed spool file is deleted"
    assert emulator.requests == []


async def test_a_stream_failing_while_it_is_spooled_leaves_no_file(
    client: SpeechClient, emulator: Emulator, spool_dir: Path
) -> None:
    failure = _Broken("the microphone was unplugged")

    async def stream() -> AsyncIterator[bytes]:
        yield BIG[:FAIL_AT]
        raise failure

    with pytest.raises(AudioSourceError) as caught:
        await client.transcribe(stream(), spool=True, filename="live.wav")
    assert caught.value.__cause__ is failure
    assert await _listing(spool_dir) == []
    assert emulator.requests == []


async def test_a_stream_over_the_limit_while_spooled_leaves_no_file(
    emulator: Emulator, speech_emulator_key: str, spool_dir: Path
) -> None:
    async def stream() -> AsyncIterator[bytes]:
        for start in range(0, len(BIG), 100_000):
            yield BIG[start : start + 100_000]

    limits = Limits(max_audio_bytes=300_000)
    async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key), limits=limits) as client:
        with pytest.raises(InvalidAudioError, match="over the limit"):
            await client.transcribe(stream(), spool=True, filename="live.wav")
    assert await _listing(spool_dir) == []
    assert emulator.requests == []


async def test_a_spooled_stream_is_resent_from_its_spool_file_and_the_file_goes_afterwards(
    quick: SpeechClient, emulator: Emulator, spool_dir: Path, hello_bytes: bytes
) -> None:
    emulator.faults.add(Fault(status=503))

    async def stream() -> AsyncIterator[bytes]:
        for start in range(0, len(hello_bytes), 10_000):
            yield hello_bytes[start : start + 10_000]

    result = await quick.transcribe(stream(), spool=True, filename="hello.wav")
    assert result.phrases[0].text == "Hello, and thank you for calling."
    assert [r.status for r in emulator.requests] == [503, 200]
    assert await _listing(spool_dir) == []


async def _listing(folder: Path) -> list[str]:
    return sorted(await anyio.to_thread.run_sync(os.listdir, folder))
