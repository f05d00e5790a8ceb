"""WAV files built from bytes, for tests and benchmarks that need valid audio but not speech."""

from __future__ import annotations

import struct

__all__ = ("make_wav", "wav_header")


def wav_header(data_size: int, *, rate: int = 16000, channels: int = 1, bits: int = 16, audio_format: int = 1) -> bytes:
    """The 44-byte header of a WAV whose samples take ``data_size`` bytes (16-bit PCM unless told).

    ``audio_format`` is the ``fmt`` chunk's format tag: 1 is PCM, 3 IEEE float; anything else builds a
    header the service refuses, which is what tests of refusals need.
    """
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", audio_format, channels, rate, rate * block, block, bits)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_size)
        + b"WAVEfmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + (struct.pack("<I", data_size))
    )


def make_wav(
    seconds: float = 0.1,
    *,
    rate: int = 16000,
    channels: int = 1,
    fill: int = 0,
    bits: int = 16,
    audio_format: int = 1,
    samples: bytes | None = None,
) -> bytes:
    """A WAV of ``seconds`` of silence (or of the byte ``fill`` repeated), or of the given ``samples``.

    The default, 0.1 s of 16 kHz 16-bit mono PCM, is what both the emulator's endpoints accept::

        from speech_async.emulator import make_wav

        await client.transcribe(make_wav(2.0))  # two seconds of silence
    """
    data = samples if samples is not None else bytes([fill]) * (int(seconds * rate) * channels * bits // 8)
    return wav_header(len(data), rate=rate, channels=channels, bits=bits, audio_format=audio_format) + data
