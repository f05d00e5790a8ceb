"""transcribe_many in a process of its own: 1,000 files under a 256-descriptor limit, and resume after kill -9.

The emulator serves in the test process; the bulk run is a subprocess pointed at it, so the emulator's
recorded requests count every request of both runs.
"""

from __future__ import annotations

import hashlib
import json
import signal
import sys
import textwrap
from collections import Counter
from pathlib import Path

import anyio
import pytest

from speech_async import KeyCredential, SpeechClient
from speech_async.bulk import MANIFEST_FILE, transcribe_many
from speech_async.emulator import Emulator, Fault, ScriptedPhrase, ScriptedTranscript, make_wav

pytestmark = pytest.mark.anyio

_RUNNER = textwrap.dedent(
    """
    import asyncio, resource, sys
    from speech_async import KeyCredential, SpeechClient
    from speech_async.bulk import transcribe_many

    url, key, folder, out, concurrency, limit = sys.argv[1:7]
    if int(limit):
        resource.setrlimit(resource.RLIMIT_NOFILE, (int(limit), int(limit)))

    async def main() -> int:
        async with SpeechClient(url, KeyCredential(key)) as client:
            async with transcribe_many(
                client, folder, concurrency=int(concurrency), output_dir=out or None, requests_per_minute=None
            ) as run:
                async for item in run:
                    outcome = "ok" if item.ok else f"failed {type(item.error).__name__}: {item.error}"
                    print(outcome, item.source.name, flush=True)
            print("summary", run.summary.succeeded, run.summary.failed, flush=True)
        return 0

    sys.exit(asyncio.run(main()))
    """
)


def _write(folder: Path, count: int, emulator: Emulator, *, distinct: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    shared = make_wav(samples=bytes(1600))
    emulator.scripted.register(
        shared, ScriptedTranscript(phrases=(ScriptedPhrase(text="x", offset_ms=0, duration_ms=50),))
    )
    for index in range(count):
        data = make_wav(samples=index.to_bytes(4, "little") * 400) if distinct else shared
        if distinct:
            emulator.scripted.register(
                data, ScriptedTranscript(phrases=(ScriptedPhrase(text=f"t{index}", offset_ms=0, duration_ms=50),))
            )
        (folder / f"f{index:04d}.wav").write_bytes(data)


def _command(emulator: Emulator, key: str, folder: Path, out: str, concurrency: int, limit: int) -> list[str]:
    return [sys.executable, "-c", _RUNNER, emulator.url, key, str(folder), out, str(concurrency), str(limit)]


async def test_1000_files_under_256_descriptors(emulator: Emulator, speech_emulator_key: str, tmp_path: Path) -> None:
    folder = tmp_path / "many"
    await anyio.to_thread.run_sync(lambda: _write(folder, 1000, emulator, distinct=False))
    result = await anyio.run_process(
        _command(emulator, speech_emulator_key, folder, "", 32, 256), check=False, stderr=None
    )
    lines = result.stdout.decode().splitlines()
    assert result.returncode == 0, lines[-5:]
    assert lines[-1] == "summary 1000 0"
    assert Counter(line.split()[0] for line in lines[:-1]) == {"ok": 1000}
    assert emulator.in_flight_peak["transcribe"] <= 32


async def test_resume_after_kill_9(emulator: Emulator, speech_emulator_key: str, tmp_path: Path) -> None:
    folder = tmp_path / "calls"
    out = tmp_path / "out"
    count = 16
    await anyio.to_thread.run_sync(lambda: _write(folder, count, emulator, distinct=True))
    emulator.faults.add(Fault(delay_headers=0.1, count=1000))
    emulator.clear_requests()
    seen: list[str] = []
    async with await anyio.open_process(_command(emulator, speech_emulator_key, folder, str(out), 2, 0)) as process:
        assert process.stdout is not None
        buffer = b""
        with anyio.fail_after(30):
            while len(seen) < 5:
                buffer += await process.stdout.receive()
                *done, rest = buffer.split(b"\n")
                buffer = rest
                seen.extend(line.decode() for line in done)
        process.send_signal(signal.SIGKILL)
        await process.wait()
    assert process.returncode == -signal.SIGKILL
    assert all(line.startswith("ok ") for line in seen)

    manifest = out / MANIFEST_FILE
    raw = await anyio.to_thread.run_sync(manifest.read_bytes)
    first = [json.loads(line) for line in raw.splitlines() if line.endswith(b"}")]
    done_first = {record["name"] for record in first if record["state"] == "done"}
    assert len(done_first) >= 5
    assert len(done_first) < count  # killed mid-run
    emulator.faults.clear()

    async with (
        SpeechClient(emulator.url, KeyCredential(speech_emulator_key)) as client,
        transcribe_many(client, folder, concurrency=4, output_dir=out) as run,
    ):
        items = [item async for item in run]
    assert all(item.ok for item in items)
    skipped = {item.source.name for item in items if item.skipped}
    assert done_first <= skipped  # nothing finished is done again
    assert len(items) == count

    # Nothing lost: every output is there. Nothing written twice: one done record per source, and a
    # source finished by the first run never reached the service again.
    def outputs() -> tuple[list[bool], list[dict[str, object]]]:
        present = [(out / "calls" / f"f{index:04d}.wav.json").exists() for index in range(count)]
        records = [json.loads(line) for line in manifest.read_bytes().splitlines()]
        return present, records

    present, records = await anyio.to_thread.run_sync(outputs)
    assert all(present)
    assert Counter(r["name"] for r in records if r["state"] == "done") == {
        f"calls/f{i:04d}.wav": 1 for i in range(count)
    }
    answered = Counter(
        part.sha256 for r in emulator.requests if r.status == 200 for part in r.parts if part.name == "audio"
    )
    by_name = {
        f"calls/f{i:04d}.wav": hashlib.sha256(make_wav(samples=i.to_bytes(4, "little") * 400)).hexdigest()
        for i in range(count)
    }
    for name in done_first:
        assert answered[by_name[name]] == 1, name
