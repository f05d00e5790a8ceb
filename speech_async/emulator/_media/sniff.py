"""Audio format sniffing from magic bytes, and durations from headers.

Everything here is blocking file I/O: call these functions through a worker thread. WAV and FLAC
headers are parsed natively; other formats get channels and duration from PyAV when it is installed
(it comes with the ``asr`` extra), else they stay unknown. For the short-audio API's stricter checks,
:func:`wav_format` reads a WAV's codec and sample size, and :func:`ogg_opus_info` reads Ogg/Opus
natively.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, Final

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ("AudioInfo", "WavFormat", "ogg_opus_info", "sniff_file", "wav_format")

_HEAD_BYTES: Final = 64
_ASF_GUID: Final = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")
_EBML_MAGIC: Final = b"\x1a\x45\xdf\xa3"
_UNKNOWN_SIZES: Final = frozenset({0, 0xFFFFFFFF})
_WAV_FRAME_FORMATS: Final = frozenset({1, 3, 6, 7, 0xFFFE})  # PCM, float, A-law, mu-law, extensible
_ADTS_RATES: Final = 13
_MP3_BAD_BITRATE: Final = 0xF
_MP3_BAD_RATE: Final = 3
_WAVE_FORMAT_EXTENSIBLE: Final = 0xFFFE
_WAV_CODECS: Final = {1: "pcm", 3: "float", 6: "alaw", 7: "mulaw"}
# An Ogg page header is 27 bytes plus up to 255 lacing values; a page holds at most 65,307 bytes.
_OGG_HEADER_BYTES: Final = 27
_OGG_MAX_PAGE: Final = 27 + 255 + 255 * 255
_OGG_NO_GRANULE: Final = -1
_OPUS_HEAD: Final = b"OpusHead"
_OPUS_RATE: Final = 48000  # Opus granule positions always count 48 kHz samples


@dataclass(frozen=True, kw_only=True)
class AudioInfo:
    """What the header tells about the audio; ``None`` members are unknown."""

    format: str
    channels: int | None = None
    sample_rate: int | None = None
    duration_ms: int | None = None


def _ms(frames: int, rate: int) -> int:
    return round(frames * 1000 / rate)


def _read_exact(file: BinaryIO, size: int) -> bytes | None:
    data = file.read(size)
    return data if len(data) == size else None


def _wav(file: BinaryIO, file_size: int, head: bytes) -> AudioInfo | None:
    rf64 = head[:4] == b"RF64"
    file.seek(12)
    fmt: tuple[int, int, int, int, int] | None = None  # format, channels, rate, byte rate, block
    ds64_data_size: int | None = None
    fact_frames: int | None = None
    while True:
        header = _read_exact(file, 8)
        if header is None:
            break
        chunk_id, size = header[:4], struct.unpack("<I", header[4:])[0]
        start = file.tell()
        if chunk_id == b"fmt ":
            body = _read_exact(file, min(size, 40))
            if body is None or len(body) < 16:
                return None
            fmt = struct.unpack("<HHIIH", body[:14])
        elif chunk_id == b"ds64" and rf64:
            body = _read_exact(file, 16)
            if body is not None:
                ds64_data_size = struct.unpack("<Q", body[8:16])[0]
        elif chunk_id == b"fact":
            body = _read_exact(file, 4)
            if body is not None:
                fact_frames = struct.unpack("<I", body)[0]
        elif chunk_id == b"data":
            if fmt is None:
                return None
            remaining = file_size - start
            if rf64 and size == 0xFFFFFFFF and ds64_data_size is not None:
                size = ds64_data_size
            # Streaming writers leave the size 0 or 0xFFFFFFFF; a truncated file holds less.
            data_size = remaining if size in _UNKNOWN_SIZES or size > remaining else size
            return _wav_info(fmt, data_size, fact_frames)
        # Chunks are padded to an even size.
        file.seek(start + size + (size & 1))
    return None


def _wav_info(fmt: tuple[int, int, int, int, int], data_size: int, fact_frames: int | None) -> AudioInfo | None:
    audio_format, channels, rate, byte_rate, block_align = fmt
    if channels == 0 or rate == 0:
        return None
    duration: int | None = None
    if audio_format in _WAV_FRAME_FORMATS and block_align:
        duration = _ms(data_size // block_align, rate)
    elif fact_frames:
        duration = _ms(fact_frames, rate)
    elif byte_rate:
        duration = round(data_size * 1000 / byte_rate)
    return AudioInfo(format="wav", channels=channels, sample_rate=rate, duration_ms=duration)


def _flac(file: BinaryIO, offset: int) -> AudioInfo | None:
    file.seek(offset + 4)
    header = _read_exact(file, 4)
    if header is None or header[0] & 0x7F != 0:  # STREAMINFO must come first
        return None
    body = _read_exact(file, 34)
    if body is None:
        return None
    packed = int.from_bytes(body[10:18], "big")
    rate = packed >> 44
    channels = ((packed >> 41) & 0x7) + 1
    total = packed & 0xFFFFFFFFF
    if rate == 0:
        return None
    duration = _ms(total, rate) if total else None
    return AudioInfo(format="flac", channels=channels, sample_rate=rate, duration_ms=duration)


def _id3_size(head: bytes) -> int:
    size = 0
    for byte in head[6:10]:
        size = (size << 7) | (byte & 0x7F)
    footer = 10 if head[5] & 0x10 else 0
    return 10 + size + footer


def _is_mp3_frame(head: bytes) -> bool:
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version = (head[1] >> 3) & 0x3
    layer = (head[1] >> 1) & 0x3
    bitrate = head[2] >> 4
    rate = (head[2] >> 2) & 0x3
    return version != 1 and layer != 0 and bitrate != _MP3_BAD_BITRATE and rate != _MP3_BAD_RATE


def _is_adts(head: bytes) -> bool:
    return len(head) >= 7 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0 and (head[2] >> 2) & 0xF < _ADTS_RATES


def _container_format(head: bytes) -> str | None:
    if head.startswith(b"OggS"):
        return "ogg"
    if head.startswith(_EBML_MAGIC):
        return "webm"
    if head.startswith(_ASF_GUID):
        return "asf"
    if head.startswith(b"#!AMR"):
        return "amr"
    if _is_adts(head):
        return "aac"
    if _is_mp3_frame(head):
        return "mp3"
    return None


def _probe(path: Path, audio_format: str) -> AudioInfo | None:
    """Channels and duration from PyAV; ``None`` if PyAV is installed but cannot read the file."""
    try:
        import av  # optional; imported here, off the event loop
        from av.error import FFmpegError
    except ImportError:
        return AudioInfo(format=audio_format)
    try:
        container = av.open(str(path))
    except (FFmpegError, OSError, ValueError):
        return None
    try:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        channels = stream.codec_context.layout.nb_channels or None
        rate = stream.rate or None
        time_base = stream.time_base
        duration: int | None = None
        if container.duration is not None:
            duration = round(container.duration / 1000)  # AV_TIME_BASE: microseconds
        elif stream.duration is not None and time_base is not None:
            duration = round(float(stream.duration * time_base) * 1000)
        elif time_base is not None:
            ticks = sum(packet.duration or 0 for packet in container.demux(stream))
            duration = round(float(ticks * time_base) * 1000)
    except (FFmpegError, OSError, ValueError):
        return None
    finally:
        container.close()
    return AudioInfo(format=audio_format, channels=channels, sample_rate=rate, duration_ms=duration)


def sniff_file(path: Path) -> AudioInfo | None:
    """Identify the audio in ``path``; ``None`` means it is not audio the service accepts."""
    with path.open("rb") as file:
        file_size = file.seek(0, 2)
        file.seek(0)
        head = file.read(_HEAD_BYTES)
        offset = 0
        if head.startswith(b"ID3") and len(head) >= 10:
            # An ID3v2 tag may precede MP3 frames (and, rarely, FLAC).
            offset = _id3_size(head)
            file.seek(offset)
            after = file.read(_HEAD_BYTES)
            if after.startswith(b"fLaC"):
                info = _flac(file, offset)
                return info if info is None or info.duration_ms else _probe(path, "flac") or info
            return _probe(path, "mp3")
        if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
            return _wav(file, file_size, head)
        if head.startswith(b"fLaC"):
            info = _flac(file, 0)
            return info if info is None or info.duration_ms else _probe(path, "flac") or info
    audio_format = _container_format(head)
    if audio_format is None:
        return None
    return _probe(path, audio_format)


def _ogg_page(data: bytes, offset: int) -> tuple[int, int, int, list[int]] | None:
    """``(granule, serial, header size, lacing values)`` of the page at ``offset``, if one starts there."""
    if data[offset : offset + 4] != b"OggS" or len(data) < offset + _OGG_HEADER_BYTES or data[offset + 4] != 0:
        return None
    granule, serial = struct.unpack("<qI", data[offset + 6 : offset + 18])
    count = data[offset + 26]
    lacing = data[offset + _OGG_HEADER_BYTES : offset + _OGG_HEADER_BYTES + count]
    if len(lacing) != count:
        return None
    return granule, serial, _OGG_HEADER_BYTES + count, list(lacing)


def _last_granule(file: BinaryIO, file_size: int, serial: int) -> int | None:
    """The granule position of the last complete-packet page of stream ``serial``."""
    start = max(0, file_size - _OGG_MAX_PAGE)
    file.seek(start)
    tail = file.read()
    offset = tail.rfind(b"OggS")
    while offset >= 0:
        page = _ogg_page(tail, offset)
        if page is not None and page[1] == serial and page[0] != _OGG_NO_GRANULE:
            return page[0]
        offset = tail.rfind(b"OggS", 0, offset)
    return None


def ogg_opus_info(path: Path) -> AudioInfo | None:
    """Channels, input sample rate and duration of an Ogg/Opus file; ``None`` if it is not one.

    Read from the ``OpusHead`` packet (RFC 7845) and the granule position of the last page. The
    ``sample_rate`` is the header's "input sample rate", which is ``0`` when the encoder did not
    say (reported as ``None``).
    """
    with path.open("rb") as file:
        file_size = file.seek(0, 2)
        file.seek(0)
        head = file.read(_OGG_MAX_PAGE)
        page = _ogg_page(head, 0)
        if page is None:
            return None
        _granule, serial, header_size, lacing = page
        packet_size = 0
        for value in lacing:
            packet_size += value
            if value < 255:
                break
        packet = head[header_size : header_size + packet_size]
        if len(packet) < 19 or not packet.startswith(_OPUS_HEAD):
            return None
        channels = packet[9]
        pre_skip, rate = struct.unpack("<HI", packet[10:16])
        if channels == 0:
            return None
        last = _last_granule(file, file_size, serial)
    duration = None if last is None else _ms(max(0, last - pre_skip), _OPUS_RATE)
    return AudioInfo(format="ogg", channels=channels, sample_rate=rate or None, duration_ms=duration)


@dataclass(frozen=True, kw_only=True)
class WavFormat:
    """The sample format of a WAV file's ``fmt `` chunk.

    Attributes:
        codec: ``pcm``, ``float``, ``alaw``, ``mulaw``, or the format tag as ``0x....`` (the
            SubFormat's tag for ``WAVE_FORMAT_EXTENSIBLE``).
        bits_per_sample: The sample size in bits.
    """

    codec: str
    bits_per_sample: int


def wav_format(path: Path) -> WavFormat | None:
    """The codec and sample size of the WAV (or RF64) file at ``path``; ``None`` if it has no ``fmt `` chunk."""
    with path.open("rb") as file:
        head = file.read(12)
        if head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
            return None
        while (header := _read_exact(file, 8)) is not None:
            size = struct.unpack("<I", header[4:])[0]
            if header[:4] == b"fmt ":
                body = _read_exact(file, min(size, 40))
                if body is None or len(body) < 16:
                    return None
                tag, bits = struct.unpack("<H", body[:2])[0], struct.unpack("<H", body[14:16])[0]
                if tag == _WAVE_FORMAT_EXTENSIBLE and len(body) >= 26:
                    # WAVE_FORMAT_EXTENSIBLE: the real format tag opens the SubFormat GUID.
                    tag = struct.unpack("<H", body[24:26])[0]
                return WavFormat(codec=_WAV_CODECS.get(tag, f"0x{tag:04x}"), bits_per_sample=bits)
            if header[:4] == b"data":
                return None
            file.seek(size + (size & 1), 1)
    return None
