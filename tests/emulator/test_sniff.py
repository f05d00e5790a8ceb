"""Audio format sniffing and header durations (``speech_async.emulator._media.sniff``), file by file."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from speech_async.emulator._media.sniff import AudioInfo, sniff_file

from ..support.samples import SAMPLES

av = pytest.importorskip("av", reason="encoding test files needs PyAV (the asr extra)")
np = pytest.importorskip("numpy")


def chunk(chunk_id: bytes, body: bytes) -> bytes:
    """A RIFF chunk, padded to an even size as the format requires."""
    return chunk_id + struct.pack("<I", len(body)) + body + (b"\x00" if len(body) % 2 else b"")


def fmt_chunk(*, audio_format: int = 1, channels: int = 1, rate: int = 16000, bits: int = 16) -> bytes:
    block = channels * bits // 8
    return chunk(b"fmt ", struct.pack("<HHIIHH", audio_format, channels, rate, rate * block, block, bits))


def wav(*chunks: bytes, riff: bytes = b"RIFF") -> bytes:
    body = b"WAVE" + b"".join(chunks)
    return riff + struct.pack("<I", len(body)) + body


def sniff(tmp_path: Path, data: bytes) -> AudioInfo | None:
    path = tmp_path / "audio.bin"
    path.write_bytes(data)
    return sniff_file(path)


def test_bundled_samples() -> None:
    assert sniff_file(SAMPLES / "hello.wav") == AudioInfo(format="wav", channels=1, sample_rate=16000, duration_ms=5018)
    assert sniff_file(SAMPLES / "call-stereo.flac") == AudioInfo(
        format="flac", channels=2, sample_rate=16000, duration_ms=5518
    )


def test_wav_skips_list_and_odd_sized_chunks(tmp_path: Path) -> None:
    data = wav(
        chunk(b"LIST", b"INFOISFT\x05\x00\x00\x00Lavf\x00"),
        chunk(b"odd ", b"xyz"),
        fmt_chunk(channels=2),
        chunk(b"data", bytes(16000 * 4 * 3 // 2)),
    )
    assert sniff(tmp_path, data) == AudioInfo(format="wav", channels=2, sample_rate=16000, duration_ms=1500)


@pytest.mark.parametrize("declared", [0, 0xFFFFFFFF, 10**9], ids=["zero", "max", "beyond-file"])
def test_wav_data_size_falls_back_to_the_file_size(tmp_path: Path, declared: int) -> None:
    samples = bytes(16000 * 2 * 2)
    data = wav(fmt_chunk(), b"data" + struct.pack("<I", declared) + samples)
    info = sniff(tmp_path, data)
    assert info is not None
    assert info.duration_ms == 2000


def test_rf64(tmp_path: Path) -> None:
    samples = bytes(16000 * 2)
    ds64 = chunk(b"ds64", struct.pack("<QQQI", 0, len(samples), 16000, 0))
    data = wav(ds64, fmt_chunk(), b"data" + struct.pack("<I", 0xFFFFFFFF) + samples, riff=b"RF64")
    assert sniff(tmp_path, data) == AudioInfo(format="wav", channels=1, sample_rate=16000, duration_ms=1000)


@pytest.mark.parametrize(
    ("audio_format", "bits"), [(3, 32), (6, 8), (7, 8), (0xFFFE, 16)], ids=["float", "alaw", "mulaw", "extensible"]
)
def test_wav_codecs_in_a_wav_container(tmp_path: Path, audio_format: int, bits: int) -> None:
    data = wav(fmt_chunk(audio_format=audio_format, bits=bits, rate=8000), chunk(b"data", bytes(8000 * bits // 8)))
    info = sniff(tmp_path, data)
    assert info is not None
    assert (info.sample_rate, info.duration_ms) == (8000, 1000)


def test_compressed_wav_uses_the_fact_chunk(tmp_path: Path) -> None:
    fmt = chunk(b"fmt ", struct.pack("<HHIIHH", 0x11, 1, 8000, 4055, 256, 4))  # IMA ADPCM
    data = wav(fmt, chunk(b"fact", struct.pack("<I", 4000)), chunk(b"data", bytes(2048)))
    info = sniff(tmp_path, data)
    assert info is not None
    assert info.duration_ms == 500


@pytest.mark.parametrize(
    "data",
    [
        wav(chunk(b"data", bytes(100)), fmt_chunk()),
        wav(fmt_chunk()),
        wav(chunk(b"fmt ", b"\x01\x00")),
        wav(fmt_chunk(channels=0), chunk(b"data", bytes(10))),
        b"RIFF\x00\x00\x00\x00WAVE",
        b"fLaC\x80\x00\x00\x22",
        b"",
        b"\x00\x01\x02\x03",
    ],
    ids=[
        "data-before-fmt",
        "no-data",
        "short-fmt",
        "zero-channels",
        "no-chunks",
        "flac-no-streaminfo",
        "empty",
        "junk",
    ],
)
def test_not_audio(tmp_path: Path, data: bytes) -> None:
    assert sniff(tmp_path, data) is None


def test_flac_streaminfo(tmp_path: Path) -> None:
    packed = (44100 << 44) | (1 << 41) | (15 << 36) | 441000  # 44.1 kHz, 2 channels, 16 bit, 10 s
    streaminfo = struct.pack(">HH", 4096, 4096) + b"\x00" * 6 + packed.to_bytes(8, "big") + b"\x00" * 16
    data = b"fLaC" + b"\x80" + len(streaminfo).to_bytes(3, "big") + streaminfo
    assert sniff(tmp_path, data) == AudioInfo(format="flac", channels=2, sample_rate=44100, duration_ms=10000)


def encode(path: Path, container: str, codec: str, rate: int, options: dict[str, str] | None = None) -> Path:
    """One second of a 440 Hz tone, encoded with PyAV."""
    with av.open(str(path), "w", format=container, options=options or {}) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        if codec == "wmav2":
            stream.bit_rate = 64000
        context = stream.codec_context
        tone = (np.sin(2 * np.pi * 440 * np.arange(rate) / rate) * 8000).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(tone, format="s16", layout="mono")
        frame.sample_rate = rate
        fifo = av.AudioFifo()
        for converted in av.AudioResampler(format=context.format, layout="mono", rate=rate).resample(frame):
            fifo.write(converted)
        while (piece := fifo.read(context.frame_size or 1024) or fifo.read()) is not None and piece.samples:
            out.mux(stream.encode(piece))
        out.mux(stream.encode(None))
    return path


@pytest.mark.parametrize(
    ("name", "container", "codec", "rate", "options", "expected"),
    [
        ("tone.mp3", "mp3", "libmp3lame", 16000, None, "mp3"),
        ("raw.mp3", "mp3", "libmp3lame", 16000, {"id3v2_version": "0"}, "mp3"),
        ("tone.ogg", "ogg", "libopus", 16000, None, "ogg"),
        ("tone.webm", "webm", "libopus", 16000, None, "webm"),
        ("tone.wma", "asf", "wmav2", 16000, None, "asf"),
        ("tone.aac", "adts", "aac", 16000, None, "aac"),
        ("tone.amr", "amr", "libopencore_amrnb", 8000, None, "amr"),
        ("tone.flac", "flac", "flac", 16000, None, "flac"),
    ],
    ids=["mp3-id3", "mp3-frames", "ogg-opus", "webm-opus", "wma", "aac-adts", "amr", "flac"],
)
def test_formats_measured_with_pyav(
    tmp_path: Path, name: str, container: str, codec: str, rate: int, options: dict[str, str] | None, expected: str
) -> None:
    if codec not in av.codecs_available:
        pytest.skip(f"this FFmpeg build has no {codec} encoder")
    info = sniff_file(encode(tmp_path / name, container, codec, rate, options))
    assert info is not None
    assert (info.format, info.channels) == (expected, 1)
    assert info.duration_ms is not None
    assert abs(info.duration_ms - 1000) <= 120


def test_magic_bytes_without_valid_content_are_not_audio(tmp_path: Path) -> None:
    for magic in (b"OggS", b"\x1a\x45\xdf\xa3", b"ID3\x04\x00\x00\x00\x00\x00\x00"):
        assert sniff(tmp_path, magic + b"\x00" * 200) is None, magic


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    prefix=st.sampled_from([b"RIFF\x00\x00\x00\x00WAVE", b"RF64\x00\x00\x00\x00WAVE", b"fLaC", b"ID3\x03\x00", b""]),
    rest=st.binary(max_size=300),
)
def test_sniffing_never_raises(tmp_path: Path, prefix: bytes, rest: bytes) -> None:
    info = sniff(tmp_path, prefix + rest)
    assert info is None or isinstance(info, AudioInfo)
