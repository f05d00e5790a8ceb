"""Batch transcription's wire structs: the transcription job, its result files, and their parts.

One shape for every version. The versions differ in a few members (``timeToLiveHours`` against an ISO
``timeToLive``, ``durationMilliseconds`` against an ISO ``duration``, ``diarization {enabled,
maxSpeakers}`` against ``diarizationEnabled`` + ``diarization {speakers {minCount, maxCount}}``): each
struct holds both members as they came, and a property (:attr:`TranscriptionProperties.time_to_live`,
``.duration``, ``.diarization_enabled``, ``.max_speakers``) reads whichever the answer has, so that
code using them does not change with the version. What the answer holds decides, not what the version
should send: the published examples mix the shapes.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

import msgspec

from . import WithResponse

__all__ = [
    "BatchDiarization",
    "DiarizationSpeakers",
    "DiarizationWire",
    "EntityError",
    "EntityReference",
    "FileLinks",
    "FileProperties",
    "LanguageIdentification",
    "PunctuationMode",
    "Transcription",
    "TranscriptionFile",
    "TranscriptionLinks",
    "TranscriptionProperties",
    "TranscriptionStatus",
    "parse_iso_duration",
]

_ISO_DURATION: Final = re.compile(
    r"P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?"
)


def parse_iso_duration(text: str | None) -> timedelta | None:
    """An ISO 8601 duration of days and time (``PT42S``, ``PT1H2M3.5S``, ``P1DT2H``) as a timedelta.

    ``None`` for ``None``, or for text of another form (years and months have no fixed length).
    """
    if not text:
        return None
    match = _ISO_DURATION.fullmatch(text)
    if match is None or text in ("P", "PT") or text.endswith("T"):
        return None
    parts = {key: float(value) for key, value in match.groupdict().items() if value is not None}
    return timedelta(
        days=parts.get("d", 0.0), hours=parts.get("h", 0.0), minutes=parts.get("m", 0.0), seconds=parts.get("s", 0.0)
    )


class TranscriptionStatus(str, enum.Enum):
    """The statuses a transcription goes through (``Transcription.status`` keeps any other text as it came)."""

    NOT_STARTED = "NotStarted"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"

    def __str__(self) -> str:
        return self.value


class PunctuationMode(str, enum.Enum):
    """How punctuation is added (``properties.punctuationMode``)."""

    NONE = "None"
    DICTATED = "Dictated"
    AUTOMATIC = "Automatic"
    DICTATED_AND_AUTOMATIC = "DictatedAndAutomatic"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchDiarization:
    """Tell speakers apart. ``max_speakers``: 2 to 35 (2024-11-15 and later) or 1 to 35 (v3.x);
    ``min_speakers``: v3.x only. ``diarization=True`` is ``BatchDiarization()``."""

    max_speakers: int | None = None
    min_speakers: int | None = None


_TERMINAL: Final = frozenset({TranscriptionStatus.SUCCEEDED.value, TranscriptionStatus.FAILED.value})


class EntityReference(msgspec.Struct, kw_only=True, frozen=True, gc=False):
    """A reference to another entity (a model, a dataset, a project): ``{"self": "<url>"}``."""

    self_url: str = msgspec.field(name="self")
    """The entity's URL."""


class EntityError(msgspec.Struct, kw_only=True, frozen=True, gc=False):
    """Why a job failed: ``properties.error`` of a ``Failed`` transcription.

    The code is free text, not one of the request error codes (``InvalidUri``, ``Internal``,
    ``Timeout``, ``Transient`` are seen in practice).
    """

    code: str | None = None
    message: str | None = None


class DiarizationSpeakers(msgspec.Struct, kw_only=True, frozen=True, gc=False, rename="camel", omit_defaults=True):
    """v3.x's speaker range: ``{"minCount": 1, "maxCount": 5}``."""

    min_count: int | None = None
    max_count: int | None = None


class DiarizationWire(msgspec.Struct, kw_only=True, frozen=True, gc=False, rename="camel", omit_defaults=True):
    """``properties.diarization`` in either shape: ``{enabled, maxSpeakers}`` (2024-11-15 and later) or
    ``{speakers: {minCount, maxCount}}`` (v3.x)."""

    enabled: bool | None = None
    max_speakers: int | None = None
    speakers: DiarizationSpeakers | None = None


class LanguageIdentification(msgspec.Struct, kw_only=True, frozen=True, rename="camel", omit_defaults=True):
    """Language identification: the candidate locales (and, per locale, a model to use).

    ``mode`` is ``Continuous`` (the default) or ``Single``; v3.1 does not know it.
    """

    candidate_locales: tuple[str, ...]
    """Two to ten locales in continuous mode, the transcription's locale among them."""
    speech_model_mapping: dict[str, EntityReference] | None = None
    """A model per locale (``{"en-US": EntityReference(self_url=...)}``)."""
    mode: str | None = None
    """``Continuous`` or ``Single`` (v3.2 and later)."""


class TranscriptionProperties(msgspec.Struct, kw_only=True, frozen=True, rename="camel"):
    """``properties`` of a transcription, as the service echoes them (its defaults included)."""

    word_level_timestamps_enabled: bool | None = None
    display_form_word_level_timestamps_enabled: bool | None = None
    channels: tuple[int, ...] | None = None
    punctuation_mode: str | None = None
    profanity_filter_mode: str | None = None
    destination_container_url: str | None = None
    language_identification: LanguageIdentification | None = None
    error: EntityError | None = None
    """Why the job failed, when it did."""
    email: str | None = None
    """v3.x only."""
    time_to_live_hours: int | None = None
    """The wire's ``timeToLiveHours`` (2024-11-15 and later); read :attr:`time_to_live` instead."""
    time_to_live_text: str | None = msgspec.field(default=None, name="timeToLive")
    """The wire's ISO ``timeToLive`` (v3.x); read :attr:`time_to_live` instead."""
    duration_milliseconds: int | None = None
    """The wire's ``durationMilliseconds`` (2024-11-15 and later); read :attr:`duration` instead."""
    duration_text: str | None = msgspec.field(default=None, name="duration")
    """The wire's ISO ``duration`` (v3.x); read :attr:`duration` instead."""
    diarization_flag: bool | None = msgspec.field(default=None, name="diarizationEnabled")
    """The wire's ``diarizationEnabled`` (v3.x); read :attr:`diarization_enabled` instead."""
    diarization: DiarizationWire | None = None
    """The wire's ``diarization`` object, in its version's shape."""

    @property
    def time_to_live(self) -> timedelta | None:
        """How long after it ends the job and its files are kept (``None``: not said, or never deleted)."""
        if self.time_to_live_hours is not None:
            return timedelta(hours=self.time_to_live_hours)
        return parse_iso_duration(self.time_to_live_text)

    @property
    def duration(self) -> timedelta | None:
        """The total audio duration, once known."""
        if self.duration_milliseconds is not None:
            return timedelta(milliseconds=self.duration_milliseconds)
        return parse_iso_duration(self.duration_text)

    @property
    def diarization_enabled(self) -> bool:
        """Whether speakers are told apart, in either version's shape."""
        if self.diarization is not None and self.diarization.enabled is not None:
            return self.diarization.enabled
        return bool(self.diarization_flag)

    @property
    def max_speakers(self) -> int | None:
        """The most speakers expected, when the job says."""
        wire = self.diarization
        if wire is None:
            return None
        if wire.max_speakers is not None:
            return wire.max_speakers
        return wire.speakers.max_count if wire.speakers is not None else None


class TranscriptionLinks(msgspec.Struct, kw_only=True, frozen=True, gc=False):
    """``links`` of a transcription."""

    files: str | None = None
    """The URL of its result files' list."""


class Transcription(WithResponse, kw_only=True, frozen=True, rename="camel"):
    """A batch transcription job, as ``GET /speechtotext/transcriptions/{id}`` returns it (every version)."""

    self_url: str | None = msgspec.field(default=None, name="self")
    """The job's URL (with ``?api-version=`` on the dated versions)."""
    display_name: str | None = None
    description: str | None = None
    locale: str | None = None
    status: str | None = None
    """One of :class:`TranscriptionStatus`, as text (an unknown status is kept as it came)."""
    created_date_time: datetime | None = None
    last_action_date_time: datetime | None = None
    model: EntityReference | None = None
    dataset: EntityReference | None = None
    project: EntityReference | None = None
    links: TranscriptionLinks | None = None
    properties: TranscriptionProperties = msgspec.field(default_factory=TranscriptionProperties)
    custom_properties: dict[str, str] | None = None
    content_urls: tuple[str, ...] | None = None
    """Not returned by the service as documented; kept when an answer echoes it."""
    content_container_url: str | None = None

    @property
    def id(self) -> str | None:
        """The job's id: the last segment of :attr:`self_url`."""
        return _last_segment(self.self_url)

    @property
    def done(self) -> bool:
        """Whether the job has ended (``Succeeded`` or ``Failed``)."""
        return self.status in _TERMINAL

    @property
    def error(self) -> EntityError | None:
        """``properties.error``: why the job failed."""
        return self.properties.error


class FileLinks(msgspec.Struct, kw_only=True, frozen=True, gc=False, rename="camel"):
    """``links`` of a file."""

    content_url: str | None = None
    """Where the file's content is downloaded (a plain GET, usually with a SAS; no key)."""


class FileProperties(msgspec.Struct, kw_only=True, frozen=True, gc=False, rename="camel"):
    """``properties`` of a file."""

    size: int | None = None
    """In bytes."""
    duration_milliseconds: int | None = None
    duration_text: str | None = msgspec.field(default=None, name="duration")

    @property
    def duration(self) -> timedelta | None:
        """The audio duration the file covers, when the service says."""
        if self.duration_milliseconds is not None:
            return timedelta(milliseconds=self.duration_milliseconds)
        return parse_iso_duration(self.duration_text)


class TranscriptionFile(WithResponse, kw_only=True, frozen=True, rename="camel"):
    """A file of a transcription: a result (``kind="Transcription"``) or the report (``TranscriptionReport``)."""

    self_url: str | None = msgspec.field(default=None, name="self")
    name: str | None = None
    """Such as ``contenturl_0.json`` or ``report.json``."""
    kind: str | None = None
    links: FileLinks | None = None
    properties: FileProperties = msgspec.field(default_factory=FileProperties)
    created_date_time: datetime | None = None

    @property
    def id(self) -> str | None:
        """The file's id: the last segment of :attr:`self_url`."""
        return _last_segment(self.self_url)

    @property
    def content_url(self) -> str | None:
        """``links.contentUrl``."""
        return self.links.content_url if self.links is not None else None


def _last_segment(url: str | None) -> str | None:
    if not url:
        return None
    path = url.split("?", 1)[0].split("#", 1)[0].rstrip("/")
    return path.rsplit("/", 1)[-1] or None


# As in _fast: resolved here, before the package renames the classes' module.
msgspec.json.Decoder(Transcription)
msgspec.json.Decoder(TranscriptionFile)
