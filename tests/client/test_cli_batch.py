"""``speech-async batch``: submit, status, wait, results, list and delete against the emulator.

The emulator runs in a thread with jobs that take a tenth of a second per status; the audio comes from a
loopback HTTP server of the test's own, which the emulator fetches as the service fetches content URLs.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest
import srt
import webvtt

from speech_async.cli import main
from speech_async.emulator import BatchConfig, Emulator, EmulatorConfig, serve_in_thread

from ..support.samples import HELLO_TRANSCRIPT, SAMPLES

HELLO_TEXT = "Hello, and thank you for calling. How can I help you today?"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def audio_base() -> Iterator[str]:
    """http://127.0.0.1:PORT serving the bundled samples."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(SAMPLES)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.fixture
def service(speech_emulator_key: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Emulator]:
    config = EmulatorConfig(
        key=speech_emulator_key, recognizer="scripted", batch=BatchConfig(not_started_seconds=0.1, running_seconds=0.1)
    )
    with serve_in_thread(config) as emulator:
        emulator.scripted.register((SAMPLES / "hello.wav").read_bytes(), HELLO_TRANSCRIPT)
        monkeypatch.delenv("AZURE_SPEECH_REGION", raising=False)
        monkeypatch.setenv("AZURE_SPEECH_API_KEY", speech_emulator_key)
        monkeypatch.setenv("AZURE_SPEECH_ENDPOINT", emulator.url)
        monkeypatch.chdir(tmp_path)
        yield emulator


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["batch", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_submit_wait_and_write_every_format(
    service: Emulator, audio_base: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, out, err = run(
        capsys,
        "submit",
        f"{audio_base}/hello.wav",
        "--wait",
        "--poll",
        "0.1",
        "--out",
        "results",
        "--format",
        "json,txt,srt,vtt",
    )
    assert status == 0, err
    [job_id] = out.splitlines()
    assert len(job_id) == 36
    assert f"job {job_id}: NotStarted; continuation token: speech_async.batch:" in err
    assert err.splitlines()[-1].endswith("Succeeded")
    results = tmp_path / "results"
    assert sorted(p.name for p in results.iterdir()) == [f"hello.wav.{f}" for f in ("json", "srt", "txt", "vtt")]
    assert (results / "hello.wav.txt").read_text() == HELLO_TEXT + "\n"
    cues = list(srt.parse((results / "hello.wav.srt").read_text()))
    assert " ".join(c.content.replace("\n", " ") for c in cues) == HELLO_TEXT
    assert len(webvtt.from_string((results / "hello.wav.vtt").read_text()).captions) == len(cues)


def test_submit_then_status_wait_results_list_delete(
    service: Emulator, audio_base: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, "submit", f"{audio_base}/hello.wav", f"{audio_base}/report.wav", "--quiet")
    assert (status, err) == (0, "")
    job_id = out.strip()

    status, out, _ = run(capsys, "status", job_id)
    assert status == 0
    assert job_id in out
    status, out, _ = run(capsys, "wait", job_id, "--poll", "0.1", "--quiet")
    assert (status, out) == (0, f"{job_id} Succeeded\n")

    # report.wav has no scripted transcript: its input fails, hello's text is printed; the status says so.
    status, out, err = run(
        capsys,
        "results",
        job_id,
        "--content-url",
        f"{audio_base}/hello.wav",
        "--content-url",
        f"{audio_base}/report.wav",
    )
    assert status == 1
    assert HELLO_TEXT in out
    assert "FAILED" in err

    # Without the URLs, each result is named by its file's source, and the failure by the report's.
    status, out, err = run(capsys, "results", job_id)
    assert status == 1
    assert out == HELLO_TEXT + "\n"
    assert "FAILED report.wav: " in err
    assert "contenturl" not in out + err
    assert "--content-url" not in err

    status, out, _ = run(capsys, "list")
    assert status == 0
    assert job_id in out
    status, out, _ = run(capsys, "status", job_id, "--json")
    assert '"status":"Succeeded"' in out.replace(" ", "")

    assert run(capsys, "delete", job_id, "--quiet") == (0, "", "")
    status, out, err = run(capsys, "status", job_id)
    assert (status, out) == (1, "")
    assert "NotFoundError" in err


def test_wait_takes_the_continuation_token(
    service: Emulator, audio_base: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, "submit", f"{audio_base}/hello.wav")
    assert status == 0
    token = err.split("continuation token: ")[1].split()[0]
    status, out, _ = run(capsys, "wait", token, "--poll", "0.1")
    assert (status, out.split()[1]) == (0, "Succeeded")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["submit"], "give audio URLs or --container SAS_URL"),
        (["submit", "https://a.example/x.wav", "--container", "https://a.example/c?sig=x"], "one of them"),
        (["submit", "https://a.example/x.wav", "--out", "d"], "--out needs --wait"),
        (["results", "00000000-0000-0000-0000-000000000000", "--format", "srt,vtt"], "stdout takes one --format"),
        (["results", "00000000-0000-0000-0000-000000000000", "--format", "pdf"], "unknown format 'pdf'"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["status", "not an id!"], "error: "),
    ],
)
def test_usage_errors(service: Emulator, capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    status, out, err = run(capsys, *argv)
    assert (status, out) == (2, "")
    assert message in err
    assert [r for r in service.requests if "transcriptions" in r.path] == []
