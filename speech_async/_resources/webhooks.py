"""Web hooks (``client.webhooks``): create, get, list, update, delete, ping and test, over every management version.

The paths are the same in v3.1, v3.2, 2024-11-15 and 2025-10-15 (``/speechtotext/v3.2/webhooks`` or
``/speechtotext/webhooks?api-version=2025-10-15``). Every argument is checked before anything is sent.
A create is never sent twice by a retry: as batch's submit does, it carries a unique
``customProperties`` entry (:data:`~speech_async._resource.CREATE_TAG`), and when
its outcome is unknown (the connection broke after the request went out, a 5xx, a garbled 201) the
client lists the hooks and takes the one with its tag, sending again only when there is none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Final

import msgspec
from yarl import URL

from .._bodies import JSON_CONTENT_TYPE, JsonBody
from .._exceptions import InvalidOptionsError
from .._headers import redact_url
from .._http import json_decoder
from .._models._webhooks import WebHook, WebHookEvents
from .._paging import AsyncPager
from .._resource import AsyncResource, add_create_tag
from .._urls import is_loopback
from .._versions import check_management_version, management_url
from ..webhooks import WebHookEventKind
from ._management import MAX_CUSTOM_PROPERTIES, check_custom_properties, check_text, list_query

if TYPE_CHECKING:
    from .._config import ApiVersion, RetryPolicy, Timeouts
    from .._http import Response

__all__ = ["WebHookOperations"]

_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,127}")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_WEBHOOK: Final = json_decoder(msgspec.json.Decoder(WebHook), "the web hook")
_NO_CONTENT: Final = 204

EventsArg = WebHookEvents | Iterable[WebHookEventKind | str]
"""What ``events=`` takes: a :class:`WebHookEvents`, or the kinds (``{WebHookEventKind.TRANSCRIPTION_COMPLETION}``)."""


class WebHookOperations(AsyncResource):
    """Web hooks, as ``client.webhooks``: the URLs the service calls back when jobs and models change.

    Every method takes ``api_version=`` (the client's ``management_api_version`` by default:
    2025-10-15, 2024-11-15, v3.2 or v3.1), ``retry=`` and ``timeout=``. Receive the callbacks with
    :class:`speech_async.webhooks.WebHookReceiver`.
    """

    async def create_webhook(
        self,
        *,
        web_url: str,
        events: EventsArg,
        display_name: str,
        description: str | None = None,
        secret: str | None = None,
        custom_properties: Mapping[str, str] | None = None,
        api_version: ApiVersion | str | None = None,
        retry: RetryPolicy | int | None = None,
        timeout: Timeouts | float | None = None,
    ) -> WebHook:
        """Register a web hook (``POST /webhooks``, 201): the service calls ``web_url`` for each of ``events``.

        The new hook is ``NotStarted`` until the service's ``Challenge`` to ``web_url`` is answered
        (a :class:`~speech_async.webhooks.WebHookReceiver` does it), then ``Succeeded``.

        Args:
            web_url: An https URL (http only on this machine, for an emulator), without user info.
            events: A :class:`WebHookEvents`, or a set of :class:`~speech_async.webhooks.WebHookEventKind`;
                at least one.
            display_name: The hook's name.
            secret: The key the service signs each callback with (HMAC-SHA256, base64); ``None`` for
                unsigned callbacks. Give the same to the receiver.
            custom_properties: Up to 10 string pairs (key ≤ 64, value ≤ 256 characters); one slot is
                used by the create tag (:data:`~speech_async._resource.CREATE_TAG`)
                when free, so that a create whose answer was lost is found instead of made twice. With
                ten of your own there is no tag, and a lost answer raises instead.

        Raises:
            InvalidOptionsError: an argument is invalid (nothing was sent).
            SpeechStatusError, SpeechConnectionError, ResponseDecodeError: the create failed.
        """
        call = self._call_options(retry, timeout)
        version = self._version(api_version)
        body: dict[str, object] = {
            "displayName": check_text(display_name, "display_name"),
            "webUrl": _check_web_url(web_url),
            "events": _events_wire(events),
        }
        if description is not None:
            body["description"] = check_text(description, "description", empty=True)
        if secret is not None:
            body["properties"] = {"secret": _check_secret(secret)}
        own = check_custom_properties(custom_properties or {}, MAX_CUSTOM_PROPERTIES)
        tag = add_create_tag(own, MAX_CUSTOM_PROPERTIES)
        body["customProperties"] = own
        collection = management_url(self._ctx.endpoint, version, "webhooks")
        # unverified: that the web-hook list takes the same displayName filter as the transcriptions' list.
        return await self._create_once(
            collection,
            body,
            decode=_WEBHOOK,
            item=WebHook,
            collection=collection,
            tag=tag,
            display_name=display_name,
            call=call,
            what="the list of web hooks",
        )

    async def get_webhook(
        self,
        webhook: WebHook | str,
        *,
        api_version: ApiVersion | str | None = None,
        retry: RetryPolicy | int | None = None,
        timeout: Timeouts | float | None = None,
    ) -> WebHook:
        """A web hook (``GET /webhooks/{id}``), by id or as a :class:`WebHook` to read again.

        Raises:
            InvalidOptionsError: not an id (nothing was sent).
            NotFoundError: no such hook.
        """
        call = self._call_options(retry, timeout)
        url = self._url(api_version, webhook)
        return await self._request(
            "GET", url, headers={"Accept": JSON_CONTENT_TYPE}, decode=_WEBHOOK, idempotent=True, call=call
        )

    def list_webhooks(
        self,
        *,
        filter: str | None = None,
        skip: int | None = None,
        top: int | None = None,
        api_version: ApiVersion | str | None = None,
        retry: RetryPolicy | int | None = None,
        timeout: Timeouts | float | None = None,
    ) -> AsyncPager[WebHook]:
        """The hooks, as a pager (``async for hook in client.webhooks.list_webhooks()``); nothing is sent yet.

        ``filter`` is the service's filter expression; ``skip`` and ``top`` page on the service's side
        (the pager follows every next page anyway).
        """
        call = self._call_options(retry, timeout)
        version = self._version(api_version)
        url = management_url(self._ctx.endpoint, version, "webhooks", list_query(filter, skip, top))
        return self._list(url, item=WebHook, call=call, what="the list of web hooks")

    async def update_webhook(
        self,
        webhook: WebHook | str,
        *,
        web_url: str | None = None,
        events: EventsArg | None = None,
        display_name: str | None = None,
        description: str | None = None,
        secret: str | None = None,
        custom_properties: Mapping[str, str] | None = None,
        api_version: ApiVersion | str | None = None,
        retry: RetryPolicy | int | None = None,
        timeout: Timeouts | float | None = None,
    ) -> WebHook:
        """Change a hook (``PATCH /webhooks/{id}``); only what is given is sent.

        A hook the service set ``Failed`` (its deliveries kept failing) is re-enabled by sending its
        ``web_url`` again, the same value; a new ``web_url`` is challenged again, and the hook is
        ``NotStarted`` until the challenge is answered.

        Args:
            secret: A new signing key, or ``""`` to turn the signature off.
            custom_properties: Replaces the whole map (the create tag too).

        Raises:
            InvalidOptionsError: nothing to change, or an invalid value (nothing was sent).
        """
        call = self._call_options(retry, timeout)
        url = self._url(api_version, webhook)
        patch: dict[str, object] = {}
        if display_name is not None:
            patch["displayName"] = check_text(display_name, "display_name")
        if description is not None:
            patch["description"] = check_text(description, "description", empty=True)
        if web_url is not None:
            patch["webUrl"] = _check_web_url(web_url)
        if events is not None:
            patch["events"] = _events_wire(events)
        if secret is not None:
            patch["properties"] = {"secret": "" if secret == "" else _check_secret(secret)}
        if custom_properties is not None:
            patch["customProperties"] = check_custom_properties(custom_properties, MAX_CUSTOM_PROPERTIES)
        if not patch:
            raise InvalidOptionsError(
                "update_webhook needs web_url, events, display_name, description, secret or custom_properties"
            )
        return await self._request(
            "PATCH",
            url,
            headers={"Accept": JSON_CONTENT_TYPE},
            body=JsonBody(patch),
            decode=_WEBHOOK,
            idempotent=True,
            call=call,
        )

    async def delete_webhook(
        self,
        webhook: WebHook | str,
        *,
        api_version: ApiVersion | str | None = None,
        retry: RetryPolicy | int | None = None,
        timeout: Timeouts | float | None = None,
    ) -> None:
        """Delete a hook (``DELETE /webhooks/{id}``, 204); the service calls it no more.

        Raises:
            NotFoundError: no such hook (the spec does not promise a 204 for one that does not exist).
        """
        call = self._call_options(retry, timeout)
        url = self._url(api_version, webhook)
        await self._request("DELETE", url, decode=_nothing, idempotent=True, call=call)

    async def ping_webhook(
        self,
        webhook: WebHook | str,
        *,
        api_version: ApiVersion | str | None = None,
        retry: RetryPolicy | int | None = None,
        timeout: Timeouts | float | None = None,
    ) -> None:
        """Ask the service to send the hook a ``Ping`` (``POST /webhooks/{id}:ping``, 202), whose body is the hook."""
        call = self._call_options(retry, timeout)
        url = self._url(api_version, webhook, ":ping")
        # A repeated ping only sends another ping: safe to retry.
        await self._request("POST", url, decode=_nothing, idempotent=True, call=call)

    async def test_webhook(
        self,
        webhook: WebHook | str,
        *,
        api_version: ApiVersion | str | None = None,
        retry: RetryPolicy | int | None = None,
        timeout: Timeouts | float | None = None,
    ) -> bool:
        """Ask the service to resend the last entity of each registered event (``POST /webhooks/{id}:test``).

        Returns:
            ``True`` when callbacks are on their way (202); ``False`` when no entity exists for any
            registered event, so nothing is sent (204).
        """
        call = self._call_options(retry, timeout)
        url = self._url(api_version, webhook, ":test")
        # A repeated test only resends the same callbacks, which the receiver de-duplicates.
        return await self._request("POST", url, decode=_sent, idempotent=True, call=call)

    # --- the pieces ---------------------------------------------------------------------------------

    def _version(self, api_version: ApiVersion | str | None) -> str:
        if api_version is None:
            return self._ctx.management_api_version
        return check_management_version(api_version)

    def _url(self, api_version: ApiVersion | str | None, webhook: object, action: str = "") -> URL:
        version = self._version(api_version)
        return management_url(self._ctx.endpoint, version, f"webhooks/{_hook_id(webhook)}{action}")


# --- checks -------------------------------------------------------------------------------------------


def _nothing(response: Response) -> None:
    return None


def _sent(response: Response) -> bool:
    return response.status != _NO_CONTENT


def _hook_id(value: object) -> str:
    if isinstance(value, WebHook):
        hook_id = value.id
        if hook_id is None:
            raise InvalidOptionsError("the web hook has no id: pass a WebHook from the service, or its id")
        value = hook_id
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise InvalidOptionsError(f"webhook {value!r} is not an id such as '2e856efe-ef53-465a-a632-6a084c1d349d'")
    return value


def _check_web_url(value: object) -> str:
    """An https URL (http only on loopback, for an emulator) without user info."""
    if not isinstance(value, str):
        raise InvalidOptionsError(f"web_url must be a URL as text, not {type(value).__name__}")
    shown = redact_url(value)
    try:
        url = URL(value, encoded=True)
    except (TypeError, ValueError) as err:
        raise InvalidOptionsError(f"web_url {shown!r} is not a URL") from err
    if not url.is_absolute() or not url.host:
        raise InvalidOptionsError(f"web_url {shown!r} is not an absolute URL")
    if url.scheme != "https" and not (url.scheme == "http" and is_loopback(url.host)):
        raise InvalidOptionsError(
            f"web_url {shown!r} must be an https URL (http only on this machine, for an emulator)"
        )
    if url.user or url.password:
        raise InvalidOptionsError(
            f"web_url {shown!r} carries user info, which the service would send to every callback's host; "
            "authenticate the callbacks with secret= instead"
        )
    return value


def _check_secret(value: object) -> str:
    # The messages never show the secret: they end up in logs.
    if not isinstance(value, str):
        raise InvalidOptionsError(f"secret must be text, not {type(value).__name__}")
    if not value:
        raise InvalidOptionsError("secret is empty; pass None for unsigned callbacks")
    if _CONTROL.search(value):
        raise InvalidOptionsError("secret holds a control character (a newline from a file?); strip it")
    return value


def _events_wire(events: object) -> dict[str, bool]:
    if isinstance(events, WebHookEvents):
        chosen = events
    elif isinstance(events, (str, bytes)) or not isinstance(events, Iterable):
        raise InvalidOptionsError(
            "events must be a WebHookEvents or a set of WebHookEventKind, such as "
            "{WebHookEventKind.TRANSCRIPTION_COMPLETION}"
        )
    else:
        try:
            chosen = WebHookEvents.of(events)  # pyright: ignore[reportUnknownArgumentType]
        except ValueError as err:
            raise InvalidOptionsError(str(err)) from err
    if not chosen:
        raise InvalidOptionsError("events is empty: register at least one event")
    wire = msgspec.to_builtins(chosen)
    assert isinstance(wire, dict)
    return wire  # pyright: ignore[reportUnknownVariableType]
