"""The pytest plugin as a new project uses it, under each async test runner and for synchronous tests.

Each case writes a small project (``conftest.py`` with the README's one line, a test that transcribes
a WAV through :class:`speech_async.SpeechClient` against the fixture) into a temporary directory and
runs pytest on it in a subprocess, with its own ini file so this repository's settings do not apply.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from speech_async.emulator import Emulator

CONFTEST = 'pytest_plugins = ["speech_async.emulator.pytest_plugin"]\n'

# Written into the toy test module: a WAV of silence, its scripted transcript, and the transcription.
PRELUDE = """\
import asyncio
import threading

import pytest

from speech_async import KeyCredential, SpeechClient
from speech_async.emulator import ScriptedPhrase, ScriptedTranscript, make_wav

WAV = make_wav(0.1)
TRANSCRIPT = ScriptedTranscript(phrases=(ScriptedPhrase(text="Toy project.", offset_ms=0, duration_ms=100),))


async def transcribe(url, key):
    async with SpeechClient(url, KeyCredential(key)) as client:
        return (await client.transcribe(WAV)).text
"""

ASYNC_TEST = """
{marker}
async def test_my_pipeline(speech_emulator, speech_emulator_key):
    speech_emulator.scripted.register(WAV, TRANSCRIPT)
    assert await transcribe(speech_emulator.url, speech_emulator_key) == "Toy project."
    assert [r.status for r in speech_emulator.requests] == [200]
    assert speech_emulator.counters["transcribe"] == 1
"""

SYNC_TEST = """
def test_my_pipeline(speech_emulator_thread, speech_emulator_key):
    speech_emulator_thread.scripted.register(WAV, TRANSCRIPT)
    assert asyncio.run(transcribe(speech_emulator_thread.url, speech_emulator_key)) == "Toy project."
    assert [r.status for r in speech_emulator_thread.requests] == [200]
    assert speech_emulator_thread.counters["transcribe"] == 1


def test_plain_fixture_in_a_sync_test(speech_emulator, speech_emulator_url, speech_emulator_key):
    assert speech_emulator_url == speech_emulator.url
    speech_emulator.scripted.register(WAV, TRANSCRIPT)
    assert asyncio.run(transcribe(speech_emulator_url, speech_emulator_key)) == "Toy project."
    # With no async runner, the emulator serves from a thread of its own.
    assert any(t.name == "speech-async-emulator" for t in threading.enumerate())
"""

# aiohttp runs on asyncio only: anyio users pick the backend, as anyio's docs show.
ANYIO_BACKEND = """
@pytest.fixture
def anyio_backend():
    return "asyncio"
"""


LOOP_SCOPE = "asyncio_default_fixture_loop_scope = function\n"


@dataclass(frozen=True)
class Setup:
    ini: str
    test: str
    passed: int = 1


SETUPS = {
    "pytest-asyncio-strict": Setup(
        ini=f"asyncio_mode = strict\n{LOOP_SCOPE}", test=ASYNC_TEST.format(marker="@pytest.mark.asyncio")
    ),
    "pytest-asyncio-auto": Setup(ini=f"asyncio_mode = auto\n{LOOP_SCOPE}", test=ASYNC_TEST.format(marker="")),
    "anyio-marker": Setup(ini="", test=ANYIO_BACKEND + ASYNC_TEST.format(marker="@pytest.mark.anyio")),
    "anyio-auto": Setup(ini="anyio_mode = auto\n", test=ANYIO_BACKEND + ASYNC_TEST.format(marker="")),
    "synchronous": Setup(ini="", test=SYNC_TEST, passed=2),
}


def start_toy_project(directory: Path, setup: Setup) -> subprocess.Popen[str]:
    """Write the project into ``directory`` and start pytest on it (pytest-asyncio and anyio both load)."""
    directory.mkdir()
    (directory / "conftest.py").write_text(CONFTEST)
    (directory / "test_toy.py").write_text(PRELUDE + textwrap.dedent(setup.test))
    (directory / "pytest.ini").write_text("[pytest]\n" + setup.ini)
    env = {name: value for name, value in os.environ.items() if not name.startswith("PYTEST_")}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-c", "pytest.ini", "--rootdir", "."]
    return subprocess.Popen(
        [*command, "-q", "test_toy.py"],
        cwd=directory,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture(scope="module")
def toy_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, subprocess.Popen[str]]]:
    """Every set-up's run, started together (each takes a few seconds, mostly imports)."""
    root = tmp_path_factory.mktemp("toy")
    wrong = SETUPS["anyio-marker"]
    cases = {
        **SETUPS,
        "wrong-transcript": Setup(ini=wrong.ini, test=wrong.test.replace('== "Toy project."', '== "Other."')),
    }
    runs = {name: start_toy_project(root / name, setup) for name, setup in cases.items()}
    try:
        yield runs
    finally:
        for process in runs.values():
            if process.poll() is None:
                process.kill()
            process.communicate()


def outcome(process: subprocess.Popen[str]) -> tuple[int, str]:
    output, _ = process.communicate(timeout=50)
    return process.returncode, output


@pytest.mark.parametrize("name", SETUPS)
def test_readme_fixture_works_under_each_runner(toy_runs: dict[str, subprocess.Popen[str]], name: str) -> None:
    status, output = outcome(toy_runs[name])
    assert status == 0, output
    assert f"{SETUPS[name].passed} passed" in output, output


def test_toy_project_fails_when_the_transcript_differs(toy_runs: dict[str, subprocess.Popen[str]]) -> None:
    """The toy project's assertion is real: a wrong expectation makes its run fail."""
    status, output = outcome(toy_runs["wrong-transcript"])
    assert status == 1, output
    assert "1 failed" in output, output


async def test_this_suite_keeps_the_emulator_on_the_test_loop(speech_emulator: Emulator) -> None:
    """Under anyio on asyncio (this suite), ``speech_emulator`` serves on the test's own event loop."""
    assert speech_emulator.url.startswith("http://127.0.0.1:")
    assert not any(thread.name == "speech-async-emulator" for thread in threading.enumerate())


def test_speech_emulator_thread_serves_from_its_own_thread(speech_emulator_thread: Emulator) -> None:
    assert any(thread.name == "speech-async-emulator" for thread in threading.enumerate())
    assert speech_emulator_thread.counters["transcribe"] == 0
