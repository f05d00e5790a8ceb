"""speech_async.bulk.transcribe_many against the emulator: order, bounds, 429 slow-down, failures, resume."""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import msgspec
import pytest

from speech_async import (
    InvalidAudioError,
    InvalidInputError,
    InvalidOptionsError,
    KeyCredential,
    RateLimitError,
    ServiceError,
    SpeechClient,
)
from speech_async.bulk import (
    LOCK_FILE,
    MANIFEST_FILE,
    BulkItem,
    BulkProgress,
    BulkSource,
    OutputLockedError,
    transcribe_many,
)
from speech_async.emulator import Emulator, Fault, ScriptedPhrase, ScriptedTranscript, make_wav

pytestmark = pytest.mark.anyio


def _audio(index: int) -> bytes:
    return make_wav(samples=index.to_bytes(4, "little") * 800)


async def _make_files(emulator: Emulator, folder: Path, count: int, *, sub: str = "") -> list[Path]:
    return await anyio.to_thread.run_sync(_write_files, emulator, folder, count, sub)


def _write_files(emulator: Emulator, folder: Path, count: int, sub: str) -> list[Path]:
    paths: list[Path] = []
    target = folder / sub if sub else folder
    target.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        data = _audio(index + (1000 if sub else 0))
        path = target / f"f{index:03d}.wav"
        path.write_bytes(data)
        emulator.scripted.register(
            data, ScriptedTranscript(phrases=(ScriptedPhrase(text=f"text {index}", offset_ms=0, duration_ms=300),))
        )
        paths.append(path)
    return paths


async def _io(func: Any, *args: Any) -> Any:
    """Run a file-system step of the test in a worker thread (the loop must never block)."""
    return await anyio.to_thread.run_sync(func, *args)


async def _collect(run: Any) -> list[BulkItem]:
    items: list[BulkItem] = []
    async with run:
        async for item in run:
            items.append(item)
    return items


def _transcribe_requests(emulator: Emulator) -> list[Any]:
    return [r for r in emulator.requests if r.route == "transcribe"]


def _audio_digests(emulator: Emulator, status: int | None = 200) -> Counter[str]:
    return Counter(
        part.sha256
        for r in _transcribe_requests(emulator)
        if status is None or r.status == status
        for part in r.parts
        if part.name == "audio"
    )


async def test_concurrency_bound_holds_and_is_reached(emulator: Emulator, client: SpeechClient, tmp_path: Path) -> None:
    paths = await _make_files(emulator, tmp_path, 24)
    emulator.faults.add(Fault(delay_headers=0.05, count=24))
    emulator.clear_counters()
    items = await _collect(transcribe_many(client, [str(p) for p in paths], concurrency=4))
    assert all(item.ok for item in items)
    assert emulator.in_flight_peak["transcribe"] == 4
    assert emulator.in_flight["transcribe"] == 0
    emulator.clear_counters()
    assert emulator.in_flight_peak["transcribe"] == 0


async def test_in_flight_admin_route(emulator: Emulator, client: SpeechClient, tmp_path: Path) -> None:
    paths = await _make_files(emulator, tmp_path, 3)
    await _collect(transcribe_many(client, paths, concurrency=3))
    async with await anyio.connect_tcp("127.0.0.1", int(emulator.url.rsplit(":", 1)[1])) as stream:
        await stream.send(b"GET /_emulator/in-flight HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        raw = b""
        with contextlib.suppress(anyio.EndOfStream):
            while True:
                raw += await stream.receive()
    body = json.loads(raw.split(b"\r\n\r\n", 1)[1])
    assert body["in_flight"]["transcribe"] == 0
    assert 1 <= body["peak"]["transcribe"] <= 3


async def test_as_completed_and_ordered(emulator: Emulator, client: SpeechClient, tmp_path: Path) -> None:
    paths = await _make_files(emulator, tmp_path, 6)
    # The first request is held back: as completed, it comes last; ordered, first.
    emulator.faults.add(Fault(delay_headers=0.4))
    unordered = await _collect(transcribe_many(client, paths, concurrency=6))
    assert unordered[-1].index == 0
    assert sorted(item.index for item in unordered) == list(range(6))
    emulator.faults.add(Fault(delay_headers=0.4))
    ordered = await _collect(transcribe_many(client, paths, concurrency=6, ordered=True))
    assert [item.index for item in ordered] == list(range(6))
    assert [item.result.text if item.result else None for item in ordered] == [f"text {i}" for i in range(6)]


async def test_ordered_window_bounds_what_runs_ahead(emulator: Emulator, client: SpeechClient, tmp_path: Path) -> None:
    paths = await _make_files(emulator, tmp_path, 12)
    emulator.faults.add(Fault(delay_headers=0.5))  # the first item is slow
    emulator.clear_requests()
    seen: list[int] = []

    async def watch() -> None:
        await anyio.sleep(0.35)
        seen.append(len(_transcribe_requests(emulator)))

    items: list[BulkItem] = []
    async with anyio.create_task_group() as group:
        group.start_soon(watch)
        items = await _collect(transcribe_many(client, paths, concurrency=2, ordered=True, ordered_window=3))
    assert [item.index for item in items] == list(range(12))
    # While the first is held: at most the window (3) dispatched, so 2 answered besides it at most.
    assert seen[0] <= 3


async def test_requests_per_minute_bound(emulator: Emulator, client: SpeechClient, tmp_path: Path) -> None:
    paths = await _make_files(emulator, tmp_path, 6)
    started = time.monotonic()
    # 600 a minute counted over 0.2 s windows: 2 starts per 0.2 s, so 6 requests need at least 0.4 s.
    items = await _collect(transcribe_many(client, paths, concurrency=6, requests_per_minute=600, rate_window=0.2))
    elapsed = time.monotonic() - started
    assert all(item.ok for item in items)
    assert elapsed >= 0.4
    assert elapsed < 5


async def test_429_slows_the_run_and_the_item_is_retried(
    emulator: Emulator, client: SpeechClient, tmp_path: Path
) -> None:
    paths = await _make_files(emulator, tmp_path, 8)
    emulator.faults.add(Fault(status=429, retry_after=0.3, count=2))
    emulator.clear_requests()
    started = time.monotonic()
    lowest: list[int] = []
    run = transcribe_many(client, paths, concurrency=4, progress=lambda _: lowest.append(run.concurrency))
    items = await _collect(run)
    assert all(item.ok for item in items), [item.error for item in items]
    assert len(items) == 8
    statuses = Counter(r.status for r in _transcribe_requests(emulator))
    assert statuses == {200: 8, 429: 2}  # bulk retried the two, the client did not retry them itself
    # Every source answered exactly once with 200: none lost, none counted twice.
    assert set(_audio_digests(emulator).values()) == {1}
    assert time.monotonic() - started >= 0.3  # Retry-After held the whole run back
    assert min(lowest) <= 2  # halved (once for the burst), then won back one success at a time


async def test_429_beyond_the_retries_is_the_items_error(
    emulator: Emulator, client: SpeechClient, tmp_path: Path
) -> None:
    paths = await _make_files(emulator, tmp_path, 1)
    emulator.faults.add(Fault(status=429, retry_after_ms=10, count=3))
    items = await _collect(transcribe_many(client, paths, rate_limit_retries=2))
    assert isinstance(items[0].error, RateLimitError)


async def test_failures_are_captured_and_the_rest_go_on(
    emulator: Emulator, client: SpeechClient, tmp_path: Path
) -> None:
    paths = await _make_files(emulator, tmp_path, 3)
    corrupt = tmp_path / "corrupt.wav"
    await _io(corrupt.write_bytes, b"this is no audio at all" * 10)
    missing = tmp_path / "missing.wav"
    emulator.faults.add(Fault(status=500))  # with no retries, the client gives up on it
    client = client.with_options(retry=0)
    sources = [paths[0], corrupt, missing, paths[1], paths[2]]
    items = await _collect(transcribe_many(client, sources, concurrency=1, ordered=True))
    assert [item.ok for item in items] == [False, False, False, True, True]
    assert isinstance(items[0].error, ServiceError)
    assert isinstance(items[1].error, InvalidAudioError)
    assert "corrupt.wav" in str(items[1].error)
    assert isinstance(items[2].error, InvalidAudioError)
    assert "missing.wav" in str(items[2].error)
    assert items[2].source.path == str(missing)


async def test_progress_callback_sync_and_async(emulator: Emulator, client: SpeechClient, tmp_path: Path) -> None:
    paths = await _make_files(emulator, tmp_path, 5)
    sync_seen: list[BulkProgress] = []
    async_seen: list[BulkProgress] = []

    async def on_progress(progress: BulkProgress) -> None:
        await anyio.lowlevel.checkpoint()
        async_seen.append(progress)

    run = transcribe_many(client, tmp_path, progress=sync_seen.append)
    await _collect(run)
    await _collect(transcribe_many(client, [*paths, tmp_path / "nope.wav"], progress=on_progress))
    assert [p.done for p in sync_seen] == [1, 2, 3, 4, 5]
    assert sync_seen[-1].total == 5
    assert sync_seen[-1].audio_seconds == pytest.approx(run.summary.audio_seconds)
    assert (run.summary.total, run.summary.succeeded) == (5, 5)
    assert (async_seen[-1].done, async_seen[-1].failed, async_seen[-1].succeeded) == (6, 1, 5)


async def test_sources_folders_globs_pairs_and_names(emulator: Emulator, client: SpeechClient, tmp_path: Path) -> None:
    a = await _make_files(emulator, tmp_path / "one", 2)
    b = await _make_files(emulator, tmp_path / "two", 2)
    await _io((tmp_path / "one" / "notes.txt").write_text, "not audio")
    other = await _io(a[1].read_bytes)

    async def pairs() -> AsyncIterator[tuple[str, bytes] | BulkSource]:
        yield ("mem/bytes.wav", _audio(0))
        yield BulkSource(name="mem/other.wav", audio=other)

    out = tmp_path / "out"
    items = await _collect(transcribe_many(client, [tmp_path / "one", str(tmp_path / "two" / "*.wav")], output_dir=out))
    names = sorted(item.source.name for item in items)
    assert len(names) == 4
    assert all(item.ok for item in items)
    assert names[:2] == ["one/f000.wav", "one/f001.wav"]
    assert await _io((out / "one" / "f000.wav.json").exists)
    # The two folders' f000.wav don't collide.
    assert len({p for item in items for p in item.outputs}) == 4
    more = await _collect(transcribe_many(client, pairs(), output_dir=tmp_path / "out2", formats=["json"]))
    assert sorted(item.source.name for item in more) == ["mem/bytes.wav", "mem/other.wav"]
    assert all(item.ok for item in more)
    assert await _io(b[0].exists)


async def test_bad_sources_are_items(emulator: Emulator, client: SpeechClient, tmp_path: Path) -> None:
    await _make_files(emulator, tmp_path / "audio", 1)
    await _io((tmp_path / "empty").mkdir)
    sources: list[Any] = [
        str(tmp_path / "*.nomatch"),
        tmp_path / "empty",
        ("../escape.wav", b"x"),
        ("dup.wav", _audio(0)),
        ("DUP.wav", _audio(0)),
        42,
    ]
    emulator.clear_requests()
    items = await _collect(transcribe_many(client, sources, ordered=True))
    assert [item.ok for item in items] == [False, False, False, True, False, False]
    for item in (items[0], items[1], items[2], items[4], items[5]):
        assert isinstance(item.error, InvalidInputError)
    assert "matches no file" in str(items[0].error)
    assert "no audio files" in str(items[1].error)
    assert len(_transcribe_requests(emulator)) == 1


async def test_bad_arguments_raise_before_any_request(client: SpeechClient, emulator: Emulator, tmp_path: Path) -> None:
    emulator.clear_requests()
    with pytest.raises(InvalidOptionsError):
        transcribe_many(client, tmp_path, concurrency=0)
    with pytest.raises(InvalidOptionsError):
        transcribe_many(client, tmp_path, formats=("json", "docx"))
    with pytest.raises(InvalidOptionsError):
        transcribe_many(client, tmp_path, requests_per_minute=0)
    with pytest.raises(InvalidOptionsError):
        transcribe_many(client, tmp_path, retry=3)
    with pytest.raises(InvalidInputError):
        transcribe_many(client, b"bytes are not a list of sources")  # type: ignore[arg-type]
    a_file = tmp_path / "file"
    await _io(a_file.write_text, "x")
    with pytest.raises(InvalidOptionsError, match="not a folder"):
        async with transcribe_many(client, tmp_path, output_dir=a_file):
            pass
    assert _transcribe_requests(emulator) == []


async def test_resume_skips_finished_and_redoes_changed(
    emulator: Emulator, client: SpeechClient, tmp_path: Path
) -> None:
    paths = await _make_files(emulator, tmp_path / "in", 4)
    out = tmp_path / "out"
    first = await _collect(transcribe_many(client, tmp_path / "in", output_dir=out, formats=("json", "txt")))
    assert all(item.ok and not item.skipped for item in first)
    json_file = out / "in" / "f000.wav.json"
    assert msgspec.json.decode(await _io(json_file.read_bytes))["combinedPhrases"][0]["text"] == "text 0"
    assert await _io((out / "in" / "f000.wav.txt").read_text) == "text 0\n"
    emulator.scripted.register(
        _audio(77), ScriptedTranscript(phrases=(ScriptedPhrase(text="new", offset_ms=0, duration_ms=300),))
    )

    def change() -> None:
        # f001 changes content (same size, mtime restored), f002 changes mtime only, f003 loses an output.
        stat1 = paths[1].stat()
        paths[1].write_bytes(_audio(77))
        os.utime(paths[1], ns=(stat1.st_atime_ns, stat1.st_mtime_ns))
        os.utime(paths[2], ns=(stat1.st_atime_ns, stat1.st_mtime_ns + 5_000_000_000))
        (out / "in" / "f003.wav.txt").unlink()

    await _io(change)
    emulator.clear_requests()
    second = await _collect(
        transcribe_many(client, tmp_path / "in", output_dir=out, formats=("json", "txt"), ordered=True)
    )
    assert [item.skipped for item in second] == [True, False, False, False]
    assert second[0].outputs == (json_file, out / "in" / "f000.wav.txt")
    assert len(_transcribe_requests(emulator)) == 3
    assert await _io((out / "in" / "f001.wav.txt").read_text) == "new\n"
    third = await _collect(transcribe_many(client, tmp_path / "in", output_dir=out, formats=("json", "txt")))
    assert all(item.skipped for item in third)
    assert len(_transcribe_requests(emulator)) == 3


async def test_crash_between_write_and_done_record_is_recovered(
    emulator: Emulator, client: SpeechClient, tmp_path: Path
) -> None:
    await _make_files(emulator, tmp_path / "in", 2)
    out = tmp_path / "out"
    await _collect(transcribe_many(client, tmp_path / "in", output_dir=out))
    manifest = out / MANIFEST_FILE
    lines = (await _io(manifest.read_bytes)).splitlines(keepends=True)
    # Drop the last done record, and add a torn line: as if killed after writing the outputs.
    last_done = max(i for i, line in enumerate(lines) if b'"done"' in line)
    kept = [line for i, line in enumerate(lines) if i != last_done]
    await _io(manifest.write_bytes, b"".join(kept) + b'{"v":1,"state":"do')
    emulator.clear_requests()
    items = await _collect(transcribe_many(client, tmp_path / "in", output_dir=out))
    assert all(item.skipped for item in items)
    assert _transcribe_requests(emulator) == []
    data = await _io(manifest.read_bytes)
    assert data.endswith(b"\n")
    records = [json.loads(line) for line in data.splitlines()]
    assert Counter(r["name"] for r in records if r["state"] == "done") == {"in/f000.wav": 1, "in/f001.wav": 1}


async def test_second_run_on_the_folder_is_refused(emulator: Emulator, client: SpeechClient, tmp_path: Path) -> None:
    paths = await _make_files(emulator, tmp_path / "in", 2)
    out = tmp_path / "out"
    emulator.clear_requests()
    async with transcribe_many(client, paths, output_dir=out) as run:
        with pytest.raises(OutputLockedError):
            async with transcribe_many(client, paths, output_dir=out):
                pass
        assert [item.ok async for item in run] == [True, True]
    assert await _io((out / LOCK_FILE).exists)
    # Released on close: a new run takes it.
    items = await _collect(transcribe_many(client, paths, output_dir=out))
    assert all(item.skipped for item in items)


async def test_aclose_mid_run_cancels_in_flight_work(
    emulator: Emulator, speech_emulator_key: str, tmp_path: Path
) -> None:
    paths = await _make_files(emulator, tmp_path, 12)
    emulator.faults.add(Fault(delay_headers=1.0, count=12))
    async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key)) as client:
        started = time.monotonic()
        run = transcribe_many(client, paths, concurrency=4, output_dir=tmp_path / "out")
        async with run:
            with anyio.move_on_after(0.3):
                async for _ in run:
                    pass
        assert time.monotonic() - started < 0.9
        assert run.summary.succeeded == 0
        # Breaking out of async for inside async with leaves nothing running, and the lock is free.
        emulator.faults.clear()
        async with transcribe_many(client, paths[:1], output_dir=tmp_path / "out") as again:
            async for item in again:
                assert item.ok
                break


async def test_large_lazy_generator_is_not_materialised(
    emulator: Emulator, client: SpeechClient, tmp_path: Path
) -> None:
    paths = await _make_files(emulator, tmp_path, 2)
    pulled = 0

    def endless() -> Any:
        nonlocal pulled
        for index in range(100_000):
            pulled += 1
            yield str(paths[index % 2]) if index < 2 else (f"gen/{index}.wav", _audio(index % 2))

    async with transcribe_many(client, endless(), concurrency=2) as run:
        count = 0
        async for item in run:
            assert item.ok
            count += 1
            if count == 5:
                break
        assert run.summary.total is None
    assert pulled < 100
