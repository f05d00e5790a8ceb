"""Recognising audio by its first bytes, and reading the duration where the header states it.

Only what the first few kilobytes tell is used: enough to refuse a text file or an image before it is
uploaded, and to catch audio that is longer than the service accepts, without reading the audio.
"""

from __future__ import annotations

import struct
from typing import Final

import msgspec

__all__ = ["HEAD_BYTES", "AudioHead", "sniff"]

HEAD_BYTES: Final = 64 * 1024
"""How much of the start of the audio is examined."""

_WAVE_FORMAT_PCM: Final = 0x0001
_CANONICAL_WAV: Final = struct.Struct("<4sI4s4sIHHIIHH4sI")
"""The 44-byte header most WAV writers produce: RIFF, WAVE, a 16-byte "fmt " chunk, then "data"."""
_WAVE_FORMAT_EXTENSIBLE: Final = 0xFFFE

_EXTENSIONS: Final = {
    "wav": "WAV",
    "wave": "WAV",
    "mp3": "MP3",
    "ogg": "OGG",
    "opus": "OGG",
    "oga": "OGG",
    "spx": "OGG",
    "flac": "FLAC",
    "wma": "WMA",
    "asf": "WMA",
    "aac": "AAC",
    "amr": "AMR",
    "webm": "WebM",
    "mka": "WebM",
    "m4a": "MP4",
    "mp4": "MP4",
}


class AudioHead(msgspec.Struct, gc=False):
    # A Struct: built for every upload, in C, and untracked by the garbage collector (it holds no container).
    """What the start of some audio says about it."""

    format: str | None
    """``WAV``, ``MP3``, ``OGG``, ``FLAC``, ``WMA``, ``AAC``, ``AMR``, ``WebM``, ``MP4``, or ``None`` when not audio."""
    seconds: float | None
    """The duration, when the header states it (WAV and FLAC)."""
    codec: str | None = None
    """``pcm`` (WAV with PCM samples), ``opus`` (Ogg with an Opus stream), or ``None`` when not known."""
    sample_rate: int | None = None
    """Samples per second (WAV), or the input rate an Opus stream declares."""
    channels: int | None = None
    """Channels, when the header states them (WAV, Opus)."""
    bits_per_sample: int | None = None
    """Bits per sample (WAV)."""


def sniff(head: bytes | memoryview, total_size: int | None) -> AudioHead:
    """Identify the format from ``head`` (the first bytes) and, for WAV and FLAC, the duration."""
    if len(head) >= 44:
        riff, _, wave, fmt, fmt_size, tag, channels, rate, byte_rate, _, bits, data, data_size = (
            _CANONICAL_WAV.unpack_from(head)
        )
        if riff == b"RIFF" and wave == b"WAVE" and fmt == b"fmt " and fmt_size == 16 and data == b"data":
            # The canonical header, read in one go (what the walk below would find, chunk by chunk).
            codec = "pcm" if tag == _WAVE_FORMAT_PCM else None
            if byte_rate and data_size not in (0, 0xFFFFFFFF):  # (else _wav_seconds' rules for streamed WAVs)
                size = data_size if total_size is None else max(min(data_size, total_size - 44), 0)
                seconds: float | None = size / byte_rate
            else:
                seconds = _wav_seconds(head, data_size, 44, byte_rate, total_size)
            return AudioHead("WAV", seconds, codec, rate, channels, bits)
    if len(head) >= 12 and head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return _wav(head, total_size)
    if head[:4] == b"fLaC":
        return AudioHead("FLAC", _flac_seconds(head))
    if head[:4] == b"OggS":
        return _ogg(head)
    if head[:3] == b"ID3" or _is_mpeg_frame(head):
        return AudioHead("MP3", None)
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return AudioHead("WebM", None)
    if head[:16] == b"\x30\x26\xb2\x75\x8e\x66\xcf\x11\xa6\xd9\x00\xaa\x00\x62\xce\x6c":
        return AudioHead("WMA", None)
    if head[:5] == b"#!AMR":
        return AudioHead("AMR", None)
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        return AudioHead("AAC", None)
    if head[4:8] == b"ftyp":
        # unverified: an MP4/M4A container; the documented list names AAC, which often comes this way.
        return AudioHead("MP4", None)
    return AudioHead(None, None)


def format_for_extension(filename: str) -> str | None:
    """The format a file name's extension claims, if it names an audio format."""
    _, dot, extension = filename.rpartition(".")
    return _EXTENSIONS.get(extension.lower()) if dot else None


def describe_head(head: bytes | memoryview) -> str:
    """A short, safe description of bytes that are not audio, for error messages."""
    sample = bytes(head[:16])
    printable = 0
    while printable < len(sample) and (32 <= sample[printable] < 127 or sample[printable] in (9, 10, 13)):
        printable += 1
    if printable >= 4:
        return f"text {sample[:printable].decode('ascii')!r}"
    return f"bytes {sample.hex(' ')}"


def _is_mpeg_frame(head: bytes | memoryview) -> bool:
    # An MPEG audio frame header: 11 sync bits, a valid version and layer 3, and a bitrate index that
    # is neither "free" nor "bad". (AAC's ADTS has layer bits 00, so it is told apart.)
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version = (head[1] >> 3) & 0x03
    layer = (head[1] >> 1) & 0x03
    bitrate = head[2] >> 4
    return version != 0x01 and layer == 0x01 and bitrate not in (0x0, 0xF)


def _wav(head: bytes | memoryview, total_size: int | None) -> AudioHead:
    # Walk the RIFF chunks up to "data": "fmt " gives the encoding, "data" the length of the samples.
    codec: str | None = None
    rate = channels = bits = None
    byte_rate: int | None = None
    offset = 12
    end = min(len(head), HEAD_BYTES)  # a head may be the whole audio (bytes in memory): walk its first 64 KiB
    while offset + 8 <= end:
        chunk_id = head[offset : offset + 4]
        (chunk_size,) = struct.unpack_from("<I", head, offset + 4)
        body = offset + 8
        if chunk_id == b"fmt " and body + 16 <= end:
            tag, channels, rate, byte_rate, _, bits = struct.unpack_from("<HHIIHH", head, body)
            if tag == _WAVE_FORMAT_EXTENSIBLE and chunk_size >= 40 and body + 26 <= end:
                (tag,) = struct.unpack_from("<H", head, body + 24)  # the sub-format GUID starts with the tag
            codec = "pcm" if tag == _WAVE_FORMAT_PCM else None
        elif chunk_id == b"data":
            return AudioHead(
                "WAV", _wav_seconds(head, chunk_size, body, byte_rate, total_size), codec, rate, channels, bits
            )
        offset = body + chunk_size + (chunk_size & 1)
    return AudioHead("WAV", None, codec, rate, channels, bits)


def _wav_seconds(
    head: bytes | memoryview, data_size: int, start: int, byte_rate: int | None, total_size: int | None
) -> float | None:
    if not byte_rate:
        return None
    # Streamed WAVs leave the size 0 or all ones: the data then runs to the end of the file, if known.
    if data_size in (0, 0xFFFFFFFF) or head[:4] == b"RF64":
        if total_size is None:
            return None
        data_size = total_size - start
    elif total_size is not None:
        data_size = min(data_size, total_size - start)
    return max(data_size, 0) / byte_rate


def _ogg(head: bytes | memoryview) -> AudioHead:
    # The first page of an Ogg stream holds the codec's identification header; Opus calls it OpusHead
    # (RFC 7845: version, channel count, pre-skip, then the input sample rate).
    if len(head) < 27:
        return AudioHead("OGG", None)
    segments = head[26]
    start = 27 + segments
    packet = head[start : start + 19]
    if len(packet) >= 16 and packet[:8] == b"OpusHead":
        (rate,) = struct.unpack_from("<I", packet, 12)
        return AudioHead("OGG", None, "opus", rate or None, packet[9] or None)
    return AudioHead("OGG", None)


def _flac_seconds(head: bytes | memoryview) -> float | None:
    # STREAMINFO is the first metadata block: 20-bit sample rate and 36-bit total samples at bytes 18..26.
    if len(head) < 26 or head[4] & 0x7F != 0:
        return None
    packed = int.from_bytes(head[18:26], "big")
    sample_rate = packed >> 44
    total_samples = packed & ((1 << 36) - 1)
    if not sample_rate or not total_samples:
        return None
    return total_samples / sample_rate
