"""``AsyncPager``: following ``@nextLink`` verbatim, stopping on its absence, resuming from a page's token,
and never sending the key to another scheme, host or port. Driven through ``client.batch.list_transcriptions``
against loopback servers of the tests' own."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from speech_async import (
    AsyncPager,
    KeyCredential,
    Page,
    ResponseDecodeError,
    RetryPolicy,
    SpeechClient,
    Transcription,
    UntrustedLinkError,
)

from ..support.http import serve_on_loopback

KEY = "paging-test-key"


def job(n: int) -> dict[str, Any]:
    return {"self": f"https://h/speechtotext/transcriptions/job-{n}", "displayName": f"job {n}", "status": "Running"}


@dataclass
class Pages:
    """Answers ``GET /speechtotext/transcriptions`` from ``pages[skip]``, keyed by the ``skip`` query."""

    pages: dict[str, Callable[[str], dict[str, Any]]] = field(
        default_factory=dict[str, Callable[[str], dict[str, Any]]]
    )
    seen: list[tuple[str, str, str | None]] = field(default_factory=list[tuple[str, str, str | None]])
    base: str = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(
            (request.path, request.raw_path.partition("?")[2], request.headers.get("Ocp-Apim-Subscription-Key"))
        )
        answer = self.pages[request.query.get("skip", "0")](self.base)
        return web.Response(body=json.dumps(answer).encode(), content_type="application/json")


@pytest.fixture
async def servers() -> AsyncIterator[Callable[..., Any]]:
    async with contextlib.AsyncExitStack() as stack:

        async def start(pages: Pages) -> str:
            app = web.Application()
            app.router.add_get("/{tail:.*}", pages.handle)
            pages.base = await stack.enter_async_context(serve_on_loopback(app))
            return pages.base

        async def client_of(base: str) -> SpeechClient:
            quick = RetryPolicy(max_attempts=2, backoff_base=0.0, backoff_max=0.0)
            return await stack.enter_async_context(SpeechClient(base, KeyCredential(KEY), retry=quick))

        start.client_of = client_of  # type: ignore[attr-defined]
        yield start


RUNNING = "filter=status%20eq%20%27Running%27&api-version=2025-10-15"


def three_pages(last: dict[str, Any]) -> Pages:
    return Pages(
        {
            "0": lambda base: {
                "values": [job(0), job(1)],
                "@nextLink": f"{base}/speechtotext/transcriptions?skip=2&top=2&{RUNNING}",
            },
            "2": lambda base: {
                "values": [job(2), job(3)],
                "@nextLink": f"{base}/speechtotext/transcriptions?skip=4&top=2&{RUNNING}",
            },
            "4": lambda base: {"values": [job(4)], **last},
        }
    )


@pytest.mark.parametrize("last", [{}, {"@nextLink": None}], ids=["absent-next-link", "null-next-link"])
async def test_every_item_across_pages_and_the_link_is_followed_verbatim(servers: Any, last: dict[str, Any]) -> None:
    pages = three_pages(last)
    client = await servers.client_of(await servers(pages))

    names = [item.display_name async for item in client.batch.list_transcriptions(top=2, filter="status eq 'Running'")]

    assert names == [f"job {n}" for n in range(5)]
    assert [query for _, query, _ in pages.seen] == [
        "filter=status+eq+'Running'&top=2&api-version=2025-10-15",
        "skip=2&top=2&filter=status%20eq%20%27Running%27&api-version=2025-10-15",
        "skip=4&top=2&filter=status%20eq%20%27Running%27&api-version=2025-10-15",
    ]
    assert all(key == KEY for _, _, key in pages.seen)


async def test_pages_carry_their_items_and_the_token_of_the_next(servers: Any) -> None:
    pages = three_pages({})
    client = await servers.client_of(await servers(pages))
    pager: AsyncPager[Transcription] = client.batch.list_transcriptions()

    seen: list[Page[Transcription]] = [page async for page in pager.by_page()]

    assert [[item.id for item in page.items] for page in seen] == [["job-0", "job-1"], ["job-2", "job-3"], ["job-4"]]
    assert seen[0].continuation_token is not None
    assert "skip=2" in seen[0].continuation_token
    assert seen[-1].continuation_token is None
    assert seen[0].items[0].response is not None  # items know the page's response


async def test_a_token_resumes_in_another_pager_and_client(servers: Any) -> None:
    pages = three_pages({})
    base = await servers(pages)
    first = await servers.client_of(base)
    token: str | None = None
    async for page in first.batch.list_transcriptions().by_page():
        token = page.continuation_token
        break
    assert token is not None

    other = await servers.client_of(base)
    rest = [
        item.id
        async for page in other.batch.list_transcriptions().by_page(continuation_token=token)
        for item in page.items
    ]

    assert rest == ["job-2", "job-3", "job-4"]


async def test_each_iteration_starts_again_and_nothing_is_sent_before_it(servers: Any) -> None:
    pages = three_pages({})
    client = await servers.client_of(await servers(pages))
    pager = client.batch.list_transcriptions()
    assert pages.seen == []

    assert len([item async for item in pager]) == 5
    assert len([item async for item in pager]) == 5
    assert len(pages.seen) == 6


async def test_an_empty_list_is_one_empty_page(servers: Any) -> None:
    pages = Pages({"0": lambda base: {"values": []}})
    client = await servers.client_of(await servers(pages))
    seen = [page async for page in client.batch.list_transcriptions().by_page()]
    assert seen == [Page((), None)]


@pytest.mark.parametrize(
    "elsewhere",
    [
        lambda base, other: other,  # another port on this machine
        lambda base, other: base.replace("127.0.0.1", "localhost"),  # another host name
        lambda base, other: base.replace("http://", "https://"),  # another scheme
        lambda base, other: "https://attacker.example",
    ],
    ids=["another-port", "another-host", "another-scheme", "another-domain"],
)
async def test_a_next_link_elsewhere_is_refused_and_gets_no_key(servers: Any, elsewhere: Any) -> None:
    foreign = Pages({"0": lambda base: {"values": [job(99)]}, "2": lambda base: {"values": [job(99)]}})
    other = await servers(foreign)
    pages = Pages(
        {
            "0": lambda base: {
                "values": [job(0)],
                "@nextLink": f"{elsewhere(base, other)}/speechtotext/transcriptions?skip=2&sig=secret",
            }
        }
    )
    client = await servers.client_of(await servers(pages))

    got: list[str | None] = []

    async def read_all() -> None:
        async for item in client.batch.list_transcriptions():
            got.append(item.id)

    with pytest.raises(UntrustedLinkError) as caught:
        await read_all()

    assert got == ["job-0"]  # the page before the bad link is still delivered
    assert foreign.seen == []
    assert "secret" not in str(caught.value)
    assert "secret" not in caught.value.link
    assert "not followed" in str(caught.value)


async def test_a_foreign_continuation_token_is_refused_at_once(servers: Any) -> None:
    pages = three_pages({})
    client = await servers.client_of(await servers(pages))
    with pytest.raises(UntrustedLinkError):
        client.batch.list_transcriptions().by_page(
            continuation_token="https://elsewhere.example/speechtotext/transcriptions"
        )
    with pytest.raises(UntrustedLinkError, match="absolute"):
        client.batch.list_transcriptions().by_page(continuation_token="/speechtotext/transcriptions?skip=2")
    assert pages.seen == []


async def test_a_page_of_another_shape_is_a_decode_error(servers: Any) -> None:
    pages = Pages({"0": lambda base: {"values": {"not": "a list"}}})
    client = await servers.client_of(await servers(pages))
    with pytest.raises(ResponseDecodeError, match="the list of transcriptions"):
        [item async for item in client.batch.list_transcriptions()]
