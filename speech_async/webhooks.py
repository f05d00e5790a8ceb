"""Receiving the Speech service's web-hook callbacks in your own aiohttp app.

:class:`WebHookReceiver` is an aiohttp request handler for the URL you registered as a web hook's
``webUrl``::

    async def on_event(event: WebHookEvent) -> None:
        if event.kind is WebHookEventKind.TRANSCRIPTION_COMPLETION:
            ...  # GET event.self_url with the client

    receiver = WebHookReceiver(secret, on_event)
    app = web.Application()
    app.router.add_post("/speech-events", receiver)
    app.on_shutdown.append(lambda _app: receiver.aclose(grace=5))

The protocol, from Microsoft's own receiver sample (the REST spec says less): every callback is a POST,
the challenge too; the header ``X-MicrosoftSpeechServices-Event`` names the event in PascalCase
(``TranscriptionCompletion``, ``Challenge``, ``Ping``), case-sensitively; the challenge carries
``?validationToken=<token>`` and is answered with the token as the body; an event's body is
``{"self": "<entity url>", "invocationId": "..."}``; with a secret, ``X-MicrosoftSpeechServices-Signature``
is base64(HMAC-SHA256(secret, payload)) where the payload is the token for the challenge and the raw body
otherwise.

The receiver answers at once and runs your coroutine in a background task, so a slow handler never makes
the service time out and send the callback again; each ``invocationId`` reaches the handler once.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import enum
import hashlib
import hmac
import inspect
import json
import logging
import math
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final

import msgspec
from aiohttp import web

from ._exceptions import InvalidOptionsError

__all__ = ("EVENT_HEADER", "SIGNATURE_HEADER", "WebHookEvent", "WebHookEventKind", "WebHookReceiver", "sign")

_log: Final = logging.getLogger("speech_async.webhooks")

EVENT_HEADER: Final = "X-MicrosoftSpeechServices-Event"
"""The header naming a callback's event (a :class:`WebHookEventKind` value)."""
SIGNATURE_HEADER: Final = "X-MicrosoftSpeechServices-Signature"
"""The header holding a callback's signature when the hook has a secret (see :func:`sign`)."""
_VALIDATION_TOKEN_PARAM: Final = "validationToken"

_DEFAULT_MAX_BODY_SIZE: Final = 1024 * 1024
_DEFAULT_DEDUP_SIZE: Final = 10_000
_READ_CHUNK: Final = 64 * 1024


class WebHookEventKind(str, enum.Enum):
    """The events a web hook delivers, as the event header spells them (PascalCase, case-sensitive)."""

    CHALLENGE = "Challenge"
    PING = "Ping"
    DATASET_CREATION = "DatasetCreation"
    DATASET_PROCESSING = "DatasetProcessing"
    DATASET_COMPLETION = "DatasetCompletion"
    DATASET_DELETION = "DatasetDeletion"
    MODEL_CREATION = "ModelCreation"
    MODEL_PROCESSING = "ModelProcessing"
    MODEL_COMPLETION = "ModelCompletion"
    MODEL_DELETION = "ModelDeletion"
    EVALUATION_CREATION = "EvaluationCreation"
    EVALUATION_PROCESSING = "EvaluationProcessing"
    EVALUATION_COMPLETION = "EvaluationCompletion"
    EVALUATION_DELETION = "EvaluationDeletion"
    TRANSCRIPTION_CREATION = "TranscriptionCreation"
    TRANSCRIPTION_PROCESSING = "TranscriptionProcessing"
    TRANSCRIPTION_COMPLETION = "TranscriptionCompletion"
    TRANSCRIPTION_DELETION = "TranscriptionDeletion"
    ENDPOINT_CREATION = "EndpointCreation"
    ENDPOINT_PROCESSING = "EndpointProcessing"
    ENDPOINT_COMPLETION = "EndpointCompletion"
    ENDPOINT_DELETION = "EndpointDeletion"

    def __str__(self) -> str:
        return self.value


# Looked up by value, so that "transcriptionCompletion" (the casing of the hook's `events` keys) is unknown.
_KINDS: Final = {kind.value: kind for kind in WebHookEventKind}


@dataclass(frozen=True)
class WebHookEvent:
    """One callback, as it reached the receiver (the challenge is answered by the receiver and never delivered)."""

    kind: WebHookEventKind
    """The event header's value."""
    self_url: str | None
    """The entity's URL (``self``), to GET with the client. Always set for entity events (a callback without
    it is refused); for a ``Ping``, whose body is the hook itself, the hook's URL when the body has one."""
    invocation_id: str | None
    """The id the service gives each notification, the same on its redeliveries; ``None`` when the body has
    none (a ``Ping``: the hook's shape has no such field)."""
    body: bytes = field(repr=False)
    """The raw body, for fields the receiver does not decode."""

    def json(self) -> Any:
        """The body decoded as JSON."""
        return json.loads(self.body)


class _Notification(msgspec.Struct, kw_only=True, frozen=True):
    # What the receiver needs from a body; every other field is tolerated and left in `body`.
    self_url: str | None = msgspec.field(name="self", default=None)
    invocation_id: str | None = msgspec.field(name="invocationId", default=None)


_decoder: Final = msgspec.json.Decoder(_Notification)


def sign(secret: str, payload: bytes | str) -> str:
    """The signature the service sends for ``payload``: base64(HMAC-SHA256(UTF-8 ``secret``, ``payload``)).

    ``payload`` is the raw body of an event, or the validation token of a challenge; a ``str`` is UTF-8
    encoded.
    """
    _check_secret(secret)
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    elif not isinstance(payload, bytes):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"payload must be bytes or str, not {type(payload).__name__}")
    digest = hmac.new(secret.encode("utf-8"), payload, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _check_secret(secret: object) -> None:
    if not isinstance(secret, str):
        raise TypeError(f"secret must be a str, not {type(secret).__name__}")
    if not secret:
        # The service sends no signature for an empty secret: refusing "" keeps an unset environment
        # variable from turning verification off without anyone asking for it.
        raise InvalidOptionsError("secret is empty; pass None to accept unsigned callbacks")


def _check_count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < 1:
        raise InvalidOptionsError(f"{name} must be at least 1, not {value}")
    return value


class _TooLarge(Exception):
    pass


def _mark_as_coroutine_function(receiver: WebHookReceiver) -> None:
    # aiohttp warns about a handler that is not a coroutine function (a DeprecationWarning) and wraps it;
    # an object with an async __call__ counts as one only once marked, each Python version its own way.
    if sys.version_info >= (3, 12):
        inspect.markcoroutinefunction(receiver)
    # What asyncio.iscoroutinefunction (aiohttp's test before Python 3.14) looks for.
    marker = getattr(asyncio.coroutines, "_is_coroutine", None)
    if marker is not None:
        receiver.__dict__["_is_coroutine"] = marker


class WebHookReceiver:
    """An aiohttp request handler for web-hook callbacks: ``app.router.add_post(path, receiver)``.

    Answers:

    * a challenge (``Challenge`` with ``?validationToken=``): 200 with the token as a ``text/plain`` body;
    * an event: 200 as soon as it is checked, decoded and handed to ``handler`` in a background task; a
      redelivery of an ``invocationId`` already handed over answers 200 without calling ``handler`` again;
    * 400 for a missing or unknown event header, a challenge without a token, or an event body that is not
      a JSON object with a string ``self``; 401 for a missing or wrong signature when ``secret`` is set;
      413 for a body over ``max_body_size``; 405 for a method other than POST; 503 once the receiver is
      closed, so that the service tries again later.

    A handler's exception is logged on the ``speech_async.webhooks`` logger and does not change the answer
    (it was already sent). Nothing logged or raised contains the secret or a signature.

    Args:
        secret: The hook's ``properties.secret``. With ``None`` no signature is checked, and anyone who can
            reach the URL can make ``handler`` run with a body of their choosing: use ``None`` only behind
            something else that authenticates the caller, and GET ``self_url`` with your own client (which
            sends the key only to its configured endpoint) rather than trusting the body.
        handler: The coroutine function that receives each event.
        max_body_size: The largest body accepted, in bytes (default 1 MiB).
        dedup_size: How many of the latest ``invocationId`` values are remembered to drop redeliveries
            (default 10,000); older ids are forgotten, so a redelivery after that many newer events runs
            ``handler`` again.

    Close it with ``await receiver.aclose()`` or ``async with receiver:``, which cancels the handlers
    still running.
    """

    def __init__(
        self,
        secret: str | None,
        handler: Callable[[WebHookEvent], Awaitable[None]],
        *,
        max_body_size: int = _DEFAULT_MAX_BODY_SIZE,
        dedup_size: int = _DEFAULT_DEDUP_SIZE,
    ) -> None:
        if secret is not None:
            _check_secret(secret)
        if not callable(handler):
            raise TypeError(f"handler must be a coroutine function, not {type(handler).__name__}")
        self._secret: Final = None if secret is None else secret.encode("utf-8")
        self._handler: Final = handler
        self._max_body_size: Final = _check_count("max_body_size", max_body_size)
        self._dedup_size: Final = _check_count("dedup_size", dedup_size)
        # Insertion-ordered: the oldest id is dropped first once the window is full.
        self._seen: collections.OrderedDict[str, None] = collections.OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False
        _mark_as_coroutine_function(self)

    def __repr__(self) -> str:
        # The secret is never shown; whether there is one is.
        signed = "signed" if self._secret is not None else "unsigned"
        return f"<WebHookReceiver {signed} running={len(self._tasks)} closed={self._closed}>"

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` was called."""
        return self._closed

    @property
    def running(self) -> int:
        """How many handler tasks are running."""
        return len(self._tasks)

    async def __call__(self, request: web.Request) -> web.Response:
        if request.method != "POST":
            return web.Response(status=405, headers={"Allow": "POST"})
        if self._closed:
            return web.Response(status=503, text="the receiver is closed")
        kind = _KINDS.get(request.headers.get(EVENT_HEADER, ""))
        if kind is None:
            _log.debug("web-hook callback refused: missing or unknown event header")
            return web.Response(status=400, text=f"missing or unknown {EVENT_HEADER}")
        if kind is WebHookEventKind.CHALLENGE:
            return self._challenge(request)
        try:
            body = await self._read_body(request)
        except _TooLarge:
            _log.debug("web-hook callback refused: body over %d bytes", self._max_body_size)
            return web.Response(status=413, text=f"the body is over {self._max_body_size} bytes")
        if not self._signed(request, body):
            return web.Response(status=401, text=f"missing or wrong {SIGNATURE_HEADER}")
        try:
            notification = _decoder.decode(body)
        except msgspec.DecodeError:
            _log.debug("web-hook %s callback refused: the body is not the expected JSON object", kind)
            return web.Response(status=400, text="the body is not a JSON object with a string self")
        # unverified: a ping's body is the hook (spec), whose `self` the examples always show; an entity
        # event without `self` gives the handler nothing to fetch, so it is refused.
        if notification.self_url is None and kind is not WebHookEventKind.PING:
            return web.Response(status=400, text="the body has no self")
        event = WebHookEvent(
            kind=kind, self_url=notification.self_url, invocation_id=notification.invocation_id, body=body
        )
        if self._closed:  # closed while the body was read: no task may start after aclose()
            return web.Response(status=503, text="the receiver is closed")
        if event.invocation_id is not None and not self._first_delivery(event.invocation_id):
            _log.debug("web-hook %s invocation %s already delivered", kind, event.invocation_id)
            return web.Response(status=200)
        task = asyncio.get_running_loop().create_task(self._run(event))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.Response(status=200)

    def _challenge(self, request: web.Request) -> web.Response:
        token = request.query.get(_VALIDATION_TOKEN_PARAM, "")
        if not token:
            _log.debug("web-hook challenge refused: no %s", _VALIDATION_TOKEN_PARAM)
            return web.Response(status=400, text=f"the challenge has no {_VALIDATION_TOKEN_PARAM}")
        # The service signs the token, not the body (Microsoft's sample, PR #785).
        if not self._signed(request, token.encode("utf-8")):
            return web.Response(status=401, text=f"missing or wrong {SIGNATURE_HEADER}")
        return web.Response(status=200, text=token, content_type="text/plain")

    def _signed(self, request: web.Request, payload: bytes) -> bool:
        if self._secret is None:
            return True
        given = request.headers.get(SIGNATURE_HEADER)
        if given is None:
            _log.warning("web-hook callback refused: no signature")
            return False
        expected = base64.b64encode(hmac.new(self._secret, payload, hashlib.sha256).digest())
        # Bytes on both sides: compare_digest refuses non-ASCII str, and a header may hold anything.
        if not hmac.compare_digest(expected, given.encode("utf-8", "replace")):
            _log.warning("web-hook callback refused: wrong signature")
            return False
        return True

    async def _read_body(self, request: web.Request) -> bytes:
        if request.content_length is not None and request.content_length > self._max_body_size:
            raise _TooLarge
        # Read in chunks rather than trust Content-Length: a chunked body declares no length.
        chunks: list[bytes] = []
        size = 0
        while chunk := await request.content.read(_READ_CHUNK):
            size += len(chunk)
            if size > self._max_body_size:
                raise _TooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    def _first_delivery(self, invocation_id: str) -> bool:
        if invocation_id in self._seen:
            self._seen.move_to_end(invocation_id)
            return False
        self._seen[invocation_id] = None
        if len(self._seen) > self._dedup_size:
            self._seen.popitem(last=False)
        return True

    async def _run(self, event: WebHookEvent) -> None:
        try:
            await self._handler(event)
        except Exception:
            # The answer is already sent: the log is the only place the failure can go.
            _log.exception("web-hook handler failed on %s invocation %s", event.kind, event.invocation_id)

    async def aclose(self, *, grace: float = 0.0) -> None:
        """Stop accepting callbacks (they get 503), wait up to ``grace`` seconds for running handlers, then
        cancel the rest and wait until they have ended. A second call only waits for what is still running."""
        if isinstance(grace, bool) or not isinstance(grace, int | float):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"grace must be a number of seconds, not {type(grace).__name__}")
        if not 0 <= grace < math.inf:
            raise InvalidOptionsError(f"grace must be a finite number of seconds >= 0, not {grace}")
        self._closed = True
        tasks = set(self._tasks)
        if tasks and grace > 0:
            _, tasks = await asyncio.wait(tasks, timeout=grace)
        for task in tasks:
            task.cancel()
        if tasks:
            # wait() neither raises the tasks' outcomes nor cancels them if aclose itself is cancelled.
            await asyncio.wait(tasks)

    async def __aenter__(self) -> WebHookReceiver:
        if self._closed:
            raise RuntimeError("the WebHookReceiver is closed; create a new one")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
