"""The JSON of transcriptions, files and pages, per version, in the key order of the published examples.

2024-11-15 / 2025-10-15 (``batch-transcription-*-2025-10-15.json``): ``self, displayName, customProperties,
locale, createdDateTime, lastActionDateTime, model, links, properties, status``. v3.1 / v3.2
(``v3.1-transcription-create-*.json``, ``v3.2-transcription-create-*.json``): ``self, model, links,
properties, lastActionDateTime, status, createdDateTime, locale, displayName, customProperties``.
Files (``batch-transcription-get-file-2025-10-15.json``): ``self, name, kind, links, properties,
createdDateTime``. Plain dicts keep the order; msgspec writes them compactly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import msgspec

from .request import is_v3
from .results import iso_datetime, iso_duration

if TYPE_CHECKING:
    from .backend import Job, ResultFile

__all__ = ("BASE_MODEL_ID", "encode", "file_body", "transcription_body", "version_base")

# unverified: v3.x answers carry model {self: .../models/base/<id>} when none was requested (addendum §3.3);
# the emulator names one fixed base model, which it does not serve.
BASE_MODEL_ID: Final = "7e6b4b2e-1c36-4d5c-a8a5-4b8c2b1a9f10"


def version_base(origin: str, version: str) -> str:
    """``{origin}/speechtotext`` or ``{origin}/speechtotext/v3.x``."""
    return f"{origin}/speechtotext/{version}" if is_v3(version) else f"{origin}/speechtotext"


def _url(origin: str, version: str, path: str) -> str:
    base = version_base(origin, version)
    return f"{base}/{path}" if is_v3(version) else f"{base}/{path}?api-version={version}"


def _properties(job: Job, status: str, version: str) -> dict[str, Any]:
    submission = job.submission
    echoed = submission.echoed
    properties: dict[str, Any] = {}
    v3 = is_v3(version)
    if v3 and "diarizationEnabled" in echoed:
        properties["diarizationEnabled"] = echoed["diarizationEnabled"]
    properties["wordLevelTimestampsEnabled"] = submission.word_timestamps
    properties["displayFormWordLevelTimestampsEnabled"] = submission.display_word_timestamps
    properties["channels"] = list(submission.channels)
    properties["punctuationMode"] = submission.punctuation_mode
    properties["profanityFilterMode"] = submission.profanity_filter_mode
    finished = status in ("Succeeded", "Failed")
    if v3:
        # unverified: where timeToLive and email sit (the examples send neither).
        for name in ("timeToLive", "email"):
            if name in echoed:
                properties[name] = echoed[name]
        if finished:
            properties["duration"] = iso_duration(job.duration_ms)
        for name in ("diarization", "languageIdentification"):
            if name in echoed:
                properties[name] = echoed[name]
    else:
        for name in ("timeToLiveHours", "diarization", "languageIdentification"):
            if name in echoed:
                properties[name] = echoed[name]
        if finished:
            # unverified: whether durationMilliseconds is present before the job ends (the examples are Succeeded).
            properties["durationMilliseconds"] = job.duration_ms
    if status == "Failed" and job.error is not None:
        properties["error"] = {"code": job.error[0], "message": job.error[1]}
    return properties


def transcription_body(job: Job, *, status: str, last_action: float, origin: str, version: str) -> dict[str, Any]:
    """A transcription as ``version`` shows it."""
    submission = job.submission
    self_url = _url(origin, version, f"transcriptions/{job.id}")
    links = {"files": _url(origin, version, f"transcriptions/{job.id}/files")}
    model = submission.model
    if model is None and is_v3(version):
        model = {"self": _url(origin, version, f"models/base/{BASE_MODEL_ID}")}
    properties = _properties(job, status, version)
    head: dict[str, Any] = {}
    if job.description is not None:
        head["description"] = job.description
    if job.custom_properties is not None:
        head["customProperties"] = job.custom_properties
    if is_v3(version):
        body: dict[str, Any] = {"self": self_url}
        if model is not None:
            body["model"] = model
        if job.project is not None and version != "2024-11-15":
            body["project"] = job.project
        body["links"] = links
        body["properties"] = properties
        body["lastActionDateTime"] = iso_datetime(last_action)
        body["status"] = status
        body["createdDateTime"] = iso_datetime(job.created)
        body["locale"] = submission.locale
        body["displayName"] = job.display_name
        if job.description is not None:
            body["description"] = job.description
        if job.custom_properties is not None:
            body["customProperties"] = job.custom_properties
        return body
    body = {"self": self_url, "displayName": job.display_name, **head, "locale": submission.locale}
    body["createdDateTime"] = iso_datetime(job.created)
    body["lastActionDateTime"] = iso_datetime(last_action)
    if model is not None:
        body["model"] = model
    if job.project is not None and version != "2024-11-15":
        # unverified: where project sits (no example shows it).
        body["project"] = job.project
    body["links"] = links
    body["properties"] = properties
    body["status"] = status
    return body


def file_body(job: Job, file: ResultFile, *, origin: str, version: str, content_url: str) -> dict[str, Any]:
    """A file entry (``File``) as ``version`` shows it."""
    properties: dict[str, Any] = {"size": len(file.data)}
    if file.duration_ms is not None:
        # Addendum §3.4: durationMilliseconds (2024-11-15+) or duration ISO (v3.x).
        if is_v3(version):
            properties["duration"] = iso_duration(file.duration_ms)
        else:
            properties["durationMilliseconds"] = file.duration_ms
    return {
        "self": _url(origin, version, f"transcriptions/{job.id}/files/{file.id}"),
        "name": file.name,
        "kind": file.kind,
        "links": {"contentUrl": content_url},
        "properties": properties,
        "createdDateTime": iso_datetime(file.created),
    }


def encode(body: object) -> bytes:
    """Compact JSON."""
    return msgspec.json.encode(body)
