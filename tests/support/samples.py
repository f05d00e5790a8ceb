"""The bundled speech samples, and the transcript the tests register for hello.wav."""

from __future__ import annotations

from pathlib import Path

from speech_async.emulator import ScriptedPhrase, ScriptedTranscript

__all__ = ("HELLO_TRANSCRIPT", "SAMPLES")

SAMPLES = Path(__file__).resolve().parents[2] / "speech_async" / "demo" / "samples"

HELLO_TRANSCRIPT = ScriptedTranscript(
    phrases=(
        ScriptedPhrase(text="Hello, and thank you for calling.", offset_ms=40, duration_ms=2000),
        ScriptedPhrase(text="How can I help you today?", offset_ms=2440, duration_ms=1880),
    )
)
