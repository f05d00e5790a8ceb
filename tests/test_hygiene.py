"""The suite's own gates work: a test that leaks, blocks, warns or logs a key fails."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

CONFTEST = Path(__file__).with_name("conftest.py")

BAD_TESTS = """
import asyncio, logging, time
import aiohttp

async def test_leaves_a_task_running():
    asyncio.get_running_loop().create_task(asyncio.sleep(30))

async def test_leaves_a_file_open():
    import os, anyio.to_thread
    await anyio.to_thread.run_sync(os.open, "/dev/null", os.O_RDONLY)

async def test_blocks_the_loop():
    time.sleep(0.01)

async def test_leaves_a_session_unclosed():
    aiohttp.ClientSession()

def test_logs_a_key():
    logging.getLogger("speech_async").warning("key is emulator-test-key")

async def test_clean():
    await asyncio.sleep(0)
"""


@pytest.fixture
def bad_suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    # The conftest imports the tests' support package, which the copy finds through the project root.
    monkeypatch.setenv("PYTHONPATH", str(CONFTEST.parents[1]))
    pytester.makeconftest(CONFTEST.read_text())
    pytester.makeini(
        "[pytest]\nanyio_mode = auto\nfilterwarnings = error\naddopts = -p anyio -p no:asyncio -p no:cacheprovider\n"
    )
    pytester.makepyfile(test_bad=BAD_TESTS)
    return pytester


def test_each_gate_fails_its_bad_test(bad_suite: pytest.Pytester) -> None:
    result = bad_suite.runpytest_subprocess("-q", "-p", "no:randomly")
    outcomes = result.parseoutcomes()
    text = result.stdout.str()
    assert "tasks left running" in text
    assert "file descriptors left open" in text
    assert "Blocking call to" in text
    assert "Unclosed client session" in text
    assert "a key reached the logs" in text
    assert outcomes.get("passed", 0) + outcomes.get("errors", 0) + outcomes.get("failed", 0) >= 6, text
    assert result.ret != 0
