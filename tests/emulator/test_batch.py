"""Batch transcription in the emulator over real loopback HTTP: every route, all four versions.

Raw aiohttp requests, so status codes, bodies, key order and headers are what is checked. Jobs move
on a fake clock; audio is served at content URLs by a loopback server of the test's own.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web
from azure.storage.blob import ContainerSasPermissions, generate_container_sas
from azure.storage.blob.aio import ContainerClient

from speech_async.emulator import (
    BatchConfig,
    Emulator,
    EmulatorConfig,
    Fault,
    ScriptedPhrase,
    ScriptedTranscript,
)

from ..support.azurite import Azurite
from ..support.bodies import key_orders
from ..support.clock import START
from ..support.clock import FakeClock as Clock
from ..support.http import Reply, serve_on_loopback

KEY = "emulator-test-key"
HEADERS = {"Ocp-Apim-Subscription-Key": KEY}
NEW = ("2024-11-15", "2025-10-15")
V3 = ("v3.1", "v3.2")
ALL = (*V3, *NEW)
TRANSCRIPT = ScriptedTranscript(
    phrases=(
        ScriptedPhrase(text="Hello world.", offset_ms=760, duration_ms=1320, speaker=2),
        ScriptedPhrase(text="How are you?", offset_ms=2440, duration_ms=1000),
    )
)
# Key orders of the published examples (batch-transcription-get-2025-10-15.json, v3.2-transcription-create-*.json).
NEW_ORDER = ["self", "displayName", "locale", "createdDateTime", "lastActionDateTime", "links", "properties", "status"]
V3_ORDER = [
    "self",
    "model",
    "links",
    "properties",
    "lastActionDateTime",
    "status",
    "createdDateTime",
    "locale",
    "displayName",
]
FILE_ORDER = ["self", "name", "kind", "links", "properties", "createdDateTime"]


@dataclass
class World:
    emulator: Emulator
    clock: Clock
    audio_url: str
    session: aiohttp.ClientSession

    async def call(self, method: str, path: str, body: object = None, **kwargs: Any) -> Reply:
        url = path if path.startswith("http") else self.emulator.url + path
        headers = kwargs.pop("headers", HEADERS)
        async with self.session.request(method, url, json=body, headers=headers, **kwargs) as response:
            return Reply(response.status, dict(response.headers), await response.read())

    async def submit(self, version: str, body: dict[str, Any]) -> Reply:
        if version in V3:
            return await self.call("POST", f"/speechtotext/{version}/transcriptions", body)
        return await self.call("POST", f"/speechtotext/transcriptions:submit?api-version={version}", body)

    def path(self, version: str, rest: str) -> str:
        if version in V3:
            return f"/speechtotext/{version}/{rest}"
        sep = "&" if "?" in rest else "?"
        return f"/speechtotext/{rest}{sep}api-version={version}"

    def finish(self) -> None:
        self.clock.now += 10


def submission(version: str, urls: list[str], **properties: Any) -> dict[str, Any]:
    props: dict[str, Any] = {} if version in V3 else {"timeToLiveHours": 48}
    props.update(properties)
    return {"displayName": "Job", "locale": "en-US", "contentUrls": urls, "properties": props}


@pytest.fixture
async def world(session: aiohttp.ClientSession, hello_bytes: bytes) -> AsyncIterator[World]:
    audio = web.Application()

    async def wav(request: web.Request) -> web.Response:
        return web.Response(body=hello_bytes, content_type="audio/wav")

    async def text(request: web.Request) -> web.Response:
        return web.Response(text="not audio at all, just text")

    audio.router.add_get("/hello.wav", wav)
    audio.router.add_get("/other.wav", wav)
    audio.router.add_get("/text.wav", text)
    clock = Clock()
    config = EmulatorConfig(
        key=KEY,
        recognizer="scripted",
        clock=clock,
        batch=BatchConfig(not_started_seconds=2, running_seconds=3),
    )
    async with serve_on_loopback(audio) as audio_url, Emulator(config) as emulator:
        emulator.scripted.register(hello_bytes, TRANSCRIPT)
        yield World(emulator, clock, audio_url, session)


# --- submit ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ALL)
async def test_submit_answers_201_with_location_and_the_versions_key_order(world: World, version: str) -> None:
    reply = await world.submit(version, submission(version, [world.audio_url + "/hello.wav"]))
    assert reply.status == 201
    body = reply.json()
    assert reply.headers["Location"] == body["self"]
    assert reply.headers["Retry-After"] == "2"
    assert body["status"] == "NotStarted"
    assert body["createdDateTime"] == "2023-11-14T22:13:20Z"
    outer = key_orders(reply.body)[-1]
    if version in V3:
        assert outer == V3_ORDER
        assert body["self"].endswith(f"/speechtotext/{version}/transcriptions/{body['self'].rsplit('/', 1)[1]}")
        assert body["links"]["files"] == body["self"] + "/files"
        assert "timeToLiveHours" not in body["properties"]
    else:
        assert outer == NEW_ORDER
        assert body["self"].endswith(f"?api-version={version}")
        assert "model" not in body
        assert body["properties"]["timeToLiveHours"] == 48
    props = body["properties"]
    assert props["channels"] == [0, 1]
    assert props["punctuationMode"] == "DictatedAndAutomatic"
    assert props["profanityFilterMode"] == "Masked"
    assert "contentUrls" not in body


def _inner(reply: Reply) -> tuple[int, str, str]:
    body = reply.json()
    return reply.status, body["code"], body["innerError"]["code"]


@pytest.mark.parametrize(
    ("version", "change", "expected"),
    [
        ("2025-10-15", {"displayName": None}, (400, "InvalidRequest", "InvalidPayload")),
        ("v3.2", {"locale": None}, (400, "InvalidRequest", "InvalidPayload")),
        ("2025-10-15", {"locale": "xx-XX"}, (400, "InvalidArgument", "InvalidLocale")),
        (
            "2025-10-15",
            {"contentContainerUrl": "http://x/c"},
            (400, "InvalidArgument", "OnlyOneOfUrlsOrContainerOrDataset"),
        ),
        ("v3.1", {"contentUrls": None}, (400, "InvalidArgument", "OnlyOneOfUrlsOrContainerOrDataset")),
        (
            "2025-10-15",
            {"contentUrls": [f"http://x/{n}.wav" for n in range(1001)]},
            (400, "InvalidArgument", "ExceededNumberOfRecordingsUris"),
        ),
        ("2025-10-15", {"customProperties": {"k": 1}}, (400, "InvalidArgument", "InvalidParameterValue")),
        (
            "2025-10-15",
            {"customProperties": {str(n): "v" for n in range(11)}},
            (400, "InvalidArgument", "InvalidParameterValue"),
        ),
        ("2025-10-15", {"customProperties": {"k" * 65: "v"}}, (400, "InvalidArgument", "InvalidParameterValue")),
        ("2024-11-15", {"properties": {}}, (400, "InvalidArgument", "InvalidTimeToLive")),
        ("2025-10-15", {"properties": {"timeToLiveHours": 5}}, (400, "InvalidArgument", "InvalidTimeToLive")),
        ("2025-10-15", {"properties": None}, (400, "InvalidRequest", "InvalidPayload")),
        (
            "2025-10-15",
            {"properties": {"timeToLiveHours": 48, "timeToLive": "PT12H"}},
            (400, "InvalidRequest", "InvalidPayload"),
        ),
        (
            "2025-10-15",
            {"properties": {"timeToLiveHours": 48, "diarizationEnabled": True}},
            (400, "InvalidRequest", "InvalidPayload"),
        ),
        ("v3.2", {"properties": {"timeToLiveHours": 48}}, (400, "InvalidRequest", "InvalidPayload")),
        ("v3.2", {"properties": {"diarization": {"enabled": True}}}, (400, "InvalidRequest", "InvalidPayload")),
        ("v3.1", {"properties": {"timeToLive": "P40D"}}, (400, "InvalidArgument", "InvalidTimeToLive")),
        ("2024-11-15", {"project": {"self": "http://x/p"}}, (400, "InvalidRequest", "InvalidPayload")),
        (
            "2025-10-15",
            {"properties": {"timeToLiveHours": 48, "diarization": {"enabled": True, "maxSpeakers": 36}}},
            (400, "InvalidArgument", "InvalidParameterValue"),
        ),
        ("v3.2", {"properties": {"channels": "0"}}, (400, "InvalidArgument", "InvalidChannels")),
        ("v3.1", {"properties": {"channels": []}}, (400, "InvalidArgument", "InvalidParameterValue")),
    ],
    ids=lambda value: json.dumps(value)[:40] if isinstance(value, dict) else str(value),
)
async def test_bad_submissions_are_400s_with_the_documented_codes(
    world: World, version: str, change: dict[str, Any], expected: tuple[int, str, str]
) -> None:
    body = submission(version, ["http://127.0.0.1:1/a.wav"])
    for name, value in change.items():
        if value is None:
            body.pop(name)
        else:
            body[name] = value
    reply = await world.submit(version, body)
    assert _inner(reply) == expected
    assert world.emulator.counters["transcriptions_submit" if version in NEW else "transcriptions_create_v3"] == 1


async def test_a_body_that_is_not_json_is_a_400(world: World) -> None:
    reply = await world.call(
        "POST", "/speechtotext/transcriptions:submit?api-version=2025-10-15", None, data=b"{nope", headers=HEADERS
    )
    assert _inner(reply) == (400, "InvalidRequest", "InvalidRequestBodyFormat")


async def test_submit_without_api_version_is_refused(world: World) -> None:
    reply = await world.call("POST", "/speechtotext/transcriptions:submit", submission("2025-10-15", ["http://x/a"]))
    assert reply.status == 400
    assert world.emulator.counters["transcriptions_submit"] == 1


# --- lifecycle, results, report ------------------------------------------------------------------------


@pytest.mark.parametrize("version", ALL)
async def test_a_job_runs_on_the_clock_and_exposes_results_and_report(world: World, version: str) -> None:
    urls = [world.audio_url + "/hello.wav", world.audio_url + "/missing.wav", world.audio_url + "/other.wav"]
    props: dict[str, Any] = {"wordLevelTimestampsEnabled": True, "displayFormWordLevelTimestampsEnabled": True}
    props.update(
        {"diarizationEnabled": True} if version in V3 else {"diarization": {"enabled": True, "maxSpeakers": 2}}
    )
    created = (await world.submit(version, submission(version, urls, **props))).json()
    location = created["self"]
    job_path = location.replace(world.emulator.url, "")

    world.clock.now += 2.5
    running = await world.call("GET", job_path)
    assert running.json()["status"] == "Running"
    assert running.headers["Retry-After"] == "3"
    files_early = await world.call("GET", created["links"]["files"])
    assert files_early.json()["values"] == []

    world.clock.now += 3
    done = await world.call("GET", job_path)
    assert done.status == 200
    job = done.json()
    assert job["status"] == "Succeeded"
    assert "Retry-After" not in done.headers
    assert job["lastActionDateTime"] == "2023-11-14T22:13:25Z"
    if version in V3:
        assert job["properties"]["duration"] == "PT10.036S"
    else:
        assert job["properties"]["durationMilliseconds"] == 10036

    listing = await world.call("GET", job["links"]["files"])
    assert listing.status == 200
    files = listing.json()["values"]
    assert [f["name"] for f in files] == ["contenturl_0.json", "contenturl_2.json", "report.json"]
    assert [f["kind"] for f in files] == ["Transcription", "Transcription", "TranscriptionReport"]
    for order in key_orders(listing.body):
        if "kind" in order:
            assert order == FILE_ORDER

    result_reply = await world.session.get(files[0]["links"]["contentUrl"])  # no key: a SAS URL
    async with result_reply:
        assert result_reply.status == 200
        result = await result_reply.json()
    assert result["source"] == urls[0]
    phrase = result["recognizedPhrases"][0]
    assert phrase["speaker"] == 2
    assert isinstance(phrase["offsetInTicks"], int)
    assert phrase["offsetInTicks"] == 7_600_000
    assert phrase["offset"] == "PT0.76S"
    assert phrase["nBest"][0]["display"] == "Hello world."
    assert phrase["nBest"][0]["words"][0]["word"] == "hello"
    assert phrase["nBest"][0]["displayWords"][0]["displayText"] == "Hello"
    if version in V3:
        assert "durationMilliseconds" not in result
        assert "offsetMilliseconds" not in phrase
    else:
        assert result["durationMilliseconds"] == 5018
        assert phrase["offsetMilliseconds"] == 760
        assert phrase["nBest"][0]["words"][0]["durationMilliseconds"] > 0
    assert list(result) == [
        "source",
        "timestamp",
        "durationInTicks",
        *([] if version in V3 else ["durationMilliseconds"]),
        "duration",
        "combinedRecognizedPhrases",
        "recognizedPhrases",
    ]

    async with world.session.get(files[2]["links"]["contentUrl"]) as response:
        report = await response.json()
    assert list(report) == ["successfulTranscriptionsCount", "failedTranscriptionsCount", "details"]
    assert report["successfulTranscriptionsCount"] == 2
    assert report["failedTranscriptionsCount"] == 1
    assert report["details"][1] == {
        "source": urls[1],
        "status": "Failed",
        "errorKind": "InvalidUri",
        "errorMessage": "The recordings URI is invalid.",
    }

    one = await world.call("GET", files[1]["self"])
    assert one.status == 200
    assert one.json()["name"] == "contenturl_2.json"
    assert "Retry-After" not in one.headers


async def test_a_job_whose_every_input_fails_is_failed(world: World) -> None:
    urls = [world.audio_url + "/text.wav", "ftp://nowhere/a.wav", world.audio_url + "/missing.wav"]
    created = (await world.submit("2025-10-15", submission("2025-10-15", urls))).json()
    world.finish()
    job = (await world.call("GET", created["self"])).json()
    assert job["status"] == "Failed"
    assert job["properties"]["error"] == {"code": "InvalidUri", "message": "The recordings URI contains invalid data."}
    files = (await world.call("GET", job["links"]["files"])).json()["values"]
    assert [f["name"] for f in files] == ["report.json"]
    async with world.session.get(files[0]["links"]["contentUrl"]) as response:
        report = await response.json()
    assert report["failedTranscriptionsCount"] == 3
    assert [d["errorKind"] for d in report["details"]] == ["InvalidData", "InvalidUri", "InvalidUri"]


async def test_an_expired_or_forged_sas_is_a_403_in_blob_xml(world: World) -> None:
    created = (await world.submit("2025-10-15", submission("2025-10-15", [world.audio_url + "/hello.wav"]))).json()
    world.finish()
    await world.call("GET", created["self"])
    files = (await world.call("GET", created["links"]["files"] + "&sasLifetimeMinutes=5")).json()["values"]
    url = files[0]["links"]["contentUrl"]
    query = parse_qs(urlsplit(url).query)
    assert set(query) == {"st", "se", "sp", "sv", "sr", "sig"}
    assert query["se"] == ["2023-11-14T22:18:30Z"]
    async with world.session.get(url) as response:
        assert response.status == 200
    forged = url.replace("sig=", "sig=x")
    async with world.session.get(forged) as response:
        assert response.status == 403
        assert response.content_type == "application/xml"
        assert "<Code>AuthenticationFailed</Code>" in await response.text()
    world.clock.now += 5 * 60 + 1
    async with world.session.get(url) as response:
        assert response.status == 403
        text = await response.text()
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code>')
    assert "Signed expiry time [2023-11-14T22:18:30Z]" in text
    assert world.emulator.counters["transcription_file_content"] == 3


async def test_time_to_live_removes_the_job_and_its_files(world: World) -> None:
    created = (await world.submit("2025-10-15", submission("2025-10-15", [world.audio_url + "/hello.wav"]))).json()
    world.finish()
    assert (await world.call("GET", created["self"])).status == 200
    files = (await world.call("GET", created["links"]["files"] + "&sasLifetimeMinutes=6000")).json()["values"]
    world.clock.now = START + 5 + 48 * 3600 - 1
    assert (await world.call("GET", created["self"])).status == 200
    world.clock.now += 1
    gone = await world.call("GET", created["self"])
    assert gone.status == 404
    assert gone.json()["code"] == "NotFound"
    async with world.session.get(files[0]["links"]["contentUrl"]) as response:
        assert response.status == 404
        assert "<Code>BlobNotFound</Code>" in await response.text()


async def test_v3_time_to_live_is_optional_and_iso(world: World) -> None:
    kept = (await world.submit("v3.2", submission("v3.2", [world.audio_url + "/hello.wav"]))).json()
    short = (await world.submit("v3.2", submission("v3.2", [world.audio_url + "/hello.wav"], timeToLive="PT1H"))).json()
    assert short["properties"]["timeToLive"] == "PT1H"
    world.finish()
    await world.call("GET", short["self"])
    await world.call("GET", kept["self"])
    world.clock.now += 3600
    assert (await world.call("GET", short["self"])).status == 404
    assert (await world.call("GET", kept["self"])).status == 200


# --- get, update, delete, cross-version ------------------------------------------------------------------


@pytest.mark.parametrize("version", ALL)
async def test_unknown_ids_are_404_and_deletes_are_204(world: World, version: str) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    reply = await world.call("GET", world.path(version, f"transcriptions/{missing}"))
    assert reply.status == 404
    assert reply.json() == {
        "code": "NotFound",
        "message": f"The specified transcription '{missing}' could not be found.",
    }
    deleted = await world.call("DELETE", world.path(version, f"transcriptions/{missing}"))
    assert deleted.status == 204
    assert deleted.body == b""
    created = (await world.submit(version, submission(version, [world.audio_url + "/hello.wav"]))).json()
    job_id = created["self"].split("/transcriptions/")[1].split("?")[0]
    assert (await world.call("DELETE", world.path(version, f"transcriptions/{job_id}"))).status == 204
    assert (await world.call("GET", world.path(version, f"transcriptions/{job_id}"))).status == 404


@pytest.mark.parametrize("version", ALL)
async def test_update_changes_the_names_and_answers_the_entity(world: World, version: str) -> None:
    created = (await world.submit(version, submission(version, [world.audio_url + "/hello.wav"]))).json()
    change = {"displayName": "Renamed", "description": "About it", "customProperties": {"key": "value"}}
    reply = await world.call("PATCH", created["self"], change)
    assert reply.status == 200
    body = reply.json()
    assert (body["displayName"], body["description"], body["customProperties"]) == (
        "Renamed",
        "About it",
        {"key": "value"},
    )
    assert reply.headers["Retry-After"] == "2"
    merge = await world.session.patch(
        created["self"],
        data=b'{"displayName": "Again"}',
        headers={**HEADERS, "Content-Type": "application/merge-patch+json"},
    )
    async with merge:
        assert merge.status == 200
        assert (await merge.json())["displayName"] == "Again"
    text = await world.call(
        "PATCH", created["self"], None, data=b"x", headers={**HEADERS, "Content-Type": "text/plain"}
    )
    assert text.status == 415


async def test_a_v3_2_job_cannot_be_read_with_v3_1(world: World) -> None:
    created = (await world.submit("v3.2", submission("v3.2", [world.audio_url + "/hello.wav"]))).json()
    job_id = created["self"].rsplit("/", 1)[1]
    reply = await world.call("GET", f"/speechtotext/v3.1/transcriptions/{job_id}")
    assert reply.status == 400
    assert reply.json()["message"] == (
        "The API version can't be used to access this transcription. Use API version v3.2 or higher."
    )
    assert (await world.call("GET", f"/speechtotext/transcriptions/{job_id}?api-version=2025-10-15")).status == 200


# --- list: paging and filters ----------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v3.2", "2025-10-15"])
async def test_list_pages_past_100_items_with_absolute_next_links(world: World, version: str) -> None:
    for n in range(105):
        body = submission(version, ["http://127.0.0.1:1/a.wav"])
        body["displayName"] = f"job {n}"
        assert (await world.submit(version, body)).status == 201
    first = await world.call("GET", world.path(version, "transcriptions"))
    page = first.json()
    assert list(page) == ["values", "@nextLink"]
    assert len(page["values"]) == 100
    assert first.headers["Retry-After"] == "2"
    next_link = page["@nextLink"]
    assert next_link.startswith(world.emulator.url)
    expected = "?skip=100&top=100" + ("" if version in V3 else f"&api-version={version}")
    assert next_link.endswith(expected)
    second = (await world.call("GET", next_link)).json()
    assert [v["displayName"] for v in second["values"]] == [f"job {n}" for n in range(100, 105)]
    assert second["@nextLink"] is None
    small = (await world.call("GET", world.path(version, "transcriptions?skip=3&top=2"))).json()
    assert [v["displayName"] for v in small["values"]] == ["job 3", "job 4"]
    bad = await world.call("GET", world.path(version, "transcriptions?top=-1"))
    assert _inner(bad) == (400, "InvalidArgument", "UnsupportedPagination")


async def test_list_filters_the_documented_subset(world: World) -> None:
    version = "2025-10-15"
    for name in ("alpha", "beta", "gamma"):
        body = submission(version, [world.audio_url + "/hello.wav"])
        body["displayName"] = name
        if name == "gamma":
            body["locale"] = "de-DE"
        await world.submit(version, body)
        world.clock.now += 1
    world.clock.now += 10  # every job is done now

    async def names(text: str) -> list[str]:
        reply = await world.call("GET", "/speechtotext/transcriptions", params={"filter": text, "api-version": version})
        assert reply.status == 200, reply.body
        return [v["displayName"] for v in reply.json()["values"]]

    assert await names("displayName eq 'beta'") == ["beta"]
    assert await names("displayName ne 'beta'") == ["alpha", "gamma"]
    assert await names("locale eq 'de-DE' or displayName eq 'alpha'") == ["alpha", "gamma"]
    assert await names("status eq 'Succeeded' and locale eq 'en-US'") == ["alpha", "beta"]
    assert await names("createdDateTime gt 2023-11-14T22:13:20Z") == ["beta", "gamma"]
    assert await names("createdDateTime le 2023-11-14T22:13:21Z") == ["alpha", "beta"]
    assert await names("not (displayName eq 'alpha')") == ["beta", "gamma"]
    assert await names("status eq 'NotStarted' or status eq 'Running'") == []
    for unsupported in ("displayName gt 'a'", "kind eq 'x'", "displayName eq", "displayName like 'a'"):
        reply = await world.call(
            "GET", "/speechtotext/transcriptions", params={"filter": unsupported, "api-version": version}
        )
        assert _inner(reply) == (400, "InvalidArgument", "UnsupportedFilter"), unsupported


async def test_the_next_link_keeps_the_filter(world: World) -> None:
    for _ in range(3):
        await world.submit("2025-10-15", submission("2025-10-15", ["http://127.0.0.1:1/a.wav"]))
    page = (
        await world.call(
            "GET",
            "/speechtotext/transcriptions",
            params={"filter": "locale eq 'en-US'", "top": "2", "api-version": "2025-10-15"},
        )
    ).json()
    assert page["@nextLink"].endswith("?skip=2&top=2&filter=locale%20eq%20%27en-US%27&api-version=2025-10-15")
    assert len((await world.call("GET", page["@nextLink"])).json()["values"]) == 1


async def test_files_can_be_filtered_and_paged(world: World) -> None:
    urls = [world.audio_url + "/hello.wav", world.audio_url + "/other.wav"]
    created = (await world.submit("2025-10-15", submission("2025-10-15", urls))).json()
    world.finish()
    files = created["links"]["files"]
    kinds = (await world.call("GET", files + "&filter=kind%20eq%20%27TranscriptionReport%27")).json()["values"]
    assert [f["name"] for f in kinds] == ["report.json"]
    page = (await world.call("GET", files + "&top=2")).json()
    assert len(page["values"]) == 2
    assert "skip=2&top=2" in page["@nextLink"]


# --- faults, counters, auth ------------------------------------------------------------------------------


async def test_faults_and_counters_apply_to_the_batch_routes(world: World) -> None:
    world.emulator.faults.add(Fault(route="transcriptions_get", status=503, retry_after=7))
    created = (await world.submit("2025-10-15", submission("2025-10-15", [world.audio_url + "/hello.wav"]))).json()
    faulted = await world.call("GET", created["self"])
    assert faulted.status == 503
    assert faulted.headers["Retry-After"] == "7"
    assert (await world.call("GET", created["self"])).status == 200
    world.emulator.faults.add(Fault(route="transcriptions_list_v3", status=429, retry_after=1))
    limited = await world.call("GET", "/speechtotext/v3.2/transcriptions")
    assert limited.status == 429
    assert limited.json()["code"] == "TooManyRequests"
    counters = world.emulator.counters
    assert counters["transcriptions_submit"] == 1
    assert counters["transcriptions_get"] == 2
    assert counters["transcriptions_list_v3"] == 1


@pytest.mark.parametrize(
    "path", ["/speechtotext/v3.2/transcriptions", "/speechtotext/transcriptions?api-version=2025-10-15"]
)
async def test_batch_routes_need_a_key(world: World, path: str) -> None:
    reply = await world.call("GET", path, headers={})
    assert reply.status == 401
    assert reply.json() == {"code": "Unauthorized", "message": "Authentication is required to access the resource."}


# --- containers (Blob REST listing) ------------------------------------------------------------------------


async def test_a_container_is_listed_with_the_blob_protocol(world: World, hello_bytes: bytes) -> None:
    blob = web.Application()
    seen: list[str] = []

    async def container(request: web.Request) -> web.Response:
        seen.append(request.query_string)
        assert request.query["restype"] == "container"
        assert request.query["comp"] == "list"
        assert request.query["sig"] == "abc"
        marker = request.query.get("marker", "")
        if not marker:
            names, next_marker = ["dir/a.wav"], "b.wav"
        else:
            names, next_marker = ["b.wav"], ""
        blobs = "".join(f"<Blob><Name>{name}</Name><Properties/></Blob>" for name in names)
        xml = (
            '<?xml version="1.0" encoding="utf-8"?><EnumerationResults ContainerName="audio">'
            f"<Blobs>{blobs}</Blobs><NextMarker>{next_marker}</NextMarker></EnumerationResults>"
        )
        return web.Response(text=xml, content_type="application/xml")

    async def audio(request: web.Request) -> web.Response:
        assert request.query["sig"] == "abc"
        return web.Response(body=hello_bytes)

    blob.router.add_get("/account/audio", container)
    blob.router.add_get("/account/audio/{name:.+}", audio)
    async with serve_on_loopback(blob) as blob_url:
        body = submission("2025-10-15", [])
        del body["contentUrls"]
        body["contentContainerUrl"] = f"{blob_url}/account/audio?sv=x&sig=abc"
        created = (await world.submit("2025-10-15", body)).json()
        world.finish()
        job = (await world.call("GET", created["self"])).json()
    assert job["status"] == "Succeeded"
    assert len(seen) == 2
    files = (await world.call("GET", job["links"]["files"])).json()["values"]
    assert [f["name"] for f in files] == ["dir/a.wav.json", "b.wav.json", "report.json"]


async def test_a_container_on_azurite_is_transcribed_blob_by_blob(
    world: World, azurite: Azurite, hello_bytes: bytes
) -> None:
    name = f"batch-{uuid.uuid4().hex[:12]}"
    async with ContainerClient.from_connection_string(azurite.connection_string, name) as client:
        await client.create_container()
        try:
            for blob in ("dir/Réunion fictive.wav", "a+b.wav"):
                await client.upload_blob(blob, hello_bytes)
            await client.upload_blob("notes.txt", b"not audio")
            sas = generate_container_sas(
                azurite.account_name,
                name,
                account_key=azurite.account_key,
                permission=ContainerSasPermissions(read=True, list=True),
                expiry=datetime.now(timezone.utc) + timedelta(hours=1),
            )
            body = submission("2025-10-15", [])
            del body["contentUrls"]
            body["contentContainerUrl"] = f"{azurite.container_url(name)}?{sas}"
            created = (await world.submit("2025-10-15", body)).json()
            world.finish()
            job = (await world.call("GET", created["self"])).json()
        finally:
            await client.delete_container()
    assert job["status"] == "Succeeded"
    files = (await world.call("GET", job["links"]["files"])).json()["values"]
    # Azurite lists blobs in name order.
    assert [f["name"] for f in files] == ["a+b.wav.json", "dir/Réunion fictive.wav.json", "report.json"]
    async with world.session.get(files[2]["links"]["contentUrl"]) as response:
        report = await response.json()
    assert (report["successfulTranscriptionsCount"], report["failedTranscriptionsCount"]) == (2, 1)
    assert report["details"][2]["source"].startswith(f"{azurite.container_url(name)}/notes.txt?")
    assert report["details"][2]["errorKind"] == "InvalidData"


async def test_work_in_flight_is_cancelled_by_delete_and_by_shutdown(session: aiohttp.ClientSession) -> None:
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        started.set()
        await release.wait()
        return web.Response(body=b"late")

    audio = web.Application()
    audio.router.add_get("/slow.wav", slow)
    clock = Clock()
    config = EmulatorConfig(key=KEY, recognizer="scripted", clock=clock, batch=BatchConfig(not_started_seconds=1))
    async with serve_on_loopback(audio) as audio_url:
        async with Emulator(config) as emulator:
            world = World(emulator, clock, audio_url, session)
            deleted = (await world.submit("2025-10-15", submission("2025-10-15", [audio_url + "/slow.wav"]))).json()
            kept = (await world.submit("v3.1", submission("v3.1", [audio_url + "/slow.wav"]))).json()
            clock.now += 1.5
            assert (await world.call("GET", deleted["self"])).json()["status"] == "Running"
            assert (await world.call("GET", kept["self"])).json()["status"] == "Running"
            await asyncio.wait_for(started.wait(), 10)
            assert (await world.call("DELETE", deleted["self"])).status == 204
            assert (await world.call("GET", deleted["self"])).status == 404
        # The emulator has closed with the v3.1 job still fetching: the leak gate checks that no task is left.
        release.set()


def test_the_default_durations_finish_a_demo_in_seconds() -> None:
    config = BatchConfig()
    assert 0 < config.not_started_seconds + config.running_seconds <= 5
    assert EmulatorConfig().batch == config
    with pytest.raises(ValueError, match="running_seconds"):
        BatchConfig(running_seconds=-1)


@pytest.mark.parametrize("writable", [True, False], ids=["write-sas", "read-only-sas"])
async def test_results_go_to_the_destination_container_with_put_blob(
    world: World, azurite: Azurite, writable: bool
) -> None:
    name = f"out-{uuid.uuid4().hex[:12]}"
    async with ContainerClient.from_connection_string(azurite.connection_string, name) as client:
        await client.create_container()
        try:
            permission = ContainerSasPermissions(read=True, list=True, write=writable, create=writable)
            sas = generate_container_sas(
                azurite.account_name,
                name,
                account_key=azurite.account_key,
                permission=permission,
                expiry=datetime.now(timezone.utc) + timedelta(hours=1),
            )
            destination = f"{azurite.container_url(name)}?{sas}"
            body = submission("2025-10-15", [world.audio_url + "/hello.wav"], destinationContainerUrl=destination)
            created = (await world.submit("2025-10-15", body)).json()
            assert "destinationContainerUrl" not in created["properties"]
            world.finish()
            job = (await world.call("GET", created["self"])).json()
            job_id = created["self"].split("/transcriptions/")[1].split("?")[0]
            stored = {blob.name async for blob in client.list_blobs()}
            downloaded = b""
            if writable:
                downloaded = await (await client.download_blob(f"{job_id}/contenturl_0.json")).readall()
        finally:
            await client.delete_container()
    if not writable:
        assert job["status"] == "Failed"
        assert job["properties"]["error"] == {
            "code": "InvalidUri",
            "message": "Writing to destinationContainerUrl answered HTTP 403.",
        }
        assert stored == set()
        return
    assert job["status"] == "Succeeded"
    assert stored == {f"{job_id}/contenturl_0.json", f"{job_id}/report.json"}
    files = (await world.call("GET", job["links"]["files"])).json()["values"]
    assert [f["links"]["contentUrl"] for f in files] == [
        f"{azurite.container_url(name)}/{job_id}/contenturl_0.json",
        f"{azurite.container_url(name)}/{job_id}/report.json",
    ]
    assert json.loads(downloaded)["source"] == world.audio_url + "/hello.wav"


async def test_a_destination_without_a_sas_is_refused(world: World) -> None:
    body = submission("2025-10-15", [world.audio_url + "/hello.wav"], destinationContainerUrl="http://x/out")
    reply = await world.submit("2025-10-15", body)
    assert _inner(reply) == (400, "InvalidRequest", "InvalidPayload")
    assert reply.json()["message"] == (
        "The property transcription.properties.DestinationContainerUrl is not a SAS URL for a container."
    )


@pytest.mark.parametrize(
    ("version", "sent", "expected"),
    [
        # batch-transcription-submit-diarization-2025-10-15.json (response properties).
        (
            "2025-10-15",
            {"diarization": {"enabled": True, "maxSpeakers": 5}},
            [
                "wordLevelTimestampsEnabled",
                "displayFormWordLevelTimestampsEnabled",
                "channels",
                "punctuationMode",
                "profanityFilterMode",
                "timeToLiveHours",
                "diarization",
                "durationMilliseconds",
            ],
        ),
        # v3.1-transcription-create-multispeaker-diarization.json (response properties).
        (
            "v3.1",
            {"diarizationEnabled": True, "diarization": {"speakers": {"minCount": 3, "maxCount": 5}}},
            [
                "diarizationEnabled",
                "wordLevelTimestampsEnabled",
                "displayFormWordLevelTimestampsEnabled",
                "channels",
                "punctuationMode",
                "profanityFilterMode",
                "duration",
                "diarization",
            ],
        ),
    ],
    ids=["2025-10-15", "v3.1"],
)
async def test_finished_properties_follow_the_examples_key_order(
    world: World, version: str, sent: dict[str, Any], expected: list[str]
) -> None:
    created = (await world.submit(version, submission(version, [world.audio_url + "/hello.wav"], **sent))).json()
    world.finish()
    reply = await world.call("GET", created["self"])
    body = reply.json()
    assert body["status"] == "Succeeded"
    assert list(body["properties"]) == expected
    assert body["properties"]["diarization"] == sent["diarization"]
