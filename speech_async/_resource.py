"""The base of every REST area: :class:`AsyncResource`, whose :meth:`~AsyncResource._request` each operation uses.

An operation validates its arguments in its own area module, builds its URL (or path), query, headers
and body, and hands them to ``_request`` with a ``decode`` for the answer; ``_request`` opens the client
if needed and sends through the shared transport with the call's :class:`CallOptions`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypeVar

from yarl import URL

if TYPE_CHECKING:
    from ._context import CallOptions, ClientContext
    from ._http import Authenticator, Body, Response, Transport

__all__ = ["AsyncResource"]

T = TypeVar("T")


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
