"""Audio the tests build from bytes: the emulator's public WAV builder, and the smallest valid WAV."""

from __future__ import annotations

from speech_async.emulator import make_wav, wav_header

__all__ = ("TINY_WAV", "make_wav", "wav_header")

TINY_WAV = make_wav()
"""0.1 s of 16 kHz 16-bit mono silence: valid audio for both endpoints, with no speech in it."""
