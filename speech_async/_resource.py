"""The base of every REST area: :class:`AsyncResource`, whose :meth:`~AsyncResource._request` each operation uses.

An operation validates its arguments in its own area module, builds its URL (or path), query, headers
and body, and hands them to ``_request`` with a ``decode`` for the answer; ``_request`` opens the client
if needed and sends through the shared transport with the call's :class:`CallOptions`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec
from yarl import URL

from ._http import json_decoder, response_info
from ._models import WithResponse, attach_response
from ._models._common import PageBody
from ._paging import AsyncPager

if TYPE_CHECKING:
    from ._context import CallOptions, ClientContext
    from ._http import Authenticator, Body, Response, Transport

__all__ = ["AsyncResource"]

T = TypeVar("T")


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
        return self._ctx.call.override(retry, timeout)

    async def _ensure_open(self) -> Transport:
        return await self._ctx.life.ensure_open()

    async def _request(
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
    ) -> T:
        """Send one logical request (retried by ``call.retry``) and return its decoded answer.

        ``url`` is a full URL, or a path under the resource endpoint; ``query`` is added to it.
        ``auth`` defaults to the client's authenticator; ``accept`` may declare an error status an answer.
        """
        transport = await self._ensure_open()
        target = url if isinstance(url, URL) else self._ctx.endpoint / url
        if query:
            target = target.update_query(query)
        return await transport.request(
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
