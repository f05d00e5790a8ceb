"""Fast transcription and LLM speech: the ``definition`` a request sends and the result it gets.

Wire names are camelCase (``rename="camel"``). Request structs omit every field left unset, so the
service sees only what the caller chose; response structs skip fields they don't know, so new service
fields never break decoding.
"""

from __future__ import annotations

import enum
from datetime import timedelta
from typing import Literal

import msgspec

from .._exceptions import InvalidOptionsError
from . import WithResponse

__all__ = [
    "CombinedPhrase",
    "DiarizationOptions",
    "EnhancedMode",
    "EnhancedModelOptions",
    "Phrase",
    "PhraseList",
    "ProfanityFilterMode",
    "TranscriptionOptions",
    "TranscriptionResult",
    "Word",
]


class ProfanityFilterMode(str, enum.Enum):
    """How the service treats profanity in the output (the service's default is ``MASKED``)."""

    NONE = "None"
    """No filtering."""
    REMOVED = "Removed"
    """Profanity is dropped."""
    TAGS = "Tags"
    """Profanity is wrapped in tags."""
    MASKED = "Masked"
    """Profanity is replaced by asterisks."""

    def __str__(self) -> str:
        return self.value


def _enabled() -> bool:
    # A default_factory rather than a plain default: omit_defaults would drop a plain `True`, and the
    # service needs `"enabled": true` on the wire (observed: without it, LLM speech is not used).
    return True


class DiarizationOptions(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True, rename="camel"):
    """Speaker separation: each phrase gets a ``speaker`` number."""

    enabled: bool = msgspec.field(default_factory=_enabled)
    max_speakers: int | None = None
    """A hint for the most speakers to tell apart, 2 to 35."""


class PhraseList(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True, rename="camel"):
    """Words and names to favour during recognition (api-version 2025-10-15 and later)."""

    phrases: list[str]
    biasing_weight: float | None = None


class EnhancedModelOptions(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True, rename="camel"):
    """Options of the MAI-Transcribe models (documented with api-version 2025-10-15; not in its OpenAPI schema)."""

    timestamps: Literal["word", "segment", "none"] | None = None
    transcribe_style: Literal["verbatim", "clean"] | None = None


class EnhancedMode(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True, rename="camel"):
    """LLM speech (api-version 2025-10-15 and later): transcription or translation steered by prompts."""

    enabled: bool = msgspec.field(default_factory=_enabled)
    task: Literal["transcribe", "translate"] | None = None
    target_language: str | None = None
    """The output language of ``task="translate"``, such as ``"de"`` or ``"ko"``."""
    prompt: list[str] | None = None
    """Instructions for style or terms, 4,096 characters in all at most."""
    model: str | None = None
    """A MAI-Transcribe model such as ``"MAI-Transcribe-2"`` (not in the OpenAPI schema; from the MAI documentation)."""
    model_options: EnhancedModelOptions | None = None


class TranscriptionOptions(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True, rename="camel"):
    """The ``definition`` of a fast transcription request. Every field is optional.

    Three shorthands are accepted and read back expanded: ``diarization=True`` is
    ``DiarizationOptions()`` (``False`` is ``None``), ``enhanced_mode=True`` is ``EnhancedMode()``
    (``False`` is ``None``), and ``phrase_list=["Contoso", "Jessie"]`` is
    ``PhraseList(phrases=["Contoso", "Jessie"])``. A field never reads back as a ``bool`` or a list
    of phrases.

    ``transcribe(options=...)`` also takes a mapping with the same keys, in Python or in wire spelling
    (``{"locales": ["en-US"], "diarization": {"max_speakers": 3}}``).

    Fields this struct does not know yet can be sent with ``transcribe(..., extra_definition={...})``.
    """

    locales: list[str] | None = None
    """Candidate locales such as ``["en-US"]``; several enable language identification, none the
    multilingual model."""
    audio_url: str | None = None
    """A URL the service fetches the audio from, instead of an uploaded file (2025-10-15 and later)."""
    models: dict[str, str] | None = None
    """Custom model URIs by locale."""
    profanity_filter_mode: ProfanityFilterMode | None = None
    diarization: DiarizationOptions | bool | None = None
    """Speaker separation; ``True`` is short for ``DiarizationOptions()``, and reads back as that."""
    channels: list[int] | None = None
    """Zero-based channels to transcribe separately: ``[0]``, ``[1]`` or ``[0, 1]``."""
    phrase_list: PhraseList | list[str] | None = None
    """Phrases to favour; a list of phrases is short for ``PhraseList(phrases=[...])``, and reads back as that."""
    enhanced_mode: EnhancedMode | bool | None = None
    """LLM speech; ``True`` is short for ``EnhancedMode()``, and reads back as that."""

    def __post_init__(self) -> None:
        diarization = self.diarization
        if diarization is not None and not isinstance(diarization, DiarizationOptions):
            if type(diarization) is not bool:
                raise _wrong_type("diarization", diarization, "DiarizationOptions, True or False")
            msgspec.structs.force_setattr(self, "diarization", DiarizationOptions() if diarization else None)
        phrase_list = self.phrase_list
        if phrase_list is not None and not isinstance(phrase_list, PhraseList):
            if not isinstance(phrase_list, list | tuple):  # pyright: ignore[reportUnnecessaryIsInstance]
                raise _wrong_type("phrase_list", phrase_list, "PhraseList or a list of phrases")
            msgspec.structs.force_setattr(self, "phrase_list", PhraseList(phrases=list(phrase_list)))
        mode = self.enhanced_mode
        if mode is not None and not isinstance(mode, EnhancedMode):
            if type(mode) is not bool:
                raise _wrong_type("enhanced_mode", mode, "EnhancedMode, True or False")
            msgspec.structs.force_setattr(self, "enhanced_mode", EnhancedMode() if mode else None)


def _wrong_type(name: str, value: object, expected: str) -> InvalidOptionsError:
    return InvalidOptionsError(f"{name} must be {expected}, not {type(value).__name__} {value!r}")


# Field order is the wire's key order (as the emulator records it), so that decoding takes the fast
# path and ``msgspec.json.encode(result)`` gives the service's JSON back. ``omit_defaults`` drops the
# fields the service leaves out (``channel``, ``speaker``, ``locale``), instead of adding ``null``.


class _Timed:
    """``offset`` and ``duration`` as ``timedelta``s, for a struct with the wire's millisecond fields.

    A plain mixin without fields, so that each struct keeps its fields in the wire's key order.
    """

    __slots__ = ()
    offset_milliseconds: int
    duration_milliseconds: int

    @property
    def offset(self) -> timedelta:
        """When it starts, from the start of the audio."""
        return timedelta(milliseconds=self.offset_milliseconds)

    @property
    def duration(self) -> timedelta:
        """How long it lasts."""
        return timedelta(milliseconds=self.duration_milliseconds)


class Word(msgspec.Struct, _Timed, kw_only=True, frozen=True, omit_defaults=True, rename="camel", gc=False):
    """One recognized word, with its timing from the start of the audio."""

    text: str
    offset_milliseconds: int
    duration_milliseconds: int


class Phrase(msgspec.Struct, _Timed, kw_only=True, frozen=True, omit_defaults=True, rename="camel", gc=False):
    """A recognized phrase in display form (punctuation and capitals), with its words."""

    channel: int | None = None
    """Present exactly when the request gave ``channels`` (mono audio too, as 0); diarization alone adds none."""
    speaker: int | None = None
    """Present when diarization is on."""
    offset_milliseconds: int
    duration_milliseconds: int
    text: str
    # ``list[Word]``, not ``list``: an empty ``words`` is sent, and so encoded, despite omit_defaults.
    words: list[Word] = msgspec.field(default_factory=list[Word])
    locale: str | None = None
    confidence: float
    """0 to 1; always 0 for LLM speech."""


class CombinedPhrase(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True, rename="camel", gc=False):
    """The full text of one channel (or of the whole audio when channels were merged)."""

    channel: int | None = None
    text: str


class TranscriptionResult(WithResponse, kw_only=True, frozen=True, rename="camel"):
    """What fast transcription returns.

    :attr:`response` is the HTTP response it came from (request id, headers, raw body, attempts);
    ``msgspec.json.encode(result)`` gives the service's JSON back.
    """

    duration_milliseconds: int
    """Length of the whole audio."""
    combined_phrases: list[CombinedPhrase]
    phrases: list[Phrase]

    @property
    def duration(self) -> timedelta:
        """Length of the whole audio."""
        return timedelta(milliseconds=self.duration_milliseconds)

    @property
    def text(self) -> str:
        """The whole transcript: the combined text of each channel, one line per channel."""
        return "\n".join(combined.text for combined in self.combined_phrases)


# msgspec resolves a struct's annotations once, in its module; the package later names the module of
# its classes "speech_async", where they would not resolve: converting options from a mapping (and a
# user's own msgspec.convert or decode) needs them resolved here, now.
msgspec.json.Decoder(TranscriptionOptions)
