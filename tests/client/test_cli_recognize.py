"""``speech-async recognize``: short audio in every output format, pronunciation assessment, exit statuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from speech_async.cli import main
from speech_async.emulator import Emulator

from ..support.samples import HELLO_TRANSCRIPT, SAMPLES

HELLO = str(SAMPLES / "hello.wav")
REFERENCE = "Hello, and thank you for calling. How can I help you today?"


@pytest.fixture
def service(
    speech_emulator: Emulator, speech_emulator_key: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Emulator:
    speech_emulator.scripted.register((SAMPLES / "hello.wav").read_bytes(), HELLO_TRANSCRIPT)
    for name in ("AZURE_SPEECH_REGION", "AZURE_SPEECH_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_SPEECH_API_KEY", speech_emulator_key)
    monkeypatch.setenv("AZURE_SPEECH_ENDPOINT", speech_emulator.url)
    monkeypatch.chdir(tmp_path)
    return speech_emulator


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["recognize", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_simple_prints_the_display_text_only(service: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, HELLO) == (0, REFERENCE + "\n", "")
    [request] = [r for r in service.requests if r.route == "short_audio"]
    assert request.query["language"] == "en-US"
    assert request.query["format"] == "simple"


def test_json_is_the_services_answer(service: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, HELLO, "--format", "json", "--language", "en-GB")
    assert status == 0
    body = json.loads(out)
    assert body["RecognitionStatus"] == "Success"
    assert body["NBest"][0]["Display"] == REFERENCE
    [request] = [r for r in service.requests if r.route == "short_audio"]
    assert (request.query["language"], request.query["format"]) == ("en-GB", "detailed")


def test_assess_prints_the_scores_and_each_word(service: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, HELLO, "--assess", REFERENCE)
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0] == "RecognitionStatus: Success"
    assert "pronunciation" in out
    assert "accuracy" in out
    assert "fluency" in out
    assert "completeness" in out
    [score_row] = [line for line in lines if line.startswith("│") and any(c.isdigit() for c in line)][:1]
    assert len([cell for cell in score_row.split("│") if cell.strip()]) == 5
    for word in ("hello", "calling", "today"):
        assert any(line.startswith(f"│ {word} ") for line in lines), word
    [request] = [r for r in service.requests if r.route == "short_audio"]
    assert request.header("Pronunciation-Assessment") is not None


def test_assess_as_json(service: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, HELLO, "--assess", REFERENCE, "--format", "json", "--grading", "five")
    assert status == 0
    best = json.loads(out)["NBest"][0]
    assert 0 <= best["PronScore"] <= 5
    assert [w["Word"] for w in best["Words"]][:2] == ["hello", "and"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["missing.wav"], "missing.wav: no such file"),
        ([HELLO, "--format", "xml"], "invalid choice: 'xml'"),
        ([HELLO, "--assess", "  "], "--assess needs the reference text"),
        ([HELLO, "--language", "not a locale"], "error: "),
    ],
)
def test_usage_errors(service: Emulator, capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    status, out, err = run(capsys, *argv)
    assert (status, out) == (2, "")
    assert message in err
    assert [r for r in service.requests if r.route == "short_audio"] == []


def test_audio_the_service_refuses_exits_1(service: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    # FLAC is not a short-audio format: the service answers with an error, said in one line.
    status, out, err = run(capsys, str(SAMPLES / "call-stereo.flac"))
    assert (status, out) == (1, "")
    [line] = err.splitlines()
    assert "FAILED: " in line
