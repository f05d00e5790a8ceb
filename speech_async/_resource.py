"""The base of every REST area: :class:`AsyncResource`, whose :meth:`~AsyncResource._request` each operation uses.

An operation validates its arguments in its own area module, builds its URL (or path), query, headers
and body, and hands them to ``_request`` with a ``decode`` for the answer; ``_request`` opens the client
if needed and sends through the shared transport with the call's :class:`CallOptions`. Lists go through
:meth:`~AsyncResource._list`, and the management API's creates through
:meth:`~AsyncResource._create_once`, which never sends a create twice.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import uuid
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar

import msgspec
from yarl import URL

from ._bodies import JSON_CONTENT_TYPE, JsonBody
from ._exceptions import (
    BadRequestError,
    InvalidOptionsError,
    ResponseDecodeError,
    SpeechConnectionError,
    SpeechError,
    SpeechStatusError,
)
from ._http import json_decoder, response_info
from ._models import WithResponse, attach_response
from ._models._common import PageBody
from ._paging import AsyncPager
from ._retry import retry_delay

if TYPE_CHECKING:
    from ._context import CallOptions, ClientContext
    from ._http import Authenticator, Body, Response, Transport

__all__ = ["CREATE_TAG", "AsyncResource", "add_create_tag"]

T = TypeVar("T")

CREATE_TAG: Final = "speech_async.submitId"
"""The ``customProperties`` key of the tag that finds a create again when its answer is lost.

unverified: that the service accepts a dot in a custom property's key (the docs state only lengths)."""


class _Tagged(Protocol):
    @property
    def custom_properties(self) -> Mapping[str, str] | None: ...


_TaggedT = TypeVar("_TaggedT", bound=_Tagged)


def add_create_tag(custom_properties: dict[str, str], limit: int) -> str | None:
    """Add a fresh :data:`CREATE_TAG` to ``custom_properties`` when there is room; return it (``None``: no room).

    Raises:
        InvalidOptionsError: the caller used the tag's key.
    """
    if CREATE_TAG in custom_properties:
        raise InvalidOptionsError(f"custom_properties key {CREATE_TAG!r} is the client's own; use another key")
    if len(custom_properties) >= limit:
        return None
    tag = custom_properties[CREATE_TAG] = uuid.uuid4().hex
    return tag


def outcome_unknown(err: SpeechError) -> bool:
    """Whether a failed create may still have created its entity (so that sending it again may duplicate it)."""
    if isinstance(err, SpeechConnectionError):
        return err.request_sent
    if isinstance(err, SpeechStatusError):
        return err.status_code >= 500
    return isinstance(err, ResponseDecodeError)


@functools.cache
def _page_decoder(item: type[Any]) -> msgspec.json.Decoder[Any]:
    # Built once per item type and kept: a decoder is costly to build and cheap to reuse.
    return msgspec.json.Decoder(PageBody[item])  # pyright: ignore[reportInvalidTypeForm]


class AsyncResource:
    """An area of the API, bound to a client's context."""

    _ctx: ClientContext

    def __init__(self, ctx: ClientContext) -> None:
        self._ctx = ctx

    def _call_options(self, retry: object, timeout: object) -> CallOptions:
        """The options of one call: the context's defaults with the call's ``retry``/``timeout`` applied."""
        if retry is None and timeout is None:
            return self._ctx.call
        return self._ctx.call.override(retry, timeout)

    async def _ensure_open(self) -> Transport:
        life = self._ctx.life
        return life.ready() or await life.ensure_open()

    def _request(
        self,
        method: str,
        url: URL | str,
        *,
        decode: Callable[[Response], T],
        idempotent: bool,
        call: CallOptions,
        query: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        body: Body | None = None,
        auth: Authenticator | None = None,
        expect_continue: bool = False,
        accept: Callable[[Response], bool] | None = None,
    ) -> Coroutine[Any, Any, T]:
        """Send one logical request (retried by ``call.retry``); await it for its decoded answer.

        ``url`` is a full URL, or a path under the resource endpoint; ``query`` is added to it.
        ``auth`` defaults to the client's authenticator; ``accept`` may declare an error status an answer.
        Returns the transport's own coroutine once the client is open (no frame of its own on the path).
        """
        target = url if isinstance(url, URL) else self._ctx.endpoint / url
        if query:
            target = target.update_query(query)
        transport = self._ctx.life.ready()
        if transport is None:
            return self._opening_request(
                method, target, decode, idempotent, call, headers, body, auth, expect_continue, accept
            )
        return transport.request(
            method,
            target,
            headers=headers or {},
            decode=decode,
            auth=self._ctx.auth if auth is None else auth,
            body=body,
            idempotent=idempotent,
            retry=call.retry,
            timeouts=call.timeouts,
            expect_continue=expect_continue,
            accept=accept,
        )

    async def _opening_request(
        self,
        method: str,
        target: URL,
        decode: Callable[[Response], T],
        idempotent: bool,
        call: CallOptions,
        headers: Mapping[str, str] | None,
        body: Body | None,
        auth: Authenticator | None,
        expect_continue: bool,
        accept: Callable[[Response], bool] | None,
    ) -> T:
        # Opened, the client is ready on this loop: the fast path then sends (ensure_open raises otherwise).
        await self._ctx.life.ensure_open()
        return await self._request(
            method,
            target,
            decode=decode,
            idempotent=idempotent,
            call=call,
            headers=headers,
            body=body,
            auth=auth,
            expect_continue=expect_continue,
            accept=accept,
        )

    def _list(
        self,
        url: URL,
        *,
        item: type[T],
        call: CallOptions,
        query: Mapping[str, str] | None = None,
        what: str = "the list",
    ) -> AsyncPager[T]:
        """A pager over the list at ``url`` (``{"values": [...], "@nextLink": ...}``), fetching nothing yet.

        Every page is a GET (idempotent, retried by ``call.retry``); next links are followed as given,
        and only to the client's endpoint.
        """
        first = url.update_query(query) if query else url
        decode_page = json_decoder(_page_decoder(item), what)
        wants_info = issubclass(item, WithResponse)

        def decode(response: Response) -> tuple[tuple[T, ...], str | None]:
            page = decode_page(response)
            values: tuple[T, ...] = page.values
            if wants_info:
                info = response_info(response)
                for value in values:
                    attach_response(value, info)  # pyright: ignore[reportArgumentType]
            return values, page.next_link

        async def fetch(target: URL) -> tuple[tuple[T, ...], str | None]:
            return await self._request(
                "GET", target, headers={"Accept": "application/json"}, decode=decode, idempotent=True, call=call
            )

        return AsyncPager(fetch, first, self._ctx.endpoint)

    async def _create_once(
        self,
        url: URL,
        body: dict[str, object],
        *,
        decode: Callable[[Response], _TaggedT],
        item: type[_TaggedT],
        collection: URL,
        tag: str | None,
        display_name: str,
        call: CallOptions,
        what: str,
    ) -> _TaggedT:
        """POST a create, never twice: a management write that makes a billed job or a hook.

        Each attempt goes out on its own (``idempotent=False``). A failure that may have created the entity
        (the connection broke after sending, a 5xx, a garbled answer) is resolved by finding the entity
        that carries ``tag`` in the list at ``collection`` (filtered by ``display_name`` first, in full if
        the service refuses the filter); only when none has it is the create sent again. Without a tag
        (no room in ``customProperties``) such a failure is raised.
        """
        policy = call.retry
        once = dataclasses.replace(call, retry=dataclasses.replace(policy, max_attempts=1))
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._request(
                    "POST",
                    url,
                    headers={"Accept": JSON_CONTENT_TYPE},
                    body=JsonBody(body),
                    decode=decode,
                    idempotent=False,
                    call=once,
                )
            except SpeechError as err:
                unknown = outcome_unknown(err)
                if unknown and tag is not None:
                    found = await self._find_tagged(collection, item, tag, display_name, call, what)
                    if found is not None:
                        return found
                # Nothing was created (a 4xx, or the request never went out), or the tag is in no list:
                # unverified: that an entity the service created is listed at once (the list is consistent).
                delay = None if unknown and tag is None else retry_delay(err, attempt, policy, idempotent=unknown)
                if delay is None:
                    err.attempts = attempt
                    raise
                await asyncio.sleep(delay)

    async def _find_tagged(
        self, collection: URL, item: type[_TaggedT], tag: str, display_name: str, call: CallOptions, what: str
    ) -> _TaggedT | None:
        quoted = display_name.replace("'", "''")
        narrow = collection.update_query({"filter": f"displayName eq '{quoted}'"})
        try:
            return await self._search(narrow, item, tag, call, what)
        except BadRequestError:
            # A service that refuses the filter is searched in full: slower, and still never a duplicate.
            return await self._search(collection, item, tag, call, what)

    async def _search(self, url: URL, item: type[_TaggedT], tag: str, call: CallOptions, what: str) -> _TaggedT | None:
        async for found in self._list(url, item=item, call=call, what=what):
            properties = found.custom_properties
            if properties is not None and properties.get(CREATE_TAG) == tag:
                return found
        return None
