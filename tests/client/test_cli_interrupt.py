"""Ctrl-C during ``speech-async transcribe``: a clean stop with status 130, and a second one never hangs.

The command runs in a subprocess (a signal needs a process of its own) against the scripted emulator in
a thread of the test. Once a few files are done, the emulator starts holding every answer back, so
requests are in flight when SIGINT arrives.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import pytest

from speech_async.cli import main
from speech_async.emulator import Emulator, Fault

from ..support.samples import HELLO_TRANSCRIPT, SAMPLES

FILES = 40
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "calls"
    folder.mkdir()
    audio = (SAMPLES / "hello.wav").read_bytes()
    for index in range(FILES):
        (folder / f"call-{index:02d}.wav").write_bytes(audio)
    return folder


def start(emulator: Emulator, key: str, cwd: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "AZURE_SPEECH_API_KEY": key, "AZURE_SPEECH_ENDPOINT": emulator.url}
    env.pop("AZURE_SPEECH_REGION", None)
    argv = ["transcribe", "calls", "--out", "out", "--concurrency", "2", "--requests-per-minute", "100000"]
    return subprocess.Popen(
        [sys.executable, "-m", "speech_async.cli", *argv],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_done_lines(stderr: IO[str], count: int) -> list[str]:
    lines: list[str] = []
    while sum("done call-" in line for line in lines) < count:
        line = stderr.readline()
        assert line, "".join(lines)
        lines.append(line)
    return lines


def hold_answers(emulator: Emulator) -> None:
    emulator.faults.add(Fault(route="transcribe", count=10_000, delay_headers=2.0))
    time.sleep(0.3)  # the next requests are now in flight, held back


def manifest(out: Path) -> list[dict[str, object]]:
    # Every line whole JSON: nothing torn by the stop.
    return [json.loads(line) for line in (out / ".speech-async-manifest.jsonl").read_text().splitlines()]


def test_one_ctrl_c_stops_cleanly_with_130_and_a_rerun_finishes_the_rest(
    speech_emulator: Emulator, speech_emulator_key: str, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    speech_emulator.scripted.register((SAMPLES / "hello.wav").read_bytes(), HELLO_TRANSCRIPT)
    process = start(speech_emulator, speech_emulator_key, folder.parent)
    assert process.stderr is not None
    try:
        wait_for_done_lines(process.stderr, 2)
        hold_answers(speech_emulator)
        sent = time.monotonic()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
        elapsed = time.monotonic() - sent
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 130
    assert elapsed < 4, elapsed
    assert out == ""
    last = err.splitlines()[-1]
    assert last.startswith("speech-async transcribe: interrupted: ")
    assert last.endswith("; rerun to resume")
    assert "Traceback" not in err

    output = folder.parent / "out"
    records = manifest(output)
    done = {record["name"] for record in records if record["state"] == "done"}
    assert len(done) >= 2
    for name in done:
        assert (output / f"{name}.txt").read_text() == "Hello, and thank you for calling. How can I help you today?\n"

    # The rerun (here, in this process) sends only what was not done, and finishes.
    speech_emulator.faults.clear()
    speech_emulator.clear_requests()
    status = _rerun(speech_emulator, speech_emulator_key, folder.parent)
    capsys.readouterr()
    assert status == 0
    posts = [r for r in speech_emulator.requests if r.route == "transcribe" and r.status == 200]
    assert len(posts) == FILES - len(done)
    assert len(list(output.rglob("*.txt"))) == FILES


def _rerun(emulator: Emulator, key: str, cwd: Path) -> int:
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        patch.setenv("AZURE_SPEECH_API_KEY", key)
        patch.setenv("AZURE_SPEECH_ENDPOINT", emulator.url)
        patch.delenv("AZURE_SPEECH_REGION", raising=False)
        return main(["transcribe", "calls", "--out", "out", "--quiet"])


def test_two_ctrl_c_at_once_end_the_process_promptly(
    speech_emulator: Emulator, speech_emulator_key: str, folder: Path
) -> None:
    speech_emulator.scripted.register((SAMPLES / "hello.wav").read_bytes(), HELLO_TRANSCRIPT)
    process = start(speech_emulator, speech_emulator_key, folder.parent)
    assert process.stderr is not None
    try:
        wait_for_done_lines(process.stderr, 1)
        hold_answers(speech_emulator)
        sent = time.monotonic()
        process.send_signal(signal.SIGINT)
        time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=10)
        elapsed = time.monotonic() - sent
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 130, err
    assert elapsed < 3, elapsed
    assert "Traceback" not in err
    # Whatever the second one cut short, the manifest is whole.
    manifest(folder.parent / "out")


@pytest.mark.whisper
def test_ctrl_c_with_the_embedded_whisper_emulator_does_not_wait_for_its_recognitions(folder: Path) -> None:
    # The embedded emulator recognizes in worker threads that cannot be cancelled, and Python joins such
    # threads at exit: the command must end with 130 anyway, without waiting for them.
    env = {name: value for name, value in os.environ.items() if not name.startswith("AZURE_SPEECH_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "speech_async.cli", "transcribe", "--emulator", "calls", "--out", "out"],
        cwd=folder.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    try:
        line = process.stderr.readline()
        assert "recognizer: Whisper" in line, line
        time.sleep(0.5)  # recognitions under way
        sent = time.monotonic()
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=15)
        elapsed = time.monotonic() - sent
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 130, err
    assert elapsed < 4, elapsed
    assert err.splitlines()[-1].startswith("speech-async transcribe: interrupted: ")
    manifest(folder.parent / "out")
