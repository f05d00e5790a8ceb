"""``AsyncPager[T]``: the items of a management-API list, page by page, following ``@nextLink``.

A list answers ``{"values": [...], "@nextLink": "<url>" | null}``; the next link repeats ``skip``,
``top``, ``filter`` and ``api-version``, so it is followed verbatim, until it is absent or null. It is
followed only to the client's own endpoint (scheme, host and port): the request carries the key, and a
link elsewhere (a tampered answer, a proxy's rewrite) must not receive it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from yarl import URL

from ._exceptions import UntrustedLinkError
from ._headers import redact_url

__all__ = ["AsyncPager", "Page", "check_same_origin"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a list: its items, and the token of the next page (``None`` on the last one)."""

    items: tuple[T, ...]
    continuation_token: str | None
    """The next page's link: pass it to :meth:`AsyncPager.by_page` to go on from there, later."""


def check_same_origin(link: str, endpoint: URL, *, what: str = "the next page's link") -> URL:
    """``link`` as a URL, if it points at ``endpoint``'s scheme, host and port; else an :class:`UntrustedLinkError`."""
    try:
        url = URL(link, encoded=True)
    except (TypeError, ValueError) as err:
        raise UntrustedLinkError(f"{what} is not a URL", link=redact_url(link)) from err
    if not url.is_absolute():
        raise UntrustedLinkError(f"{what} {redact_url(link)!r} is not an absolute URL", link=redact_url(link))
    same = (
        url.scheme.lower() == endpoint.scheme.lower()
        and (url.host or "").lower() == (endpoint.host or "").lower()
        and url.port == endpoint.port
    )
    if not same:
        raise UntrustedLinkError(
            f"{what} points at {url.scheme}://{url.host}:{url.port}, not at the client's endpoint "
            f"{endpoint.scheme}://{endpoint.host}:{endpoint.port}: it is not followed, so that the key "
            "is never sent elsewhere",
            link=redact_url(link),
        )
    return url


class AsyncPager(Generic[T]):
    """The items of a list, fetched a page at a time as they are iterated.

    ``async for item in pager`` gives every item; ``async for page in pager.by_page()`` gives the pages
    (:class:`Page`), and ``by_page(continuation_token=page.continuation_token)`` resumes after a page,
    in this process or another. Nothing is fetched before iteration starts; each iteration starts from
    the first page again.

    Raises (while iterating):
        UntrustedLinkError: a next link (or a continuation token) points at another host; nothing was sent there.
        SpeechStatusError, SpeechConnectionError, ResponseDecodeError: as any call.
    """

    __slots__ = ("_endpoint", "_fetch", "_first")

    def __init__(
        self,
        fetch: Callable[[URL], Awaitable[tuple[tuple[T, ...], str | None]]],
        first: URL,
        endpoint: URL,
    ) -> None:
        self._fetch = fetch
        self._first = first
        self._endpoint = endpoint

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()

    async def _items(self) -> AsyncIterator[T]:
        async for page in self.by_page():
            for item in page.items:
                yield item

    def by_page(self, continuation_token: str | None = None) -> AsyncIterator[Page[T]]:
        """The pages, from the first one, or from the page ``continuation_token`` names.

        Raises:
            UntrustedLinkError: ``continuation_token`` is not a link to the client's endpoint (at once).
        """
        start = self._first if continuation_token is None else self._check(continuation_token, "the continuation token")
        return self._pages(start)

    async def _pages(self, url: URL) -> AsyncIterator[Page[T]]:
        next_url: URL | None = url
        while next_url is not None:
            items, link = await self._fetch(next_url)
            # The page is the caller's even when its link is refused: the refusal comes on the next step.
            yield Page(items, link or None)
            next_url = None if not link else self._check(link, "the next page's link")

    def _check(self, link: str, what: str) -> URL:
        return check_same_origin(link, self._endpoint, what=what)

    def __repr__(self) -> str:
        return f"AsyncPager({redact_url(str(self._first))!r})"
