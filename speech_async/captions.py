"""Captions from transcripts: SRT, WebVTT and the plain text of a result.

::

    result = await client.transcribe("talk.wav", options=TranscriptionOptions(diarization=True))
    await anyio.Path("talk.srt").write_text(to_srt(result), encoding="utf-8")
    await anyio.Path("talk.vtt").write_text(to_webvtt(result, max_line_length=32), encoding="utf-8")

The functions are plain CPU work (about 0.2 s for an hour of speech): run them in a worker thread
(``anyio.to_thread.run_sync``) for very long transcripts in a busy event loop.

Each function takes a fast-transcription :class:`~speech_async.TranscriptionResult`, a batch
:class:`~speech_async.TranscriptionResultFile` or a short-audio :class:`~speech_async.RecognitionResult`,
and the :class:`CaptionOptions` (keyword overrides replace fields of the options given, or of the defaults).

How cues are made:

* **Timings.** Words carry their own times: milliseconds in fast transcription, 100-ns ticks (or
  milliseconds, or ISO 8601 text, whichever came; ticks first) in batch results and in short-audio
  pronunciation assessment. Every time is rounded to a whole millisecond (half up) before any cue is made,
  so a cue's :attr:`Cue.start` and :attr:`Cue.end` are exactly what the files show. A phrase without
  usable word timings (no words, or only zero-length ones, as LLM speech translation returns) has its text
  spread over the phrase's own offset and duration, each piece getting a share of the time proportional to
  its length in characters. A phrase with text but no timing at all raises :class:`MissingTimingsError`.
* **Text.** Cues show the display form. Words are matched to their phrase's display text (case-insensitively,
  in order), so lexical words (batch ``words``, assessment ``Words``) still show punctuation and capitals;
  where they do not match, batch and short-audio phrases fall back to the phrase's text spread over the
  words' span, and fast-transcription words are shown as they came. Words are kept in the order they come
  (their reading order); a word timed before its predecessor is moved to its predecessor's start.
* **Breaks.** A cue never spans two phrases (so never two speakers or channels), ends after a sentence
  (``.``, ``?``, ``!``, ``…``, ``。`` and their full-width forms, unless the next word starts in lower case
  or with a digit, as after "Dr."), holds at most :attr:`CaptionOptions.max_lines` lines of at most
  :attr:`CaptionOptions.max_line_length` characters, and lasts at most :attr:`CaptionOptions.max_duration`
  unless one word is longer. A cue that is full ends after its last comma (semicolon, colon, dash) in its
  second half, when it has one. Lines of a cue are balanced (as short as the line count allows).
* **Characters.** Lengths count user-perceived characters (grapheme clusters: a letter with its combining
  marks, an emoji sequence, a flag, a Hangul syllable of jamo are one each), and lines are never broken
  inside one. Wide (CJK) characters count as one character each, not two columns. Text of languages written
  without spaces (Chinese, Japanese, Thai...) is joined without spaces and may break between any two
  characters; a word longer than a line is cut between characters.
* **Durations.** A cue shorter than :attr:`CaptionOptions.min_duration` is extended, but never past the
  next cue's start. Cues never overlap: where phrases overlap in time (two speakers at once, two channels),
  the earlier cue ends when the next one starts, and a cue that starts at the same time as the one before
  waits for it to end, keeping its length; every cue lasts at least one millisecond.
* **Speakers and channels.** With diarization, each cue is labelled with its speaker
  (``<v Speaker 1>`` in WebVTT, ``Speaker 1: `` before the first line in SRT; the service's speaker
  numbers are shown as they came); with :attr:`CaptionOptions.speaker_labels` off, no labels. A
  multi-channel result gives every channel's cues interleaved by time, each labelled with its channel
  (``Channel 0``, zero-based like the service's numbers), or one channel's cues only with
  :attr:`CaptionOptions.channel` (phrases without a channel count as channel 0). A label's room is kept
  on the first line, so that lines stay within their limit with the SRT prefix too.
* **Files.** SRT cues are numbered from 1, times ``HH:MM:SS,mmm``; WebVTT starts with ``WEBVTT``, numbers its
  cues too, times ``HH:MM:SS.mmm``, and escapes ``&``, ``<`` and ``>`` (so no ``-->`` is left in a cue); in SRT
  a ``-->`` in the text becomes ``->``. Hours go past 99 when they must. No cue holds a blank line. A result
  without speech gives ``"WEBVTT\\n\\n"`` and an empty SRT file (``""``). Short-audio results whose status is
  not ``Success`` have no speech.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import typing
import unicodedata

from ._exceptions import InvalidInputError as _InvalidInputError
from ._exceptions import InvalidOptionsError as _InvalidOptionsError
from ._models._batch_results import DisplayWord as _DisplayWord
from ._models._batch_results import RecognizedPhrase as _RecognizedPhrase
from ._models._batch_results import ResultWord as _ResultWord
from ._models._batch_results import TranscriptionResultFile as _TranscriptionResultFile
from ._models._batch_results import _iso_duration  # pyright: ignore[reportPrivateUsage]
from ._models._fast import Phrase as _FastPhrase
from ._models._fast import TranscriptionResult as _TranscriptionResult
from ._models._short_audio import AssessedWord as _AssessedWord
from ._models._short_audio import RecognitionResult as _RecognitionResult

if typing.TYPE_CHECKING:
    from collections.abc import Sequence

# Only modules and private names at the top level: every public name here is in __all__.

__all__ = (
    "CaptionOptions",
    "CaptionResult",
    "Cue",
    "MissingTimingsError",
    "cues",
    "to_srt",
    "to_text",
    "to_webvtt",
)

CaptionResult = _TranscriptionResult | _TranscriptionResultFile | _RecognitionResult
"""The results captions are made from."""


class MissingTimingsError(_InvalidInputError):
    """The result has text that no timing places in the audio, so no cue can be made for it."""


# --- options -------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class CaptionOptions:
    """How cues are cut and labelled. Every field has a default; bad values raise ``_InvalidOptionsError``.

    The defaults follow common subtitling practice (two lines of 42 characters, one to seven seconds on
    screen); they are conventions, not service rules.
    """

    max_line_length: int = 42
    """The most characters (grapheme clusters) on a line, the SRT speaker prefix included."""
    max_lines: int = 2
    """The most lines in a cue."""
    min_duration: datetime.timedelta = datetime.timedelta(seconds=1)
    """Shorter cues are extended to this, but never past the next cue's start."""
    max_duration: datetime.timedelta = datetime.timedelta(seconds=7)
    """Longer cues are split between words (a single longer word keeps its own time)."""
    break_at_sentences: bool = True
    """End a cue after a word that ends a sentence."""
    speaker_labels: bool = True
    """Label cues with their speaker (and, in multi-channel results, their channel)."""
    speaker_format: str = "Speaker {speaker}"
    """The speaker's label; ``{speaker}`` is the service's speaker number."""
    channel_format: str = "Channel {channel}"
    """The channel's label in a multi-channel result; ``{channel}`` is the zero-based channel number."""
    srt_label_format: str = "{label}: "
    """What comes before a labelled SRT cue's first line; ``{label}`` is the speaker or channel label."""
    channel: int | None = None
    """Only this channel's cues; ``None``: every channel's, interleaved by time."""

    def __post_init__(self) -> None:
        for name in ("max_line_length", "max_lines"):
            value: object = getattr(self, name)
            if type(value) is not int or value < 1:
                raise _InvalidOptionsError(f"{name} must be a positive int, not {value!r}")
        for name in ("min_duration", "max_duration"):
            value = getattr(self, name)
            if not isinstance(value, datetime.timedelta) or value < datetime.timedelta(0):
                raise _InvalidOptionsError(f"{name} must be a timedelta of zero or more, not {value!r}")
        if self.max_duration < datetime.timedelta(milliseconds=1):
            raise _InvalidOptionsError("max_duration must be at least one millisecond")
        if self.min_duration > self.max_duration:
            raise _InvalidOptionsError(
                f"min_duration ({self.min_duration}) must not be longer than max_duration ({self.max_duration})"
            )
        for name in ("break_at_sentences", "speaker_labels"):
            value = getattr(self, name)
            if type(value) is not bool:
                raise _InvalidOptionsError(f"{name} must be True or False, not {value!r}")
        channel: object = self.channel
        if channel is not None and (type(channel) is not int or channel < 0):
            raise _InvalidOptionsError(f"channel must be None or a channel number of 0 or more, not {channel!r}")
        _check_format("speaker_format", self.speaker_format, "speaker")
        _check_format("channel_format", self.channel_format, "channel")
        _check_format("srt_label_format", self.srt_label_format, "label")


def _check_format(name: str, value: object, key: str) -> None:
    if not isinstance(value, str):
        raise _InvalidOptionsError(f"{name} must be a str, not {type(value).__name__}")
    try:
        value.format_map({key: 1 if key != "label" else "Speaker 1"})
    except (KeyError, IndexError, ValueError, AttributeError, TypeError) as error:
        raise _InvalidOptionsError(f"{name} {value!r} is not a format with only {{{key}}}: {error}") from None


_FIELDS: typing.Final = frozenset(field.name for field in dataclasses.fields(CaptionOptions))


def _options(options: CaptionOptions | None, overrides: dict[str, object]) -> CaptionOptions:
    if options is None:
        options = CaptionOptions()
    elif not isinstance(options, CaptionOptions):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise _InvalidOptionsError(f"options must be CaptionOptions or None, not {type(options).__name__}")
    if not overrides:
        return options
    unknown = sorted(set(overrides) - _FIELDS)
    if unknown:
        raise _InvalidOptionsError(f"unknown caption options {unknown}; known: {sorted(_FIELDS)}")
    return dataclasses.replace(options, **overrides)  # pyright: ignore[reportArgumentType]


# --- cues ----------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class Cue:
    """One caption: its text lines, when it shows, and whose words they are.

    :attr:`start` and :attr:`end` are ``timedelta`` s of whole milliseconds from the start of the audio
    (:attr:`start_ms` and :attr:`end_ms` as ints); ``end`` is always after ``start``, and a cue never starts
    before the previous one ends.
    """

    index: int
    """Its number, from 1, in the order cues show."""
    start: datetime.timedelta
    end: datetime.timedelta
    lines: tuple[str, ...]
    """The text lines, without the label; never empty, none blank."""
    speaker: int | None = None
    """The service's speaker number (with diarization)."""
    channel: int | None = None
    """The audio channel (when the result has channel numbers)."""
    label: str | None = None
    """The speaker or channel label the files show (``None``: unlabelled)."""

    @property
    def text(self) -> str:
        """The lines, joined with ``"\\n"``."""
        return "\n".join(self.lines)

    @property
    def start_ms(self) -> int:
        """:attr:`start` in milliseconds."""
        return self.start // _MS

    @property
    def end_ms(self) -> int:
        """:attr:`end` in milliseconds."""
        return self.end // _MS


_MS: typing.Final = datetime.timedelta(milliseconds=1)


@dataclasses.dataclass(slots=True)
class _Token:
    """A piece of text that is never split across lines, with its time in milliseconds."""

    text: str
    start: int
    end: int
    space_after: bool = True
    width: int = 0


@dataclasses.dataclass(slots=True)
class _Phrase:
    """One phrase as the cue builder sees it, whichever result it came from."""

    tokens: list[_Token]
    start: int
    speaker: int | None
    channel: int | None
    order: int


@dataclasses.dataclass(slots=True)
class _Draft:
    start: int
    end: int
    lines: tuple[str, ...]
    speaker: int | None
    channel: int | None
    label: str | None


def cues(result: CaptionResult, options: CaptionOptions | None = None, **overrides: object) -> list[Cue]:
    """The cues of ``result``, in the order they show (see the module's documentation for the rules).

    Raises:
        MissingTimingsError: a phrase has text but neither it nor its words have a timing.
        _InvalidInputError: ``result`` is not a result captions can be made from.
        _InvalidOptionsError: an option is out of range, or an override names no option.
    """
    opts = _options(options, overrides)
    phrases = _phrases(result)
    if opts.channel is not None:
        phrases = [p for p in phrases if (p.channel or 0) == opts.channel]
    channels = {p.channel or 0 for p in phrases}
    several_channels = len(channels) > 1
    phrases.sort(key=lambda p: (p.start, p.order))
    drafts: list[_Draft] = []
    for phrase in phrases:
        label = _label(phrase, opts, several_channels)
        drafts.extend(_phrase_drafts(phrase, opts, label))
    _settle(drafts, _whole_ms(opts.min_duration))
    return [
        Cue(
            index=number,
            start=datetime.timedelta(milliseconds=draft.start),
            end=datetime.timedelta(milliseconds=draft.end),
            lines=draft.lines,
            speaker=draft.speaker,
            channel=draft.channel,
            label=draft.label,
        )
        for number, draft in enumerate(drafts, start=1)
    ]


def _whole_ms(value: datetime.timedelta) -> int:
    return (value // datetime.timedelta(microseconds=1) + 500) // 1000


def _label(phrase: _Phrase, options: CaptionOptions, several_channels: bool) -> str | None:
    if not options.speaker_labels:
        return None
    parts: list[str] = []
    if several_channels:
        parts.append(options.channel_format.format_map({"channel": phrase.channel or 0}))
    if phrase.speaker is not None:
        parts.append(options.speaker_format.format_map({"speaker": phrase.speaker}))
    return _clean(", ".join(parts)) or None


def _settle(drafts: list[_Draft], min_duration: int) -> None:
    """Take out every overlap (ends after starts), then extend short cues up to the next cue's start."""
    drafts.sort(key=lambda d: d.start)
    for i, draft in enumerate(drafts):
        if i:
            previous = drafts[i - 1]
            if draft.start < previous.end:
                if draft.start > previous.start:
                    previous.end = draft.start
                else:
                    length = draft.end - draft.start
                    draft.start = previous.end
                    draft.end = max(draft.end, draft.start + length)
        draft.end = max(draft.end, draft.start + 1)
    for i, draft in enumerate(drafts):
        wanted = draft.start + min_duration
        limit = drafts[i + 1].start if i + 1 < len(drafts) else wanted
        draft.end = max(draft.end, min(wanted, limit))


# --- breaking phrases into cues ------------------------------------------------------------------------

# . ? ! and the ellipsis, ideographic and full-width stops, Arabic, Devanagari, Ethiopic, Canadian
_SENTENCE_ENDS: typing.Final = frozenset(
    ".?!\u2026\u3002\uff1f\uff01\u203c\u2047\u2048\u2049\uff61\u061f\u0964\u0965\u1362\u166e\u06d4"
)
# Comma, semicolon, colon, dashes, and their ideographic and full-width forms.
_CLAUSE_ENDS: typing.Final = frozenset(",;:\u2013\u2014\u3001\uff0c\uff1b\uff1a\u060c")
# Quotes and brackets that may close a sentence after its stop.
_CLOSERS: typing.Final = frozenset("\"'\u201d\u2019\u00bb)]}\u300d\u300f\uff09\u3011\u3009\u300b")


def _ends_sentence(token: _Token, following: _Token | None) -> bool:
    text = token.text.rstrip("".join(_CLOSERS))
    if not text or text[-1] not in _SENTENCE_ENDS:
        return False
    if following is None:
        return True
    first = following.text[:1]
    return not (first.islower() or first.isdigit())


def _phrase_drafts(phrase: _Phrase, options: CaptionOptions, label: str | None) -> list[_Draft]:
    reserve = _width(_one_line(options.srt_label_format.format_map({"label": label}))) if label else 0
    reserve = min(reserve, options.max_line_length - 1)
    first_cap = options.max_line_length - reserve
    tokens = _fit_tokens(phrase.tokens, first_cap)
    max_ms = _whole_ms(options.max_duration)
    drafts: list[_Draft] = []
    current: list[_Token] = []

    def flush() -> None:
        if not current:
            return
        lines = _balanced(current, options.max_line_length, reserve, options.max_lines)
        assert lines is not None
        drafts.append(
            _Draft(
                start=current[0].start,
                end=max(t.end for t in current),
                lines=lines,
                speaker=phrase.speaker,
                channel=phrase.channel,
                label=label,
            )
        )
        current.clear()

    def fits(token: _Token) -> bool:
        return token.end - current[0].start <= max_ms and (
            _layout([*current, token], options.max_line_length, reserve, options.max_lines) is not None
        )

    for i, token in enumerate(tokens):
        while current and not fits(token):
            # A full cue ends after its last comma (or the like) in its second half, if it has one.
            cut = _clause_cut(current)
            tail = current[cut:] if cut else []
            del current[len(current) - len(tail) :]
            flush()
            current.extend(tail)
        current.append(token)
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        if options.break_at_sentences and following is not None and _ends_sentence(token, following):
            flush()
    flush()
    return drafts


def _clause_cut(tokens: Sequence[_Token]) -> int | None:
    """Where to end a full cue so that its tail starts a clause: after a comma in its second half."""
    for cut in range(len(tokens) - 1, max(1, math.ceil(len(tokens) / 2)) - 1, -1):
        text = tokens[cut - 1].text.rstrip("".join(_CLOSERS))
        if text and (text[-1] in _CLAUSE_ENDS or text[-1] in _SENTENCE_ENDS):
            return cut
    return None


def _layout(tokens: Sequence[_Token], width: int, reserve: int, max_lines: int) -> tuple[str, ...] | None:
    """Greedy lines of at most ``width`` (the first ``width - reserve``); ``None`` if they need more lines."""
    lines: list[str] = []
    line = ""
    used = 0
    cap = width - reserve
    previous: _Token | None = None
    for token in tokens:
        if previous is None:
            if token.width > cap:
                return None
            line, used = token.text, token.width
        else:
            gap = 1 if previous.space_after else 0
            if used + gap + token.width <= cap:
                line += (" " if gap else "") + token.text
                used += gap + token.width
            else:
                lines.append(line)
                if len(lines) >= max_lines:
                    return None
                cap = width
                if token.width > cap:
                    return None
                line, used = token.text, token.width
        previous = token
    if previous is not None:
        lines.append(line)
    return tuple(lines)


def _balanced(tokens: Sequence[_Token], width: int, reserve: int, max_lines: int) -> tuple[str, ...] | None:
    """The lines of ``tokens`` in as few lines as fit, each line as short as that count allows."""
    greedy = _layout(tokens, width, reserve, max_lines)
    if greedy is None or len(greedy) == 1:
        return greedy
    count = len(greedy)
    total = sum(t.width for t in tokens) + sum(1 for t in tokens[:-1] if t.space_after) + reserve
    for narrower in range(max(reserve + 1, math.ceil(total / count)), width):
        lines = _layout(tokens, narrower, reserve, count)
        if lines is not None:
            return lines
    return greedy


def _fit_tokens(tokens: list[_Token], cap: int) -> list[_Token]:
    """Cut tokens wider than ``cap`` between grapheme clusters, sharing out their time."""
    fitted: list[_Token] = []
    for token in tokens:
        if token.width <= cap:
            fitted.append(token)
            continue
        clusters = _graphemes(token.text)
        pieces = ["".join(clusters[i : i + cap]) for i in range(0, len(clusters), cap)]
        spread = _spread_pieces(pieces, token.start, token.end, [False] * len(pieces))
        spread[-1].space_after = token.space_after
        fitted.extend(spread)
    return fitted


# --- unicode -------------------------------------------------------------------------------------------

_ZWJ: typing.Final = "\u200d"


def _is_extend(char: str) -> bool:
    code = ord(char)
    return (
        unicodedata.category(char) in ("Mn", "Me", "Mc")
        or char == _ZWJ
        or 0xFE00 <= code <= 0xFE0F
        or 0xE0100 <= code <= 0xE01EF
        or 0x1F3FB <= code <= 0x1F3FF
        or 0xE0020 <= code <= 0xE007F
    )


def _is_regional(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def _hangul(char: str) -> str:
    code = ord(char)
    if 0x1100 <= code <= 0x115F or 0xA960 <= code <= 0xA97C:
        return "L"
    if 0x1160 <= code <= 0x11A7 or 0xD7B0 <= code <= 0xD7C6:
        return "V"
    if 0x11A8 <= code <= 0x11FF or 0xD7CB <= code <= 0xD7FB:
        return "T"
    if 0xAC00 <= code <= 0xD7A3:
        return "LV" if (code - 0xAC00) % 28 == 0 else "LVT"
    return ""


_HANGUL_JOINS: typing.Final = frozenset(
    {("L", "L"), ("L", "V"), ("L", "LV"), ("L", "LVT"), ("LV", "V"), ("LV", "T"), ("V", "V"), ("V", "T")}
    | {("LVT", "T"), ("T", "T")}
)


def _graphemes(text: str) -> list[str]:
    """``text`` cut into user-perceived characters (an approximation of Unicode's extended grapheme clusters).

    Joined to the character before: combining marks, variation selectors, emoji modifiers and tags, the
    character after a zero-width joiner; regional indicators pair into flags, Hangul jamo into syllables,
    and CR LF is one.
    """
    if text.isascii() and "\r" not in text:
        return list(text)
    clusters: list[str] = []
    regional_run = 0
    for char in text:
        if clusters:
            last = clusters[-1]
            previous = last[-1]
            # Below U+0300 nothing joins the character before, except after a ZWJ (not below U+0300) or CR.
            if char < "\u0300" and previous != "\r":
                clusters.append(char)
                regional_run = 0
                continue
            joins = (
                _is_extend(char)
                or previous == _ZWJ
                or (previous == "\r" and char == "\n")
                or (_is_regional(char) and _is_regional(previous) and regional_run % 2 == 1)
                or (_hangul(previous), _hangul(char)) in _HANGUL_JOINS
            )
            if joins:
                clusters[-1] = last + char
                regional_run = regional_run + 1 if _is_regional(char) else 0
                continue
        clusters.append(char)
        regional_run = 1 if _is_regional(char) else 0
    return clusters


def _width(text: str) -> int:
    return len(_graphemes(text))


def _no_space_script(char: str) -> bool:
    """Whether ``char`` belongs to a script written without spaces between words (CJK, Thai, ...)."""
    code = ord(char)
    return (
        0x2E80 <= code <= 0x9FFF  # CJK radicals, punctuation, kana, ideographs
        or 0xF900 <= code <= 0xFAFF  # compatibility ideographs
        or 0xFF00 <= code <= 0xFFEF  # full-width and half-width forms
        or 0x20000 <= code <= 0x3FFFF  # ideograph extensions
        or 0x0E00 <= code <= 0x0EFF  # Thai, Lao
        or 0x1000 <= code <= 0x109F  # Myanmar
        or 0x1780 <= code <= 0x17FF  # Khmer
    )


def _one_line(text: str) -> str:
    """Line breaks and other control characters as spaces."""
    return "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)


def _clean(text: str) -> str:
    """Control characters out, every run of white space one space."""
    return " ".join(_one_line(text).split())


def _pieces(text: str) -> tuple[list[str], list[bool]]:
    """Text cut where it may break: at spaces, and between characters of scripts without spaces."""
    pieces: list[str] = []
    spaces: list[bool] = []
    for word in _clean(text).split(" "):
        if not word:
            continue
        run = ""
        for cluster in _graphemes(word):
            if _no_space_script(cluster[0]):
                if run:
                    pieces.append(run)
                    spaces.append(False)
                    run = ""
                pieces.append(cluster)
                spaces.append(False)
            else:
                run += cluster
        if run:
            pieces.append(run)
            spaces.append(False)
        spaces[-1] = True
    # Punctuation that follows CJK text stays with it (no line may start with "。").
    merged: list[str] = []
    merged_spaces: list[bool] = []
    for piece, space in zip(pieces, spaces, strict=True):
        if merged and not merged_spaces[-1] and not any(c.isalnum() for c in piece):
            merged[-1] += piece
            merged_spaces[-1] = space
        else:
            merged.append(piece)
            merged_spaces.append(space)
    return merged, merged_spaces


def _spread_pieces(pieces: list[str], start: int, end: int, spaces: list[bool]) -> list[_Token]:
    """Tokens of ``pieces`` sharing ``start``..``end`` in proportion to their lengths."""
    widths = [_width(p) for p in pieces]
    total = sum(widths) or 1
    span = max(0, end - start)
    tokens: list[_Token] = []
    done = 0
    for piece, width, space in zip(pieces, widths, spaces, strict=True):
        first = start + span * done // total
        done += width
        tokens.append(_Token(piece, first, start + span * done // total, space, width))
    return tokens


def _spread(text: str, start: int, end: int) -> list[_Token]:
    pieces, spaces = _pieces(text)
    return _spread_pieces(pieces, start, end, spaces) if pieces else []


# --- reading results -----------------------------------------------------------------------------------

_Timing = tuple[int, int]
"""Start and end, in milliseconds."""


def _ticks(ticks: float | None, milliseconds: float | None, text: str | None) -> float | None:
    """A time in 100-ns ticks from whichever form came (ticks first, as the finest); ``None`` if none did."""
    if ticks is not None:
        return ticks
    if milliseconds is not None:
        return milliseconds * 10_000
    if text:
        value = _iso_duration(text)
        if value is not None:
            return (value // datetime.timedelta(microseconds=1)) * 10
    return None


def _ms_from_ticks(ticks: float) -> int:
    """Whole milliseconds, half up (exact for int ticks)."""
    if isinstance(ticks, int):
        return max(0, (ticks + 5_000) // 10_000)
    return max(0, math.floor(ticks / 10_000 + 0.5))


def _ticks_span(offset: float | None, duration: float | None) -> _Timing | None:
    """Start and end in milliseconds, each rounded from ticks (so words that touch keep touching)."""
    if offset is None or duration is None:
        return None
    return _ms_from_ticks(offset), _ms_from_ticks(offset + max(0, duration))


def _timed(start: int, duration: int) -> _Timing:
    start = max(0, start)
    return start, start + max(0, duration)


def _align(words: list[tuple[str, _Timing]], text: str) -> list[_Token] | None:
    """The words' timings on the slices of ``text`` they match, or ``None`` when they do not all match.

    Each word takes the text from where it starts to where the next one starts (its punctuation); what
    lies between two words may hold punctuation and spaces only.
    """
    lowered = text.lower()
    if len(lowered) != len(text) or not words:
        return None
    starts: list[int] = []
    position = 0
    for word, _ in words:
        found = lowered.find(word.lower(), position)
        if found < 0 or any(c.isalnum() for c in text[position:found]):
            return None
        starts.append(found)
        position = found + len(word)
    if any(c.isalnum() for c in text[position:]):
        return None
    starts[0] = 0
    tokens: list[_Token] = []
    for i, (_, (start, end)) in enumerate(words):
        piece = text[starts[i] : starts[i + 1] if i + 1 < len(starts) else len(text)]
        shown = piece.strip()
        if not shown:
            continue
        space = piece[-1:].isspace() or i + 1 == len(words)
        tokens.extend(_word_tokens(shown, start, end, space))
    return tokens


def _word_tokens(text: str, start: int, end: int, space_after: bool) -> list[_Token]:
    """One word's tokens (several when it holds spaces or characters of scripts without spaces)."""
    pieces, spaces = _pieces(text)
    if not pieces:
        return []
    spaces[-1] = space_after
    return _spread_pieces(pieces, start, end, spaces)


def _joined(words: list[tuple[str, _Timing]]) -> list[_Token]:
    """Words shown as they came, spaced except between characters of scripts without spaces."""
    tokens: list[_Token] = []
    for text, (start, end) in words:
        made = _word_tokens(text, start, end, True)
        if not made:
            continue
        if tokens and _no_space_script(tokens[-1].text[-1]) and _no_space_script(made[0].text[0]):
            tokens[-1].space_after = False
        tokens.extend(made)
    return tokens


def _monotonic(tokens: list[_Token]) -> list[_Token]:
    """Times that never go back: a token timed before the previous one moves to its start."""
    latest = 0
    for token in tokens:
        token.start = max(token.start, latest)
        token.end = max(token.end, token.start)
        latest = token.start
    return tokens


def _phrase_tokens(
    text: str,
    words: list[tuple[str, _Timing | None]],
    span: _Timing | None,
    *,
    display_words: bool,
    where: str,
) -> tuple[list[_Token], int] | None:
    """A phrase's tokens and start: from its word timings when usable, else its text over its span."""
    text = _clean(text)
    shown = [(cleaned, timing) for word, timing in words if (cleaned := _clean(word))]
    timed = [(word, timing) for word, timing in shown if timing is not None]
    words_span = (min(s for _, (s, _) in timed), max(e for _, (_, e) in timed)) if timed else None
    if timed and len(timed) == len(shown) and any(end > start for _, (start, end) in timed):
        tokens = _align(timed, text) if text else None
        if tokens is None and (display_words or not text):
            tokens = _joined(timed)
        if tokens is not None:
            return _monotonic(tokens), min(start for _, (start, _) in timed)
        # Lexical words that do not match the display text: the text over the words' span.
        span = words_span
    if not text:
        if not shown:
            return None
        text = " ".join(word for word, _ in shown)
    if span is None or span == (0, 0):
        span = words_span
        if span is None or span == (0, 0):
            raise MissingTimingsError(f"{where} has text but no timing: no cue can be made for it")
    return _spread(text, *span), span[0]


def _phrases(result: object) -> list[_Phrase]:
    if isinstance(result, _TranscriptionResult):
        return _fast_phrases(result.phrases)
    if isinstance(result, _TranscriptionResultFile):
        return _batch_phrases(result.recognized_phrases)
    if isinstance(result, _RecognitionResult):
        return _short_audio_phrases(result)
    raise _InvalidInputError(
        "captions are made from a TranscriptionResult, a TranscriptionResultFile or a RecognitionResult, "
        f"not {type(result).__name__}"
    )


def _fast_phrases(phrases: list[_FastPhrase]) -> list[_Phrase]:
    made: list[_Phrase] = []
    for order, phrase in enumerate(phrases):
        words: list[tuple[str, _Timing | None]] = [
            (w.text, _timed(w.offset_milliseconds, w.duration_milliseconds)) for w in phrase.words
        ]
        span = _timed(phrase.offset_milliseconds, phrase.duration_milliseconds)
        found = _phrase_tokens(phrase.text, words, span, display_words=True, where=f"phrase {order}")
        if found is not None and found[0]:
            made.append(_Phrase(found[0], found[1], phrase.speaker, phrase.channel, order))
    return made


def _batch_timing(
    item: _RecognizedPhrase | _ResultWord | _DisplayWord,
) -> _Timing | None:
    return _ticks_span(
        _ticks(item.offset_ticks, item.offset_milliseconds, item.offset_text),
        _ticks(item.duration_ticks, item.duration_milliseconds, item.duration_text),
    )


def _batch_phrases(phrases: list[_RecognizedPhrase]) -> list[_Phrase]:
    made: list[_Phrase] = []
    for order, phrase in enumerate(phrases):
        best = phrase.best
        if best is None:
            continue
        words: list[tuple[str, _Timing | None]]
        if best.display_words:
            words = [(w.display_text or "", _batch_timing(w)) for w in best.display_words]
        else:
            words = [(w.word or "", _batch_timing(w)) for w in best.words]
        found = _phrase_tokens(
            best.display,
            words,
            _batch_timing(phrase),
            display_words=bool(best.display_words),
            where=f"recognized phrase {order}",
        )
        if found is not None and found[0]:
            made.append(_Phrase(found[0], found[1], phrase.speaker, phrase.channel, order))
    return made


def _ticks_timing(item: _RecognitionResult | _AssessedWord) -> _Timing | None:
    return _ticks_span(item.offset_ticks, item.duration_ticks)


def _short_audio_phrases(result: _RecognitionResult) -> list[_Phrase]:
    if not result.succeeded:
        return []
    best = result.best
    assessed = [w for w in best.words if w.error_type != "Omission"] if best is not None else []
    words: list[tuple[str, _Timing | None]] = [(w.word, _ticks_timing(w)) for w in assessed]
    found = _phrase_tokens(result.text, words, _ticks_timing(result), display_words=False, where="the result")
    if found is None or not found[0]:
        return []
    return [_Phrase(found[0], found[1], None, None, 0)]


# --- files ---------------------------------------------------------------------------------------------


def _timestamp(value: datetime.timedelta, separator: str) -> str:
    ms = max(0, value // _MS)
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    seconds, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{ms:03d}"


def to_srt(result: CaptionResult, options: CaptionOptions | None = None, **overrides: object) -> str:
    """The SubRip (``.srt``) captions of ``result``; ``""`` when it has no speech.

    Labelled cues start with :attr:`CaptionOptions.srt_label_format` (``Speaker 1: ``) on their first line.
    Raises what :func:`cues` raises.
    """
    opts = _options(options, overrides)
    blocks: list[str] = []
    for cue in cues(result, opts):
        lines = [line.replace("-->", "->") for line in cue.lines]
        if cue.label:
            lines[0] = _one_line(opts.srt_label_format.format_map({"label": cue.label})) + lines[0]
        times = f"{_timestamp(cue.start, ',')} --> {_timestamp(cue.end, ',')}"
        blocks.append("\n".join([str(cue.index), times, *lines]) + "\n")
    return "\n".join(blocks)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_webvtt(result: CaptionResult, options: CaptionOptions | None = None, **overrides: object) -> str:
    """The WebVTT (``.vtt``) captions of ``result``; ``"WEBVTT\\n\\n"`` when it has no speech.

    Labelled cues open a voice span (``<v Speaker 1>``) before their first line. Raises what :func:`cues`
    raises.
    """
    blocks: list[str] = []
    for cue in cues(result, options, **overrides):
        lines = [_escape(line) for line in cue.lines]
        if cue.label:
            lines[0] = f"<v {_escape(cue.label)}>{lines[0]}"
        times = f"{_timestamp(cue.start, '.')} --> {_timestamp(cue.end, '.')}"
        blocks.append("\n".join([str(cue.index), times, *lines]) + "\n")
    return "WEBVTT\n\n" + "\n".join(blocks)


# --- plain text ----------------------------------------------------------------------------------------


def to_text(result: CaptionResult) -> str:
    """The plain transcript: one line per channel's combined text, each ending in ``"\\n"``.

    In a result with several channels each line starts with ``Channel N: ``. Fast results give their
    ``combinedPhrases``, batch results their ``combinedRecognizedPhrases`` (the display form; the phrases
    joined when a file has none), short-audio results their display text. Empty lines are left out, so a
    result without speech gives ``""``.
    """
    entries: list[tuple[int | None, str]]
    if isinstance(result, _TranscriptionResult):
        entries = [(c.channel, c.text) for c in result.combined_phrases]
        if not entries and result.phrases:
            entries = _by_channel([(p.channel, p.text) for p in result.phrases])
    elif isinstance(result, _TranscriptionResultFile):
        entries = [(c.channel, c.display) for c in result.combined_recognized_phrases]
        if not entries and result.recognized_phrases:
            ordered = sorted(result.recognized_phrases, key=lambda p: p.offset)
            entries = _by_channel([(p.channel, p.text) for p in ordered])
    elif isinstance(result, _RecognitionResult):  # pyright: ignore[reportUnnecessaryIsInstance]
        entries = [(None, result.text)] if result.succeeded else []
    else:
        raise _InvalidInputError(
            "to_text takes a TranscriptionResult, a TranscriptionResultFile or a RecognitionResult, "
            f"not {type(result).__name__}"
        )
    cleaned = [(channel, " ".join(text.split())) for channel, text in entries]
    cleaned = [(channel, text) for channel, text in cleaned if text]
    several = len({channel or 0 for channel, _ in cleaned}) > 1
    return "".join(f"Channel {channel or 0}: {text}\n" if several else f"{text}\n" for channel, text in cleaned)


def _by_channel(texts: list[tuple[int | None, str]]) -> list[tuple[int | None, str]]:
    joined: dict[int | None, list[str]] = {}
    for channel, text in texts:
        joined.setdefault(channel, []).append(text)
    return [(channel, " ".join(parts)) for channel, parts in sorted(joined.items(), key=lambda kv: kv[0] or 0)]
