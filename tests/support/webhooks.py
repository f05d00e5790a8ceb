"""A web-hook receiver of the client's own (:class:`WebHookReceiver`) on loopback, for end-to-end tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from speech_async import SpeechClient, WebHook, WebHookStatus
from speech_async.webhooks import WebHookEvent, WebHookReceiver

from .http import serve_on_loopback

__all__ = ("receiving", "until_succeeded")


@contextlib.asynccontextmanager
async def receiving(
    secret: str,
) -> AsyncIterator[tuple[str, list[WebHookEvent], list[dict[str, str]], asyncio.Event]]:
    """A :class:`WebHookReceiver` on loopback: its URL, the events handed to the handler, every request's
    headers, and an event set at each handler call."""
    events: list[WebHookEvent] = []
    headers: list[dict[str, str]] = []
    arrived = asyncio.Event()

    async def on_event(event: WebHookEvent) -> None:
        events.append(event)
        arrived.set()

    receiver = WebHookReceiver(secret, on_event)

    @web.middleware
    async def record(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        headers.append(dict(request.headers))
        return await handler(request)

    app = web.Application(middlewares=[record])
    app.router.add_post("/speech-events", receiver)
    async with receiver, serve_on_loopback(app) as base:
        yield f"{base}/speech-events", events, headers, arrived


async def until_succeeded(client: SpeechClient, hook: WebHook) -> WebHook:
    hook_id = hook.id
    assert hook_id is not None
    while hook.status != WebHookStatus.SUCCEEDED.value:
        assert hook.status in (WebHookStatus.NOT_STARTED.value, WebHookStatus.RUNNING.value), hook
        await asyncio.sleep(0.05)
        hook = await client.webhooks.get_webhook(hook_id)
    return hook
