"""transcribe_many: options refused once, up front; every output format written, parsed back and resumed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import msgspec
import pytest
import srt
import webvtt

from speech_async import (
    DiarizationOptions,
    EnhancedMode,
    InvalidOptionsError,
    PhraseList,
    SpeechClient,
    TranscriptionOptions,
)
from speech_async.bulk import MANIFEST_FILE, BulkItem, transcribe_many
from speech_async.captions import MissingTimingsError
from speech_async.emulator import Emulator, ScriptedPhrase, ScriptedTranscript, ScriptedWord, make_wav

pytestmark = pytest.mark.anyio

FORMATS = ("json", "txt", "srt", "vtt")


def _transcribe_requests(emulator: Emulator) -> list[Any]:
    return [r for r in emulator.requests if r.route == "transcribe"]


async def _collect(run: Any) -> list[BulkItem]:
    items: list[BulkItem] = []
    async with run:
        async for item in run:
            items.append(item)
    return items


def _write(folder: Path, files: dict[str, bytes]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for name, data in files.items():
        (folder / name).write_bytes(data)
        paths.append(folder / name)
    return paths


# --- options the client refuses locally: raised once, at call time --------------------------------------

REFUSED: list[tuple[str, dict[str, Any], type[Exception], str]] = [
    (
        "max-speakers",
        {"options": TranscriptionOptions(diarization=DiarizationOptions(max_speakers=99))},
        InvalidOptionsError,
        "max_speakers is 99",
    ),
    ("locale-shape", {"options": TranscriptionOptions(locales=["en_US"])}, InvalidOptionsError, "did you mean 'en-US'"),
    ("api-version", {"api_version": "v3.2"}, InvalidOptionsError, "not an api-version of fast transcription"),
    (
        "phrase-list-too-long",
        {"options": TranscriptionOptions(phrase_list=PhraseList(phrases=[f"p{i}" for i in range(501)]))},
        InvalidOptionsError,
        "phrase_list has 501 phrases",
    ),
    (
        "llm-on-old-version",
        {"options": TranscriptionOptions(enhanced_mode=EnhancedMode(task="translate")), "api_version": "2024-11-15"},
        InvalidOptionsError,
        "needs api-version",
    ),
    ("mapping-unknown-key", {"options": {"max_speakerz": 3}}, InvalidOptionsError, "max_speakerz"),
    (
        "audio-url-in-options",
        {"options": TranscriptionOptions(audio_url="https://example.com/a.wav")},
        InvalidOptionsError,
        "each source is its own audio",
    ),
    ("extra-definition-not-json", {"extra_definition": {"x": object()}}, InvalidOptionsError, "cannot be encoded"),
    ("unknown-keyword", {"spooll": True}, TypeError, "does not take"),
]


@pytest.mark.parametrize(("kwargs", "error", "message"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
async def test_options_refused_locally_raise_at_call_time(
    client: SpeechClient,
    emulator: Emulator,
    tmp_path: Path,
    kwargs: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    await anyio.to_thread.run_sync(
        _write, tmp_path / "in", {f"f{i}.wav": make_wav(samples=bytes(320)) for i in range(3)}
    )
    emulator.clear_requests()
    with pytest.raises(error, match=message.replace("(", r"\(").replace("'", "'")):
        transcribe_many(client, tmp_path / "in", output_dir=tmp_path / "out", **kwargs)
    # Raised by the call itself: nothing was read, no folder made, no request sent.
    assert not await anyio.Path(tmp_path / "out").exists()
    assert _transcribe_requests(emulator) == []


async def test_the_single_call_refuses_the_same_options(client: SpeechClient, emulator: Emulator) -> None:
    # The rules are the fast resource's own: transcribe() refuses what transcribe_many refuses.
    emulator.clear_requests()
    for kwargs, error, message in [r[1:] for r in REFUSED if r[0] not in ("unknown-keyword", "audio-url-in-options")]:
        with pytest.raises(error, match=message.replace("(", r"\(")):
            await client.transcribe(make_wav(samples=bytes(320)), **kwargs)
    assert _transcribe_requests(emulator) == []


async def test_accepted_options_are_sent_with_every_item(
    client: SpeechClient, emulator: Emulator, tmp_path: Path
) -> None:
    files = {f"f{i}.wav": make_wav(samples=bytes([i + 1]) * 320) for i in range(2)}
    for data in files.values():
        emulator.scripted.register(data, TIMED)
    await anyio.to_thread.run_sync(_write, tmp_path, files)
    emulator.clear_requests()
    items = await _collect(
        transcribe_many(client, tmp_path, options={"diarization": {"max_speakers": 3}}, api_version="2024-11-15")
    )
    assert all(item.ok for item in items), [item.error for item in items]
    requests = _transcribe_requests(emulator)
    assert len(requests) == 2
    for request in requests:
        assert request.query["api-version"] == "2024-11-15"
        assert request.definition is not None
        assert request.definition["diarization"]["maxSpeakers"] == 3


# --- every output format ---------------------------------------------------------------------------------

TIMED = ScriptedTranscript(
    phrases=(
        ScriptedPhrase(text="The quarterly report is ready.", offset_ms=0, duration_ms=2000),
        ScriptedPhrase(text="Revenue grew by four percent.", offset_ms=2400, duration_ms=2000),
    )
)
# Text but no timing anywhere: captions cannot be made from it (the plain transcript can).
UNTIMED = ScriptedTranscript(
    phrases=(
        ScriptedPhrase(
            text="Hello there.",
            offset_ms=0,
            duration_ms=0,
            words=(
                ScriptedWord(text="Hello", offset_ms=0, duration_ms=0),
                ScriptedWord(text="there.", offset_ms=0, duration_ms=0),
            ),
        ),
    ),
    duration_ms=1000,
)


async def _two_files(emulator: Emulator, folder: Path) -> tuple[tuple[str, Path], tuple[str, Path]]:
    """Two sources named ``in/timed.wav`` and ``in/untimed.wav`` (path sources, opened when sent)."""
    timed, untimed = make_wav(samples=b"\x01\x00" * 800), make_wav(samples=b"\x02\x00" * 800)
    emulator.scripted.register(timed, TIMED)
    emulator.scripted.register(untimed, UNTIMED)
    paths = await anyio.to_thread.run_sync(_write, folder, {"timed.wav": timed, "untimed.wav": untimed})
    return ("in/timed.wav", paths[0]), ("in/untimed.wav", paths[1])


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


async def test_every_format_is_written_and_parses(client: SpeechClient, emulator: Emulator, tmp_path: Path) -> None:
    timed, _ = await _two_files(emulator, tmp_path / "in")
    out = tmp_path / "out"
    [item] = await _collect(transcribe_many(client, [timed], output_dir=out, formats=FORMATS))
    assert item.ok, item.error
    base = out / "in" / "timed.wav"
    assert item.outputs == tuple(Path(f"{base}.{fmt}") for fmt in FORMATS)
    body = await anyio.Path(f"{base}.json").read_bytes()
    assert item.result is not None
    assert item.result.response is not None
    assert body == item.result.response.body  # the service's JSON, byte for byte
    assert msgspec.json.decode(body)["combinedPhrases"][0]["text"].startswith("The quarterly report")
    assert await anyio.to_thread.run_sync(_read, Path(f"{base}.txt")) == (
        "The quarterly report is ready. Revenue grew by four percent.\n"
    )
    subtitles = list(srt.parse(await anyio.to_thread.run_sync(_read, Path(f"{base}.srt"))))
    assert subtitles[0].content.startswith("The quarterly report")
    assert subtitles[0].start.total_seconds() == 0.0
    assert subtitles[-1].end.total_seconds() == pytest.approx(4.4)
    vtt = webvtt.from_string(await anyio.to_thread.run_sync(_read, Path(f"{base}.vtt")))
    assert [c.text for c in vtt.captions] == [s.content for s in subtitles]
    assert vtt.captions[-1].end == "00:00:04.400"


async def test_a_result_without_timings_fails_its_captions_but_keeps_json_and_txt(
    client: SpeechClient, emulator: Emulator, tmp_path: Path
) -> None:
    timed, untimed = await _two_files(emulator, tmp_path / "in")
    out = tmp_path / "out"
    emulator.clear_requests()
    items = await _collect(transcribe_many(client, [timed, untimed], output_dir=out, formats=FORMATS, ordered=True))
    assert items[0].ok
    bad = items[1]
    assert isinstance(bad.error, MissingTimingsError)
    assert bad.result is not None  # the transcription itself succeeded
    base = out / "in" / "untimed.wav"
    assert bad.outputs == (Path(f"{base}.json"), Path(f"{base}.txt"))
    assert msgspec.json.decode(await anyio.Path(f"{base}.json").read_bytes())["combinedPhrases"][0]["text"] == (
        "Hello there."
    )
    assert not await anyio.Path(f"{base}.srt").exists()
    assert not await anyio.Path(f"{base}.vtt").exists()
    records = [json.loads(line) for line in (await anyio.Path(out / MANIFEST_FILE).read_bytes()).splitlines()]
    assert [(r["state"], sorted(r["outputs"])) for r in records if r["name"] == "in/untimed.wav"] == [
        ("pending", ["json", "txt"])
    ]

    # A rerun with every format: the timed file is skipped, the untimed one is sent (and fails) again.
    emulator.clear_requests()
    again = await _collect(transcribe_many(client, [timed, untimed], output_dir=out, formats=FORMATS, ordered=True))
    assert [item.skipped for item in again] == [True, False]
    assert isinstance(again[1].error, MissingTimingsError)
    assert len(_transcribe_requests(emulator)) == 1
    # A rerun asking only for what could be made: nothing is sent, both are done.
    emulator.clear_requests()
    done = await _collect(transcribe_many(client, [timed, untimed], output_dir=out, formats=("json", "txt")))
    assert all(item.skipped and item.ok for item in done)
    assert _transcribe_requests(emulator) == []


async def test_resume_with_several_formats_redoes_only_a_missing_format(
    client: SpeechClient, emulator: Emulator, tmp_path: Path
) -> None:
    timed, _ = await _two_files(emulator, tmp_path / "in")
    out = tmp_path / "out"
    await _collect(transcribe_many(client, [timed], output_dir=out, formats=("json", "srt")))
    emulator.clear_requests()
    [skipped] = await _collect(transcribe_many(client, [timed], output_dir=out, formats=("srt", "json")))
    assert skipped.skipped
    assert _transcribe_requests(emulator) == []
    # vtt was never written: the source is redone, every format written.
    [redone] = await _collect(transcribe_many(client, [timed], output_dir=out, formats=("json", "srt", "vtt")))
    assert redone.ok
    assert not redone.skipped
    assert len(_transcribe_requests(emulator)) == 1
    vtt: Callable[[], Any] = lambda: webvtt.read(str(out / "in" / "timed.wav.vtt"))  # noqa: E731
    assert len((await anyio.to_thread.run_sync(vtt)).captions) >= 1
    # txt is new too: redone once more (all four written and recorded), then everything is skipped.
    [final] = await _collect(transcribe_many(client, [timed], output_dir=out, formats=FORMATS))
    assert not final.skipped
    [last] = await _collect(transcribe_many(client, [timed], output_dir=out, formats=FORMATS))
    assert last.skipped
    assert len(last.outputs) == 4
    assert len(_transcribe_requests(emulator)) == 2


# --- cheaper per item, still cancellable -----------------------------------------------------------------


async def test_the_reader_takes_ready_items_in_bursts_but_still_yields(
    client: SpeechClient, emulator: Emulator
) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await anyio.lowlevel.checkpoint()

    emulator.clear_requests()
    # Names with a control character: items that fail at once, with no I/O at all.
    sources = [(f"bad\x01{index}", b"x") for index in range(200)]
    marks: list[int] = []
    async with anyio.create_task_group() as group:
        group.start_soon(ticker)
        async with transcribe_many(client, sources, concurrency=64) as run:
            async for item in run:
                assert item.error is not None
                marks.append(ticks)
        group.cancel_scope.cancel()
    assert len(marks) == 200
    # Other tasks run at least every 16 items the reader takes (a checkpoint), and items were taken
    # without a loop round each (fewer rounds than items).
    assert all(marks[index + 16] > marks[index] for index in range(len(marks) - 16))
    assert marks[-1] - marks[0] < len(marks) // 2, marks[-1] - marks[0]
    assert _transcribe_requests(emulator) == []
