"""``speech-async transcribe``: stdout, files of every format, resume, exit statuses 0, 1 and 2.

Each test runs the command in this process (``speech_async.cli.main``) against the scripted emulator in
a thread, with the key in the environment, as a user's shell would have it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import msgspec
import pytest
import srt
import webvtt

from speech_async.cli import main
from speech_async.emulator import Emulator, ScriptedPhrase, ScriptedTranscript

from ..support.samples import SAMPLES

HELLO_TEXT = "Hello, and thank you for calling. How can I help you today?"
REPORT = ScriptedTranscript(
    phrases=(
        ScriptedPhrase(text="The quarterly report is ready.", offset_ms=0, duration_ms=2000),
        ScriptedPhrase(text="Revenue grew by four percent.", offset_ms=2500, duration_ms=2000),
    )
)


@pytest.fixture
def service(
    speech_emulator: Emulator, speech_emulator_key: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Emulator:
    """The emulator (hello.wav and report.wav registered; call-stereo.flac not), its key in the environment."""
    from ..support.samples import HELLO_TRANSCRIPT

    speech_emulator.scripted.register((SAMPLES / "hello.wav").read_bytes(), HELLO_TRANSCRIPT)
    speech_emulator.scripted.register((SAMPLES / "report.wav").read_bytes(), REPORT)
    for name in ("AZURE_SPEECH_ENDPOINT", "AZURE_SPEECH_REGION", "AZURE_SPEECH_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AZURE_SPEECH_API_KEY", speech_emulator_key)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's is read
    return speech_emulator


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_one_file_goes_to_stdout_as_text_by_default(service: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "transcribe", str(SAMPLES / "hello.wav"), "--endpoint", service.url)
    assert (status, out) == (0, HELLO_TEXT + "\n"), err
    assert err == ""  # nothing but the transcript, and nothing on stderr


@pytest.mark.parametrize("fmt", ["json", "txt", "srt", "vtt"])
def test_one_file_in_each_format(service: Emulator, capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    status, out, err = run(
        capsys,
        "transcribe",
        str(SAMPLES / "hello.wav"),
        "--format",
        fmt,
        "--endpoint",
        service.url,
        "--locale",
        "en-US",
    )
    assert status == 0, err
    if fmt == "json":
        body = json.loads(out)
        assert body["combinedPhrases"][0]["text"] == HELLO_TEXT
        assert out.endswith("}\n")
    elif fmt == "txt":
        assert out == HELLO_TEXT + "\n"
    elif fmt == "srt":
        cues = list(srt.parse(out))
        assert " ".join(cue.content.replace("\n", " ") for cue in cues) == HELLO_TEXT
        assert cues[0].start.total_seconds() == pytest.approx(0.04)
    else:
        assert out.startswith("WEBVTT\n")
        captions = webvtt.from_string(out)
        assert " ".join(c.text.replace("\n", " ") for c in captions) == HELLO_TEXT


def test_the_request_carries_the_options(service: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(
        capsys,
        "transcribe",
        str(SAMPLES / "hello.wav"),
        "--endpoint",
        service.url,
        "--locale",
        "en-US,de-DE",
        "--diarization",
        "3",
        "--profanity",
        "masked",
    )
    assert status == 0, err
    [request] = [r for r in service.requests if r.path.endswith("transcriptions:transcribe")]
    assert request.definition == {
        "locales": ["en-US", "de-DE"],
        "profanityFilterMode": "Masked",
        "diarization": {"enabled": True, "maxSpeakers": 3},
    }


def test_a_folder_into_out_writes_every_format_and_a_rerun_skips_it_all(
    service: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    folder = tmp_path / "calls"
    folder.mkdir()
    for name in ("hello.wav", "report.wav"):
        (folder / name).write_bytes((SAMPLES / name).read_bytes())
    out = tmp_path / "out"
    argv = ["transcribe", "calls", "--out", "out", "--format", "json,txt,srt,vtt", "--endpoint", service.url]
    status, stdout, err = run(capsys, *argv)
    assert (status, stdout) == (0, ""), err
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and not p.name.startswith("."))
    # Named after their path inside the folder given.
    assert written == sorted(f"{n}.{f}" for n in ("hello.wav", "report.wav") for f in ("json", "txt", "srt", "vtt"))
    assert (out / "hello.wav.txt").read_text() == HELLO_TEXT + "\n"
    assert msgspec.json.decode((out / "report.wav.json").read_bytes())["combinedPhrases"][0]["text"].startswith(
        "The quarterly report"
    )
    assert list(srt.parse((out / "report.wav.srt").read_text()))[1].content == "Revenue grew by four percent."
    assert len(webvtt.from_string((out / "hello.wav.vtt").read_text()).captions) == 2
    # stderr is not a terminal here: plain lines, then the summary table.
    assert "speech-async transcribe: done hello.wav" in err
    assert "files" in err
    assert "failed" in err
    sent = len(service.requests)

    status, _, err = run(capsys, *argv, "--resume")
    assert status == 0, err
    assert len(service.requests) == sent  # nothing sent again
    assert "skipped" in err


def test_one_failed_file_makes_the_status_1_and_the_rest_are_written(
    service: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, stdout, err = run(
        capsys,
        "transcribe",
        str(SAMPLES / "*.wav"),
        str(SAMPLES / "call-stereo.flac"),
        "--out",
        "out",
        "--endpoint",
        service.url,
        "--quiet",
    )
    assert (status, stdout) == (1, "")
    # call-stereo.flac has no scripted transcript: it alone fails, named with its reason.
    [failure] = [line for line in err.splitlines() if "FAILED" in line]
    assert "call-stereo.flac" in failure
    assert "UnprocessableEntityError" in failure or "Error" in failure
    texts = sorted(p.name for p in (tmp_path / "out").rglob("*.txt"))
    assert texts == ["hello.wav.txt", "report.wav.txt"]
    assert "files" not in err  # --quiet: no summary


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nothing-here.wav"], "nothing-here.wav: no such file or folder"),
        (["*.none"], "'*.none' matched no files"),
        (["{hello}", "{report}"], "several files (or a folder) need --out DIR"),
        (["{hello}", "--format", "srt,vtt"], "stdout takes one --format"),
        (["{hello}", "--format", "docx"], "unknown format 'docx'"),
        (["{hello}", "--resume"], "--resume needs --out DIR"),
        (["{hello}", "--out", "{hello}"], "is a file, not a folder"),
        (["{hello}", "--concurrency", "0"], "must be at least 1"),
        (["{hello}", "--channels", "left"], "channels are numbers"),
        (["{hello}", "--profanity", "loud"], "invalid choice: 'loud'"),
        (["{hello}", "--emulator", "--endpoint", "http://127.0.0.1:1"], "--emulator runs its own service"),
    ],
)
def test_usage_errors_exit_2_before_any_request(
    service: Emulator, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    names = {"{hello}": str(SAMPLES / "hello.wav"), "{report}": str(SAMPLES / "report.wav")}
    status, out, err = run(capsys, "transcribe", *(names.get(a, a) for a in argv), "--endpoint", service.url)
    assert (status, out) == (2, "")
    assert message in err
    assert err.startswith("usage: speech-async transcribe")
    assert service.requests == []


def test_an_option_the_service_refuses_before_sending_is_a_usage_error(
    service: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(
        capsys, "transcribe", str(SAMPLES / "hello.wav"), "--endpoint", service.url, "--diarization", "99"
    )
    assert status == 2
    assert "max_speakers" in err or "diarization" in err
    assert service.requests == []


def test_a_failed_single_file_exits_1_with_one_line(service: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "transcribe", str(SAMPLES / "call-stereo.flac"), "--endpoint", service.url)
    assert (status, out) == (1, "")
    [line] = err.splitlines()
    assert line.startswith(f"speech-async transcribe: {SAMPLES / 'call-stereo.flac'}: FAILED: ")


def test_the_emulator_flag_runs_offline(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # Nothing configured at all: --emulator needs no endpoint and no key.
    for name in ("AZURE_SPEECH_ENDPOINT", "AZURE_SPEECH_REGION", "AZURE_SPEECH_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(SAMPLES)
    status, out, err = run(capsys, "transcribe", "--emulator", "hello.wav")
    assert status == 0, err
    # The real recognizer (the asr extra is installed here) or the placeholder: said on stderr.
    [line] = err.splitlines()
    assert line.startswith("speech-async transcribe: emulator at http://127.0.0.1:")
    assert "recognizer: " in line
    if "Whisper" in line:
        assert "thank you for calling" in out.lower()
    else:
        assert out == "(placeholder transcript: no real recognizer)\n"
    assert os.environ.get("AZURE_SPEECH_API_KEY") is None


def test_out_mirrors_folders_and_globs_below_their_fixed_part(
    service: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    hello = (SAMPLES / "hello.wav").read_bytes()
    for name in ("in/2024/a.wav", "in/2025/a.wav", "in/notes.txt", "glob/x/b.wav"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(hello if name.endswith(".wav") else b"not audio")
    status, _, err = run(capsys, "transcribe", "in", "glob/**/*.wav", "--out", "out", "--endpoint", service.url)
    assert status == 0, err
    written = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.txt"))
    # The folder's audio (not notes.txt), below the folder; the glob's matches below "glob".
    assert written == ["2024/a.wav.txt", "2025/a.wav.txt", "x/b.wav.txt"]


def test_an_empty_folder_is_a_usage_error(
    service: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()
    status, _, err = run(capsys, "transcribe", "empty", "--out", "out", "--endpoint", service.url)
    assert status == 2
    assert "empty: the folder holds no audio files" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("retries", "attempts", "status"), [("0", 1, 1), ("2", 2, 0)])
def test_retries_flag(
    service: Emulator, capsys: pytest.CaptureFixture[str], retries: str, attempts: int, status: int
) -> None:
    from speech_async.emulator import Fault

    service.faults.add(Fault(route="transcribe", status=503))
    result, _, err = run(
        capsys, "transcribe", str(SAMPLES / "hello.wav"), "--endpoint", service.url, "--retries", retries
    )
    assert result == status, err
    assert len([r for r in service.requests if r.route == "transcribe"]) == attempts


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--diarization", "99"], "diarization max_speakers is 99"),
        (["--locale", "en_US"], "did you mean 'en-US'"),
        (["--api-version", "v3.2"], "not an api-version of fast transcription"),
    ],
)
def test_an_option_refused_before_sending_stops_a_run_into_out_at_once(
    service: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path, flags: list[str], message: str
) -> None:
    # Like the single-file case: one usage error (not one failure per file), exit 2, nothing sent.
    argv = ["transcribe", str(SAMPLES / "hello.wav"), str(SAMPLES / "report.wav"), "--out", "out"]
    status, stdout, err = run(capsys, *argv, "--endpoint", service.url, *flags)
    assert (status, stdout) == (2, ""), err
    lines = err.splitlines()
    assert lines[0].startswith("usage: speech-async transcribe")
    [line] = [text for text in lines if "error:" in text]  # the usage (wrapped), then one line
    assert line == lines[-1]
    assert line.startswith("speech-async transcribe: error: ")
    assert message in line
    assert "FAILED" not in err
    assert service.requests == []
    assert not (tmp_path / "out").exists()


def test_out_held_by_another_run_is_refused_with_one_line(
    service: Emulator, speech_emulator_key: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import threading

    import anyio

    from speech_async import KeyCredential, SpeechClient
    from speech_async.bulk import LOCK_FILE, transcribe_many

    holding, release = threading.Event(), threading.Event()

    async def hold() -> None:
        # A second run of the bulk module itself holds the folder (its lock) until told to let go.
        client = SpeechClient(service.url, KeyCredential(speech_emulator_key))
        async with client, transcribe_many(client, [], output_dir=tmp_path / "out"):
            holding.set()
            await anyio.to_thread.run_sync(release.wait)

    holder = threading.Thread(target=anyio.run, args=(hold,))
    holder.start()
    try:
        assert holding.wait(10)
        argv = ["transcribe", str(SAMPLES / "hello.wav"), "--out", "out", "--endpoint", service.url]
        status, stdout, err = run(capsys, *argv)
    finally:
        release.set()
        holder.join(10)
    assert (status, stdout) == (1, "")
    [line] = err.splitlines()
    assert line.startswith("speech-async transcribe: error: OutputLockedError: ")
    assert "is in use by another bulk run" in line
    assert LOCK_FILE in line
    assert [r for r in service.requests if r.route == "transcribe"] == []
    # Released: the same command now runs.
    status, _, err = run(capsys, *argv, "--quiet")
    assert status == 0, err
    assert (tmp_path / "out" / "hello.wav.txt").read_text() == HELLO_TEXT + "\n"


@pytest.mark.parametrize("value", ["soon", "-1", "nan", "inf"])
@pytest.mark.parametrize("out", [False, True], ids=["stdout", "out"])
def test_a_bad_emulator_batch_seconds_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, value: str, out: bool
) -> None:
    from speech_async.cli._config import BATCH_SECONDS_ENV

    for name in ("AZURE_SPEECH_ENDPOINT", "AZURE_SPEECH_REGION", "AZURE_SPEECH_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(BATCH_SECONDS_ENV, value)
    monkeypatch.chdir(tmp_path)
    status, stdout, err = run(
        capsys, "transcribe", "--emulator", str(SAMPLES / "hello.wav"), *(["--out", "out"] if out else [])
    )
    assert (status, stdout) == (2, "")
    lines = err.splitlines()
    assert lines[0].startswith("usage: speech-async transcribe")
    [line] = [text for text in lines if "error:" in text]  # the usage (wrapped), then one line
    assert line == lines[-1]
    assert line.startswith(f"speech-async transcribe: error: {BATCH_SECONDS_ENV} ")
    assert value not in line.replace(BATCH_SECONDS_ENV, "")  # named, not echoed
    assert not (tmp_path / "out").exists()
