"""Batch transcription through the public client, against a batch service of the tests' own on loopback.

:class:`FakeBatch` keeps jobs in memory and answers like the service (201 + Location, 204 deletes, pages
with ``@nextLink``), with knobs for what the emulator never does: a submit whose answer is lost after the
job was made, odd versions' shapes, a job that fails. The end-to-end tests against the emulator are in
``test_batch_emulator.py``.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import msgspec
import pytest
from aiohttp import web

from speech_async import (
    BadRequestError,
    BatchDiarization,
    InvalidOptionsError,
    KeyCredential,
    LanguageIdentification,
    NotFoundError,
    PollInterval,
    RetryPolicy,
    SpeechClient,
    SpeechConnectionError,
    Transcription,
    TranscriptionFile,
    TranscriptionStatus,
)
from speech_async._resources.batch.transcriptions import SUBMIT_TAG

from ..support.http import serve_on_loopback
from ..support.management import FakeManagement

KEY = "batch-test-key"
QUICK = RetryPolicy(max_attempts=3, backoff_base=0.0, backoff_max=0.0)
FAST_POLLS = PollInterval(initial=0.01, factor=1.0, maximum=0.01)
EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "spec-examples"
AUDIO = "https://example.blob.core.windows.net/audio/hello.wav"


@dataclass
class FakeBatch(FakeManagement):
    """An in-memory batch service: each GET of a job moves it one step along ``lifecycle``."""

    lifecycle: tuple[str, ...] = ("NotStarted", "Running", "Succeeded")
    page_size: int = 100
    drop_submit_answers: int = 0
    """How many submits to answer by closing the connection, after making the job."""
    submit_statuses: list[int] = field(default_factory=list[int])
    """Statuses to answer submits with before making any job (429, 503...)."""
    retry_after: str | None = None
    refuse_filters: bool = False
    error: dict[str, str] | None = None
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict[str, dict[str, Any]])
    steps: dict[str, int] = field(default_factory=dict[str, int])

    async def route(self, request: web.Request, version: str, parts: list[str], body: Any) -> web.StreamResponse | None:
        if request.method == "POST" and parts in (["transcriptions:submit"], ["transcriptions"]):
            return await self.submit(request, version, body)
        if parts == ["transcriptions"] and request.method == "GET":
            return self.list_jobs(request, version)
        if len(parts) >= 2 and parts[0] == "transcriptions":
            job = self.jobs.get(parts[1])
            if request.method == "DELETE":
                self.jobs.pop(parts[1], None)
                return web.Response(status=204)
            if job is None:
                return web.json_response({"code": "NotFound", "message": "no such transcription"}, status=404)
            if len(parts) == 2 and request.method == "GET":
                return self.advance(parts[1], version)
            if len(parts) == 2 and request.method == "PATCH":
                job.update(body)
                return web.json_response(job, headers=self.headers())
            if parts[2:] == ["files"]:
                return self.list_files(request, parts[1], version)
            if len(parts) == 4 and parts[2] == "files":
                return web.json_response(self.file(parts[1], parts[3], version))
        return None

    def headers(self) -> dict[str, str]:
        return {} if self.retry_after is None else {"Retry-After": self.retry_after}

    async def submit(self, request: web.Request, version: str, body: dict[str, Any]) -> web.StreamResponse:
        if self.submit_statuses:
            status = self.submit_statuses.pop(0)
            code = {400: "InvalidArgument", 429: "TooManyRequests"}.get(status, "InternalServerError")
            return web.json_response({"code": code, "message": "as scripted"}, status=status)
        job_id = str(uuid.uuid4())
        job = {k: v for k, v in body.items() if k not in ("contentUrls", "contentContainerUrl")}
        job.update(
            {
                "self": self.url(f"transcriptions/{job_id}", version),
                "links": {"files": self.url(f"transcriptions/{job_id}/files", version)},
                "createdDateTime": "2026-12-02T01:00:00Z",
                "lastActionDateTime": "2026-12-02T01:00:00Z",
                "status": self.lifecycle[0],
            }
        )
        self.jobs[job_id] = job
        self.steps[job_id] = 0
        if self.drop_submit_answers:
            self.drop_submit_answers -= 1
            assert request.transport is not None
            request.transport.close()  # the job exists; its answer never arrives
            raise ConnectionResetError("dropped on purpose")
        return web.json_response(job, status=201, headers={"Location": job["self"], **self.headers()})

    def advance(self, job_id: str, version: str) -> web.StreamResponse:
        job = self.jobs[job_id]
        step = self.steps[job_id] = min(self.steps[job_id] + 1, len(self.lifecycle) - 1)
        job["status"] = self.lifecycle[step]
        if job["status"] == "Failed" and self.error is not None:
            job.setdefault("properties", {})["error"] = self.error
        return web.json_response(job, headers=self.headers())

    def list_jobs(self, request: web.Request, version: str) -> web.StreamResponse:
        jobs = list(self.jobs.values())
        wanted = request.query.get("filter")
        if wanted and self.refuse_filters:
            return web.json_response({"code": "InvalidArgument", "message": "UnsupportedFilter"}, status=400)
        if wanted and wanted.startswith("displayName eq '"):
            name = wanted[len("displayName eq '") : -1].replace("''", "'")
            jobs = [job for job in jobs if job.get("displayName") == name]
        return self.page(request, jobs, "transcriptions", version)

    def page(self, request: web.Request, items: list[Any], path: str, version: str) -> web.StreamResponse:
        skip = int(request.query.get("skip", "0"))
        top = int(request.query.get("top", str(self.page_size)))
        values = items[skip : skip + top]
        answer: dict[str, Any] = {"values": values}
        if skip + top < len(items):
            link = f"{self.base}{request.path}?skip={skip + top}&top={top}"
            answer["@nextLink"] = link + (f"&api-version={version}" if not version.startswith("v3.") else "")
        return web.json_response(answer, headers=self.headers())

    def file(self, job_id: str, file_id: str, version: str) -> dict[str, Any]:
        return {
            "self": self.url(f"transcriptions/{job_id}/files/{file_id}", version),
            "name": f"contenturl_{file_id}.json" if file_id != "report" else "report.json",
            "kind": "TranscriptionReport" if file_id == "report" else "Transcription",
            "links": {"contentUrl": f"https://example.blob.core.windows.net/results/{file_id}.json?sv=1&sig=x"},
            "properties": {"size": 3407},
            "createdDateTime": "2026-12-02T01:00:00Z",
        }

    def list_files(self, request: web.Request, job_id: str, version: str) -> web.StreamResponse:
        files = [self.file(job_id, str(n), version) for n in range(3)] + [self.file(job_id, "report", version)]
        return self.page(request, files, f"transcriptions/{job_id}/files", version)


@pytest.fixture
async def fake() -> AsyncIterator[Callable[..., Awaitable[tuple[SpeechClient, FakeBatch]]]]:
    """``await fake(**client_options)``: a :class:`FakeBatch` on loopback and a client of it."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(service: FakeBatch | None = None, **options: Any) -> tuple[SpeechClient, FakeBatch]:
            service = service or FakeBatch()
            service.base = await stack.enter_async_context(serve_on_loopback(service.app()))
            options.setdefault("retry", QUICK)
            client = await stack.enter_async_context(SpeechClient(service.base, KeyCredential(KEY), **options))
            return client, service

        yield start


# --- decoding the published examples ------------------------------------------------------------------


def _example(name: str) -> Any:
    data = json.loads((EXAMPLES / name).read_text())
    return next(iter(data["responses"].values()))["body"]


@pytest.mark.parametrize(
    "name",
    [
        "batch-transcription-get-2025-10-15.json",
        "batch-transcription-submit-urls-2025-10-15.json",
        "batch-transcription-submit-container-2025-10-15.json",
        "batch-transcription-submit-diarization-2025-10-15.json",
        "batch-transcription-submit-lid-2025-10-15.json",
        "batch-transcription-update-2025-10-15.json",
        "v3.1-transcription-create-multispeaker-diarization.json",
        "v3.2-transcription-create-simple-diarization.json",
    ],
)
def test_every_published_transcription_decodes_into_one_shape(name: str) -> None:
    body = _example(name)
    job = msgspec.json.decode(json.dumps(body), type=Transcription)
    assert job.self_url == body["self"]
    assert job.id == "ba7ea6f5-3065-40b7-b49a-a90f48584683"
    assert job.locale == body["locale"]
    assert job.status in {status.value for status in TranscriptionStatus}
    props = body["properties"]
    if "durationMilliseconds" in props:
        assert job.properties.duration == timedelta(milliseconds=props["durationMilliseconds"])
    if "duration" in props:
        assert job.properties.duration is not None
    if "timeToLiveHours" in props:
        assert job.properties.time_to_live == timedelta(hours=props["timeToLiveHours"])
    wire_diarization = props.get("diarizationEnabled") or props.get("diarization", {}).get("enabled")
    assert job.properties.diarization_enabled == bool(wire_diarization)


def test_the_versions_diarization_shapes_read_the_same() -> None:
    dated = msgspec.json.decode(
        json.dumps(_example("batch-transcription-submit-diarization-2025-10-15.json")), type=Transcription
    )
    v31 = msgspec.json.decode(
        json.dumps(_example("v3.1-transcription-create-multispeaker-diarization.json")), type=Transcription
    )
    assert dated.properties.diarization_enabled
    assert v31.properties.diarization_enabled
    assert dated.properties.max_speakers == 5 == v31.properties.max_speakers
    assert v31.properties.duration == timedelta(seconds=42) == dated.properties.duration


def test_files_of_the_published_list_decode() -> None:
    body = _example("batch-transcription-list-files-2025-10-15.json")
    files = msgspec.json.decode(json.dumps(body["values"]), type=list[TranscriptionFile])
    assert [file.name for file in files] == ["mywavefile1.wav.json", "mywavefile2.wav.json"]
    assert files[0].content_url is not None
    assert files[0].content_url.startswith("https://customspeech-usw")
    assert files[0].properties.size == 200
    assert files[0].id == "ee4733cd-b1a7-4813-87e2-00d582c28a29"
    single = msgspec.json.decode(
        json.dumps(_example("batch-transcription-get-file-2025-10-15.json")), type=TranscriptionFile
    )
    assert single.kind == "Transcription"


def test_unknown_members_and_statuses_are_kept_or_skipped() -> None:
    job = msgspec.json.decode(
        b'{"self": "https://h/speechtotext/transcriptions/x1", "status": "Paused", "brandNew": {"a": 1}}',
        type=Transcription,
    )
    assert job.status == "Paused"
    assert not job.done
    assert job.id == "x1"


# --- submit: one body for every version ---------------------------------------------------------------


async def test_submit_on_the_default_version_posts_to_transcriptions_submit(fake: Any) -> None:
    client, service = await fake()

    poller = await client.batch.begin_transcription(
        content_urls=[AUDIO], locale="en-US", display_name="one", word_level_timestamps=True
    )

    (post,) = service.of("POST")
    assert post.path == "/speechtotext/transcriptions:submit"
    assert post.query == {"api-version": "2025-10-15"}
    assert post.key == KEY
    assert post.body["contentUrls"] == [AUDIO]
    assert post.body["properties"] == {"wordLevelTimestampsEnabled": True, "timeToLiveHours": 48}
    assert set(post.body["customProperties"]) == {SUBMIT_TAG}
    assert poller.status == "NotStarted"
    assert not poller.done()
    assert poller.transcription.display_name == "one"


@pytest.mark.parametrize(
    ("version", "path", "properties"),
    [
        (
            "2024-11-15",
            "/speechtotext/transcriptions:submit",
            {"timeToLiveHours": 12, "diarization": {"enabled": True, "maxSpeakers": 5}},
        ),
        (
            "v3.2",
            "/speechtotext/v3.2/transcriptions",
            {
                "timeToLive": "PT12H",
                "diarizationEnabled": True,
                "diarization": {"speakers": {"minCount": 1, "maxCount": 5}},
            },
        ),
        (
            "v3.1",
            "/speechtotext/v3.1/transcriptions",
            {
                "timeToLive": "PT12H",
                "diarizationEnabled": True,
                "diarization": {"speakers": {"minCount": 1, "maxCount": 5}},
            },
        ),
    ],
    ids=["2024-11-15", "v3.2", "v3.1"],
)
async def test_the_same_arguments_make_each_versions_body(
    fake: Any, version: str, path: str, properties: dict[str, Any]
) -> None:
    client, service = await fake(management_api_version=version)

    poller = await client.batch.begin_transcription(
        content_urls=[AUDIO],
        locale="en-US",
        display_name="same",
        diarization=BatchDiarization(max_speakers=5),
        time_to_live=timedelta(hours=12),
    )

    (post,) = service.of("POST")
    assert post.path == path
    assert post.body["properties"] == properties
    # The answer reads the same whatever the version's shape.
    assert poller.transcription.properties.diarization_enabled
    assert poller.transcription.properties.max_speakers == 5
    assert poller.transcription.properties.time_to_live == timedelta(hours=12)


async def test_v3_without_a_time_to_live_sends_none(fake: Any) -> None:
    client, service = await fake(management_api_version="v3.2")
    await client.batch.begin_transcription(
        content_container_url="https://a.blob.core.windows.net/c?sp=rl&sig=s", locale="de-DE", display_name="c"
    )
    (post,) = service.of("POST")
    assert "properties" not in post.body
    assert post.body["contentContainerUrl"].endswith("sp=rl&sig=s")


async def test_extra_properties_pass_through_and_lid_is_encoded(fake: Any) -> None:
    client, service = await fake()
    await client.batch.begin_transcription(
        content_urls=[AUDIO],
        locale="en-US",
        display_name="x",
        language_identification=LanguageIdentification(candidate_locales=("en-US", "de-DE"), mode="Single"),
        extra_properties={"someNewSetting": {"on": True}},
        custom_properties={"team": "a"},
    )
    (post,) = service.of("POST")
    assert post.body["properties"]["languageIdentification"] == {
        "candidateLocales": ["en-US", "de-DE"],
        "mode": "Single",
    }
    assert post.body["properties"]["someNewSetting"] == {"on": True}
    assert post.body["customProperties"]["team"] == "a"


def _urls(n: int) -> list[str]:
    return [f"https://example.com/{i}.wav" for i in range(n)]


PAST = (datetime.now(timezone.utc) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
FUTURE = (datetime.now(timezone.utc) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")

BAD_SUBMITS: list[tuple[str, dict[str, Any], str]] = [
    ("no-source", {}, "exactly one audio source"),
    ("two-sources", {"content_urls": [AUDIO], "content_container_url": "https://a.b/c"}, "exactly one audio source"),
    ("too-many-urls", {"content_urls": _urls(1001)}, "more than the service's 1000"),
    ("a-bare-string", {"content_urls": AUDIO}, "content_urls=[url]"),
    ("empty-urls", {"content_urls": []}, "empty"),
    ("plain-http", {"content_urls": ["http://example.com/a.wav"]}, "must be an https URL"),
    ("relative-url", {"content_urls": ["/a.wav"]}, "not an absolute URL"),
    ("user-info", {"content_urls": ["https://u:p@example.com/a.wav"]}, "user info"),
    ("expired-sas", {"content_urls": [f"https://a.blob.core.windows.net/c/a.wav?se={PAST}&sp=r&sig=s"]}, "expired"),
    (
        "container-without-list",
        {"content_container_url": f"https://a.blob.core.windows.net/c?se={FUTURE}&sp=r&sig=s"},
        "needs 'rl'",
    ),
    (
        "destination-without-write",
        {"content_urls": [AUDIO], "destination_container_url": "https://a.blob.core.windows.net/o?sp=rl&sig=s"},
        "needs 'w'",
    ),
    ("bad-locale", {"content_urls": [AUDIO], "locale": "english"}, "not a BCP-47 locale"),
    ("no-locale", {"content_urls": [AUDIO], "locale": ""}, "not a BCP-47 locale"),
    ("empty-name", {"content_urls": [AUDIO], "display_name": " "}, "must not be empty"),
    (
        "eleven-properties",
        {"content_urls": [AUDIO], "custom_properties": {str(i): "v" for i in range(11)}},
        "more than the service's 10",
    ),
    ("long-key", {"content_urls": [AUDIO], "custom_properties": {"k" * 65: "v"}}, "1 to 64 characters"),
    ("long-value", {"content_urls": [AUDIO], "custom_properties": {"k": "v" * 257}}, "more than 256"),
    ("non-text-value", {"content_urls": [AUDIO], "custom_properties": {"k": 1}}, "map text to text"),
    ("the-tag-key", {"content_urls": [AUDIO], "custom_properties": {SUBMIT_TAG: "x"}}, "the client's own"),
    ("ttl-too-short", {"content_urls": [AUDIO], "time_to_live": timedelta(hours=5)}, "6 to 744 hours"),
    ("ttl-too-long", {"content_urls": [AUDIO], "time_to_live": timedelta(days=32)}, "6 to 744 hours"),
    (
        "ttl-not-whole-hours",
        {"content_urls": [AUDIO], "time_to_live": timedelta(hours=6, minutes=30)},
        "whole number of hours",
    ),
    ("ttl-as-a-number", {"content_urls": [AUDIO], "time_to_live": 48}, "datetime.timedelta"),
    ("too-many-speakers", {"content_urls": [AUDIO], "diarization": BatchDiarization(max_speakers=36)}, "out of range"),
    ("one-speaker-dated", {"content_urls": [AUDIO], "diarization": BatchDiarization(max_speakers=1)}, "2 to 35"),
    ("min-speakers-dated", {"content_urls": [AUDIO], "diarization": BatchDiarization(min_speakers=2)}, "v3.x setting"),
    ("bad-channels", {"content_urls": [AUDIO], "channels": [0, -1]}, "channel numbers"),
    ("bad-punctuation", {"content_urls": [AUDIO], "punctuation_mode": "Loud"}, "not one of"),
    ("bad-profanity", {"content_urls": [AUDIO], "profanity_filter_mode": "Hidden"}, "not one of"),
    ("one-candidate", {"content_urls": [AUDIO], "language_identification": ["en-US"]}, "2 to 10 candidate"),
    ("bad-candidate", {"content_urls": [AUDIO], "language_identification": ["en-US", "xx_YY"]}, "BCP-47"),
    ("extra-overrides", {"content_urls": [AUDIO], "extra_properties": {"timeToLiveHours": 6}}, "already sets"),
    ("extra-unencodable", {"content_urls": [AUDIO], "extra_properties": {"x": object()}}, "cannot be encoded"),
    ("bad-model", {"content_urls": [AUDIO], "model": "base-model-id"}, "entity's URL"),
    ("bad-poll-interval", {"content_urls": [AUDIO], "poll_interval": -1}, "at least 0"),
    ("bad-deadline", {"content_urls": [AUDIO], "deadline": 0}, "more than 0"),
    ("retired-version", {"content_urls": [AUDIO], "api_version": "v3.0"}, "retired"),
    ("token-and-args", {"content_urls": [AUDIO], "continuation_token": "x"}, "cannot be given with it"),
    (
        "damaged-token",
        {"locale": None, "display_name": None, "continuation_token": "speech_async.batch:%%%"},
        "damaged",
    ),
    ("foreign-token", {"locale": None, "display_name": None, "continuation_token": "not-a-token"}, "not a batch"),
]


@pytest.mark.parametrize(("case", "arguments", "says"), BAD_SUBMITS, ids=[case for case, _, _ in BAD_SUBMITS])
async def test_bad_submits_fail_before_sending(fake: Any, case: str, arguments: dict[str, Any], says: str) -> None:
    client, service = await fake()
    # None here means "left out" (the resuming cases leave the job's own arguments out).
    given = dict({"locale": "en-US", "display_name": "bad", **arguments}.items())
    given = {key: value for key, value in given.items() if value is not None}

    with pytest.raises(InvalidOptionsError, match=re.escape(says)):
        await client.batch.begin_transcription(**given)

    assert service.seen == []


async def test_lid_mode_is_refused_on_v31(fake: Any) -> None:
    client, service = await fake(management_api_version="v3.1")
    with pytest.raises(InvalidOptionsError, match=r"not part of v3\.1"):
        await client.batch.begin_transcription(
            content_urls=[AUDIO],
            locale="en-US",
            display_name="x",
            language_identification=LanguageIdentification(candidate_locales=("en-US", "de-DE"), mode="Continuous"),
        )
    assert service.seen == []


async def test_loopback_http_audio_is_allowed_for_an_emulator(fake: Any) -> None:
    client, service = await fake()
    await client.batch.begin_transcription(
        content_urls=["http://127.0.0.1:10000/a.wav"], locale="en-US", display_name="x"
    )
    assert len(service.of("POST")) == 1


# --- a submit is never sent twice ---------------------------------------------------------------------


async def test_a_lost_submit_answer_is_recovered_by_its_tag_not_resent(fake: Any) -> None:
    client, service = await fake()
    await client.batch.begin_transcription(content_urls=[AUDIO], locale="en-US", display_name="other")
    service.drop_submit_answers = 1

    poller = await client.batch.begin_transcription(content_urls=[AUDIO], locale="en-US", display_name="it's mine")

    assert len(service.jobs) == 2  # the first job, and this one: made once
    posts = service.of("POST")
    assert len(posts) == 2
    tag = posts[1].body["customProperties"][SUBMIT_TAG]
    assert poller.transcription.custom_properties is not None
    assert poller.transcription.custom_properties[SUBMIT_TAG] == tag
    (search,) = [seen for seen in service.of("GET") if seen.path == "/speechtotext/transcriptions"]
    assert search.query["filter"] == "displayName eq 'it''s mine'"


async def test_a_lost_answer_without_room_for_a_tag_raises_instead_of_resending(fake: Any) -> None:
    client, service = await fake(FakeBatch(drop_submit_answers=1))
    ten = {f"k{i}": "v" for i in range(10)}

    with pytest.raises(SpeechConnectionError):
        await client.batch.begin_transcription(
            content_urls=[AUDIO], locale="en-US", display_name="full", custom_properties=ten
        )

    assert len(service.of("POST")) == 1
    assert len(service.jobs) == 1


async def test_a_service_that_refuses_the_filter_is_searched_in_full(fake: Any) -> None:
    client, service = await fake(FakeBatch(refuse_filters=True))
    await client.batch.begin_transcription(content_urls=[AUDIO], locale="en-US", display_name="first")
    service.drop_submit_answers = 1

    poller = await client.batch.begin_transcription(content_urls=[AUDIO], locale="en-US", display_name="second")

    assert poller.transcription.display_name == "second"
    assert len(service.jobs) == 2
    searches = [seen.query.get("filter") for seen in service.of("GET") if seen.path == "/speechtotext/transcriptions"]
    assert searches == ["displayName eq 'second'", None]


async def test_a_refused_submit_is_not_sent_again(fake: Any) -> None:
    client, service = await fake(FakeBatch(submit_statuses=[400]))
    with pytest.raises(BadRequestError):
        await client.batch.begin_transcription(content_urls=[AUDIO], locale="en-US", display_name="no")
    assert len(service.seen) == 1


async def test_a_throttled_submit_is_sent_again(fake: Any) -> None:
    client, service = await fake(FakeBatch(submit_statuses=[429]))
    poller = await client.batch.begin_transcription(content_urls=[AUDIO], locale="en-US", display_name="t")
    assert len(service.of("POST")) == 2
    assert len(service.jobs) == 1
    assert poller.id in service.jobs


async def test_a_5xx_submit_is_searched_for_before_it_is_sent_again(fake: Any) -> None:
    client, service = await fake(FakeBatch(submit_statuses=[503]))
    await client.batch.begin_transcription(content_urls=[AUDIO], locale="en-US", display_name="t5")
    methods = [(seen.method, seen.path) for seen in service.seen]
    assert methods == [
        ("POST", "/speechtotext/transcriptions:submit"),
        ("GET", "/speechtotext/transcriptions"),
        ("POST", "/speechtotext/transcriptions:submit"),
    ]
    assert len(service.jobs) == 1


# --- get, update, delete, lists -----------------------------------------------------------------------


async def test_get_update_delete(fake: Any) -> None:
    client, service = await fake()
    poller = await client.batch.begin_transcription(content_urls=[AUDIO], locale="en-US", display_name="g")
    job_id = poller.id
    assert job_id is not None

    job = await client.batch.get_transcription(job_id)
    assert job.status == "Running"
    assert job.response is not None

    updated = await client.batch.update_transcription(job_id, display_name="renamed", custom_properties={"a": "b"})
    assert updated.display_name == "renamed"
    assert service.of("PATCH")[0].body == {"displayName": "renamed", "customProperties": {"a": "b"}}

    await client.batch.delete_transcription(job_id)
    await client.batch.delete_transcription(job_id)  # absent: still no error
    with pytest.raises(NotFoundError):
        await client.batch.get_transcription(job_id)


@pytest.mark.parametrize(
    ("call", "says"),
    [
        (lambda b: b.get_transcription("../x"), "not an id"),
        (lambda b: b.update_transcription("abc"), "needs display_name"),
        (lambda b: b.delete_transcription(""), "not an id"),
        (lambda b: b.get_file("abc", "a/b"), "not an id"),
    ],
    ids=["path-in-id", "nothing-to-update", "empty-id", "path-in-file-id"],
)
async def test_bad_ids_and_empty_updates_fail_before_sending(fake: Any, call: Any, says: str) -> None:
    client, service = await fake()
    with pytest.raises(InvalidOptionsError, match=says):
        await call(client.batch)
    assert service.seen == []


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [({"top": 0}, "at least 1"), ({"skip": -1}, "at least 0"), ({"filter": ""}, "non-empty")],
    ids=["top-0", "negative-skip", "empty-filter"],
)
async def test_bad_list_arguments_fail_at_once(fake: Any, kwargs: dict[str, Any], says: str) -> None:
    client, service = await fake()
    with pytest.raises(InvalidOptionsError, match=says):
        client.batch.list_transcriptions(**kwargs)
    assert service.seen == []


async def test_listing_follows_every_page_past_100(fake: Any) -> None:
    client, service = await fake()
    for n in range(230):
        await client.batch.begin_transcription(content_urls=[AUDIO], locale="en-US", display_name=f"job {n}")

    names = [job.display_name async for job in client.batch.list_transcriptions()]

    assert names == [f"job {n}" for n in range(230)]
    lists = [seen for seen in service.of("GET") if seen.path == "/speechtotext/transcriptions"]
    assert [seen.query for seen in lists] == [
        {"api-version": "2025-10-15"},
        {"skip": "100", "top": "100", "api-version": "2025-10-15"},
        {"skip": "200", "top": "100", "api-version": "2025-10-15"},
    ]


async def test_files_with_sas_lifetime_per_version(fake: Any) -> None:
    client, service = await fake(FakeBatch(page_size=2))
    poller = await client.batch.begin_transcription(content_urls=[AUDIO], locale="en-US", display_name="f")
    assert poller.id is not None

    files = [
        f
        async for f in client.batch.list_files(
            poller.id, sas_lifetime=timedelta(hours=1), filter="kind eq 'Transcription'"
        )
    ]
    assert [f.name for f in files] == ["contenturl_0.json", "contenturl_1.json", "contenturl_2.json", "report.json"]
    first = next(seen for seen in service.of("GET") if seen.path.endswith("/files"))
    assert first.query == {"sasLifetimeMinutes": "60", "filter": "kind eq 'Transcription'", "api-version": "2025-10-15"}

    one = await client.batch.get_file(poller.id, "report", sas_lifetime=timedelta(minutes=5), api_version="v3.2")
    assert one.kind == "TranscriptionReport"
    assert service.seen[-1].path == f"/speechtotext/v3.2/transcriptions/{poller.id}/files/report"
    assert service.seen[-1].query == {"sasValidityInSeconds": "300"}

    with pytest.raises(InvalidOptionsError, match="whole number of minutes"):
        client.batch.list_files(poller.id, sas_lifetime=timedelta(seconds=90))


async def test_a_with_options_view_has_its_own_batch(fake: Any) -> None:
    client, _ = await fake()
    view = client.with_options(retry=0)
    assert view.batch is not client.batch
    assert view.batch is view.batch
    assert view.batch._ctx.call.retry.max_attempts == 1  # pyright: ignore[reportPrivateUsage]
