"""The demo's batch and command-line sections, run as ``python -m speech_async.demo`` in a subprocess
(real Whisper, real Azurite).

The demo ends with the bundled samples as a batch job: from content URLs on a loopback server of its
own, then from an Azurite container; then ``speech-async transcribe --emulator`` writes their JSON, SRT
and WebVTT files. Missing Node or Azurite fails the first test, as in the rest of the
suite (``make test`` installs Azurite); the second one hides node to check the one-line skip.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import srt

from ..support.samples import SAMPLES

DEMO_SECONDS = 110
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def run_demo(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "speech_async.demo", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=DEMO_SECONDS,
        check=False,
        env=env,
    )


def section(stdout: str, heading: str) -> list[str]:
    """The lines from the one starting with ``heading`` up to the next blank line."""
    lines = stdout.splitlines()
    [start] = [index for index, line in enumerate(lines) if line.startswith(heading)]
    end = next((index for index in range(start, len(lines)) if not lines[index].strip()), len(lines))
    return lines[start:end]


def refused(url: str) -> bool:
    host, port = url.removeprefix("http://").split("/")[0].split(":")
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError:
        return True
    return False


def check_job(lines: list[str], names: list[str]) -> None:
    job = next(line for line in lines if line.startswith("Job "))
    assert re.fullmatch(rf"Job {UUID}: NotStarted", job), job
    progress = [line.split("] ")[1] for line in lines if re.match(r"  \[ *\d+\.\d s\] ", line)]
    assert progress[-1] == "Succeeded"
    assert set(progress) <= {"NotStarted", "Running", "Succeeded"}
    results = {line.split(" (")[0].strip(): line for line in lines if re.match(r"  \S+ \(\d+\.\d s\): ", line)}
    assert sorted(results) == sorted(names)
    assert "thank you for calling" in results["hello.wav"].lower()
    if "call-stereo.flac" in results:  # both channels, each labelled
        stereo = results["call-stereo.flac"]
        assert "[channel 0] " in stereo
        assert "[channel 1] " in stereo
        assert "order" in stereo
    assert lines[-1] == f"{len(names)} of {len(names)} input(s) transcribed."


def check_command_line(stdout: str, out: Path, names: list[str]) -> None:
    """The command-line leg: its command, the files it wrote (JSON, SRT, WebVTT per input), one SRT shown."""
    lines = stdout.splitlines()
    [start] = [i for i, line in enumerate(lines) if line.startswith("== The command line: speech-async transcribe")]
    assert lines[start].endswith(
        f" --emulator {'samples' if len(names) == 3 else SAMPLES / names[0]} --out {out} --format json,srt,vtt"
    )
    assert lines[start + 1] == f"Exit status 0; {3 * len(names)} file(s) in {out}:"
    written = sorted(f"{name}.{ext}" for name in names for ext in ("json", "srt", "vtt"))
    assert [line.strip() for line in lines[start + 2 : start + 2 + len(written)]] == written
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == written
    shown = lines[start + 3 + len(written)].removesuffix(":")
    cues = list(srt.parse((out / shown).read_text()))
    assert cues
    assert "\n".join(lines[start + 4 + len(written) :]).strip() == (out / shown).read_text().strip()


@pytest.mark.timeout(DEMO_SECONDS + 10)
def test_the_demo_runs_the_samples_as_batch_jobs_from_urls_and_from_azurite(tmp_path: Path) -> None:
    result = run_demo("--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    names = ["hello.wav", "report.wav", "call-stereo.flac"]

    urls = section(result.stdout, "== Batch transcription of 3 file(s) from content URLs")
    served = re.search(r"\(served at (http://127\.0\.0\.1:\d+)\)", urls[0])
    assert served is not None, urls[0]
    check_job(urls, names)

    container = section(result.stdout, "== Batch transcription of a blob container (Azurite)")
    uploaded = re.fullmatch(
        r"Uploaded 3 blob\(s\) to container demo-[0-9a-f]{12} at (http://127\.0\.0\.1:\d+)/\S+", container[1]
    )
    assert uploaded is not None, container
    check_job(container, names)
    assert any(line.startswith("Done in ") for line in result.stdout.splitlines())
    check_command_line(result.stdout, tmp_path / "out", names)
    # Cleaned up: neither the demo's audio server nor its Azurite is still listening.
    assert refused(served.group(1))
    assert refused(uploaded.group(1))


@pytest.mark.timeout(DEMO_SECONDS + 10)
def test_without_node_the_container_leg_says_what_to_install_and_the_rest_runs(tmp_path: Path) -> None:
    # A PATH with Python's directory only: no node on it.
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}
    result = run_demo(str(SAMPLES / "hello.wav"), "--out", str(tmp_path / "out"), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    check_command_line(result.stdout, tmp_path / "out", ["hello.wav"])
    check_job(section(result.stdout, "== Batch transcription of 1 file(s) from content URLs"), ["hello.wav"])
    assert section(result.stdout, "== Batch transcription of a blob container (Azurite)") == [
        "== Batch transcription of a blob container (Azurite)",
        "Skipped: this leg needs Node.js 20+ with npm and Azurite (`make azurite` installs it).",
    ]
