"""Synchronous callers: Microsoft's own SDK (unchanged) via ``serve_in_thread``, and the command line."""

from __future__ import annotations

import contextlib
import http.server
import json
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from azure.ai.transcription import TranscriptionClient
from azure.ai.transcription.models import (
    EnhancedModeProperties,
    TranscriptionContent,
    TranscriptionDiarizationOptions,
    TranscriptionOptions,
)
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

from speech_async.emulator import (
    Emulator,
    EmulatorConfig,
    ScriptedPhrase,
    ScriptedTranscript,
    main,
    serve_in_thread,
)

from ..support.samples import SAMPLES

HELLO_PATH = SAMPLES / "hello.wav"
HELLO = HELLO_PATH.read_bytes()
KEY = "sdk-test-key"
HELLO_TRANSCRIPT = ScriptedTranscript(
    phrases=(
        ScriptedPhrase(text="Hello, and thank you for calling.", offset_ms=40, duration_ms=2480, speaker=1),
        ScriptedPhrase(text="How can I help you today?", offset_ms=2960, duration_ms=1520, speaker=2),
    ),
    translations={
        "de": (
            ScriptedPhrase(text="Hallo und danke für Ihren Anruf.", offset_ms=40, duration_ms=2480),
            ScriptedPhrase(text="Wie kann ich Ihnen heute helfen?", offset_ms=2960, duration_ms=1520),
        )
    },
)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with serve_in_thread(EmulatorConfig(key=KEY, recognizer="scripted")) as emulator:
        emulator.scripted.register(HELLO, HELLO_TRANSCRIPT)
        yield emulator


@pytest.fixture
def client(emulator: Emulator) -> Iterator[TranscriptionClient]:
    with TranscriptionClient(endpoint=emulator.url, credential=AzureKeyCredential(KEY)) as client:
        yield client


@pytest.fixture
def file_host() -> Iterator[str]:
    """A plain threaded HTTP server that hosts hello.wav (the SDK is synchronous)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/hello.wav":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "audio/wav")
            self.send_header("Content-Length", str(len(HELLO)))
            self.end_headers()
            self.wfile.write(HELLO)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_sdk_transcribes_a_file(emulator: Emulator, client: TranscriptionClient) -> None:
    with HELLO_PATH.open("rb") as audio_file:
        content = TranscriptionContent(definition=TranscriptionOptions(locales=["en-US"]), audio=audio_file)
        result = client.transcribe(content)

    assert result.duration_milliseconds == 5018
    assert result.combined_phrases[0].text == "Hello, and thank you for calling. How can I help you today?"
    assert [(p.offset_milliseconds, p.duration_milliseconds, p.text) for p in result.phrases] == [
        (40, 2480, "Hello, and thank you for calling."),
        (2960, 1520, "How can I help you today?"),
    ]
    assert result.phrases[0].words is not None
    assert result.phrases[0].words[0].text == "Hello,"
    assert result.phrases[0].locale == "en-US"
    assert result.phrases[0].speaker is None

    (recorded,) = emulator.requests
    assert recorded.status == 200
    assert recorded.query == {"api-version": "2025-10-15"}
    assert (recorded.header("User-Agent") or "").startswith("azsdk-python-ai-transcription/")
    assert recorded.content_length == recorded.body_bytes
    assert not recorded.chunked
    audio = recorded.part("audio")
    assert audio is not None
    assert (audio.filename, audio.content_type, audio.size) == ("hello.wav", "application/octet-stream", len(HELLO))
    assert recorded.definition == {"locales": ["en-US"]}


def test_sdk_diarization_options(client: TranscriptionClient) -> None:
    # The SDK never sends "enabled" (read-only in its model), so the emulator, like the service
    # recordings, answers without speakers.
    options = TranscriptionOptions(
        locales=["en-US"], diarization_options=TranscriptionDiarizationOptions(max_speakers=2)
    )
    with HELLO_PATH.open("rb") as audio_file:
        result = client.transcribe(TranscriptionContent(definition=options, audio=audio_file))
    assert [p.speaker for p in result.phrases] == [None, None]


def test_sdk_llm_speech_quickstart(client: TranscriptionClient) -> None:
    with HELLO_PATH.open("rb") as audio_file:
        options = TranscriptionOptions(enhanced_mode=EnhancedModeProperties(task="transcribe", prompt=[]))
        options.enhanced_mode.enabled = True  # type: ignore[union-attr]  # as the seed quickstart does
        result = client.transcribe(TranscriptionContent(definition=options, audio=audio_file))
    assert result.combined_phrases[0].text.startswith("Hello, and thank you")
    assert all(p.confidence == 0 for p in result.phrases)
    assert [p.offset_milliseconds for p in result.phrases] == [40, 2960]


def test_sdk_llm_speech_translation(emulator: Emulator, client: TranscriptionClient) -> None:
    enhanced_mode = EnhancedModeProperties(
        task="translate",
        target_language="de",
        prompt=["Translate the following audio to German.", "Convert number words to numbers."],
    )
    options = TranscriptionOptions(locales=["en-US"], enhanced_mode=enhanced_mode)
    with HELLO_PATH.open("rb") as audio_file:
        result = client.transcribe(TranscriptionContent(definition=options, audio=audio_file))
    assert result.combined_phrases[0].text == "Hallo und danke für Ihren Anruf. Wie kann ich Ihnen heute helfen?"
    assert {p.locale for p in result.phrases} == {"de-DE"}
    assert emulator.requests[-1].definition == {
        "locales": ["en-US"],
        "enhancedMode": {
            "task": "translate",
            "targetLanguage": "de",
            "prompt": ["Translate the following audio to German.", "Convert number words to numbers."],
            "enabled": True,
        },
    }


def test_sdk_transcribes_from_url(emulator: Emulator, client: TranscriptionClient, file_host: str) -> None:
    result = client.transcribe_from_url(f"{file_host}/hello.wav", options=TranscriptionOptions(locales=["en-US"]))
    assert result.combined_phrases[0].text == "Hello, and thank you for calling. How can I help you today?"
    recorded = emulator.requests[-1]
    assert [p.name for p in recorded.parts] == ["definition"]
    assert recorded.definition == {"locales": ["en-US"], "audioUrl": f"{file_host}/hello.wav"}


def test_sdk_sees_service_errors(emulator: Emulator, client: TranscriptionClient, file_host: str) -> None:
    with pytest.raises(HttpResponseError) as caught:
        client.transcribe_from_url(f"{file_host}/missing.wav")
    assert caught.value.status_code == 400
    assert caught.value.error is not None
    assert caught.value.error.code == "InvalidArgument"

    with HELLO_PATH.open("rb") as audio_file:
        content = TranscriptionContent(definition=TranscriptionOptions(locales=["tlh-QO"]), audio=audio_file)
        with pytest.raises(HttpResponseError) as caught:
            client.transcribe(content)
    assert caught.value.error is not None
    assert (caught.value.error.code, caught.value.error.message) == (
        "InvalidArgument",
        "The specified locale is not supported.",
    )

    wrong = TranscriptionClient(endpoint=emulator.url, credential=AzureKeyCredential("wrong"))
    with wrong, pytest.raises(ClientAuthenticationError) as denied:
        wrong.transcribe_from_url(f"{file_host}/hello.wav")
    assert denied.value.status_code == 401


def test_serve_in_thread_propagates_startup_errors(emulator: Emulator) -> None:
    port = int(emulator.url.rsplit(":", 1)[1])
    with pytest.raises(OSError, match="address already in use"), serve_in_thread(port=port):
        pass


def test_serve_in_thread_serves_plain_http(emulator: Emulator) -> None:
    request = urllib.request.Request(
        f"{emulator.url}/speechtotext/transcriptions/locales?api-version=2024-11-15",
        headers={"Ocp-Apim-Subscription-Key": KEY},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        assert "en-US" in json.loads(response.read())["Transcribe"]


# --- the command line -----------------------------------------------------------------------------


@contextlib.contextmanager
def cli(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    command = [sys.executable, "-m", "speech_async.emulator", "--port", "0", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield process, process.stdout.readline()
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_cli_prints_its_url_and_stops_cleanly(stop: signal.Signals) -> None:
    with cli("--recognizer", "scripted", "--key", "cli-key", "--max-audio-mb", "1") as (process, line):
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+\n", line), line
        url = line.strip()
        digest = "0" * 64
        put = urllib.request.Request(f"{url}/_emulator/scripted/{digest}", data=b'{"phrases": []}', method="PUT")
        with urllib.request.urlopen(put, timeout=10) as response:
            assert response.status == 204
        denied = urllib.request.Request(f"{url}/speechtotext/transcriptions/locales?api-version=2025-10-15")
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(denied, timeout=10)
        assert caught.value.code == 401
        caught.value.close()
        process.send_signal(stop)
        stdout, stderr = process.communicate(timeout=10)
        assert process.returncode == 0
        assert (stdout, stderr) == ("", "")


def test_cli_rejects_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--max-audio-mb", "0"])
    assert exited.value.code == 2
    assert "must be positive" in capsys.readouterr().err


def test_cli_reports_a_busy_port(emulator: Emulator, capsys: pytest.CaptureFixture[str]) -> None:
    port = emulator.url.rsplit(":", 1)[1]
    assert main(["--port", port, "--recognizer", "scripted"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("speech-async emulator: error:")


def test_cli_without_the_asr_extra_names_it_and_the_scripted_mode() -> None:
    # faster_whisper is blocked in a fresh interpreter, as if the asr extra were not installed; whisper
    # is asked for explicitly (without it, the emulator falls back to the scripted recognizer).
    code = (
        "import sys; sys.modules['faster_whisper'] = None; "
        "from speech_async.emulator import main; raise SystemExit(main(['--port', '0', '--recognizer', 'whisper']))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 1
    assert done.stdout == ""
    assert "speech-async[asr]" in done.stderr
    assert "--recognizer scripted" in done.stderr
