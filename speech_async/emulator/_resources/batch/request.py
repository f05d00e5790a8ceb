"""Checking a submitted transcription (``Transcription`` body) and an update (``TranscriptionUpdate``), per version.

Field tables: addendum §3.3. 2024-11-15 and later require ``properties.timeToLiveHours`` (6..744) and
use ``diarization {enabled, maxSpeakers}``; v3.x uses ``timeToLive`` (ISO 8601, optional),
``diarizationEnabled`` and ``diarization {speakers {minCount, maxCount}}``, and has ``email``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final, cast

import msgspec

from ..._errors import emulator_error, invalid_request
from ..._locales import SUBMIT_LOCALES
from .errors import bad_value, invalid_payload

__all__ = (
    "MAX_CONTENT_URLS",
    "V3_VERSIONS",
    "VERSIONS",
    "Submission",
    "check_update",
    "decode_object",
    "is_v3",
    "parse_submission",
)

V3_VERSIONS: Final = ("v3.1", "v3.2")
# Oldest first: a job created with one version cannot be read with an older one.
VERSIONS: Final = ("v3.1", "v3.2", "2024-11-15", "2025-10-15")
MAX_CONTENT_URLS: Final = 1000
_PUNCTUATION: Final = ("None", "Dictated", "Automatic", "DictatedAndAutomatic")
_PROFANITY: Final = ("None", "Removed", "Tags", "Masked")
_TTL_HOURS: Final = (6, 744)
_MAX_TTL_SECONDS: Final = 31 * 24 * 3600
_DURATION: Final = re.compile(
    r"P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?"
)
# Members that exist in only one family of versions (addendum §3.3).
_V3_ONLY: Final = ("timeToLive", "diarizationEnabled", "email")
_NEW_ONLY: Final = ("timeToLiveHours",)


def _object(value: object) -> dict[str, Any] | None:
    """``value`` as a JSON object (string keys, as msgspec decodes them), or ``None``."""
    return cast("dict[str, Any]", value) if isinstance(value, dict) else None


def _list(value: object) -> list[Any] | None:
    return cast("list[Any]", value) if isinstance(value, list) else None


def is_v3(version: str) -> bool:
    """Whether ``version`` is path-versioned (v3.1, v3.2)."""
    return version in V3_VERSIONS


@dataclass(frozen=True, kw_only=True)
class Submission:
    """A checked submission: what the job echoes and what processing needs."""

    version: str
    display_name: str
    description: str | None
    locale: str
    custom_properties: dict[str, str] | None
    content_urls: tuple[str, ...] = ()
    container_url: str | None = None
    # properties.destinationContainerUrl: a writable container SAS URL for the result files.
    destination_url: str | None = None
    project: dict[str, Any] | None = None
    model: dict[str, Any] | None = None
    word_timestamps: bool = False
    display_word_timestamps: bool = False
    channels: tuple[int, ...] = (0, 1)
    punctuation_mode: str = "DictatedAndAutomatic"
    profanity_filter_mode: str = "Masked"
    ttl_seconds: float | None = None
    # What properties echo, as sent: timeToLiveHours / timeToLive, diarization, languageIdentification ...
    echoed: dict[str, Any] = field(default_factory=dict[str, Any])
    diarization: bool = False
    language_identification: bool = False


def decode_object(raw: bytes) -> dict[str, Any]:
    """The JSON object of a request body; anything else is a 400."""
    try:
        document: object = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        # unverified: the codes for a body that is not JSON.
        raise invalid_request("InvalidRequestBodyFormat", "The request body is not valid JSON.") from None
    shaped = _object(document)
    if shaped is None:
        raise invalid_request("InvalidRequestBodyFormat", "The request body must be a JSON object.")
    return shaped


def _text(document: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = document.get(name)
    if value is None:
        if required:
            raise invalid_payload(f"The property transcription.{name} is missing.")
        return None
    if not isinstance(value, str) or (required and not value):
        raise invalid_payload(f"The property transcription.{name} must be a non-empty string.")
    return value


def _custom_properties(value: object) -> dict[str, str] | None:
    if value is None:
        return None
    # Digest §2: a string-to-string map, at most 10 entries, keys <= 64 and values <= 256 characters.
    mapping = _object(value)
    if mapping is None:
        raise bad_value("InvalidParameterValue", "customProperties must be an object of strings.")
    entries: dict[str, str] = {}
    for key, item in mapping.items():
        if not isinstance(item, str):
            raise bad_value("InvalidParameterValue", "customProperties values must be strings.")
        if len(key) > 64 or len(item) > 256:
            raise bad_value(
                "InvalidParameterValue", "customProperties keys are at most 64 and values at most 256 characters."
            )
        entries[key] = item
    if len(entries) > 10:
        raise bad_value("InvalidParameterValue", "customProperties has at most 10 entries.")
    return entries


def _reference(value: object, name: str) -> dict[str, Any] | None:
    if value is None:
        return None
    reference = _object(value)
    if reference is None or not isinstance(reference.get("self"), str):
        raise invalid_payload(f'The property transcription.{name} must be an entity reference {{"self": url}}.')
    return {"self": reference["self"]}


def _bool(properties: dict[str, Any], name: str) -> bool:
    value = properties.get(name, False)
    if not isinstance(value, bool):
        raise invalid_payload(f"The property transcription.properties.{name} must be a boolean.")
    return value


def _iso_seconds(text: str) -> float | None:
    match = _DURATION.fullmatch(text)
    if match is None or text in ("P", "PT") or text.endswith("T"):
        return None
    parts = {name: float(match.group(name) or 0) for name in ("d", "h", "m", "s")}
    return parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]


def _version_fields(properties: dict[str, Any], version: str) -> None:
    # unverified: the service may ignore members of another version; the emulator refuses them so that a
    # client sending the wrong family of names hears about it.
    wrong = _NEW_ONLY if is_v3(version) else _V3_ONLY
    for name in wrong:
        if name in properties:
            raise invalid_payload(f"The property transcription.properties.{name} is not part of API version {version}.")
    diarization = _object(properties.get("diarization"))
    if diarization is not None:
        names = set(diarization)
        foreign = names & ({"enabled", "maxSpeakers"} if is_v3(version) else {"speakers"})
        if foreign:
            raise invalid_payload(
                f"The property transcription.properties.diarization.{sorted(foreign)[0]} "
                f"is not part of API version {version}."
            )


def _ttl(properties: dict[str, Any], version: str) -> tuple[float | None, dict[str, Any]]:
    if is_v3(version):
        value = properties.get("timeToLive")
        if value is None:
            return None, {}
        seconds = _iso_seconds(value) if isinstance(value, str) else None
        if seconds is None or seconds > _MAX_TTL_SECONDS:
            raise bad_value("InvalidTimeToLive", "timeToLive must be an ISO 8601 duration of at most 31 days.")
        # Spec: "0 or unset disables" the automatic deletion.
        return (seconds or None), {"timeToLive": value}
    hours = properties.get("timeToLiveHours")
    if hours is None:
        raise bad_value("InvalidTimeToLive", "The property transcription.properties.timeToLiveHours is required.")
    low, high = _TTL_HOURS
    if not isinstance(hours, int) or isinstance(hours, bool) or not low <= hours <= high:
        raise bad_value("InvalidTimeToLive", f"timeToLiveHours must be an integer from {low} to {high}.")
    return hours * 3600.0, {"timeToLiveHours": hours}


def _diarization(properties: dict[str, Any], version: str) -> tuple[bool, dict[str, Any]]:
    echoed: dict[str, Any] = {}
    value = properties.get("diarization")
    if is_v3(version):
        enabled = _bool(properties, "diarizationEnabled")
        if "diarizationEnabled" in properties:
            echoed["diarizationEnabled"] = enabled
        if value is not None:
            speakers = _object((_object(value) or {}).get("speakers")) or {}
            low = speakers.get("minCount")
            high = speakers.get("maxCount")
            if not (isinstance(low, int) and isinstance(high, int) and 1 <= low <= high < 36):
                raise bad_value("InvalidParameterValue", "diarization.speakers needs 1 <= minCount <= maxCount < 36.")
            echoed["diarization"] = {"speakers": {"minCount": low, "maxCount": high}}
        return enabled, echoed
    if value is None:
        return False, echoed
    settings = _object(value)
    if settings is None:
        raise invalid_payload("The property transcription.properties.diarization must be an object.")
    enabled = settings.get("enabled", False)
    speakers = settings.get("maxSpeakers")
    if not isinstance(enabled, bool):
        raise invalid_payload("diarization.enabled must be a boolean.")
    if speakers is not None and not (isinstance(speakers, int) and 2 <= speakers <= 35):
        raise bad_value("InvalidParameterValue", "diarization.maxSpeakers must be an integer from 2 to 35.")
    shaped: dict[str, Any] = {"enabled": enabled}
    if speakers is not None:
        shaped["maxSpeakers"] = speakers
    echoed["diarization"] = shaped
    return enabled, echoed


def _channels(properties: dict[str, Any], version: str) -> tuple[int, ...]:
    value = properties.get("channels", [0, 1])
    channels = _list(value)
    if not channels or not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in channels):
        # v3.1 has no InvalidChannels (addendum §3.6).
        code = "InvalidParameterValue" if version == "v3.1" else "InvalidChannels"
        raise bad_value(code, "channels must be a non-empty list of channel numbers (0, 1, ...).")
    return tuple(dict.fromkeys(channels))


def _choice(properties: dict[str, Any], name: str, choices: tuple[str, ...], default: str) -> str:
    value = properties.get(name, default)
    if value not in choices:
        raise bad_value("InvalidParameterValue", f"{name} must be one of {', '.join(choices)}.")
    return value


def _sources(document: dict[str, Any]) -> tuple[tuple[str, ...], str | None]:
    urls = document.get("contentUrls")
    url_list = _list(urls)
    container = document.get("contentContainerUrl")
    given = [name for name in ("contentUrls", "contentContainerUrl", "dataset") if document.get(name) is not None]
    if len(given) != 1:
        raise bad_value(
            "OnlyOneOfUrlsOrContainerOrDataset",
            "Exactly one of contentUrls, contentContainerUrl or dataset must be given.",
        )
    if document.get("dataset") is not None:
        raise emulator_error("DatasetInputUnsupported", "the emulator does not transcribe datasets")
    if urls is not None:
        if not url_list or not all(isinstance(u, str) for u in url_list):
            raise invalid_payload("The property transcription.contentUrls must be a non-empty list of URLs.")
        if len(url_list) > MAX_CONTENT_URLS:
            raise bad_value(
                "ExceededNumberOfRecordingsUris",
                f"At most {MAX_CONTENT_URLS} content URLs can be given in one transcription.",
            )
        return tuple(url_list), None
    if not isinstance(container, str) or not container:
        raise invalid_payload("The property transcription.contentContainerUrl must be a URL.")
    return (), container


def parse_submission(document: dict[str, Any], version: str) -> Submission:
    """Check a submission for ``version``; raises the 400s of the spec tables."""
    display_name = _text(document, "displayName", required=True)
    locale = _text(document, "locale", required=True)
    assert display_name is not None
    assert locale is not None
    if locale not in SUBMIT_LOCALES:
        raise bad_value("InvalidLocale", f"The locale '{locale}' is not supported.")
    description = _text(document, "description", required=False)
    custom = _custom_properties(document.get("customProperties"))
    if version == "2024-11-15" and "project" in document:
        # Addendum §3.3: 2024-11-15 has no project member.
        raise invalid_payload("The property transcription.project is not part of API version 2024-11-15.")
    project = _reference(document.get("project"), "project")
    model = _reference(document.get("model"), "model")
    urls, container = _sources(document)
    raw_properties = document.get("properties")
    if raw_properties is None and not is_v3(version):
        raise invalid_payload("The property transcription.properties is required.")
    properties = {} if raw_properties is None else _object(raw_properties)
    if properties is None:
        raise invalid_payload("The property transcription.properties must be an object.")
    _version_fields(properties, version)
    destination = properties.get("destinationContainerUrl")
    if destination is not None and (not isinstance(destination, str) or "?" not in destination):
        # The real message for a URL without a SAS (addendum §3.6, #1483).
        raise invalid_payload(
            "The property transcription.properties.DestinationContainerUrl is not a SAS URL for a container."
        )
    ttl, ttl_echo = _ttl(properties, version)
    diarization, diarization_echo = _diarization(properties, version)
    lid = properties.get("languageIdentification")
    if lid is not None and not isinstance((_object(lid) or {}).get("candidateLocales"), list):
        raise invalid_payload("languageIdentification needs candidateLocales.")
    echoed: dict[str, Any] = {**ttl_echo, **diarization_echo}
    if lid is not None:
        echoed["languageIdentification"] = lid
    email = properties.get("email")
    if isinstance(email, str):
        echoed["email"] = email
    return Submission(
        version=version,
        display_name=display_name,
        description=description,
        locale=locale,
        custom_properties=custom,
        content_urls=urls,
        container_url=container,
        destination_url=destination,
        project=project,
        model=model,
        word_timestamps=_bool(properties, "wordLevelTimestampsEnabled"),
        display_word_timestamps=_bool(properties, "displayFormWordLevelTimestampsEnabled"),
        channels=_channels(properties, version),
        punctuation_mode=_choice(properties, "punctuationMode", _PUNCTUATION, "DictatedAndAutomatic"),
        profanity_filter_mode=_choice(properties, "profanityFilterMode", _PROFANITY, "Masked"),
        ttl_seconds=ttl,
        echoed=echoed,
        diarization=diarization,
        language_identification=lid is not None,
    )


def check_update(document: dict[str, Any], version: str) -> dict[str, Any]:
    """The members of a ``TranscriptionUpdate`` to apply (displayName, description, customProperties, project)."""
    changes: dict[str, Any] = {}
    if "displayName" in document:
        name = document["displayName"]
        if not isinstance(name, str) or not name:
            raise invalid_payload("The property transcriptionUpdate.displayName must be a non-empty string.")
        changes["displayName"] = name
    if "description" in document:
        description = document["description"]
        if description is not None and not isinstance(description, str):
            raise invalid_payload("The property transcriptionUpdate.description must be a string.")
        changes["description"] = description
    if "customProperties" in document:
        changes["customProperties"] = _custom_properties(document["customProperties"])
    if "project" in document:
        if version == "2024-11-15":
            raise invalid_payload("The property transcriptionUpdate.project is not part of API version 2024-11-15.")
        changes["project"] = _reference(document["project"], "project")
    return changes
