"""Web-hook management through the public client, against a web-hook service of the tests' own on loopback.

:class:`FakeHooks` keeps hooks in memory and answers like the spec says (201 + Location, 204 deletes,
202/204 for ping and test, pages with ``@nextLink``), with knobs for what the emulator never does: a
create whose answer is lost after the hook was made, scripted error statuses. The end-to-end test
against the emulator is in ``test_webhooks_e2e.py``.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import pytest
from aiohttp import web

from speech_async import (
    InvalidOptionsError,
    KeyCredential,
    NotFoundError,
    RateLimitError,
    RetryPolicy,
    ServiceError,
    SpeechClient,
    SpeechConnectionError,
    WebHook,
    WebHookEvents,
    WebHookStatus,
)
from speech_async._resources.batch.transcriptions import SUBMIT_TAG
from speech_async.webhooks import WebHookEventKind

from ..support.http import serve_on_loopback
from ..support.management import FakeManagement

KEY = "webhook-test-key"
SECRET = "s3cr3t-key-never-shown"
QUICK = RetryPolicy(max_attempts=3, backoff_base=0.0, backoff_max=0.0)
EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "spec-examples"
HOOK_URL = "https://contoso.com/call/me/back"
VERSIONS = ["2025-10-15", "2024-11-15", "v3.2", "v3.1"]
COMPLETION = {WebHookEventKind.TRANSCRIPTION_COMPLETION}


@dataclass
class FakeHooks(FakeManagement):
    """An in-memory web-hook service."""

    page_size: int = 100
    drop_create_answers: int = 0
    """How many creates to answer by closing the connection, after making the hook."""
    create_statuses: list[int] = field(default_factory=list[int])
    """Statuses to answer creates with, before making any hook."""
    test_status: int = 202
    hooks: dict[str, dict[str, Any]] = field(default_factory=dict[str, dict[str, Any]])

    async def route(self, request: web.Request, version: str, parts: list[str], body: Any) -> web.StreamResponse | None:
        if parts == ["webhooks"] and request.method == "POST":
            return await self.create(request, version, body)
        if parts == ["webhooks"] and request.method == "GET":
            return self.list_hooks(request, version)
        if len(parts) == 2 and parts[0] == "webhooks":
            hook_id, _, action = parts[1].partition(":")
            hook = self.hooks.get(hook_id)
            if hook is None:
                return web.json_response({"code": "NotFound", "message": "no such web hook"}, status=404)
            if request.method == "POST" and action == "ping":
                return web.Response(status=202, headers={"Retry-After": "1"})
            if request.method == "POST" and action == "test":
                return web.Response(status=self.test_status)
            if action:
                return web.json_response({"code": "NotFound", "message": "no such action"}, status=404)
            if request.method == "GET":
                return web.json_response(hook)
            if request.method == "DELETE":
                del self.hooks[hook_id]
                return web.Response(status=204)
            if request.method == "PATCH":
                for name, value in body.items():
                    if name == "properties":
                        hook["properties"].update(value)
                    else:
                        hook[name] = value
                return web.json_response(hook)
        return None

    async def create(self, request: web.Request, version: str, body: dict[str, Any]) -> web.StreamResponse:
        if self.create_statuses:
            status = self.create_statuses.pop(0)
            code = {400: "InvalidArgument", 429: "TooManyRequests"}.get(status, "InternalServerError")
            return web.json_response({"code": code, "message": "as scripted"}, status=status)
        hook_id = str(uuid.uuid4())
        url = self.url(f"webhooks/{hook_id}", version)
        hook = {
            **body,
            "self": url,
            "properties": {"apiVersion": version, **body.get("properties", {})},
            "links": {
                "ping": self.url(f"webhooks/{hook_id}:ping", version),
                "test": self.url(f"webhooks/{hook_id}:test", version),
            },
            "createdDateTime": "2026-12-02T01:00:00Z",
            "lastActionDateTime": "2026-12-02T01:00:00Z",
            "status": "NotStarted",
            "someFutureField": {"nested": True},
        }
        self.hooks[hook_id] = hook
        if self.drop_create_answers:
            self.drop_create_answers -= 1
            assert request.transport is not None
            request.transport.close()  # the hook exists; its answer never arrives
            raise ConnectionResetError("dropped on purpose")
        return web.json_response(hook, status=201, headers={"Location": url})

    def list_hooks(self, request: web.Request, version: str) -> web.StreamResponse:
        hooks = list(self.hooks.values())
        wanted = request.query.get("filter")
        if wanted and wanted.startswith("displayName eq '"):
            name = wanted[len("displayName eq '") : -1].replace("''", "'")
            hooks = [hook for hook in hooks if hook.get("displayName") == name]
        skip = int(request.query.get("skip", "0"))
        top = int(request.query.get("top", str(self.page_size)))
        answer: dict[str, Any] = {"values": hooks[skip : skip + top]}
        if skip + top < len(hooks):
            link = f"{self.base}{request.path}?skip={skip + top}&top={top}"
            answer["@nextLink"] = link + (f"&api-version={version}" if not version.startswith("v3.") else "")
        return web.json_response(answer)


@pytest.fixture
async def fake() -> AsyncIterator[Callable[..., Awaitable[tuple[SpeechClient, FakeHooks]]]]:
    """``await fake(**client_options)``: a :class:`FakeHooks` on loopback and a client of it."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(service: FakeHooks | None = None, **options: Any) -> tuple[SpeechClient, FakeHooks]:
            service = service or FakeHooks()
            service.base = await stack.enter_async_context(serve_on_loopback(service.app()))
            options.setdefault("retry", QUICK)
            client = await stack.enter_async_context(SpeechClient(service.base, KeyCredential(KEY), **options))
            return client, service

        yield start


def _path(version: str, rest: str) -> str:
    return f"/speechtotext/{version}/{rest}" if version.startswith("v3.") else f"/speechtotext/{rest}"


def _query(version: str, **extra: str) -> dict[str, str]:
    return extra if version.startswith("v3.") else {**extra, "api-version": version}


# --- the published examples ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["webhook-create-2025-10-15.json", "webhook-get-2025-10-15.json"])
def test_the_published_hooks_decode(name: str) -> None:
    data = json.loads((EXAMPLES / name).read_text())
    body = next(iter(data["responses"].values()))["body"]
    hook = msgspec.json.decode(json.dumps(body), type=WebHook)
    assert hook.id == "2e856efe-ef53-465a-a632-6a084c1d349d"
    assert hook.web_url == HOOK_URL
    assert hook.events.kinds == frozenset(COMPLETION)
    assert WebHookEventKind.TRANSCRIPTION_COMPLETION in hook.events
    assert WebHookEventKind.PING not in hook.events
    assert hook.properties.api_version == "2025-10-15"
    assert hook.status in {status.value for status in WebHookStatus}
    assert hook.links is not None
    assert hook.links.ping is not None
    assert hook.links.test is not None
    assert hook.created_date_time is not None
    assert hook.last_action_date_time is not None


def test_the_events_cover_the_spec_and_the_receivers_kinds() -> None:
    every = WebHookEvents.of(WebHookEventKind)
    wire = msgspec.to_builtins(every)
    assert len(wire) == 22
    # The spec's names, camel-cased: dataset/model/evaluation/transcription/endpoint x 4, ping, challenge.
    expected = {
        f"{entity}{step}"
        for entity in ("dataset", "model", "evaluation", "transcription", "endpoint")
        for step in ("Creation", "Processing", "Completion", "Deletion")
    } | {"ping", "challenge"}
    assert set(wire) == expected
    assert every.kinds == frozenset(WebHookEventKind)
    assert msgspec.to_builtins(WebHookEvents.of(["TranscriptionCompletion"])) == {"transcriptionCompletion": True}
    assert msgspec.to_builtins(WebHookEvents()) == {}
    with pytest.raises(ValueError, match="not a web-hook event"):
        WebHookEvents.of(["transcriptionCompletion"])  # the header's casing, not the events' keys


def test_the_secret_is_never_in_a_repr() -> None:
    hook = msgspec.json.decode(
        json.dumps({"self": "https://x/speechtotext/webhooks/a1", "properties": {"secret": SECRET}}), type=WebHook
    )
    assert hook.properties.secret == SECRET
    assert SECRET not in repr(hook)
    assert SECRET not in repr(hook.properties)
    assert SECRET not in str(hook.properties.__rich_repr__())
    assert "<hidden>" in repr(hook)


# --- every operation, per version ---------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_every_operation_sends_its_method_path_query_and_body(
    fake: Callable[..., Awaitable[tuple[SpeechClient, FakeHooks]]], version: str
) -> None:
    client, service = await fake(management_api_version=version)
    hook = await client.webhooks.create_webhook(
        web_url=HOOK_URL,
        events=COMPLETION,
        display_name="TranscriptionCompletionWebHook",
        description="one POST per completed transcription",
        secret=SECRET,
        custom_properties={"team": "audio"},
    )
    create = service.seen[-1]
    assert (create.method, create.path, create.query, create.key) == (
        "POST",
        _path(version, "webhooks"),
        _query(version),
        KEY,
    )
    tag = create.body["customProperties"][SUBMIT_TAG]
    assert create.body == {
        "displayName": "TranscriptionCompletionWebHook",
        "webUrl": HOOK_URL,
        "events": {"transcriptionCompletion": True},
        "description": "one POST per completed transcription",
        "properties": {"secret": SECRET},
        "customProperties": {"team": "audio", SUBMIT_TAG: tag},
    }
    assert hook.id is not None
    assert hook.status == WebHookStatus.NOT_STARTED
    assert hook.properties.api_version == version
    assert hook.response is not None
    assert hook.response.status_code == 201
    hook_id = hook.id

    got = await client.webhooks.get_webhook(hook_id)
    assert got.id == hook_id
    assert got.web_url == HOOK_URL
    assert (service.seen[-1].method, service.seen[-1].path, service.seen[-1].query) == (
        "GET",
        _path(version, f"webhooks/{hook_id}"),
        _query(version),
    )
    assert (await client.webhooks.get_webhook(got)).id == hook_id  # a WebHook is taken as its id

    updated = await client.webhooks.update_webhook(
        hook_id,
        web_url=HOOK_URL,
        events={WebHookEventKind.TRANSCRIPTION_COMPLETION, WebHookEventKind.PING},
        display_name="renamed",
        description="",
        secret="",
        custom_properties={"team": "speech"},
    )
    patch = service.seen[-1]
    assert (patch.method, patch.path, patch.query) == ("PATCH", _path(version, f"webhooks/{hook_id}"), _query(version))
    assert patch.body == {
        "displayName": "renamed",
        "description": "",
        "webUrl": HOOK_URL,
        "events": {"transcriptionCompletion": True, "ping": True},
        "properties": {"secret": ""},
        "customProperties": {"team": "speech"},
    }
    assert updated.display_name == "renamed"
    assert updated.events.kinds == {WebHookEventKind.TRANSCRIPTION_COMPLETION, WebHookEventKind.PING}

    await client.webhooks.update_webhook(hook_id, display_name="only this")
    assert service.seen[-1].body == {"displayName": "only this"}

    assert await client.webhooks.ping_webhook(hook_id) is None
    assert (service.seen[-1].method, service.seen[-1].path, service.seen[-1].query, service.seen[-1].body) == (
        "POST",
        _path(version, f"webhooks/{hook_id}:ping"),
        _query(version),
        None,
    )
    assert await client.webhooks.test_webhook(hook_id) is True
    assert (service.seen[-1].method, service.seen[-1].path, service.seen[-1].query, service.seen[-1].body) == (
        "POST",
        _path(version, f"webhooks/{hook_id}:test"),
        _query(version),
        None,
    )

    listed = [item.id async for item in client.webhooks.list_webhooks(filter="displayName eq 'only this'", top=5)]
    assert listed == [hook_id]
    assert (service.seen[-1].method, service.seen[-1].path, service.seen[-1].query) == (
        "GET",
        _path(version, "webhooks"),
        _query(version, filter="displayName eq 'only this'", top="5"),
    )

    await client.webhooks.delete_webhook(hook_id)
    assert (service.seen[-1].method, service.seen[-1].path, service.seen[-1].query) == (
        "DELETE",
        _path(version, f"webhooks/{hook_id}"),
        _query(version),
    )
    assert service.hooks == {}
    assert all(seen.key == KEY for seen in service.seen)


async def test_api_version_per_call_beats_the_clients(
    fake: Callable[..., Awaitable[tuple[SpeechClient, FakeHooks]]],
) -> None:
    client, service = await fake()
    hook = await client.webhooks.create_webhook(
        web_url=HOOK_URL, events=WebHookEvents(ping=True), display_name="h", api_version="v3.1"
    )
    assert service.seen[-1].path == "/speechtotext/v3.1/webhooks"
    assert service.seen[-1].body["events"] == {"ping": True}
    assert "properties" not in service.seen[-1].body  # no secret: unsigned callbacks
    assert hook.id is not None
    await client.webhooks.get_webhook(hook.id)
    assert service.seen[-1].query == {"api-version": "2025-10-15"}  # the client's default


async def test_test_answers_false_when_there_is_nothing_to_send(
    fake: Callable[..., Awaitable[tuple[SpeechClient, FakeHooks]]],
) -> None:
    client, _service = await fake(FakeHooks(test_status=204))
    hook = await client.webhooks.create_webhook(web_url=HOOK_URL, events=COMPLETION, display_name="h")
    assert hook.id is not None
    assert await client.webhooks.test_webhook(hook) is False


async def test_listing_follows_every_page(fake: Callable[..., Awaitable[tuple[SpeechClient, FakeHooks]]]) -> None:
    client, service = await fake(FakeHooks(page_size=2))
    made = []
    for n in range(5):
        hook = await client.webhooks.create_webhook(web_url=HOOK_URL, events=COMPLETION, display_name=f"h{n}")
        made.append(hook.id)
    listed = [hook async for hook in client.webhooks.list_webhooks()]
    assert [hook.id for hook in listed] == made
    assert all(isinstance(hook, WebHook) and hook.response is not None for hook in listed)
    assert len([seen for seen in service.of("GET") if seen.path.endswith("/webhooks")]) == 3
    pages = [page async for page in client.webhooks.list_webhooks().by_page()]
    assert [len(page.items) for page in pages] == [2, 2, 1]


async def test_errors_are_typed(fake: Callable[..., Awaitable[tuple[SpeechClient, FakeHooks]]]) -> None:
    client, _ = await fake()
    with pytest.raises(NotFoundError):
        await client.webhooks.get_webhook("0a1b2c3d")
    with pytest.raises(NotFoundError):
        await client.webhooks.delete_webhook("0a1b2c3d")
    with pytest.raises(NotFoundError):
        await client.webhooks.ping_webhook("0a1b2c3d")
    with pytest.raises(NotFoundError):
        await client.webhooks.test_webhook("0a1b2c3d")


# --- a create whose answer is lost --------------------------------------------------------------------


async def test_a_create_whose_answer_is_lost_is_found_not_made_twice(
    fake: Callable[..., Awaitable[tuple[SpeechClient, FakeHooks]]],
) -> None:
    client, service = await fake(FakeHooks(drop_create_answers=1))
    hook = await client.webhooks.create_webhook(web_url=HOOK_URL, events=COMPLETION, display_name="lost answer")
    assert len(service.hooks) == 1
    assert hook.id in service.hooks
    assert len([seen for seen in service.of("POST") if seen.path.endswith("/webhooks")]) == 1
    search = [seen for seen in service.of("GET") if seen.path.endswith("/webhooks")]
    assert search
    assert search[0].query["filter"] == "displayName eq 'lost answer'"


async def test_a_create_with_a_5xx_and_no_hook_is_sent_again(
    fake: Callable[..., Awaitable[tuple[SpeechClient, FakeHooks]]],
) -> None:
    client, service = await fake(FakeHooks(create_statuses=[503]))
    hook = await client.webhooks.create_webhook(web_url=HOOK_URL, events=COMPLETION, display_name="h")
    assert list(service.hooks) == [hook.id]
    assert len([seen for seen in service.of("POST") if seen.path.endswith("/webhooks")]) == 2


async def test_a_lost_answer_without_room_for_the_tag_raises(
    fake: Callable[..., Awaitable[tuple[SpeechClient, FakeHooks]]],
) -> None:
    client, service = await fake(FakeHooks(drop_create_answers=1))
    ten = {f"k{n}": "v" for n in range(10)}
    with pytest.raises(SpeechConnectionError):
        await client.webhooks.create_webhook(
            web_url=HOOK_URL, events=COMPLETION, display_name="h", custom_properties=ten
        )
    assert len(service.hooks) == 1  # made once, never twice
    assert SUBMIT_TAG not in service.seen[0].body["customProperties"]


async def test_a_5xx_every_time_raises_after_the_retries(
    fake: Callable[..., Awaitable[tuple[SpeechClient, FakeHooks]]],
) -> None:
    client, service = await fake(FakeHooks(create_statuses=[500, 500, 500]))
    with pytest.raises(ServiceError) as caught:
        await client.webhooks.create_webhook(web_url=HOOK_URL, events=COMPLETION, display_name="h")
    assert caught.value.attempts == 3
    assert service.hooks == {}


# --- refused before sending ---------------------------------------------------------------------------


_GOOD: dict[str, Any] = {"web_url": HOOK_URL, "events": COMPLETION, "display_name": "h"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"web_url": "http://contoso.com/hook"}, "must be an https URL", id="plain-http"),
        pytest.param({"web_url": "/relative/hook"}, "not an absolute URL", id="relative-url"),
        pytest.param({"web_url": "https://user:pw@contoso.com/hook"}, "carries user info", id="user-info"),
        pytest.param({"web_url": 42}, "must be a URL as text", id="url-not-text"),
        pytest.param({"events": set[WebHookEventKind]()}, "register at least one event", id="no-events"),
        pytest.param({"events": WebHookEvents()}, "register at least one event", id="empty-events"),
        pytest.param({"events": {"transcriptionCompletion"}}, "not a web-hook event", id="unknown-event"),
        pytest.param({"events": "TranscriptionCompletion"}, "must be a WebHookEvents or a set", id="bare-string"),
        pytest.param({"display_name": " "}, "display_name must not be empty", id="empty-name"),
        pytest.param({"secret": ""}, "secret is empty", id="empty-secret"),
        pytest.param({"secret": "abc\n"}, "control character", id="secret-newline"),
        pytest.param({"secret": 12}, "secret must be text", id="secret-not-text"),
        pytest.param({"custom_properties": {f"k{n}": "v" for n in range(11)}}, "11 entries", id="eleven-properties"),
        pytest.param({"custom_properties": {"k" * 65: "v"}}, "1 to 64 characters", id="long-key"),
        pytest.param({"custom_properties": {"k": "v" * 257}}, "more than 256", id="long-value"),
        pytest.param({"custom_properties": {SUBMIT_TAG: "x"}}, "the client's own", id="the-tag-key"),
        pytest.param({"api_version": "v3.0"}, "retired", id="retired-version"),
    ],
)
async def test_bad_creates_fail_before_sending(
    fake: Callable[..., Awaitable[tuple[SpeechClient, FakeHooks]]], changes: dict[str, Any], message: str
) -> None:
    client, service = await fake()
    with pytest.raises(InvalidOptionsError, match=message) as caught:
        await client.webhooks.create_webhook(**{**_GOOD, **changes})
    assert service.seen == []
    assert "pw" not in str(caught.value)
    assert "abc" not in str(caught.value)


async def test_loopback_http_is_allowed_for_an_emulator(
    fake: Callable[..., Awaitable[tuple[SpeechClient, FakeHooks]]],
) -> None:
    client, service = await fake()
    for url in ("http://127.0.0.1:8123/hook", "http://localhost/hook", "http://[::1]:9/hook"):
        await client.webhooks.create_webhook(**{**_GOOD, "web_url": url})
        assert service.seen[-1].body["webUrl"] == url


async def test_bad_ids_updates_and_lists_fail_before_sending(
    fake: Callable[..., Awaitable[tuple[SpeechClient, FakeHooks]]],
) -> None:
    client, service = await fake()
    hooks = client.webhooks
    for bad in ("", "../x", "a/b", "a?b", "a:ping"):
        with pytest.raises(InvalidOptionsError, match="is not an id"):
            await hooks.get_webhook(bad)
        with pytest.raises(InvalidOptionsError, match="is not an id"):
            await hooks.delete_webhook(bad)
        with pytest.raises(InvalidOptionsError, match="is not an id"):
            await hooks.ping_webhook(bad)
        with pytest.raises(InvalidOptionsError, match="is not an id"):
            await hooks.test_webhook(bad)
    with pytest.raises(InvalidOptionsError, match="has no id"):
        await hooks.get_webhook(WebHook())
    with pytest.raises(InvalidOptionsError, match="update_webhook needs"):
        await hooks.update_webhook("a1")
    with pytest.raises(InvalidOptionsError, match="must be an https URL"):
        await hooks.update_webhook("a1", web_url="http://contoso.com/x")
    with pytest.raises(InvalidOptionsError, match="register at least one event"):
        await hooks.update_webhook("a1", events=set[WebHookEventKind]())
    with pytest.raises(InvalidOptionsError, match="control character"):
        await hooks.update_webhook("a1", secret="a\x00b")
    with pytest.raises(InvalidOptionsError, match="top must be"):
        hooks.list_webhooks(top=0)
    with pytest.raises(InvalidOptionsError, match="skip must be"):
        hooks.list_webhooks(skip=-1)
    with pytest.raises(InvalidOptionsError, match="filter must be"):
        hooks.list_webhooks(filter=" ")
    assert service.seen == []


async def test_a_with_options_view_has_its_own_webhooks(
    fake: Callable[..., Awaitable[tuple[SpeechClient, FakeHooks]]],
) -> None:
    client, service = await fake(FakeHooks(create_statuses=[429, 429]))
    view = client.with_options(retry=RetryPolicy(max_attempts=1, backoff_base=0.0, backoff_max=0.0))
    assert view.webhooks is not client.webhooks
    assert client.webhooks is client.webhooks
    with pytest.raises(RateLimitError):
        await view.webhooks.create_webhook(**_GOOD)
    assert len(service.of("POST")) == 1
    hook = await client.webhooks.create_webhook(**_GOOD)  # 429 once more, then made
    assert hook.id in service.hooks
