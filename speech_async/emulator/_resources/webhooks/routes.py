"""Web-hook routes, for v3.1, v3.2, 2024-11-15 and 2025-10-15 (addendum §3.7).

Two route families with the same handlers, as in batch: ``/speechtotext/webhooks...`` with
``?api-version=`` and ``/speechtotext/v3.{1,2}/webhooks...`` (names ending in ``_v3``). List, get and
update answer ``Retry-After`` while the hook is ``NotStarted``; ping and test answer 202 +
``Retry-After`` (test: 204 when no entity exists for any registered event). The v3.0 forms
(``/webhooks/{id}/ping``) are not served.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote, urlencode

from aiohttp import web

from ..._lifecycle import NOT_STARTED
from ..._replies import json_response
from ..._routes import RouteTable, service_route
from ..._state import STATE
from .._management import int_query, read_json
from .._management import management_spec as _spec
from .._management import request_origin as _origin
from .._management import request_version as _version
from ..batch.errors import not_found, unsupported_media_type
from ..batch.filters import parse_filter
from ..batch.request import is_v3
from ..batch.wire import encode, version_base
from .request import check_update, parse_create
from .wire import hook_body

if TYPE_CHECKING:
    from .backend import WebHook, WebHookBackend

__all__ = ("ROUTES",)

ROUTES: Final = RouteTable("webhooks")

# unverified: the page size and largest top (as batch's lists).
_DEFAULT_TOP: Final = 100
_MAX_TOP: Final = 100
_MAX_BODY: Final = 1024 * 1024
_STRINGS: Final = frozenset({"displayName", "description", "status", "webUrl"})
_DATES: Final = frozenset({"createdDateTime", "lastActionDateTime"})
# unverified: the Retry-After of a NotStarted hook and of ping/test (declared, value not published).
_RETRY_AFTER: Final = {"Retry-After": "1"}


def _backend(request: web.Request) -> WebHookBackend:
    return request.app[STATE].webhooks


def _hook(request: web.Request) -> WebHook:
    hook_id = request.match_info["id"]
    hook = _backend(request).hooks.get(hook_id)
    if hook is None:
        # unverified: the message (batch's NotFound text).
        raise not_found("web hook", hook_id)
    return hook


def _retry_after(hooks: list[WebHook]) -> dict[str, str]:
    return _RETRY_AFTER if any(hook.status == NOT_STARTED for hook in hooks) else {}


def _shown(request: web.Request, hook: WebHook, version: str) -> bytes:
    return encode(_body(request, hook, version))


def _body(request: web.Request, hook: WebHook, version: str) -> dict[str, Any]:
    return hook_body(hook, version=version, origin=_origin(request), with_secret=True)


def _filter_values(hook: WebHook) -> dict[str, str | float]:
    values: dict[str, str | float] = {
        "displayName": hook.display_name,
        "status": hook.status,
        "webUrl": hook.web_url,
        "createdDateTime": float(int(hook.created)),
        "lastActionDateTime": float(int(hook.last_action)),
    }
    if hook.description is not None:
        values["description"] = hook.description
    return values


# --- handlers ------------------------------------------------------------------------------------


async def _list(request: web.Request) -> web.StreamResponse:
    version = _version(request)
    text = request.query.get("filter")
    predicate = parse_filter(text, strings=_STRINGS, dates=_DATES)
    skip = int_query(request, "skip", 0, low=0, high=None)
    top = int_query(request, "top", _DEFAULT_TOP, low=1, high=_MAX_TOP)
    hooks = list(_backend(request).hooks.values())
    if predicate is not None:
        hooks = [hook for hook in hooks if predicate(_filter_values(hook))]
    page = hooks[skip : skip + top]
    next_link: str | None = None
    if skip + top < len(hooks):
        # As batch: skip and top repeated, filter kept, api-version last (addendum §3.4).
        query = {"skip": str(skip + top), "top": str(top), **({} if text is None else {"filter": text})}
        if not is_v3(version):
            query["api-version"] = version
        next_link = f"{version_base(_origin(request), version)}/webhooks?{urlencode(query, quote_via=quote)}"
    values = [_body(request, hook, version) for hook in page]
    # unverified: the last page's @nextLink is null, as on batch's lists.
    return json_response(200, encode({"values": values, "@nextLink": next_link}), headers=_retry_after(page))


async def _create(request: web.Request) -> web.StreamResponse:
    version = _version(request)
    fields = parse_create(await read_json(request, max_bytes=_MAX_BODY))
    hook = _backend(request).create(fields, version=version, origin=_origin(request))
    body = _body(request, hook, version)
    return json_response(201, encode(body), headers={"Location": body["self"], **_retry_after([hook])})


async def _get(request: web.Request) -> web.StreamResponse:
    version = _version(request)
    hook = _hook(request)
    return json_response(200, _shown(request, hook, version), headers=_retry_after([hook]))


async def _update(request: web.Request) -> web.StreamResponse:
    version = _version(request)
    content_type = request.content_type
    if content_type not in ("application/json", "application/merge-patch+json"):
        raise unsupported_media_type(content_type)
    hook = _hook(request)
    changes = check_update(await read_json(request, max_bytes=_MAX_BODY))
    backend = _backend(request)
    if "displayName" in changes:
        hook.display_name = changes["displayName"]
    if "description" in changes:
        hook.description = changes["description"]
    if "customProperties" in changes:
        hook.custom_properties = changes["customProperties"]
    if "events" in changes:
        # unverified: the events sent replace the registered ones (the spec does not say whether they merge).
        hook.events = changes["events"]
    if "secret" in changes:
        hook.secret = changes["secret"]
    backend.touch(hook)
    if "webUrl" in changes:
        hook.web_url = changes["webUrl"]
        # A changed webUrl is validated again; the same one re-enables a Failed hook (maintainer, addendum §3.7).
        backend.challenge(hook)
    return json_response(200, _shown(request, hook, version), headers=_retry_after([hook]))


async def _delete(request: web.Request) -> web.StreamResponse:
    # 204 "successfully deleted"; unlike transcriptions, an unknown id is not declared a success.
    hook = _hook(request)
    _backend(request).delete(hook.id)
    return web.Response(status=204)


async def _ping(request: web.Request) -> web.StreamResponse:
    hook = _hook(request)
    _backend(request).ping(hook)
    return web.Response(status=202, headers=_RETRY_AFTER)


async def _test(request: web.Request) -> web.StreamResponse:
    hook = _hook(request)
    if not _backend(request).test(hook):
        return web.Response(status=204)
    return web.Response(status=202, headers=_RETRY_AFTER)


_OPERATIONS: Final = (
    ("webhooks_list", "GET", "/webhooks", "List web hooks: skip, top, filter (WebHooks_List)", _list),
    (
        "webhooks_create",
        "POST",
        "/webhooks",
        "Create a web hook, 201; the challenge follows (WebHooks_Create)",
        _create,
    ),
    ("webhooks_get", "GET", "/webhooks/{id}", "One web hook (WebHooks_Get)", _get),
    (
        "webhooks_update",
        "PATCH",
        "/webhooks/{id}",
        "Update a web hook; a webUrl runs the challenge (WebHooks_Update)",
        _update,
    ),
    ("webhooks_delete", "DELETE", "/webhooks/{id}", "Delete a web hook, 204 (WebHooks_Delete)", _delete),
    ("webhooks_ping", "POST", "/webhooks/{id}:ping", "Send a Ping event, 202 (WebHooks_Ping)", _ping),
    (
        "webhooks_test",
        "POST",
        "/webhooks/{id}:test",
        "Resend the last entity of each registered event, 202; 204 when there is none (WebHooks_Test)",
        _test,
    ),
)

for _name, _method, _path, _summary, _handler in _OPERATIONS:
    service_route(ROUTES, _spec(_name, _method, _path, _summary, v3=False))(_handler)
    service_route(ROUTES, _spec(_name, _method, _path, _summary, v3=True))(_handler)
