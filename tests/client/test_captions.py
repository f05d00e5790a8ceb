"""Captions (``speech_async.captions``): hand-checked SRT and WebVTT, and both files through real parsers.

Every file made here is read back with ``srt`` and ``webvtt-py`` (both lenient, so a strict structural check of
our own runs beside them: block shapes, timestamps, no blank line or ``-->`` inside a cue, times in order).
"""

from __future__ import annotations

import contextlib
import html
import inspect
import itertools
import json
import re
import unicodedata
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
import srt
import webvtt
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import speech_async.captions as captions_module
from speech_async import (
    DiarizationOptions,
    InvalidInputError,
    InvalidOptionsError,
    PollInterval,
    RecognitionResult,
    SpeechClient,
    TranscriptionOptions,
    TranscriptionResult,
    TranscriptionResultFile,
)
from speech_async.captions import (
    CaptionOptions,
    Cue,
    MissingTimingsError,
    cues,
    to_srt,
    to_text,
    to_webvtt,
)
from speech_async.emulator import Emulator, ScriptedPhrase, ScriptedTranscript, ScriptedWord

from ..support.http import serve_on_loopback
from ..support.samples import HELLO_TRANSCRIPT

SPEC_EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "spec-examples"


# --- building results ------------------------------------------------------------------------------------


def word(text: str, start: int, duration: int) -> dict[str, Any]:
    return {"text": text, "offsetMilliseconds": start, "durationMilliseconds": duration}


def spaced(text: str, start: int, step: int = 300, length: int = 280) -> list[dict[str, Any]]:
    """The words of ``text``, one every ``step`` ms from ``start``, each ``length`` ms long."""
    return [word(w, start + i * step, length) for i, w in enumerate(text.split())]


def phrase(
    text: str,
    words: list[dict[str, Any]],
    *,
    speaker: int | None = None,
    channel: int | None = None,
    span: tuple[int, int] | None = None,
) -> dict[str, Any]:
    if span is None:
        start = min(w["offsetMilliseconds"] for w in words)
        end = max(w["offsetMilliseconds"] + w["durationMilliseconds"] for w in words)
        span = (start, end - start)
    shaped: dict[str, Any] = {}
    if channel is not None:
        shaped["channel"] = channel
    if speaker is not None:
        shaped["speaker"] = speaker
    shaped.update(offsetMilliseconds=span[0], durationMilliseconds=span[1], text=text, words=words, confidence=0.9)
    return shaped


def fast(*phrases: dict[str, Any]) -> TranscriptionResult:
    channels = sorted({p.get("channel") for p in phrases}, key=lambda c: -1 if c is None else c)
    combined = [
        {
            **({"channel": c} if c is not None else {}),
            "text": " ".join(p["text"] for p in phrases if p.get("channel") == c),
        }
        for c in channels
    ]
    body = {"durationMilliseconds": 60_000, "combinedPhrases": combined, "phrases": list(phrases)}
    return msgspec.convert(body, TranscriptionResult)


def batch_file(body: dict[str, Any]) -> TranscriptionResultFile:
    return msgspec.json.decode(json.dumps(body).encode(), type=TranscriptionResultFile)


def spec_example(name: str) -> bytes:
    return (SPEC_EXAMPLES / name).read_bytes()


# --- checking files --------------------------------------------------------------------------------------

SRT_TIME = re.compile(r"\d{2,}:[0-5]\d:[0-5]\d,\d{3}")
VTT_TIME = re.compile(r"\d{2,}:[0-5]\d:[0-5]\d\.\d{3}")


def ms_of(stamp: str) -> int:
    hours, minutes, rest = stamp.split(":")
    seconds, millis = re.split(r"[,.]", rest)
    return ((int(hours) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(millis)


def strict_blocks(body: str, time: re.Pattern[str]) -> list[tuple[int, int, list[str]]]:
    """The cues of an SRT body (or a WebVTT body after its header), checked strictly."""
    if not body:
        return []
    assert body.endswith("\n"), repr(body[-10:])
    assert not body.endswith("\n\n"), repr(body[-10:])
    blocks = body[:-1].split("\n\n")
    parsed: list[tuple[int, int, list[str]]] = []
    previous_end = 0
    for number, block in enumerate(blocks, start=1):
        lines = block.split("\n")
        assert lines[0] == str(number), block
        start, arrow, end = lines[1].partition(" --> ")
        assert arrow, lines[1]
        assert time.fullmatch(start), lines[1]
        assert time.fullmatch(end), lines[1]
        text = lines[2:]
        assert text, block
        for line in text:
            assert line, block
            assert line.strip() == line, repr(line)
            assert "-->" not in line, line
        start_ms, end_ms = ms_of(start), ms_of(end)
        assert previous_end <= start_ms < end_ms, (previous_end, start, end)
        previous_end = end_ms
        parsed.append((start_ms, end_ms, text))
    return parsed


def check_srt(text: str, expected: list[Cue]) -> None:
    blocks = strict_blocks(text, SRT_TIME)
    subtitles = list(srt.parse(text))
    assert len(subtitles) == len(blocks) == len(expected)
    for subtitle, (start, end, lines), cue in zip(subtitles, blocks, expected, strict=True):
        assert subtitle.start == cue.start == timedelta(milliseconds=start)
        assert subtitle.end == cue.end == timedelta(milliseconds=end)
        assert subtitle.content == "\n".join(lines)


def check_webvtt(text: str, expected: list[Cue]) -> None:
    assert text.startswith("WEBVTT\n\n")
    blocks = strict_blocks(text[len("WEBVTT\n\n") :], VTT_TIME)
    parsed = webvtt.from_string(text).captions
    assert len(parsed) == len(blocks) == len(expected)
    for caption, cue in zip(parsed, expected, strict=True):
        assert (ms_of(caption.start), ms_of(caption.end)) == (cue.start_ms, cue.end_ms)
        assert html.unescape(caption.text) == cue.text
        if cue.label is not None:
            assert caption.voice is not None
            assert html.unescape(caption.voice) == cue.label


def check_all(result: Any, **overrides: Any) -> list[Cue]:
    """Both files of ``result`` through both parsers; the cues they were made from."""
    made = cues(result, **overrides)
    check_srt(to_srt(result, **overrides), made)
    check_webvtt(to_webvtt(result, **overrides), made)
    for previous, cue in itertools.pairwise(made):
        assert previous.end <= cue.start
    return made


# --- the emulator ----------------------------------------------------------------------------------------


async def test_a_diarized_transcript_from_the_emulator_gives_labelled_cues(
    client: SpeechClient, emulator: Emulator, samples: dict[str, bytes]
) -> None:
    audio = samples["report.wav"]
    emulator.scripted.register(
        audio,
        ScriptedTranscript(
            phrases=(
                ScriptedPhrase(
                    text="Hello, and welcome.",
                    offset_ms=0,
                    duration_ms=1200,
                    speaker=1,
                    words=(
                        ScriptedWord(text="Hello,", offset_ms=0, duration_ms=400),
                        ScriptedWord(text="and", offset_ms=400, duration_ms=200),
                        ScriptedWord(text="welcome.", offset_ms=600, duration_ms=600),
                    ),
                ),
                ScriptedPhrase(
                    text="Thanks!",
                    offset_ms=1520,
                    duration_ms=400,
                    speaker=2,
                    words=(ScriptedWord(text="Thanks!", offset_ms=1520, duration_ms=400),),
                ),
                ScriptedPhrase(
                    text="Let's begin.",
                    offset_ms=2320,
                    duration_ms=680,
                    speaker=1,
                    words=(
                        ScriptedWord(text="Let's", offset_ms=2320, duration_ms=320),
                        ScriptedWord(text="begin.", offset_ms=2640, duration_ms=360),
                    ),
                ),
            )
        ),
    )

    result = await client.transcribe(audio, options=TranscriptionOptions(diarization=DiarizationOptions()))

    assert to_srt(result) == (
        "1\n00:00:00,000 --> 00:00:01,200\nSpeaker 1: Hello, and welcome.\n\n"
        "2\n00:00:01,520 --> 00:00:02,320\nSpeaker 2: Thanks!\n\n"
        "3\n00:00:02,320 --> 00:00:03,320\nSpeaker 1: Let's begin.\n"
    )
    assert to_webvtt(result) == (
        "WEBVTT\n\n"
        "1\n00:00:00.000 --> 00:00:01.200\n<v Speaker 1>Hello, and welcome.\n\n"
        "2\n00:00:01.520 --> 00:00:02.320\n<v Speaker 2>Thanks!\n\n"
        "3\n00:00:02.320 --> 00:00:03.320\n<v Speaker 1>Let's begin.\n"
    )
    assert to_srt(result, speaker_labels=False).splitlines()[2] == "Hello, and welcome."
    assert to_text(result) == "Hello, and welcome. Thanks! Let's begin.\n"
    made = check_all(result)
    assert [(c.speaker, c.label) for c in made] == [(1, "Speaker 1"), (2, "Speaker 2"), (1, "Speaker 1")]


async def test_the_hello_transcript_from_the_emulator_parses_and_keeps_every_word(
    client: SpeechClient, hello_bytes: bytes
) -> None:
    result = await client.transcribe(hello_bytes)

    made = check_all(result)
    assert " ".join(cue.text.replace("\n", " ") for cue in made) == " ".join(p.text for p in HELLO_TRANSCRIPT.phrases)
    assert to_text(result) == "Hello, and thank you for calling. How can I help you today?\n"


@pytest.fixture
async def audio_server(hello_bytes: bytes) -> AsyncIterator[str]:
    async def wav(request: web.Request) -> web.Response:
        return web.Response(body=hello_bytes, content_type="audio/wav")

    app = web.Application()
    app.router.add_get("/hello.wav", wav)
    async with serve_on_loopback(app) as base:
        yield base


async def test_a_batch_result_file_from_the_emulator_gives_the_same_cues_as_fast_transcription(
    client: SpeechClient, audio_server: str, hello_bytes: bytes
) -> None:
    url = f"{audio_server}/hello.wav"
    poller = await client.batch.begin_transcription(
        content_urls=[url],
        locale="en-US",
        display_name="captions",
        word_level_timestamps=True,
        poll_interval=PollInterval(initial=0.05, factor=1.5, maximum=0.2),
    )
    job = await poller
    async with contextlib.aclosing(client.batch.iter_results(job, content_urls=[url])) as results:
        outcomes = [outcome async for _, outcome in results]
    [result] = outcomes
    assert isinstance(result, TranscriptionResultFile), result
    # Lexical words ("hello", "and"...) matched to the display text: the cues show punctuation and capitals.
    assert result.recognized_phrases[0].nbest[0].words[0].word == "hello"
    fast_result = await client.transcribe(hello_bytes)

    # The emulator's words: "Hello," at 40 ms ... "calling." to 2,040 ms; "How" at 2,440 ... "today?" to 4,320.
    assert to_srt(result) == (
        "1\n00:00:00,040 --> 00:00:02,040\nHello, and thank you for calling.\n\n"
        "2\n00:00:02,440 --> 00:00:04,320\nHow can I help you today?\n"
    )
    assert to_srt(result) == to_srt(fast_result)
    assert to_webvtt(result) == to_webvtt(fast_result)
    assert to_text(result) == to_text(fast_result)
    check_all(result)


# --- published samples -----------------------------------------------------------------------------------


def test_the_published_batch_result_file_in_ticks() -> None:
    result = msgspec.json.decode(spec_example("batch-result-file.json"), type=TranscriptionResultFile)

    # displayWords: Hello at 7,600,000 ticks for 7,600,000, "world." at 15,200,000 for 5,600,000.
    assert to_webvtt(result) == "WEBVTT\n\n1\n00:00:00.760 --> 00:00:02.080\nHello world.\n"
    assert to_srt(result) == "1\n00:00:00,760 --> 00:00:02,080\nHello world.\n"
    assert to_text(result) == "Hello world.\n"
    check_all(result)


def test_the_published_fast_result_shows_the_phrase_display_text() -> None:
    body = json.loads(spec_example("transcribe-file-2025-10-15.json"))["responses"]["200"]["body"]
    result = msgspec.convert(body, TranscriptionResult)

    # The word is "weather", the phrase "Weather": the display form wins; 320 ms is extended to one second.
    assert to_srt(result) == "1\n00:00:00,040 --> 00:00:01,040\nWeather\n"


def test_llm_translation_words_without_timings_fall_back_to_the_phrase_span() -> None:
    body = json.loads(spec_example("transcribe-enhanced-mode-translate-2025-10-15.json"))["responses"]["200"]["body"]
    result = msgspec.convert(body, TranscriptionResult)

    assert to_webvtt(result) == "WEBVTT\n\n1\n00:00:00.040 --> 00:00:01.040\n天气\n"


def test_pronunciation_assessment_words_in_ticks_show_the_display_text() -> None:
    result = msgspec.json.decode(
        spec_example("shortaudio-pronunciation-assessment.json"), type=RecognitionResult, strict=False
    )

    # Words "good" (700,000 ticks) and "morning" (to 9,100,000): 0.07 s to 0.91 s, or one second at least.
    assert to_srt(result, min_duration=timedelta(0)) == "1\n00:00:00,070 --> 00:00:00,910\nGood morning.\n"
    assert to_srt(result) == "1\n00:00:00,070 --> 00:00:01,070\nGood morning.\n"
    assert to_text(result) == "Good morning.\n"


def test_a_short_audio_result_without_words_spreads_its_text_over_its_span() -> None:
    result = RecognitionResult(
        recognition_status="Success", display_text="One two three four.", offset_ticks=0, duration_ticks=40_000_000
    )

    made = check_all(result, max_line_length=8, max_lines=1, min_duration=timedelta(0))

    # 16 characters without the spaces over 4 s, 250 ms each: One 3, two 3, three 5, four. 5.
    assert [(c.start_ms, c.end_ms, c.text) for c in made] == [
        (0, 1500, "One two"),
        (1500, 2750, "three"),
        (2750, 4000, "four."),
    ]


# --- hand-checked layout ---------------------------------------------------------------------------------

LONG = (
    "This is a rather long phrase that goes on and on, and then it keeps going for a while longer "
    "than one cue would hold. Then another sentence? Yes!"
)


def test_a_long_phrase_splits_at_lines_clauses_and_sentences() -> None:
    result = fast(phrase(LONG, spaced(LONG, 1000)))

    assert to_srt(result) == (
        "1\n00:00:01,000 --> 00:00:04,280\nThis is a rather long\nphrase that goes on and on,\n\n"
        "2\n00:00:04,300 --> 00:00:08,480\nand then it keeps going for a while\nlonger than one cue would hold.\n\n"
        "3\n00:00:08,500 --> 00:00:09,400\nThen another sentence?\n\n"
        "4\n00:00:09,400 --> 00:00:10,400\nYes!\n"
    )
    made = check_all(result)
    assert all(len(line) <= 42 for cue in made for line in cue.lines)


def test_speaker_prefix_counts_towards_the_first_line() -> None:
    result = fast(phrase(LONG, spaced(LONG, 1000), speaker=2))

    first = to_srt(result).split("\n\n")[0].splitlines()
    assert first == [
        "1",
        "00:00:01,000 --> 00:00:04,280",
        "Speaker 2: This is a rather long",
        "phrase that goes on and on,",
    ]
    for block in to_srt(result).split("\n\n"):
        assert all(len(line) <= 42 for line in block.splitlines()[2:])
    assert to_webvtt(result).split("\n\n")[1].splitlines()[2] == "<v Speaker 2>This is a rather long"


def test_max_duration_splits_a_phrase_without_punctuation() -> None:
    text = " ".join(f"w{i}" for i in range(12))
    result = fast(phrase(text, spaced(text, 0, step=500, length=400)))

    made = check_all(result, max_line_length=100, max_duration=timedelta(seconds=3))

    assert [(c.start_ms, c.end_ms, c.text) for c in made] == [
        (0, 2900, "w0 w1 w2 w3 w4 w5"),
        (3000, 5900, "w6 w7 w8 w9 w10 w11"),
    ]


def test_max_lines_and_line_length_are_options_and_overrides_replace_fields() -> None:
    result = fast(phrase(LONG, spaced(LONG, 1000)))
    options = CaptionOptions(max_line_length=20, max_lines=1)

    made = check_all(result, max_line_length=20, max_lines=1)

    assert cues(result, options) == made
    assert cues(result, options, max_lines=2) == cues(result, max_line_length=20)
    assert all(len(c.lines) == 1 and len(c.lines[0]) <= 20 for c in made)
    assert options.max_lines == 1  # the options given are left as they were
    with pytest.raises(AttributeError):
        options.max_lines = 3  # type: ignore[misc]


def test_short_cues_extend_to_the_minimum_but_not_into_the_next_cue() -> None:
    result = fast(
        phrase("Yes.", [word("Yes.", 0, 200)]),
        phrase("No.", [word("No.", 600, 200)]),
        phrase("Maybe.", [word("Maybe.", 3000, 200)]),
    )

    made = check_all(result, min_duration=timedelta(milliseconds=1500))

    assert [(c.start_ms, c.end_ms) for c in made] == [(0, 600), (600, 2100), (3000, 4500)]


def test_several_speakers_overlapping_in_time_never_overlap_on_screen() -> None:
    result = fast(
        phrase("One two three four.", spaced("One two three four.", 0, step=700, length=700), speaker=1),
        phrase("Yes.", [word("Yes.", 1000, 400)], speaker=2),
        phrase("Right.", [word("Right.", 1000, 300)], speaker=3),
    )

    made = check_all(result)

    assert [(c.start_ms, c.end_ms, c.label, c.text) for c in made] == [
        (0, 1000, "Speaker 1", "One two three four."),
        (1000, 1400, "Speaker 2", "Yes."),
        (1400, 2400, "Speaker 3", "Right."),
    ]


def test_words_out_of_order_overlapping_and_of_zero_length() -> None:
    words = [word("First", 1000, 300), word("early", 500, 100), word("zero", 1500, 0), word("last.", 1400, 600)]
    result = fast(phrase("First early zero last.", words, span=(500, 1500)))

    made = check_all(result, min_duration=timedelta(0))

    # Kept in reading order; "early" moves to its predecessor's start, "last." to "zero"'s.
    assert [(c.start_ms, c.end_ms, c.text) for c in made] == [(1000, 2000, "First early zero last.")]


def test_a_zero_length_word_alone_gets_the_minimum_duration() -> None:
    result = fast(phrase("Hm.", [word("Hm.", 5000, 0)], span=(5000, 0)))

    assert to_srt(result) == "1\n00:00:05,000 --> 00:00:06,000\nHm.\n"


def test_custom_labels_are_escaped_in_webvtt_and_off_when_asked() -> None:
    result = fast(phrase("Tom & Jerry <3 say --> hi", spaced("Tom & Jerry <3 say --> hi", 0), speaker=1))

    vtt = to_webvtt(result, speaker_format="A&B <{speaker}>")
    assert vtt.splitlines()[4] == "<v A&amp;B &lt;1&gt;>Tom &amp; Jerry &lt;3 say --&gt; hi"
    assert to_srt(result, speaker_format="A&B <{speaker}>", srt_label_format="[{label}] ").splitlines()[2] == (
        "[A&B <1>] Tom & Jerry <3 say -> hi"
    )
    assert to_srt(result, speaker_labels=False).splitlines()[2] == "Tom & Jerry <3 say -> hi"
    check_all(result, speaker_format="A&B <{speaker}>")


def test_multi_channel_results_interleave_by_time_with_channel_labels() -> None:
    result = fast(
        phrase("Thank you for calling.", spaced("Thank you for calling.", 0, step=500, length=500), channel=0),
        phrase("I would like to check my order.", spaced("I would like to check my order.", 2400), channel=1),
        phrase("Of course.", spaced("Of course.", 5000), channel=0),
    )

    assert to_srt(result) == (
        "1\n00:00:00,000 --> 00:00:02,000\nChannel 0: Thank you for calling.\n\n"
        "2\n00:00:02,400 --> 00:00:04,480\nChannel 1: I would like to check my order.\n\n"
        "3\n00:00:05,000 --> 00:00:06,000\nChannel 0: Of course.\n"
    )
    assert to_srt(result, channel=1) == "1\n00:00:02,400 --> 00:00:04,480\nI would like to check my order.\n"
    assert [c.channel for c in check_all(result)] == [0, 1, 0]
    assert to_text(result) == (
        "Channel 0: Thank you for calling. Of course.\nChannel 1: I would like to check my order.\n"
    )
    assert to_srt(result, channel=2) == ""


def test_channel_and_speaker_labels_combine() -> None:
    result = fast(
        phrase("Hi.", [word("Hi.", 0, 500)], channel=0, speaker=1),
        phrase("Hello.", [word("Hello.", 2000, 500)], channel=1, speaker=2),
    )

    assert [c.label for c in check_all(result)] == ["Channel 0, Speaker 1", "Channel 1, Speaker 2"]
    assert [c.label for c in cues(result, channel=1)] == ["Speaker 2"]


# --- unicode ---------------------------------------------------------------------------------------------


def test_combining_marks_count_as_one_character_and_are_never_split() -> None:
    decomposed = "Cafe\u0301"
    assert len(decomposed) == 5
    text = " ".join([decomposed] * 4)
    result = fast(phrase(text, spaced(text, 0)))

    made = check_all(result, max_line_length=9)

    # "Café Café" is 9 user-perceived characters (11 code points): two words a line.
    assert [c.lines for c in made] == [(f"{decomposed} {decomposed}", f"{decomposed} {decomposed}")]

    long_word = "e\u0301" * 12
    cut = cues(fast(phrase(long_word, [word(long_word, 0, 1200)])), max_line_length=5, max_lines=1)
    assert [c.text for c in cut] == ["e\u0301" * 5, "e\u0301" * 5, "e\u0301" * 2]
    assert all(unicodedata.category(c.text[0]) != "Mn" for c in cut)


def test_emoji_sequences_and_flags_stay_whole() -> None:
    family, thumbs, flags = (
        "\U0001f468\u200d\U0001f469\u200d\U0001f467",
        "\U0001f44d\U0001f3fd",
        "\U0001f1eb\U0001f1f7\U0001f1e9\U0001f1ea",
    )
    text = family + thumbs + flags
    result = fast(phrase(text, [word(text, 0, 2000)]))

    made = check_all(result, max_line_length=2)

    assert [c.lines for c in made] == [(family + thumbs, flags)]


def test_cjk_words_without_spaces_join_and_break_between_characters() -> None:
    text = "今天天气很好。我们去公园吧！"  # noqa: RUF001
    chars = [c for c in text if c not in "。！"]  # noqa: RUF001
    words = [word(c, i * 200, 200) for i, c in enumerate(chars)]
    result = fast(phrase(text, words))

    made = check_all(result)
    assert [c.text for c in made] == ["今天天气很好。", "我们去公园吧！"]  # noqa: RUF001

    narrow = check_all(result, max_line_length=4, min_duration=timedelta(0))
    assert [c.lines for c in narrow] == [("今天天气", "很好。"), ("我们去公", "园吧！")]  # noqa: RUF001
    assert all(len(line) <= 4 for c in narrow for line in c.lines)


def test_cjk_text_spread_over_a_phrase_breaks_between_characters() -> None:
    text = "今天天气很好我们去公园吧"
    result = RecognitionResult(
        recognition_status="Success", display_text=text, offset_ticks=10_000_000, duration_ticks=24_000_000
    )

    made = check_all(result, max_line_length=6, max_lines=1)

    assert [(c.start_ms, c.end_ms, c.text) for c in made] == [
        (1000, 2200, "今天天气很好"),
        (2200, 3400, "我们去公园吧"),
    ]


# --- timestamps ------------------------------------------------------------------------------------------


def _batch_phrase(display: str, words: list[tuple[str, float, float]], **phrase_fields: Any) -> dict[str, Any]:
    return {
        "recognitionStatus": "Success",
        "channel": 0,
        **phrase_fields,
        "nBest": [
            {
                "confidence": 0.9,
                "lexical": display.lower(),
                "itn": display.lower(),
                "maskedITN": display.lower(),
                "display": display,
                "displayWords": [
                    {"displayText": w, "offsetInTicks": start, "durationInTicks": length} for w, start, length in words
                ],
            }
        ],
    }


def test_ticks_and_milliseconds_give_the_same_cues_and_round_half_up() -> None:
    as_ms = fast(phrase("Hello world.", [word("Hello", 760, 760), word("world.", 1520, 560)]))
    as_ticks = batch_file(
        {
            "combinedRecognizedPhrases": [{"channel": 0, "display": "Hello world."}],
            "recognizedPhrases": [
                _batch_phrase("Hello world.", [("Hello", 7_600_000.0, 7_600_000.0), ("world.", 15_200_000, 5_600_000)])
            ],
        }
    )
    assert to_srt(as_ticks) == to_srt(as_ms)

    rounding = batch_file(
        {
            "combinedRecognizedPhrases": [],
            "recognizedPhrases": [
                # 0.5 ms up to 1 ms; 1,234.4999 ms down; the end is rounded from offset + duration.
                _batch_phrase("One.", [("One.", 5_000, 12_339_999)]),
                _batch_phrase("Two.", [("Two.", 20_004_999.0, 10_000.0)]),
            ],
        }
    )
    made = cues(rounding, min_duration=timedelta(0))
    assert [(c.start_ms, c.end_ms) for c in made] == [(1, 1234), (2000, 2001)]


def test_iso_durations_alone_are_timings_too() -> None:
    result = batch_file(
        {
            "combinedRecognizedPhrases": [{"channel": 0, "display": "Hi there."}],
            "recognizedPhrases": [
                {
                    "recognitionStatus": "Success",
                    "channel": 0,
                    "offset": "PT1.5S",
                    "duration": "PT2S",
                    "nBest": [{"confidence": 0.9, "lexical": "hi there", "display": "Hi there."}],
                }
            ],
        }
    )

    assert to_srt(result) == "1\n00:00:01,500 --> 00:00:03,500\nHi there.\n"


def test_hours_past_99_in_both_formats() -> None:
    start = (100 * 3600 + 1) * 1000 + 234
    result = fast(phrase("Late.", [word("Late.", start, 1500)]))

    assert to_srt(result) == "1\n100:00:01,234 --> 100:00:02,734\nLate.\n"
    assert to_webvtt(result) == "WEBVTT\n\n1\n100:00:01.234 --> 100:00:02.734\nLate.\n"
    check_all(result)


def test_lexical_words_that_do_not_match_the_display_spread_the_display_over_their_span() -> None:
    result = batch_file(
        {
            "combinedRecognizedPhrases": [{"channel": 0, "display": "It costs $200."}],
            "recognizedPhrases": [
                {
                    "recognitionStatus": "Success",
                    "channel": 0,
                    "offsetInTicks": 0,
                    "durationInTicks": 30_000_000,
                    "nBest": [
                        {
                            "lexical": "it costs two hundred dollars",
                            "display": "It costs $200.",
                            "words": [
                                {"word": w, "offsetInTicks": 5_000_000 * (i + 1), "durationInTicks": 5_000_000}
                                for i, w in enumerate(["it", "costs", "two", "hundred", "dollars"])
                            ],
                        }
                    ],
                }
            ],
        }
    )

    assert [(c.start_ms, c.end_ms, c.text) for c in check_all(result)] == [(500, 3000, "It costs $200.")]


# --- empty and bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "result",
    [
        fast(),
        batch_file({"combinedRecognizedPhrases": [], "recognizedPhrases": []}),
        RecognitionResult(recognition_status="InitialSilenceTimeout", offset_ticks=0, duration_ticks=0),
        RecognitionResult(recognition_status="NoMatch"),
    ],
    ids=["fast", "batch", "silence", "no-match"],
)
def test_a_result_without_speech_gives_valid_empty_files(result: Any) -> None:
    assert to_srt(result) == ""
    assert to_webvtt(result) == "WEBVTT\n\n"
    assert cues(result) == []
    assert to_text(result) == ""
    assert list(srt.parse(to_srt(result))) == []
    assert webvtt.from_string(to_webvtt(result)).captions == []


def test_phrases_without_text_are_skipped() -> None:
    result = fast(phrase("", [], span=(0, 1000)), phrase("Hi.", [word("Hi.", 2000, 500)]))

    assert [c.text for c in check_all(result)] == ["Hi."]


@pytest.mark.parametrize(
    "result",
    [
        fast(phrase("Hello there.", [word("Hello", 0, 0), word("there.", 0, 0)], span=(0, 0))),
        batch_file(
            {
                "combinedRecognizedPhrases": [{"channel": 0, "display": "Hello."}],
                "recognizedPhrases": [
                    {"recognitionStatus": "Success", "channel": 0, "nBest": [{"lexical": "hello", "display": "Hello."}]}
                ],
            }
        ),
        RecognitionResult(recognition_status="Success", display_text="Hello."),
    ],
    ids=["fast-all-zero", "batch-no-timing", "short-audio-no-offset"],
)
def test_text_without_any_timing_raises_a_typed_error(result: Any) -> None:
    for make in (to_srt, to_webvtt, cues):
        with pytest.raises(MissingTimingsError, match="no timing"):
            make(result)
    assert issubclass(MissingTimingsError, InvalidInputError)
    assert to_text(result).strip()  # the plain text needs no timings


@pytest.mark.parametrize("make", [to_srt, to_webvtt, cues, to_text])
def test_something_that_is_not_a_result_is_refused(make: Any) -> None:
    with pytest.raises(InvalidInputError, match="dict"):
        make({"phrases": []})


@pytest.mark.parametrize(
    "overrides",
    [
        {"max_line_length": 0},
        {"max_line_length": 4.5},
        {"max_lines": 0},
        {"max_lines": True},
        {"min_duration": timedelta(seconds=-1)},
        {"min_duration": 1.0},
        {"max_duration": timedelta(0)},
        {"min_duration": timedelta(seconds=8), "max_duration": timedelta(seconds=7)},
        {"speaker_format": "Speaker {name}"},
        {"speaker_format": 3},
        {"channel_format": "{channel"},
        {"srt_label_format": "{speaker}: "},
        {"speaker_labels": "yes"},
        {"channel": -1},
        {"max_line_lenght": 30},
    ],
)
def test_bad_options_raise_invalid_options(overrides: dict[str, Any]) -> None:
    with pytest.raises(InvalidOptionsError):
        cues(fast(), **overrides)
    with pytest.raises(InvalidOptionsError):
        to_srt(fast(), **overrides)
    if "max_line_lenght" not in overrides:
        with pytest.raises(InvalidOptionsError):
            CaptionOptions(**overrides)


def test_options_must_be_caption_options() -> None:
    with pytest.raises(InvalidOptionsError, match="CaptionOptions"):
        to_webvtt(fast(), {"max_lines": 1})  # type: ignore[arg-type]


# --- plain text ------------------------------------------------------------------------------------------


def test_to_text_of_a_batch_file_without_combined_phrases_joins_its_phrases() -> None:
    result = batch_file(
        {
            "combinedRecognizedPhrases": [],
            "recognizedPhrases": [
                _batch_phrase("Second.", [("Second.", 20_000_000, 1_000_000)], offsetInTicks=20_000_000),
                _batch_phrase("First.", [("First.", 0, 1_000_000)], offsetInTicks=0),
            ],
        }
    )

    assert to_text(result) == "First. Second.\n"


# --- properties ------------------------------------------------------------------------------------------

_ALPHABET = [
    "a",
    "B",
    "z",
    "e\u0301",
    "&",
    "<",
    ">",
    "-",
    ".",
    ",",
    "?",
    "!",
    "\u4eca",
    "\u5929",
    "\U0001f600",
    "\u3002",
]


def _width(text: str) -> int:
    # The alphabet's clusters: every code point but a combining mark starts one.
    return sum(1 for c in text if unicodedata.category(c) != "Mn")


def _in_ticks(shaped: dict[str, Any], jitter: tuple[int, int]) -> dict[str, Any]:
    start, length = shaped["offsetMilliseconds"], shaped["durationMilliseconds"]
    return {
        "displayText": shaped["text"],
        "offsetInTicks": float(start * 10_000 + jitter[0]),
        "durationInTicks": float(length * 10_000 + jitter[1] - jitter[0]),
    }


_word_text = st.lists(st.sampled_from(_ALPHABET), min_size=1, max_size=12).map("".join)
_word = st.tuples(_word_text, st.integers(0, 20_000), st.integers(0, 3_000))
_phrase = st.tuples(
    st.lists(_word, min_size=1, max_size=12),
    st.one_of(st.none(), st.integers(0, 3)),
    st.one_of(st.none(), st.integers(0, 1)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    phrases=st.lists(_phrase, max_size=6),
    max_line_length=st.integers(3, 50),
    max_lines=st.integers(1, 3),
    labels=st.booleans(),
    jitter=st.tuples(st.integers(0, 4_999), st.integers(0, 4_999)),
)
def test_any_words_give_files_both_parsers_accept_within_the_limits(
    phrases: list[tuple[list[tuple[str, int, int]], int | None, int | None]],
    max_line_length: int,
    max_lines: int,
    labels: bool,
    jitter: tuple[int, int],
) -> None:
    shaped = [
        phrase(
            " ".join(text for text, _, _ in words),
            [word(text, start, length) for text, start, length in words],
            speaker=speaker,
            channel=channel,
        )
        for words, speaker, channel in phrases
    ]
    result = fast(*shaped)
    options = CaptionOptions(max_line_length=max_line_length, max_lines=max_lines, speaker_labels=labels)

    # The same phrases as a batch result file in ticks, each time off by less than half a millisecond.
    in_ticks = batch_file(
        {
            "combinedRecognizedPhrases": [],
            "recognizedPhrases": [
                {
                    **({} if p.get("channel") is None else {"channel": p["channel"]}),
                    **({} if p.get("speaker") is None else {"speaker": p["speaker"]}),
                    "offsetInTicks": p["offsetMilliseconds"] * 10_000 + jitter[0],
                    "durationInTicks": p["durationMilliseconds"] * 10_000 + jitter[1] - jitter[0],
                    "nBest": [{"display": p["text"], "displayWords": [_in_ticks(w, jitter) for w in p["words"]]}],
                }
                for p in shaped
            ],
        }
    )
    chosen = {f: getattr(options, f) for f in ("max_line_length", "max_lines", "speaker_labels")}

    try:
        made = check_all(result, **chosen)
    except MissingTimingsError:
        # Only a phrase whose every word is at 0 for 0 ms has no timing at all.
        assert any(all(start == length == 0 for _, start, length in words) for words, _, _ in phrases)
        with pytest.raises(MissingTimingsError):
            cues(in_ticks, **chosen)
        return
    assert to_srt(in_ticks, **chosen) == to_srt(result, **chosen)
    assert to_webvtt(in_ticks, **chosen) == to_webvtt(result, **chosen)

    assert [c.index for c in made] == list(range(1, len(made) + 1))
    for cue in made:
        assert cue.start < cue.end
        assert 1 <= len(cue.lines) <= max_lines
        assert all(_width(line) <= max_line_length for line in cue.lines), cue
        if cue.label:
            prefix = _width(f"{cue.label}: ")
            if prefix < max_line_length:
                assert prefix + _width(cue.lines[0]) <= max_line_length, cue
    shown = sorted("".join(c.text for c in made).replace(" ", "").replace("\n", ""))
    spoken = sorted("".join(text for words, _, _ in phrases for text, _, _ in words))
    assert shown == spoken


# --- the module ------------------------------------------------------------------------------------------


def test_the_module_exports_a_sorted_complete_all_of_its_own_objects() -> None:
    exported = list(captions_module.__all__)
    assert isinstance(captions_module.__all__, tuple)
    assert exported == sorted(exported)
    public = {
        name
        for name, value in vars(captions_module).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert public <= set(exported), public - set(exported)
    for name in exported:
        obj = getattr(captions_module, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__module__ == "speech_async.captions", name
            assert obj.__doc__, name
