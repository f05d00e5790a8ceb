"""The HTTP layer: the only client module that touches aiohttp.

It sends one request with a streamed body, reads the response, and turns every failure into the
exception tree of :mod:`speech_async._exceptions`. Bodies are given as objects that can produce their
bytes again, so that a later attempt gets a fresh, complete body.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import platform
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, NoReturn, Protocol, TypeVar

import aiohttp
import aiohttp.abc
import aiohttp.payload
import anyio
import msgspec
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from ._config import DEFAULT_LIMITS, RetryPolicy, Timeouts
from ._exceptions import (
    AudioNotReplayableError,
    AudioSourceError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    RedirectError,
    ResponseDecodeError,
    ResponseTooLargeError,
    ServiceError,
    SpeechConnectionError,
    SpeechError,
    SpeechStatusError,
    SpeechTimeoutError,
    UnprocessableEntityError,
    UnsupportedMediaTypeError,
)
from ._headers import CLIENT_REQUEST_ID_HEADER, new_client_request_id, request_id
from ._models import ResponseInfo, WithResponse, attach_response
from ._models._common import decode_error_body
from ._retry import Cooldown, retry_delay
from ._version import __version__

if TYPE_CHECKING:
    from ._token_cache import TokenStats

__all__ = ["Authenticator", "Body", "Response", "Transport", "json_decoder", "response_info", "status_error"]

logger: Final = logging.getLogger("speech_async")

T = TypeVar("T")

USER_AGENT: Final = f"speech-async/{__version__} Python/{platform.python_version()} ({platform.platform(terse=True)})"

_SECRET_HEADERS: Final = frozenset({"authorization", "ocp-apim-subscription-key", "proxy-authorization", "cookie"})
_REDACTED: Final = "<redacted>"
_READ_SIZE: Final = 1024 * 1024
_YIELD_BYTES: Final = 64 * 1024
"""The body writer gives the loop its turn before the next chunk once this many bytes were written."""

# The attempt being sent, for _Request.send (when it needs to know: no body, or Expect: 100-continue).
_CURRENT: Final[contextvars.ContextVar[_Watch | None]] = contextvars.ContextVar("speech_async_attempt", default=None)
_NO_OPTIONS: Final[Mapping[str, Any]] = MappingProxyType({})
_CHECKS_PER_LIMIT: Final = 10
"""The watchdog looks at each deadline about this many times per limit (so a timeout fires at most 10 % late)."""
_LONGEST_CHECK: Final = 1.0
"""... and at least once a second."""

_STATUS_ERRORS: Final[Mapping[int, type[SpeechStatusError]]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


class Authenticator(Protocol):
    """Turns a credential into request headers. Token-based credentials refresh behind this seam."""

    async def headers(self) -> Mapping[str, str]:
        """The headers that authenticate the next request."""
        ...

    def current(self) -> Mapping[str, str] | None:
        """The headers for the next request when they are known without waiting (a key), else ``None``.

        The cheap path of every request: ``None`` sends the caller to :meth:`headers`.
        """
        ...

    async def invalidate(self, headers: Mapping[str, str]) -> bool:
        """The service refused ``headers`` (401): drop their token; whether a retry with new ones may succeed."""
        ...

    @property
    def stats(self) -> TokenStats | None:
        """The token cache's counters, or ``None`` for credentials without tokens."""
        ...

    async def close(self) -> None:
        """Release what the credential holds."""
        ...


class Body(Protocol):
    """A request body that can produce its bytes once per attempt."""

    @property
    def replayable(self) -> bool: ...

    @property
    def size(self) -> int | None: ...
    @property
    def content_type(self) -> str: ...
    @property
    def memory(self) -> bytes | memoryview | None:
        """The whole body when it is in memory and small enough to be written at once, else ``None``."""
        ...

    def chunks(self) -> AsyncIterator[bytes | memoryview]: ...


# msgspec Structs, not dataclasses: built for every request, in C (a dataclass's __init__ is Python,
# a frozen one's pays an object.__setattr__ per field), and untracked by the garbage collector
# (gc=False: nothing they hold refers back to them).
class Response(msgspec.Struct, gc=False):
    """A complete response: status, headers and the whole body.

    ``attempts`` and ``elapsed`` (seconds since the call's first attempt) are set on the response that
    is decoded; ``client_request_id`` is the one the request carried. ``timings`` are this attempt's
    upload, service and download seconds (see :class:`ResponseInfo`).
    """

    status: int
    reason: str
    headers: Mapping[str, str]
    content: bytes
    request_id: str | None
    client_request_id: str | None = None
    attempts: int = 1
    elapsed: float = 0.0
    timings: tuple[float, float, float] | None = None

    def final(self, attempts: int, elapsed: float) -> Response:
        """This response as the call's last, with its count of attempts and time (set in place: it is the last)."""
        self.attempts = attempts
        self.elapsed = elapsed
        return self

    def info(self) -> ResponseInfo:
        """What a result tells of this response (see :func:`response_info`)."""
        return response_info(self)


class _Send(msgspec.Struct, gc=False):
    """What every attempt of one logical request sends."""

    method: str
    url: URL
    headers: Mapping[str, str]
    """The caller's, never changed."""
    client_request_id: str
    body: Body | None
    timeouts: Timeouts
    expect_continue: bool
    max_response_bytes: int
    accept: Callable[[Response], bool] | None


class _Request(aiohttp.ClientRequest):
    """aiohttp's request, telling the attempt's watch when it is sent, with the wait for ``100 Continue`` bounded.

    aiohttp holds the body back until the interim response comes, for as long as it takes; a server
    (or a load balancer in front of a dead one) that reads the headers and says nothing would hold the
    request forever. Like curl and .NET, we send the body anyway after a short wait.
    """

    async def send(self, conn: aiohttp.connector.Connection) -> aiohttp.ClientResponse:
        watch = _CURRENT.get()
        if watch is not None:
            watch.sent_at = self.loop.time()  # a connection is ours: from here on the request is the server's
            waiter, wait = self._continue, watch.continue_wait
            if waiter is not None and wait is not None:
                handle = self.loop.call_later(wait, _stop_waiting, waiter)
                waiter.add_done_callback(lambda _: handle.cancel())
        return await super().send(conn)


class _Watch(msgspec.Struct, eq=False):  # compared and hashed by identity: a dict key
    """One attempt's deadlines, which the transport's :class:`_Watchdog` checks now and then.

    While the body is being written, the upload-stall limit applies (see :class:`_StreamPayload`);
    once it is written (or, without a body, once the request is sent), the response limit: the longest
    wait for the answer's headers and between bytes of its body. A request still waiting for a pooled
    connection is not timed: queueing is not a failure. (A Struct: built in C for every request.)
    """

    task: asyncio.Task[Any] | None
    payload: _StreamPayload | None
    response: float | None
    period: float
    continue_wait: float | None
    sent_at: float | None = None
    progress: float = 0.0
    """The loop's time of the response's last sign of life (its headers, then each read of its body)."""
    reader: aiohttp.StreamReader | None = None
    seen: int = 0
    expired: bool = False
    done: bool = False

    def check(self, now: float) -> bool:
        """Stop the attempt if it is overdue at ``now``; whether it is still to be watched."""
        if self.done:
            return False
        payload = self.payload
        if payload is not None:
            start = payload.written_at
            if start is None:
                if payload.stalled_by(now):
                    payload.stop()
                    return False
                if self.reader is None:
                    return True  # still uploading (or waiting to): only the stall limit applies
                start = self.progress  # answered before the whole body was sent
        else:
            start = self.sent_at
            if start is None:
                return True
        limit = self.response
        if limit is None:
            return True
        reader = self.reader
        if reader is not None:
            total: int = reader.total_bytes  # every byte of the body parsed so far
            if total != self.seen:
                self.seen, self.progress = total, now
        if now - max(start, self.progress) < limit:
            return True
        self.expired = True
        if self.task is not None:
            self.task.cancel()
        return False


class _Watchdog:
    """Checks the deadlines of every attempt under way from one timer, instead of a timer or two per attempt.

    Arming, re-arming and cancelling a loop timer for each request (the upload-stall watch, aiohttp's
    read timeout twice) costs more than the rest of the request's bookkeeping at high concurrency: each
    lands in the loop's heap, ordered by Python-level comparisons. Here an attempt costs an entry in
    :attr:`watches` (added by the transport, and removed, marked done, before it waits for anything
    else), and one timer looks at all of them every tenth of the shortest limit among them (at most a
    second): a limit fires between 100 % and 110 % of itself.
    """

    __slots__ = ("_handle", "period", "watches")

    def __init__(self) -> None:
        self.watches: dict[_Watch, None] = {}
        self._handle: asyncio.TimerHandle | None = None
        self.period = float("inf")
        """How often the timer fires while armed; infinite while it is not."""

    def arm(self, period: float, loop: asyncio.AbstractEventLoop) -> None:
        """Fire every ``period`` seconds from now on (a watch of that period is being added)."""
        if self._handle is not None:
            self._handle.cancel()
        self.period = period
        self._handle = loop.call_at(loop.time() + period, self._tick, loop)

    def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.cancel()
        self.watches.clear()
        self.period = float("inf")

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        watches = self.watches
        period = float("inf")
        for watch in list(watches):
            if not watch.check(now):
                watches.pop(watch, None)
            elif watch.period < period:
                period = watch.period
        self.period = period
        self._handle = loop.call_at(now + period, self._tick, loop) if watches else None


def _check_period(stall: float | None, response: float | None) -> float | None:
    """How often the watchdog should look at an attempt with these limits; ``None``: it has none."""
    limits = [limit for limit in (stall, response) if limit is not None]
    return min(_LONGEST_CHECK, min(limits) / _CHECKS_PER_LIMIT) if limits else None


def _uncancel(task: asyncio.Task[Any] | None) -> bool:
    """Take back our one cancellation of ``task``; whether no other cancellation is pending (3.11+ knows)."""
    uncancel: Callable[[], int] | None = getattr(task, "uncancel", None)
    return uncancel is None or uncancel() == 0


def _stop_waiting(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(True)


class _StreamPayload(aiohttp.payload.Payload):
    """Streams a :class:`Body` into the connection, keeping the body's own error.

    Every chunk written only records the loop's time; the transport's :class:`_Watchdog` looks at it
    now and then (:meth:`stalled_by`) and stops an upload that made no progress for ``stall_timeout``
    seconds (``TimeoutError`` in the writer, as aiohttp expects a failed write). Progress is a chunk
    written, or the connection's send buffer draining while a large chunk is being written: it
    measures exactly "no progress for ``stall_timeout`` seconds". A body that is whole in memory
    (:attr:`Body.memory`) is written at once, without a pass over its chunks.
    """

    def __init__(self, body: Body, stall_timeout: float | None, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(body, content_type=body.content_type)
        self._loop = loop
        self._size = body.size
        self._body = body
        self._stall_timeout = stall_timeout
        self.failure: BaseException | None = None
        self.stalled = False
        self.bytes_sent = 0
        self.last_write = 0.0
        """The loop's time when the last chunk was handed to the connection (or the upload started)."""
        self.written_at: float | None = None
        """The loop's time when the whole body had been handed to the connection; ``None`` until then."""
        self._task: asyncio.Task[Any] | None = None
        self._transport: asyncio.WriteTransport | None = None
        self._buffered = 0
        """The connection's send buffer when it was last looked at (after a write, or by the watchdog)."""

    async def write(self, writer: aiohttp.abc.AbstractStreamWriter) -> None:
        await self.write_with_length(writer, None)

    async def write_with_length(self, writer: aiohttp.abc.AbstractStreamWriter, content_length: int | None) -> None:
        # The bytes are produced afresh from the body; this payload object itself is single-use.
        self._consumed = True
        loop = self._loop
        if self._stall_timeout is not None:
            self._transport = getattr(writer, "transport", None)
        self.last_write = loop.time()
        # aiohttp runs this in a task of its own: the watchdog stops it on a stall, and the request
        # waits for it to end before the body's source is closed (see settle()). Set last: it is what
        # tells the watchdog that the upload has begun.
        task = self._task = asyncio.current_task(loop)
        memory = self._body.memory
        chunks = self._body.chunks() if memory is None else None
        unyielded = 0
        try:
            if chunks is None:
                assert memory is not None
                await writer.write(memory)  # whole in memory: one write, no pass over chunks
                self.bytes_sent = len(memory)
                self.written_at = self.last_write = loop.time()
                return
            async for chunk in chunks:
                if unyielded >= _YIELD_BYTES:
                    # On a fast link the socket rarely fills, so write() rarely waits: give the loop its
                    # turn between chunks, whatever the source, once a chunk's worth has been written
                    # (not after small parts such as multipart headers, nor after the last chunk).
                    await asyncio.sleep(0)
                    unyielded = 0
                await writer.write(chunk)
                self._wrote(len(chunk), loop)
                unyielded += len(chunk)
            self.written_at = self.last_write
        except asyncio.CancelledError:
            if self.stalled and _uncancel(task):
                raise TimeoutError from None  # our own stop: a failed write for aiohttp, not a cancellation
            raise
        except Exception as exc:
            self.failure = exc
            raise
        finally:
            if chunks is not None:
                await chunks.aclose()  # type: ignore[attr-defined]

    def _wrote(self, size: int, loop: asyncio.AbstractEventLoop) -> None:
        self.bytes_sent += size
        self.last_write = loop.time()
        transport = self._transport
        if transport is not None:
            self._buffered = transport.get_write_buffer_size()

    def stalled_by(self, now: float) -> bool:
        """Whether the upload under way has made no progress for ``stall_timeout`` seconds at ``now``."""
        task, stall = self._task, self._stall_timeout
        if stall is None or task is None or task.done():
            return False
        transport = self._transport
        if transport is not None and not transport.is_closing():
            buffered = transport.get_write_buffer_size()
            if buffered < self._buffered:
                self.last_write = now  # a large write still under way: the connection takes its bytes
            self._buffered = buffered
        return now - self.last_write >= stall

    def stop(self) -> None:
        """Stop the stalled upload (the writer sees a ``TimeoutError``)."""
        self.stalled = True
        if self._task is not None:
            self._task.cancel()

    @property
    def running(self) -> bool:
        """Whether the body writer's task is still running (then :meth:`settle` has to stop it)."""
        task = self._task
        return task is not None and not task.done()

    async def settle(self) -> None:
        """Wait until the body writer has ended, stopping it if it still runs.

        aiohttp cancels a writer that is still running when the response ends (an early answer, a
        failure, a cancellation) but does not wait for it; closing the body's source before the writer
        has left it would break the source (an async generator "already running").
        """
        task = self._task
        if task is None or task.done() or task is asyncio.current_task():
            return
        cancelling: Callable[[], int] | None = getattr(task, "cancelling", None)  # Python 3.11+
        if cancelling is None or not cancelling():
            task.cancel()  # once: a second cancel would interrupt the source's own clean-up
        await asyncio.wait({task})

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        raise TypeError("a streamed request body cannot be decoded")


class Transport:
    """Owns (or borrows) one aiohttp session; sends requests through it, with retries."""

    def __init__(
        self,
        *,
        timeouts: Timeouts,
        retry: RetryPolicy,
        session: aiohttp.ClientSession | None,
        connection_limit: int,
        user_agent: str | None,
        max_response_bytes: int = DEFAULT_LIMITS.max_response_bytes,
    ) -> None:
        self._timeouts = timeouts
        self._max_response_bytes = max_response_bytes
        self._retry = retry
        self._client_timeout = _client_timeout(timeouts, read=False)
        # How often the watchdog looks at an attempt with the client's own limits, with a body and without.
        self._periods = (
            _check_period(timeouts.upload_stall, timeouts.response),
            _check_period(None, timeouts.response),
        )
        self._watchdog = _Watchdog()
        self._loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]  # set by open()
        self._user_agent = f"{USER_AGENT} {user_agent}" if user_agent else USER_AGENT
        self._borrowed = session
        self._session: aiohttp.ClientSession | None = session
        self._connection_limit = connection_limit
        self.cooldown = Cooldown()

    def open(self) -> None:
        """Create the owned session (on the running loop) unless one was lent."""
        self._loop = asyncio.get_running_loop()  # the client's lifecycle keeps every request on it
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connection_limit),
                timeout=self._client_timeout,
                headers={"User-Agent": self._user_agent},
                raise_for_status=False,
                request_class=_Request,
            )

    async def close(self) -> None:
        """Close the owned session; a borrowed one stays open for its owner."""
        session, self._session = self._session, None
        self._watchdog.close()
        if session is not None and session is not self._borrowed:
            await session.close()

    def request(
        self,
        method: str,
        url: URL,
        *,
        headers: Mapping[str, str],
        decode: Callable[[Response], T],
        auth: Authenticator | None = None,
        body: Body | None = None,
        idempotent: bool,
        retry: RetryPolicy | None = None,
        timeouts: Timeouts | None = None,
        expect_continue: bool = False,
        max_response_bytes: int | None = None,
        accept: Callable[[Response], bool] | None = None,
    ) -> Coroutine[Any, Any, T]:
        """Send a request until it succeeds or the retry policy gives up; return the decoded response.

        ``decode`` turns a successful response into the result (and may raise ``ResponseDecodeError``,
        which is retried like a transient failure when ``idempotent``). Every attempt carries the same
        ``x-ms-client-request-id``, credentials from ``auth`` fetched anew, and a body produced afresh
        from ``body``. ``expect_continue`` sends ``Expect: 100-continue`` and holds the body back until
        the server's ``100 Continue``, or ``Timeouts.expect_continue`` has passed (the client's own
        session only; through a borrowed session, whose requests this cannot bound, the body goes at once
        without the header). No redirect is followed, and no response body larger than
        ``max_response_bytes`` is read. ``accept`` may declare an error status an answer rather than a
        failure (it is then decoded, not raised or retried). ``headers`` is copied, never changed.

        Returns the coroutine to await (one frame fewer on every resumption than a coroutine of its own).
        """
        policy = self._retry if retry is None else retry
        limits = self._timeouts if timeouts is None else timeouts
        # The caller's headers are copied into each attempt's own (see _attempts), with this id.
        client_request_id = headers.get(CLIENT_REQUEST_ID_HEADER) or new_client_request_id()
        most = self._max_response_bytes if max_response_bytes is None else max_response_bytes
        send = _Send(method, url, headers, client_request_id, body, limits, expect_continue, most, accept)
        if limits.total is None:
            return self._attempts(send, decode, auth, idempotent, policy)
        return self._within(limits.total, send, decode, auth, idempotent, policy)

    async def _within(
        self,
        total: float,
        send: _Send,
        decode: Callable[[Response], T],
        auth: Authenticator | None,
        idempotent: bool,
        policy: RetryPolicy,
    ) -> T:
        try:
            with anyio.fail_after(total):
                return await self._attempts(send, decode, auth, idempotent, policy)
        except TimeoutError as err:
            if isinstance(err, SpeechError):
                raise
            raise SpeechTimeoutError(
                f"{send.method} {send.url.path} did not complete within the total timeout of {total} s"
            ) from err

    async def _attempts(
        self,
        send: _Send,
        decode: Callable[[Response], T],
        auth: Authenticator | None,
        idempotent: bool,
        policy: RetryPolicy,
    ) -> T:
        method, url, headers, body = send.method, send.url, send.headers, send.body
        started = time.monotonic()
        attempt = 0
        reauthenticated = False
        while True:
            attempt += 1
            if self.cooldown.active:
                await self.cooldown.wait()
            # A fresh dict per attempt, never the caller's: credentials and the request id are added to it,
            # and the borrowed-session path adds a User-Agent.
            sent_headers = dict(headers)
            sent_headers[CLIENT_REQUEST_ID_HEADER] = send.client_request_id
            try:
                if auth is not None:
                    now = auth.current()
                    sent_headers.update(now if now is not None else await auth.headers())
                response = await self._send(send, sent_headers)
                return decode(response.final(attempt, time.monotonic() - started))
            except AuthenticationError as err:
                # A refused token (expired early, revoked) is replaced and the request replayed once.
                if (
                    reauthenticated
                    or auth is None
                    or (body is not None and not body.replayable)
                    or not await auth.invalidate(sent_headers)
                ):
                    err.attempts = attempt
                    raise
                reauthenticated = True
                logger.info("%s %s: the token was refused; replaying with a new one", method, url.path)
            except SpeechError as err:
                delay = retry_delay(err, attempt, policy, idempotent=idempotent)
                if (
                    delay is not None
                    and policy.budget is not None
                    and time.monotonic() - started + delay > policy.budget
                ):
                    delay = None
                if delay is None:
                    err.attempts = attempt
                    raise
                if isinstance(err, SpeechStatusError) and err.status_code == 429:
                    self.cooldown.extend(delay)
                if body is not None and not body.replayable:
                    failure = AudioNotReplayableError(
                        f"{method} {url.path} failed ({_summary(err)}) and cannot be retried: the audio comes from "
                        "a one-shot stream that was already partly sent; pass a path, bytes or a seekable file, "
                        "or spool=True to copy the stream to a temporary file first"
                    )
                    failure.attempts = attempt
                    raise failure from err
                logger.info(
                    "%s %s failed (%s); retrying in %.2f s (attempt %d of %d, client request id %s)",
                    method,
                    url.path,
                    _summary(err),
                    delay,
                    attempt + 1,
                    policy.max_attempts,
                    send.client_request_id,
                )
                await anyio.sleep(delay)

    def _options(
        self,
        session: aiohttp.ClientSession,
        limits: Timeouts,
        payload: _StreamPayload | None,
        headers: dict[str, str],
    ) -> tuple[Mapping[str, Any], float | None, float | None, bool]:
        """What an attempt with other limits than the client's, or through a borrowed session, sends with.

        The aiohttp options, the response limit the watchdog keeps, how often it looks, and whether
        ``Expect: 100-continue`` may be sent.
        """
        stall = limits.upload_stall if payload is not None else None
        if session is not self._borrowed:
            # The watchdog keeps the response limit (see _Watch), not aiohttp's read timeout: that one
            # arms a timer of its own per request, and again on every read.
            options = {"timeout": _client_timeout(limits, read=False)}
            return options, limits.response, _check_period(stall, limits.response), True
        # A borrowed session builds its own requests (no watch can see them sent): aiohttp's read
        # timeout keeps the response limit, and the wait for "100 Continue" cannot be bounded, so
        # the body goes at once, without the header, rather than risk waiting forever.
        headers.setdefault("User-Agent", self._user_agent)
        return {"timeout": _client_timeout(limits, read=True)}, None, _check_period(stall, None), False

    async def _send(self, send: _Send, headers: dict[str, str]) -> Response:
        method, url, body, limits = send.method, send.url, send.body, send.timeouts
        session = self._session
        if session is None:
            raise ClientClosedError(f"{method} {url.path}: the client was closed", request_sent=False)
        loop = self._loop
        payload = _StreamPayload(body, limits.upload_stall, loop) if body is not None else None
        expect_continue = send.expect_continue
        if limits is self._timeouts and session is not self._borrowed:
            extra, response_limit, period = _NO_OPTIONS, limits.response, self._periods[payload is None]
        else:
            extra, response_limit, period, may_expect = self._options(session, limits, payload, headers)
            expect_continue = expect_continue and may_expect
        clock = loop.time
        started = clock()
        logging_on = logger.isEnabledFor(logging.INFO)  # DEBUG is below INFO: off too when INFO is
        if logging_on and logger.isEnabledFor(logging.DEBUG):
            size = "no body" if body is None else f"{body.size} bytes" if body.size is not None else "chunked"
            logger.debug("sending %s %s (%s)", method, url.path, size)
        task = asyncio.current_task(loop)
        watch = _Watch(
            task,
            payload,
            response_limit,
            _LONGEST_CHECK if period is None else period,
            (limits.expect_continue if limits.expect_continue is not None else limits.response)
            if expect_continue
            else None,
        )
        watchdog = self._watchdog
        watches = watchdog.watches
        if period is not None:
            if period < watchdog.period:
                watchdog.arm(period, loop)
            watches[watch] = None
        # _Request.send tells the watch when the request is sent (what starts the response limit of a
        # request without a body), and bounds the wait for "100 Continue".
        token = _CURRENT.set(watch) if payload is None or expect_continue else None
        try:
            async with session.request(
                method,
                url,
                headers=headers,
                data=payload,
                expect100=expect_continue,
                allow_redirects=False,
                **extra,
            ) as resp:
                headers_at = watch.progress = clock()
                watch.reader = resp.content
                declared, most = resp.content_length, send.max_response_bytes
                if declared is not None and declared <= most and "Content-Encoding" not in resp.headers:
                    # The parser never reads past a declared length: the whole body is within the limit.
                    content = await resp.read()
                else:
                    content = await _read_bounded(resp, most, method, url)
                watch.done = True  # before any other wait: the watchdog must not stop what has ended
                response = Response(
                    status=resp.status,
                    reason=resp.reason or "",
                    headers=resp.headers,
                    content=content,
                    request_id=request_id(resp.headers),
                    client_request_id=send.client_request_id,
                    timings=_timings(started, payload, headers_at, clock()),
                )
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError, RuntimeError) as err:
            _scrub(err)
            if self._session is None or (isinstance(err, RuntimeError) and session.closed):
                raise ClientClosedError(
                    f"{method} {url.path}: the client was closed while the request was under way"
                ) from err
            if isinstance(err, RuntimeError):
                raise
            error = _transport_error(err, payload, method, url, limits)
            if payload is not None and error is payload.failure:
                # The body's own failure (the caller's audio source): its cause is the caller's
                # exception, which aiohttp's wrapper must not replace.
                raise error from error.__cause__
            raise error from err
        except asyncio.CancelledError as err:
            _scrub(err)
            if watch.expired and _uncancel(task):
                # The watchdog's own stop, and no one else's: the response limit passed.
                raise SpeechTimeoutError(
                    f"{method} {url.path} timed out: the server sent nothing for {limits.response} s "
                    "(Timeouts.response)"
                ) from None
            raise
        except BaseException as err:
            _scrub(err)
            raise
        finally:
            # First, before any wait: the watchdog must not stop this task once it has left the request.
            watch.done = True
            watches.pop(watch, None)
            if token is not None:
                _CURRENT.reset(token)
            if payload is not None and payload.running:
                await payload.settle()
        if logging_on:
            logger.info(
                "%s %s -> %d in %.1f ms (request id %s)",
                method,
                url.path,
                response.status,
                (clock() - started) * 1000,
                response.request_id,
            )
        if response.status >= 300 and (send.accept is None or not send.accept(response)):
            raise status_error(response)
        return response


def _timings(
    started: float, payload: _StreamPayload | None, headers_at: float, done_at: float
) -> tuple[float, float, float]:
    """Upload, service and download seconds of one attempt (see :class:`ResponseInfo`)."""
    if payload is None:
        written = started  # no body: the service's time starts with the request
    else:
        written = payload.written_at
        if written is None or written > headers_at:
            written = headers_at  # an answer before the whole body: the upload lasted until it
    return written - started, headers_at - written, done_at - headers_at


async def _read_bounded(resp: aiohttp.ClientResponse, limit: int, method: str, url: URL) -> bytes:
    """The whole body, or a :class:`ResponseTooLargeError` once it is known to exceed ``limit`` bytes.

    The bound is on the body as decoded: a compressed answer that inflates past it is refused too.
    """
    declared = resp.content_length
    if declared is not None and declared > limit and "Content-Encoding" not in resp.headers:
        _refuse_large(resp, limit, method, url, f"{declared} bytes")
    parts: list[bytes] = []
    total = 0
    while chunk := await resp.content.read(min(_READ_SIZE, limit + 1 - total)):
        parts.append(chunk)
        total += len(chunk)
        if total > limit:
            _refuse_large(resp, limit, method, url, f"more than {limit} bytes")
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _refuse_large(resp: aiohttp.ClientResponse, limit: int, method: str, url: URL, size: str) -> NoReturn:
    resp.close()  # the rest is never read: the connection cannot be reused
    raise ResponseTooLargeError(
        f"the response to {method} {url.path} ({resp.status}) is {size}, over the limit of {limit} bytes "
        "(Limits.max_response_bytes); nothing more was read",
        limit=limit,
        status_code=resp.status,
        request_id=request_id(resp.headers),
    )


def json_decoder(decoder: msgspec.json.Decoder[T], what: str) -> Callable[[Response], T]:
    """A ``decode`` for :meth:`Transport.request`: the body through ``decoder``, or a :class:`ResponseDecodeError`.

    The error keeps the raw body and names ``what`` was expected ("the transcription result"). A
    result type deriving from :class:`WithResponse` gets its :class:`ResponseInfo` attached.
    """

    def decode(response: Response) -> T:
        try:
            return decoder.decode(response.content)
        except (msgspec.DecodeError, UnicodeDecodeError) as err:  # msgspec lets invalid UTF-8 through as the latter
            raise ResponseDecodeError(
                f"{what} does not have the documented shape: {err}",
                body=response.content,
                request_id=response.request_id,
            ) from err

    def decode_with_response(response: Response) -> T:
        result = decode(response)
        attach_response(result, response)  # pyright: ignore[reportArgumentType]
        return result

    target: object = decoder.type
    return decode_with_response if isinstance(target, type) and issubclass(target, WithResponse) else decode


def response_info(response: Response) -> ResponseInfo:
    """What a result tells of the response it was decoded from."""
    timings = response.timings
    return ResponseInfo(
        status_code=response.status,
        reason=response.reason,
        headers=response.headers,
        body=response.content,
        request_id=response.request_id,
        client_request_id=response.client_request_id,
        attempts=response.attempts,
        elapsed=response.elapsed,
        upload_seconds=None if timings is None else timings[0],
        service_seconds=None if timings is None else timings[1],
        download_seconds=None if timings is None else timings[2],
    )


def status_error(response: Response) -> SpeechStatusError:
    """The exception for an error response: the class by status, with the decoded error body."""
    status = response.status
    cls = _STATUS_ERRORS.get(status) or (
        ServiceError if status >= 500 else RedirectError if 300 <= status < 400 else SpeechStatusError
    )
    return cls(
        status_code=status,
        reason=response.reason,
        request_id=response.request_id,
        headers=response.headers,
        body=response.content,
        error=decode_error_body(response.content),
    )


def _transport_error(
    err: BaseException, payload: _StreamPayload | None, method: str, url: URL, timeouts: Timeouts
) -> BaseException:
    if payload is not None:
        failure = payload.failure
        if payload.stalled:
            return SpeechTimeoutError(
                f"the upload to {url.path} made no progress for {timeouts.upload_stall} s "
                f"(after {payload.bytes_sent} bytes)"
            )
        if isinstance(failure, AudioSourceError | InvalidInputError):
            return failure
    if isinstance(err, aiohttp.ServerTimeoutError | asyncio.TimeoutError):
        return SpeechTimeoutError(
            f"{method} {url.path} timed out (connect {timeouts.connect} s, response {timeouts.response} s)"
        )
    if isinstance(err, aiohttp.ClientConnectorError):
        return SpeechConnectionError(
            f"cannot connect to {url.host}:{url.port}: {err.os_error.strerror or err}", request_sent=False
        )
    if isinstance(err, aiohttp.ClientPayloadError):
        return SpeechConnectionError(f"the response to {method} {url.path} was cut short: {err}")
    if isinstance(err, aiohttp.ServerDisconnectedError):
        return SpeechConnectionError(f"the server closed the connection during {method} {url.path}")
    return SpeechConnectionError(f"{method} {url.path} failed: {type(err).__name__}: {err}")


def _scrub(err: BaseException) -> None:
    """Redact credentials from aiohttp's exceptions in ``err``'s chain, in place.

    aiohttp keeps the request's headers (``Ocp-Apim-Subscription-Key``, ``Authorization``) in the
    ``request_info`` of its response errors, and their ``repr`` shows them; such an exception becomes
    the ``__cause__`` of ours, so it must hold no secret.
    """
    seen: set[int] = set()
    current: BaseException | None = err
    stack: list[BaseException] = []
    while current is not None or stack:
        if current is None:
            current = stack.pop()
        if id(current) in seen:
            current = None
            continue
        seen.add(id(current))
        _redact_request_info(current)
        if current.__context__ is not None and current.__context__ is not current.__cause__:
            stack.append(current.__context__)
        current = current.__cause__


def _redact_request_info(err: BaseException) -> None:
    if isinstance(err, aiohttp.ClientResponseError):
        err.history = ()  # earlier responses, whose requests carried the same headers
    for name, value in list(vars(err).items()):
        if isinstance(value, aiohttp.RequestInfo):
            setattr(err, name, _redacted(value))
    if any(isinstance(arg, aiohttp.RequestInfo) for arg in err.args):
        err.args = tuple(
            _redacted(arg)
            if isinstance(arg, aiohttp.RequestInfo)
            else ()
            if isinstance(err, aiohttp.ClientResponseError)
            else arg
            for arg in err.args
        )


def _redacted(info: aiohttp.RequestInfo) -> aiohttp.RequestInfo:
    headers = CIMultiDict(
        (name, _REDACTED if name.lower() in _SECRET_HEADERS else value) for name, value in info.headers.items()
    )
    return aiohttp.RequestInfo(info.url, info.method, CIMultiDictProxy(headers), info.real_url)


def _client_timeout(timeouts: Timeouts, *, read: bool) -> aiohttp.ClientTimeout:
    # Only the socket connect is bounded, not the wait for a free pooled connection: a bulk run
    # queues thousands of requests behind the pool, and queueing is not a failure. The response
    # limit is aiohttp's read timeout only when ``read`` (a borrowed session); else the watchdog's.
    sock_read = timeouts.response if read else None
    return aiohttp.ClientTimeout(total=None, connect=None, sock_connect=timeouts.connect, sock_read=sock_read)


def _summary(err: SpeechError) -> str:
    if isinstance(err, SpeechStatusError):
        return f"{err.status_code} {err.code}" if err.code else str(err.status_code)
    return f"{type(err).__name__}: {err}"
