"""Web hooks in the emulator over real loopback HTTP: every route in both version families, the
challenge, signed event deliveries from batch jobs, retries, ping and test, faults and counters.

Raw aiohttp requests to the emulator, and a receiver server of the tests' own at ``webUrl``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from speech_async.emulator import (
    BatchConfig,
    Emulator,
    EmulatorConfig,
    Fault,
    ScriptedPhrase,
    ScriptedTranscript,
    WebHookConfig,
)

from ..support.bodies import key_orders
from ..support.clock import FakeClock as Clock
from ..support.http import Reply, serve_on_loopback

KEY = "emulator-test-key"
HEADERS = {"Ocp-Apim-Subscription-Key": KEY}
SECRET = "hook-secret-value"
NEW = ("2024-11-15", "2025-10-15")
V3 = ("v3.1", "v3.2")
ALL = (*V3, *NEW)
EVENT = "X-MicrosoftSpeechServices-Event"
SIGNATURE = "X-MicrosoftSpeechServices-Signature"
# webhook-get-2025-10-15.json
ORDER = [
    "self",
    "displayName",
    "description",
    "properties",
    "webUrl",
    "events",
    "createdDateTime",
    "lastActionDateTime",
    "status",
    "links",
]
TRANSCRIPT = ScriptedTranscript(phrases=(ScriptedPhrase(text="Hello world.", offset_ms=760, duration_ms=1320),))


def signature(secret: str, payload: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), payload, hashlib.sha256).digest()).decode()


@dataclass
class Received:
    kind: str | None
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """The test's web-hook endpoint: answers challenges (or not) and records every POST."""

    url: str = ""
    received: list[Received] = field(default_factory=list[Received])
    # What a challenge is answered with, from its token; None answers the token itself.
    challenge_answer: Callable[[str], str] | None = None
    event_status: int = 200
    # The next events answered 503 before event_status applies again.
    failures_left: int = 0
    hold: asyncio.Event | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        kind = request.headers.get(EVENT)
        self.received.append(Received(kind, dict(request.query), dict(request.headers), body))
        if kind == "Challenge":
            token = request.query["validationToken"]
            return web.Response(text=token if self.challenge_answer is None else self.challenge_answer(token))
        if self.hold is not None:
            await self.hold.wait()
        if self.failures_left:
            self.failures_left -= 1
            return web.Response(status=503)
        return web.Response(status=self.event_status)

    def of(self, kind: str) -> list[Received]:
        return [item for item in self.received if item.kind == kind]


@dataclass
class World:
    emulator: Emulator
    clock: Clock
    receiver: Receiver
    audio_url: str
    session: aiohttp.ClientSession

    async def call(self, method: str, path: str, body: object = None, **kwargs: Any) -> Reply:
        url = path if path.startswith("http") else self.emulator.url + path
        headers = kwargs.pop("headers", HEADERS)
        async with self.session.request(method, url, json=body, headers=headers, **kwargs) as response:
            return Reply(response.status, dict(response.headers), await response.read())

    def path(self, version: str, rest: str) -> str:
        if version in V3:
            return f"/speechtotext/{version}/{rest}"
        sep = "&" if "?" in rest else "?"
        return f"/speechtotext/{rest}{sep}api-version={version}"

    async def create(self, version: str = "2025-10-15", **changes: Any) -> Reply:
        body: dict[str, Any] = {
            "displayName": "TranscriptionCompletionWebHook",
            "description": "I registered this URL to get a POST request for each completed transcription.",
            "properties": {"secret": SECRET},
            "webUrl": self.receiver.url + "/call/me/back",
            "events": {"transcriptionCompletion": True},
        }
        body.update(changes)
        return await self.call("POST", self.path(version, "webhooks"), body)

    async def status_of(self, hook: dict[str, Any]) -> str:
        return (await self.call("GET", hook["self"])).json()["status"]

    async def active(self, version: str = "2025-10-15", **changes: Any) -> dict[str, Any]:
        created = await self.create(version, **changes)
        assert created.status == 201, created.body
        hook = created.json()
        await eventually(lambda: self.status_of(hook), "Succeeded")
        return hook

    async def submit(self) -> dict[str, Any]:
        body = {
            "displayName": "Job",
            "locale": "en-US",
            "contentUrls": [self.audio_url + "/hello.wav"],
            "properties": {"timeToLiveHours": 48},
        }
        reply = await self.call("POST", "/speechtotext/transcriptions:submit?api-version=2025-10-15", body)
        assert reply.status == 201
        return reply.json()


async def eventually(probe: Callable[[], Any], expected: object, timeout: float = 5.0) -> None:
    """Wait until ``await probe()`` (or ``probe()``) equals ``expected``."""
    deadline = asyncio.get_running_loop().time() + timeout
    value: object = None
    while asyncio.get_running_loop().time() < deadline:
        value = probe()
        if asyncio.iscoroutine(value):
            value = await value
        if value == expected:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"still {value!r}, not {expected!r}")


@pytest.fixture
async def world(session: aiohttp.ClientSession, hello_bytes: bytes) -> AsyncIterator[World]:
    receiver = Receiver()
    hooks = web.Application()
    hooks.router.add_post("/{tail:.*}", receiver.handle)
    audio = web.Application()

    async def wav(request: web.Request) -> web.Response:
        return web.Response(body=hello_bytes, content_type="audio/wav")

    audio.router.add_get("/hello.wav", wav)
    clock = Clock()
    config = EmulatorConfig(
        key=KEY,
        recognizer="scripted",
        clock=clock,
        batch=BatchConfig(not_started_seconds=2, running_seconds=3),
        webhooks=WebHookConfig(retries=2, backoff_seconds=0.01, timeout_seconds=5),
    )
    async with serve_on_loopback(hooks) as hooks_url, serve_on_loopback(audio) as audio_url:
        receiver.url = hooks_url
        async with Emulator(config) as emulator:
            emulator.scripted.register(hello_bytes, TRANSCRIPT)
            yield World(emulator, clock, receiver, audio_url, session)
            if receiver.hold is not None:
                receiver.hold.set()


# --- create, get, the challenge ----------------------------------------------------------------------------


@pytest.mark.parametrize("version", ALL)
async def test_create_answers_201_not_started_and_the_challenge_makes_it_succeeded(world: World, version: str) -> None:
    reply = await world.create(version)
    assert reply.status == 201
    body = reply.json()
    assert reply.headers["Location"] == body["self"]
    assert reply.headers["Retry-After"] == "1"
    assert key_orders(reply.body)[-1] == ORDER
    assert body["status"] == "NotStarted"
    assert body["properties"] == {"apiVersion": version, "secret": SECRET}
    assert body["events"] == {"transcriptionCompletion": True}
    assert body["createdDateTime"] == "2023-11-14T22:13:20Z"
    hook_id = body["self"].split("/webhooks/")[1].split("?")[0]
    if version in V3:
        assert body["self"] == f"{world.emulator.url}/speechtotext/{version}/webhooks/{hook_id}"
        assert body["links"] == {"test": body["self"] + ":test", "ping": body["self"] + ":ping"}
    else:
        base = f"{world.emulator.url}/speechtotext/webhooks/{hook_id}"
        assert body["self"] == f"{base}?api-version={version}"
        assert body["links"] == {
            "test": f"{base}:test?api-version={version}",
            "ping": f"{base}:ping?api-version={version}",
        }
    await eventually(lambda: world.status_of(body), "Succeeded")
    got = await world.call("GET", body["self"])
    assert got.status == 200
    assert "Retry-After" not in got.headers
    assert "error" not in got.json()["properties"]
    [challenge] = world.receiver.of("Challenge")
    token = challenge.query["validationToken"]
    assert challenge.headers[SIGNATURE] == signature(SECRET, token.encode())
    assert challenge.body == b""
    [delivery] = world.emulator.webhook_deliveries
    assert (delivery.kind, delivery.status, delivery.attempt, delivery.signed) == ("Challenge", 200, 1, True)
    assert delivery.url == f"{world.receiver.url}/call/me/back?validationToken={token}"


async def test_a_challenge_without_a_secret_is_not_signed(world: World) -> None:
    hook = await world.active(properties={})
    assert "secret" not in hook["properties"]
    [challenge] = world.receiver.of("Challenge")
    assert SIGNATURE not in challenge.headers


async def test_a_wrong_challenge_answer_fails_the_hook(world: World) -> None:
    world.receiver.challenge_answer = lambda token: "not the token"
    hook = (await world.create()).json()
    await eventually(lambda: world.status_of(hook), "Failed")
    error = (await world.call("GET", hook["self"])).json()["properties"]["error"]
    token = world.receiver.of("Challenge")[0].query["validationToken"]
    assert error["message"] == (
        f"Challenge response payload doesn't match validation token. Expected: {token}, actual: not the token"
    )


async def test_an_unreachable_web_url_fails_the_hook(world: World) -> None:
    async with serve_on_loopback(web.Application()) as closed_url:
        pass  # the port is free again: nothing listens there
    hook = (await world.create(webUrl=closed_url + "/hook")).json()
    await eventually(lambda: world.status_of(hook), "Failed")
    assert [(d.kind, d.status) for d in world.emulator.webhook_deliveries] == [("Challenge", None)]


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"displayName": None}, "displayName is required"),
        ({"webUrl": None}, "webUrl is required"),
        ({"events": None}, "events is required"),
        ({"webUrl": "ftp://x/y"}, "not an absolute http or https URL"),
        ({"events": {"transcriptionDone": True}}, "'transcriptionDone' is not a web hook event"),
        ({"events": {"transcriptionCompletion": "yes"}}, "must be true or false"),
        ({"properties": {"secret": 5}}, "secret must be a string"),
    ],
    ids=["no-name", "no-url", "no-events", "ftp-url", "unknown-event", "not-bool", "secret-not-string"],
)
async def test_bad_bodies_are_400s(world: World, change: dict[str, Any], fragment: str) -> None:
    reply = await world.create(**change)
    assert reply.status == 400
    body = reply.json()
    assert (body["code"], body["innerError"]["code"]) == ("InvalidRequest", "InvalidPayload")
    assert fragment in body["message"]
    assert world.emulator.webhook_deliveries == ()


# --- list, update, delete ------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v3.2", "2025-10-15"])
async def test_list_pages_and_filters(world: World, version: str) -> None:
    for name in ("a", "b", "c"):
        assert (await world.create(version, displayName=name)).status == 201
    page = (await world.call("GET", world.path(version, "webhooks?top=2"))).json()
    assert [hook["displayName"] for hook in page["values"]] == ["a", "b"]
    rest = (await world.call("GET", page["@nextLink"])).json()
    assert [hook["displayName"] for hook in rest["values"]] == ["c"]
    assert rest["@nextLink"] is None
    if version not in V3:
        assert page["@nextLink"].endswith(f"skip=2&top=2&api-version={version}")
    only_b = (await world.call("GET", world.path(version, "webhooks?filter=displayName eq 'b'"))).json()
    assert [hook["displayName"] for hook in only_b["values"]] == ["b"]
    url = world.receiver.url + "/call/me/back"
    by_url = (await world.call("GET", world.path(version, f"webhooks?filter=webUrl eq '{url}'"))).json()
    assert len(by_url["values"]) == 3
    bad = await world.call("GET", world.path(version, "webhooks?filter=locale eq 'en-US'"))
    assert bad.status == 400
    assert bad.json()["innerError"]["code"] == "UnsupportedFilter"
    assert (await world.call("GET", world.path(version, "webhooks?top=0"))).status == 400


@pytest.mark.parametrize("version", ALL)
@pytest.mark.parametrize("content_type", ["application/json", "application/merge-patch+json"])
async def test_update_changes_the_names_and_answers_the_hook(world: World, version: str, content_type: str) -> None:
    hook = await world.active(version)
    world.clock.now += 60
    reply = await world.call(
        "PATCH",
        hook["self"],
        data=json.dumps({"displayName": "renamed", "customProperties": {"team": "a"}}),
        headers={**HEADERS, "Content-Type": content_type},
    )
    assert reply.status == 200
    body = reply.json()
    assert (body["displayName"], body["customProperties"], body["status"]) == ("renamed", {"team": "a"}, "Succeeded")
    assert body["lastActionDateTime"] == "2023-11-14T22:14:20Z"
    assert len(world.receiver.of("Challenge")) == 1  # no webUrl: no new challenge


async def test_update_refuses_other_content_types_and_unknown_ids(world: World) -> None:
    hook = (await world.create()).json()
    reply = await world.call("PATCH", hook["self"], data="{}", headers={**HEADERS, "Content-Type": "text/plain"})
    assert reply.status == 415
    missing = hook["self"].replace(hook["self"].split("/webhooks/")[1].split("?")[0], "nope")
    assert (await world.call("PATCH", missing, {"displayName": "x"})).status == 404


@pytest.mark.parametrize("version", ALL)
async def test_delete_is_204_then_the_hook_is_gone(world: World, version: str) -> None:
    hook = (await world.create(version)).json()
    assert (await world.call("DELETE", hook["self"])).status == 204
    gone = await world.call("GET", hook["self"])
    assert gone.status == 404
    assert gone.json()["code"] == "NotFound"
    assert (await world.call("DELETE", hook["self"])).status == 404
    assert (await world.call("POST", hook["links"]["ping"])).status == 404


# --- events ---------------------------------------------------------------------------------------------------


async def test_transcription_events_are_signed_posts_of_the_entity_url(world: World) -> None:
    events = {"transcriptionCreation": True, "transcriptionProcessing": True, "transcriptionCompletion": True}
    await world.active(events=events)
    job = await world.submit()
    world.clock.now += 10  # past NotStarted and Running: no read needed, the emulator moves the job itself
    await eventually(lambda: len(world.receiver.of("TranscriptionCompletion")), 1)
    kinds = [item.kind or "" for item in world.receiver.received]
    # Processing and Completion go out on connections of their own, so they may arrive in either order.
    assert kinds[:2] == ["Challenge", "TranscriptionCreation"]
    assert sorted(kinds[2:]) == ["TranscriptionCompletion", "TranscriptionProcessing"]
    ids: set[str] = set()
    for item in world.receiver.received[1:]:
        assert item.headers[SIGNATURE] == signature(SECRET, item.body)
        assert item.headers["Content-Type"] == "application/json"
        body = json.loads(item.body)
        assert list(body) == ["self", "invocationId"]
        assert body["self"] == job["self"]
        ids.add(body["invocationId"])
    assert len(ids) == 3
    done = await world.call("GET", job["self"])
    assert done.json()["status"] == "Succeeded"
    assert (await world.call("DELETE", job["self"])).status == 204
    assert world.receiver.of("TranscriptionDeletion") == []  # not registered


async def test_only_registered_events_of_succeeded_hooks_are_delivered(world: World) -> None:
    await world.active(events={"transcriptionDeletion": True})
    world.receiver.challenge_answer = lambda token: "wrong"
    failed = (await world.create(events={"transcriptionCreation": True})).json()
    await eventually(lambda: world.status_of(failed), "Failed")
    job = await world.submit()
    assert (await world.call("DELETE", job["self"])).status == 204
    await eventually(lambda: len(world.receiver.of("TranscriptionDeletion")), 1)
    await asyncio.sleep(0.1)
    assert world.receiver.of("TranscriptionCreation") == []


async def test_a_failing_receiver_gets_retries_with_one_invocation_id_then_the_hook_fails(world: World) -> None:
    hook = await world.active(events={"transcriptionCreation": True})
    world.receiver.event_status = 500
    await world.submit()
    await eventually(lambda: world.status_of(hook), "Failed")
    attempts = [d for d in world.emulator.webhook_deliveries if d.kind == "TranscriptionCreation"]
    assert [(d.attempt, d.status) for d in attempts] == [(1, 500), (2, 500), (3, 500)]
    assert len({d.invocation_id for d in attempts}) == 1
    bodies = {item.body for item in world.receiver.of("TranscriptionCreation")}
    assert len(bodies) == 1
    error = (await world.call("GET", hook["self"])).json()["properties"]["error"]
    assert error["code"] == "DeliveryFailed"
    # A Failed hook gets no events.
    await world.submit()
    await asyncio.sleep(0.1)
    assert len(world.receiver.of("TranscriptionCreation")) == 3
    # PATCHing the same webUrl re-enables it: the challenge runs again.
    world.receiver.event_status = 200
    reply = await world.call("PATCH", hook["self"], {"webUrl": hook["webUrl"]})
    assert reply.status == 200
    assert reply.json()["status"] == "NotStarted"
    assert "error" not in reply.json()["properties"]
    await eventually(lambda: world.status_of(hook), "Succeeded")
    assert len(world.receiver.of("Challenge")) == 2
    await world.submit()
    await eventually(lambda: len(world.receiver.of("TranscriptionCreation")), 4)


async def test_a_receiver_that_recovers_gets_the_event_once(world: World) -> None:
    hook = await world.active(events={"transcriptionCreation": True})
    world.receiver.failures_left = 1
    await world.submit()
    await eventually(
        lambda: len([d for d in world.emulator.webhook_deliveries if d.kind == "TranscriptionCreation"]), 2
    )
    attempts = [d for d in world.emulator.webhook_deliveries if d.kind == "TranscriptionCreation"]
    assert [(d.attempt, d.status) for d in attempts] == [(1, 503), (2, 200)]
    assert attempts[0].invocation_id == attempts[1].invocation_id
    await asyncio.sleep(0.1)
    assert len(world.receiver.of("TranscriptionCreation")) == 2
    assert await world.status_of(hook) == "Succeeded"


# --- ping and test --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v3.1", "2025-10-15"])
async def test_ping_posts_the_hook_without_its_secret(world: World, version: str) -> None:
    hook = await world.active(version)
    reply = await world.call("POST", hook["links"]["ping"])
    assert reply.status == 202
    assert reply.headers["Retry-After"] == "1"
    await eventually(lambda: len(world.receiver.of("Ping")), 1)
    [ping] = world.receiver.of("Ping")
    assert ping.headers[SIGNATURE] == signature(SECRET, ping.body)
    sent = json.loads(ping.body)
    shown = (await world.call("GET", hook["self"])).json()
    del shown["properties"]["secret"]
    assert sent == shown
    assert SECRET.encode() not in ping.body


@pytest.mark.parametrize("version", ["v3.2", "2024-11-15"])
async def test_test_resends_the_last_entity_or_answers_204(world: World, version: str) -> None:
    hook = await world.active(version, events={"transcriptionCreation": True, "transcriptionDeletion": True})
    assert (await world.call("POST", hook["links"]["test"])).status == 204
    job = await world.submit()
    await eventually(lambda: len(world.receiver.of("TranscriptionCreation")), 1)
    reply = await world.call("POST", hook["links"]["test"])
    assert reply.status == 202
    assert reply.headers["Retry-After"] == "1"
    await eventually(lambda: len(world.receiver.of("TranscriptionCreation")), 2)
    first, again = (json.loads(item.body) for item in world.receiver.of("TranscriptionCreation"))
    job_id = job["self"].split("/transcriptions/")[1].split("?")[0]
    # The entity URL is in the hook's own version.
    assert first["self"] == again["self"]
    assert first["self"] == world.emulator.url + world.path(version, f"transcriptions/{job_id}")
    assert first["invocationId"] != again["invocationId"]


# --- faults, counters, auth, shutdown ---------------------------------------------------------------------------


async def test_faults_and_counters_apply_to_the_web_hook_routes(world: World) -> None:
    hook = (await world.create()).json()
    world.emulator.faults.add(Fault(route="webhooks_get", status=503, retry_after=7))
    faulted = await world.call("GET", hook["self"])
    assert (faulted.status, faulted.headers["Retry-After"]) == (503, "7")
    assert (await world.call("GET", hook["self"])).status == 200
    world.emulator.faults.add(Fault(route="webhooks_list_v3", status=429, retry_after=1))
    limited = await world.call("GET", "/speechtotext/v3.2/webhooks")
    assert limited.status == 429
    assert limited.json()["code"] == "TooManyRequests"
    world.emulator.faults.add(Fault(route="webhooks_ping", status=500))
    assert (await world.call("POST", hook["links"]["ping"])).status == 500
    counters = world.emulator.counters
    assert (counters["webhooks_create"], counters["webhooks_get"], counters["webhooks_list_v3"]) == (1, 2, 1)
    assert counters["webhooks_ping"] == 1
    assert counters["webhooks_test"] == 0


@pytest.mark.parametrize("path", ["/speechtotext/v3.2/webhooks", "/speechtotext/webhooks?api-version=2025-10-15"])
async def test_web_hook_routes_need_a_key(world: World, path: str) -> None:
    reply = await world.call("GET", path, headers={})
    assert reply.status == 401
    assert reply.json() == {"code": "Unauthorized", "message": "Authentication is required to access the resource."}


async def test_a_delivery_in_flight_is_cancelled_on_shutdown(session: aiohttp.ClientSession) -> None:
    hold = asyncio.Event()
    receiver = Receiver(hold=hold)
    hooks = web.Application()
    hooks.router.add_post("/{tail:.*}", receiver.handle)
    config = EmulatorConfig(key=KEY, recognizer="scripted")
    async with serve_on_loopback(hooks) as hooks_url:
        receiver.url = hooks_url
        async with Emulator(config) as emulator:
            world = World(emulator, Clock(), receiver, "", session)
            hook = await world.active()
            assert (await world.call("POST", hook["links"]["ping"])).status == 202
            await eventually(lambda: len(receiver.of("Ping")), 1)
        # The emulator closed while its ping waited for an answer: the leak gate checks no task is left.
        hold.set()


@pytest.mark.parametrize(
    ("settings", "fragment"),
    [
        ({"retries": -1}, "retries"),
        ({"backoff_seconds": float("nan")}, "backoff_seconds"),
        ({"timeout_seconds": 0}, "timeout_seconds"),
        ({"tick_seconds": -1}, "tick_seconds"),
    ],
    ids=["negative-retries", "nan-backoff", "zero-timeout", "negative-tick"],
)
def test_web_hook_settings_are_checked(settings: dict[str, Any], fragment: str) -> None:
    assert EmulatorConfig().webhooks == WebHookConfig()
    with pytest.raises(ValueError, match=fragment):
        WebHookConfig(**settings)
    with pytest.raises(TypeError, match="webhooks must be a WebHookConfig"):
        EmulatorConfig(webhooks=object())  # type: ignore[arg-type]
