"""``speech-async bench``: figures, WER/CER, errors by kind, JSON, the PNG, usage errors and Ctrl-C.

Each test runs the command in this process (``speech_async.cli.main``) against the scripted emulator in
a thread, so every transcript, and so every WER, is known exactly; Ctrl-C needs a subprocess of its own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from speech_async.cli import main
from speech_async.cli.bench import normalize, percentile
from speech_async.emulator import Emulator, Fault, ScriptedPhrase, ScriptedTranscript

from ..support.samples import HELLO_TRANSCRIPT, SAMPLES

REPORT = ScriptedTranscript(
    phrases=(
        ScriptedPhrase(text="The quarterly report is ready.", offset_ms=0, duration_ms=2000),
        ScriptedPhrase(text="Revenue grew by four percent.", offset_ms=2500, duration_ms=2000),
    )
)
HELLO_TEXT = "Hello, and thank you for calling. How can I help you today?"
REPORT_TEXT = "The quarterly report is ready. Revenue grew by four percent."
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ROOT = Path(__file__).resolve().parents[2]
PHASES = ("latency", "upload", "service", "download", "elapsed")


@pytest.fixture
def service(
    speech_emulator: Emulator, speech_emulator_key: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Emulator:
    """The emulator with hello.wav and report.wav registered; its endpoint and key in the environment."""
    speech_emulator.scripted.register((SAMPLES / "hello.wav").read_bytes(), HELLO_TRANSCRIPT)
    speech_emulator.scripted.register((SAMPLES / "report.wav").read_bytes(), REPORT)
    monkeypatch.delenv("AZURE_SPEECH_REGION", raising=False)
    monkeypatch.setenv("AZURE_SPEECH_API_KEY", speech_emulator_key)
    monkeypatch.setenv("AZURE_SPEECH_ENDPOINT", speech_emulator.url)
    monkeypatch.chdir(tmp_path)  # no .env of the developer's is read
    return speech_emulator


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A folder: hello.wav and report.wav, each with its exact transcript in a sidecar .txt."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, text in (("hello", HELLO_TEXT), ("report", REPORT_TEXT)):
        (folder / f"{name}.wav").write_bytes((SAMPLES / f"{name}.wav").read_bytes())
        (folder / f"{name}.txt").write_text(text + "\n")
    return folder


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["bench", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def bench_json(capsys: pytest.CaptureFixture[str], *argv: str, status: int = 0) -> tuple[dict[str, Any], str]:
    code, out, err = run(capsys, *argv, "--json")
    assert code == status, err
    report: dict[str, Any] = json.loads(out)
    return report, err


def assert_ordered(stats: dict[str, Any]) -> None:
    assert stats["count"] > 0
    assert 0 <= stats["min"] <= stats["p50"] <= stats["p90"] <= stats["p99"] <= stats["max"]
    assert stats["min"] <= stats["mean"] <= stats["max"]


def test_a_folder_with_sidecar_references_gives_sane_figures_and_an_exact_wer_of_0(
    service: Emulator, corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report, err = bench_json(capsys, str(corpus), "--requests", "6", "--concurrency", "2", "--locale", "en-US")
    requests = report["requests"]
    assert requests == {
        "measured": 6,
        "succeeded": 6,
        "failed": 0,
        "retried": 0,
        "retries": 0,
        "throttled": 0,
        "warmup": 0,
        "warmup_failed": 0,
    }
    sent = [r for r in service.requests if r.route == "transcribe"]
    assert len(sent) == 6
    assert sent[0].definition == {"locales": ["en-US"]}
    # The corpus cycles: hello, report, hello...
    assert [row["name"] for row in report["results"]] == ["hello.wav", "report.wav"] * 3
    assert report["corpus"] == {"source": str(corpus), "items": 2, "with_reference": 2}
    for phase in PHASES:
        assert_ordered(report["latency_seconds"][phase])
    latency = report["latency_seconds"]
    # The final attempt's phases add up to its latency, which the call's whole time bounds.
    for row in report["results"]:
        assert row["latency"] == pytest.approx(row["upload"] + row["service"] + row["download"])
        assert row["latency"] <= row["elapsed"]
        assert row["rtf"] == pytest.approx(row["latency"] / row["audio_seconds"])
    assert latency["latency"]["max"] <= latency["elapsed"]["max"]
    # The WAV headers' durations: hello.wav is 160,562 bytes of 16 kHz 16-bit mono.
    hello = next(row for row in report["results"] if row["name"] == "hello.wav")
    assert hello["audio_seconds"] == pytest.approx(5.018, abs=0.01)
    assert report["audio_seconds"] == pytest.approx(sum(row["audio_seconds"] for row in report["results"]))
    assert report["wall_seconds"] > 0
    assert report["throughput"]["requests_per_second"] == pytest.approx(6 / report["wall_seconds"])
    assert report["throughput"]["audio_seconds_per_second"] > 0
    assert report["rtf"]["aggregate"] > 0
    assert report["rtf"]["service_aggregate"] > 0
    assert_ordered(report["rtf"]["per_request"])
    assert report["errors"] == {}
    accuracy = report["accuracy"]
    assert (accuracy["wer"], accuracy["cer"], accuracy["requests"]) == (0.0, 0.0, 6)
    assert accuracy["reference_words"] == 3 * (12 + 10)
    assert all(row["wer"] == 0 for row in report["results"])
    # The table on stderr.
    assert "latency (final attempt)" in err
    assert "WER" in err
    assert "0.00 %" in err


def test_the_json_schema(service: Emulator, corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report, _ = bench_json(capsys, str(corpus), "--quiet")
    assert set(report) == {
        "schema",
        "version",
        "api",
        "endpoint",
        "locale",
        "concurrency",
        "limits",
        "interrupted",
        "corpus",
        "requests",
        "wall_seconds",
        "throughput",
        "audio_seconds",
        "latency_seconds",
        "rtf",
        "errors",
        "recognition_statuses",
        "accuracy",
        "notes",
        "results",
    }
    assert report["schema"] == "speech-async-bench/1"
    assert (report["api"], report["endpoint"], report["concurrency"]) == ("fast", service.url, 4)
    assert report["limits"] == {"requests": 2, "duration_seconds": None, "warmup": 0}  # one pass by default
    assert report["interrupted"] is False
    assert set(report["latency_seconds"]) == set(PHASES)
    for stats in report["latency_seconds"].values():
        assert set(stats) == {"count", "mean", "min", "p50", "p90", "p99", "max"}
    assert set(report["rtf"]) == {"aggregate", "service_aggregate", "per_request"}
    assert set(report["accuracy"]) == {
        "normalized",
        "requests",
        "empty_references",
        "wer",
        "cer",
        "reference_words",
        "substitutions",
        "deletions",
        "insertions",
        "reference_chars",
        "char_errors",
    }
    row = report["results"][0]
    assert set(row) == {
        *("index", "name", "ok", "attempts", "elapsed", "latency", "upload", "service", "download"),
        *("audio_seconds", "rtf", "hypothesis", "wer", "cer"),
    }
    assert row["hypothesis"] == HELLO_TEXT
    assert report["notes"] == []


def test_a_known_wrong_reference_gives_the_expected_wer_and_cer(
    service: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # The reference lacks "today": one insertion in 11 words; the characters " today", 6 of them.
    reference = "Hello and thank you for calling. How can I help you?"
    audio = tmp_path / "audio"
    audio.mkdir()
    (audio / "hello.wav").write_bytes((SAMPLES / "hello.wav").read_bytes())
    manifest = tmp_path / "set.jsonl"
    manifest.write_text(json.dumps({"audio": "audio/hello.wav", "reference": reference}) + "\n\n")
    report, err = bench_json(capsys, str(manifest))
    accuracy = report["accuracy"]
    normalized = normalize(reference)
    assert normalized == "hello and thank you for calling how can i help you"
    assert (accuracy["reference_words"], accuracy["insertions"], accuracy["substitutions"]) == (11, 1, 0)
    assert accuracy["wer"] == pytest.approx(1 / 11)
    assert accuracy["reference_chars"] == len(normalized)
    assert accuracy["cer"] == pytest.approx(6 / len(normalized))
    assert report["results"][0]["name"] == "audio/hello.wav"
    assert "9.09 %" in err


def test_no_normalize_compares_the_texts_as_they_are(
    service: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "hello.wav").write_bytes((SAMPLES / "hello.wav").read_bytes())
    manifest = tmp_path / "set.jsonl"
    rows = [{"audio": "hello.wav", "reference": HELLO_TEXT}, {"audio": "hello.wav", "reference": HELLO_TEXT.lower()}]
    manifest.write_text("".join(json.dumps(row) + "\n" for row in rows))
    report, _ = bench_json(capsys, str(manifest), "--no-normalize", "--concurrency", "1")
    assert report["accuracy"]["normalized"] is False
    exact, lowered = report["results"]
    assert exact["wer"] == 0
    # "Hello,", "How" and "I" differ in case alone: 3 substitutions in 12 words.
    assert lowered["wer"] == pytest.approx(3 / 12)
    normalized, _ = bench_json(capsys, str(manifest))
    assert normalized["accuracy"]["wer"] == 0


def test_a_csv_manifest_with_and_without_references(
    service: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    (data / "wav").mkdir(parents=True)
    for name in ("hello", "report"):
        (data / "wav" / f"{name}.wav").write_bytes((SAMPLES / f"{name}.wav").read_bytes())
    (data / "set.csv").write_text(
        f'audio,reference,speaker\nwav/hello.wav,"{HELLO_TEXT}",a\nwav/report.wav,,b\n', encoding="utf-8"
    )
    report, _ = bench_json(capsys, str(data / "set.csv"))
    assert report["corpus"]["with_reference"] == 1
    assert report["requests"]["succeeded"] == 2
    assert (report["accuracy"]["requests"], report["accuracy"]["wer"]) == (1, 0.0)
    assert "wer" not in report["results"][1]  # no reference: not scored


def test_errors_are_counted_by_kind_and_do_not_enter_the_latency(
    service: Emulator, corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service.faults.add(Fault(route="transcribe", status=429, count=2))
    service.faults.add(Fault(route="transcribe", status=500))
    report, err = bench_json(capsys, str(corpus), "--requests", "6", "--concurrency", "1", "--retries", "0", status=1)
    assert report["errors"] == {"429 RateLimitError": 2, "500 ServiceError": 1}
    requests = report["requests"]
    assert (requests["measured"], requests["succeeded"], requests["failed"], requests["throttled"]) == (6, 3, 3, 2)
    assert requests["retried"] == 0
    assert report["latency_seconds"]["latency"]["count"] == 3
    assert report["latency_seconds"]["elapsed"]["count"] == 3
    failed = [row for row in report["results"] if not row["ok"]]
    assert [row["status_code"] for row in failed] == [429, 429, 500]
    assert all(row["latency"] is None and row["attempts"] == 1 for row in failed)
    assert failed[0]["error"].startswith("RateLimitError: ")
    assert report["accuracy"]["requests"] == 3  # only what succeeded is scored
    assert "errors by kind" in err
    assert "429 RateLimitError" in err


def test_retries_are_counted_apart_and_their_waits_stay_out_of_the_latency(
    service: Emulator, corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    service.faults.add(Fault(route="transcribe", status=503, retry_after_ms=300))
    report, _ = bench_json(capsys, str(corpus / "hello.wav"), "--requests", "1", "--retries", "2")
    assert report["requests"]["retried"] == 1
    assert report["requests"]["retries"] == 1
    assert report["requests"]["succeeded"] == 1
    [row] = report["results"]
    assert row["attempts"] == 2
    assert row["elapsed"] >= 0.3  # the Retry-After wait is in the call's whole time...
    assert row["elapsed"] - row["latency"] >= 0.3  # ...not in the final attempt's latency


def test_warmup_is_sent_first_and_not_counted_and_duration_bounds_the_run(
    service: Emulator, corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report, _ = bench_json(capsys, str(corpus), "--warmup", "2", "--duration", "0.4", "--concurrency", "2", "-q")
    measured = report["requests"]["measured"]
    assert measured >= 2
    assert report["requests"]["warmup"] == 2
    assert report["limits"] == {"requests": None, "duration_seconds": 0.4, "warmup": 2}
    assert len([r for r in service.requests if r.route == "transcribe"]) == measured + 2
    assert report["wall_seconds"] >= 0.4
    # --requests ends it first.
    report, _ = bench_json(capsys, str(corpus), "--requests", "3", "--duration", "30", "-q")
    assert report["requests"]["measured"] == 3


def test_the_short_audio_api(service: Emulator, corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report, _ = bench_json(capsys, str(corpus / "hello.wav"), "--api", "short", "--requests", "2", "--locale", "en-GB")
    assert report["api"] == "short"
    assert report["recognition_statuses"] == {"Success": 2}
    assert report["accuracy"]["wer"] == 0.0
    sent = [r for r in service.requests if r.route == "short_audio"]
    assert [r.query["language"] for r in sent] == ["en-GB", "en-GB"]
    for phase in PHASES:
        assert_ordered(report["latency_seconds"][phase])
    assert report["rtf"]["aggregate"] > 0


def test_plot_writes_a_png_and_json_path_writes_a_file(
    service: Emulator, corpus: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, out, err = run(
        capsys, str(corpus), "--requests", "4", "--plot", "latency.png", "--json", "report.json", "-q"
    )
    assert (status, out, err) == (0, "", "")
    assert (tmp_path / "latency.png").read_bytes().startswith(PNG_SIGNATURE)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["requests"]["succeeded"] == 4


def test_without_jiwer_the_wer_is_left_out_with_one_note(
    service: Emulator, corpus: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "jiwer", None)  # import jiwer raises ImportError
    report, err = bench_json(capsys, str(corpus))
    assert report["accuracy"] is None
    assert report["notes"] == ["WER and CER need jiwer: pip install 'speech-async[bench]'"]
    assert "speech-async bench: note: WER and CER need jiwer" in err
    assert "WER" not in err.replace("WER and CER need", "")
    assert report["requests"]["succeeded"] == 2


def test_plot_without_matplotlib_says_so_in_one_line_before_any_request(
    service: Emulator, corpus: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    status, out, err = run(capsys, str(corpus), "--plot", "x.png")
    assert (status, out) == (1, "")
    assert err == "speech-async bench: error: --plot needs matplotlib: pip install 'speech-async[bench]'\n"
    assert service.requests == []


@pytest.mark.parametrize(
    ("files", "argv", "message"),
    [
        ({}, ["missing"], "missing: no such file or folder"),
        ({"empty/notes.txt": "x"}, ["empty"], "empty: the folder holds no audio files"),
        ({"set.jsonl": "\n\n"}, ["set.jsonl"], "set.jsonl: the manifest has no entries"),
        ({"set.jsonl": '{"audio": "hello.wav"}\n{"audio": \n'}, ["set.jsonl"], "set.jsonl line 2: not JSON"),
        ({"set.jsonl": '["hello.wav"]\n'}, ["set.jsonl"], 'set.jsonl line 1: expected an object with an "audio"'),
        ({"set.jsonl": '{"audio": ""}\n'}, ["set.jsonl"], 'set.jsonl line 1: "audio" must be a non-empty path'),
        ({"set.jsonl": '\n{"audio": "hello.wav", "reference": 3}\n'}, ["set.jsonl"], 'line 2: "reference" must be'),
        ({"set.jsonl": '{"audio": "gone.wav"}\n'}, ["set.jsonl"], "set.jsonl line 1: gone.wav: no such audio file"),
        ({"set.csv": "path,text\nhello.wav,hi\n"}, ["set.csv"], 'set.csv line 1: the header row must name an "audio"'),
        ({"set.csv": "audio,reference\nhello.wav\n"}, ["set.csv"], "set.csv line 2: 1 cells, the header has 2"),
        ({"notes.md": "x"}, ["notes.md"], "notes.md: not a folder, a .jsonl or .csv manifest, or an audio file"),
        ({}, ["hello.wav", "--concurrency", "0"], "must be at least 1"),
        ({}, ["hello.wav", "--duration", "-1"], "must be a positive number of seconds"),
        ({}, ["hello.wav", "--api", "batch"], "invalid choice: 'batch'"),
        ({}, ["hello.wav", "--json", "no/such/dir/r.json"], "the folder no/such/dir does not exist"),
        ({}, ["hello.wav", "--plot", "."], "--plot .: is a folder"),
        ({}, ["hello.wav", "--locale", "en_US"], "did you mean 'en-US'"),
        ({}, ["hello.wav", "--emulator"], "--emulator runs its own service"),
    ],
)
def test_usage_errors_exit_2_before_any_request(
    service: Emulator,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    files: dict[str, str],
    argv: list[str],
    message: str,
) -> None:
    (tmp_path / "hello.wav").write_bytes((SAMPLES / "hello.wav").read_bytes())
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    extra = ["--endpoint", service.url] if "--emulator" in argv else []
    status, out, err = run(capsys, *argv, *extra)
    assert (status, out) == (2, ""), err
    assert err.startswith("usage: speech-async bench")
    assert message in err
    assert err.splitlines()[-1].startswith("speech-async bench: error: ")
    assert service.requests == []


def test_percentile_and_normalize_rules() -> None:
    assert percentile([3.0], 99) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([4.0, 1.0, 3.0, 2.0], 90) == pytest.approx(3.7)
    assert normalize("  Don\u2019t  STOP\u2014now!\n\uff28i  ") == "dont stop now hi"  # NFKC: fullwidth H
    assert normalize("¿Qué tal?") == "qué tal"


def test_ctrl_c_stops_the_run_with_130_and_reports_what_was_measured(
    speech_emulator: Emulator, speech_emulator_key: str, tmp_path: Path
) -> None:
    speech_emulator.scripted.register((SAMPLES / "hello.wav").read_bytes(), HELLO_TRANSCRIPT)
    (tmp_path / "hello.wav").write_bytes((SAMPLES / "hello.wav").read_bytes())
    env = {**os.environ, "AZURE_SPEECH_API_KEY": speech_emulator_key, "AZURE_SPEECH_ENDPOINT": speech_emulator.url}
    env.pop("AZURE_SPEECH_REGION", None)
    argv = ["bench", "hello.wav", "--requests", "1000", "--concurrency", "1", "--json", "-"]
    process = subprocess.Popen(
        [sys.executable, "-m", "speech_async.cli", *argv],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while len([r for r in speech_emulator.requests if r.route == "transcribe" and r.status == 200]) < 2:
            assert time.monotonic() < deadline
            assert process.poll() is None
            time.sleep(0.02)
        # From now on every answer is held back: a request is in flight when SIGINT arrives.
        speech_emulator.faults.add(Fault(route="transcribe", count=10_000, delay_headers=1.5))
        time.sleep(0.3)
        sent = time.monotonic()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
        elapsed = time.monotonic() - sent
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 130, err
    assert elapsed < 4, elapsed
    assert "Traceback" not in err
    report = json.loads(out)
    assert report["interrupted"] is True
    measured = report["requests"]["measured"]
    assert measured >= 2
    assert report["requests"]["succeeded"] == measured
    assert err.splitlines()[-1] == (
        f"speech-async bench: interrupted: {measured} requests measured ({measured} succeeded, 0 failed)"
    )
    assert "(interrupted)" in err  # the table of what was measured


def test_audio_durations_come_from_the_header_or_else_from_the_service(
    service: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from speech_async.cli.bench import load_corpus

    # Ogg/Opus: the last page's granule position, less the pre-skip, at 48 kHz (only those fields are read).
    head = b"OggS" + bytes(24) + b"OpusHead" + bytes([1, 1]) + (312).to_bytes(2, "little") + bytes(8)
    last = b"OggS" + bytes(2) + (2 * 48000 + 312).to_bytes(8, "little") + bytes(16)
    (tmp_path / "two.opus").write_bytes(head + bytes(1000) + last)
    [item] = load_corpus(tmp_path / "two.opus")
    assert item.audio_seconds == pytest.approx(2.0)
    # FLAC is not read: the service's durationMilliseconds is used.
    flac = (SAMPLES / "call-stereo.flac").read_bytes()
    service.scripted.register(flac, REPORT)
    (tmp_path / "call.flac").write_bytes(flac)
    assert load_corpus(tmp_path / "call.flac")[0].audio_seconds is None
    report, _ = bench_json(capsys, "call.flac")
    [row] = report["results"]
    # The FLAC's own duration, from its STREAMINFO block: what the service (here the emulator) measures.
    info = flac[8:42]
    rate = int.from_bytes(info[10:13], "big") >> 4
    samples = int.from_bytes(info[13:18], "big") & ((1 << 36) - 1)
    assert row["audio_seconds"] == pytest.approx(samples / rate, abs=0.002)
    assert row["rtf"] == pytest.approx(row["latency"] / row["audio_seconds"])


WITHOUT_RICH = """
import sys

class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "rich":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Blocker())
from speech_async.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_without_rich_help_works_and_a_run_says_what_to_install(tmp_path: Path) -> None:
    (tmp_path / "hello.wav").write_bytes((SAMPLES / "hello.wav").read_bytes())
    help_ = subprocess.run(
        [sys.executable, "-c", WITHOUT_RICH, "bench", "--help"], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert help_.returncode == 0, help_.stderr
    assert help_.stdout.startswith("usage: speech-async bench ")
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_RICH, "bench", str(tmp_path / "hello.wav"), "--emulator"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "speech-async bench: error: this command needs rich: pip install 'speech-async[bench]'\n"
