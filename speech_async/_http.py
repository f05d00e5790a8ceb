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
from dataclasses import dataclass
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

# How long the request being sent may wait for "100 Continue" (see _Request): set around each send.
_CONTINUE_WAIT: Final[contextvars.ContextVar[float | None]] = contextvars.ContextVar(
    "speech_async_continue_wait", default=None
)

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


# Not frozen, though nothing changes one once built: a frozen dataclass's __init__ pays an
# object.__setattr__ per field, and these are built for every request.
@dataclass(slots=True)
class Response:
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


@dataclass(slots=True)
class _Send:
    """What every attempt of one logical request sends."""

    method: str
    url: URL
    headers: dict[str, str]
    body: Body | None
    timeouts: Timeouts
    expect_continue: bool
    max_response_bytes: int
    accept: Callable[[Response], bool] | None


class _Request(aiohttp.ClientRequest):
    """aiohttp's request, with the wait for ``100 Continue`` bounded.

    aiohttp holds the body back until the interim response comes, for as long as it takes; a server
    (or a load balancer in front of a dead one) that reads the headers and says nothing would hold the
    request forever. Like curl and .NET, we send the body anyway after a short wait.
    """

    async def send(self, conn: aiohttp.connector.Connection) -> aiohttp.ClientResponse:
        waiter = self._continue
        wait = _CONTINUE_WAIT.get()
        if waiter is not None and wait is not None:
            handle = self.loop.call_later(wait, _stop_waiting, waiter)
            waiter.add_done_callback(lambda _: handle.cancel())
        return await super().send(conn)


def _uncancel(task: asyncio.Task[Any] | None) -> bool:
    """Take back our one cancellation of ``task``; whether no other cancellation is pending (3.11+ knows)."""
    uncancel: Callable[[], int] | None = getattr(task, "uncancel", None)
    return uncancel is None or uncancel() == 0


def _stop_waiting(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(True)


class _StreamPayload(aiohttp.payload.Payload):
    """Streams a :class:`Body` into the connection, watching for stalls and keeping the body's own error.

    The stall watch is one timer per upload, not one per chunk: every chunk written only records the
    loop's time, and the timer, when it fires, either finds progress since and re-arms itself for the
    new deadline, or stops the upload (``TimeoutError`` in the writer, as aiohttp expects a failed
    write). Progress is a chunk written, or the connection's send buffer draining while a large chunk
    is being written: it measures exactly "no progress for ``stall_timeout`` seconds". A body that is
    whole in memory (:attr:`Body.memory`) is written at once, without a pass over its chunks.
    """

    def __init__(self, body: Body, stall_timeout: float | None) -> None:
        super().__init__(body, content_type=body.content_type)
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
        self._watch: asyncio.TimerHandle | None = None
        self._transport: asyncio.WriteTransport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._buffered = 0
        """The connection's send buffer when it was last looked at (after a write, or by the watch)."""

    async def write(self, writer: aiohttp.abc.AbstractStreamWriter) -> None:
        await self.write_with_length(writer, None)

    async def write_with_length(self, writer: aiohttp.abc.AbstractStreamWriter, content_length: int | None) -> None:
        # The bytes are produced afresh from the body; this payload object itself is single-use.
        self._consumed = True
        # aiohttp runs this in a task of its own; remembered so that the request can wait for it to end
        # before the body's source is closed (see settle()).
        task = self._task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        stall = self._stall_timeout
        self.last_write = loop.time()
        if stall is not None and task is not None:
            self._transport = getattr(writer, "transport", None)
            self._loop = loop
            self._watch = loop.call_at(self.last_write + stall, self._check_progress)
        memory = self._body.memory
        chunks = self._body.chunks() if memory is None else None
        unyielded = 0
        try:
            if chunks is None:
                assert memory is not None
                await writer.write(memory)  # whole in memory: one write, no pass over chunks
                self._wrote(len(memory), loop)
                self.written_at = self.last_write
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
            self._unwatch()
            if chunks is not None:
                await chunks.aclose()  # type: ignore[attr-defined]

    def _wrote(self, size: int, loop: asyncio.AbstractEventLoop) -> None:
        self.bytes_sent += size
        self.last_write = loop.time()
        transport = self._transport
        if transport is not None:
            self._buffered = transport.get_write_buffer_size()

    def _unwatch(self) -> None:
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.cancel()

    def _check_progress(self) -> None:
        # The timer's callback, without arguments (no tuple to allocate per upload): all is on self.
        task, loop, stall = self._task, self._loop, self._stall_timeout
        if self._watch is None or task is None or loop is None or stall is None or task.done():
            return
        transport = self._transport
        if transport is not None and not transport.is_closing():
            buffered = transport.get_write_buffer_size()
            if buffered < self._buffered:
                self.last_write = loop.time()  # a large write still under way: the connection takes its bytes
            self._buffered = buffered
        due = self.last_write + stall
        if loop.time() < due:
            self._watch = loop.call_at(due, self._check_progress)
            return
        self._watch = None
        self.stalled = True
        task.cancel()

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
        self._client_timeout = _client_timeout(timeouts)
        self._user_agent = f"{USER_AGENT} {user_agent}" if user_agent else USER_AGENT
        self._borrowed = session
        self._session: aiohttp.ClientSession | None = session
        self._connection_limit = connection_limit
        self.cooldown = Cooldown()

    def open(self) -> None:
        """Create the owned session (on the running loop) unless one was lent."""
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
        headers = dict(headers)
        if CLIENT_REQUEST_ID_HEADER not in headers:
            headers[CLIENT_REQUEST_ID_HEADER] = new_client_request_id()
        most = self._max_response_bytes if max_response_bytes is None else max_response_bytes
        send = _Send(method, url, headers, body, limits, expect_continue, most, accept)
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
            # A fresh dict per attempt: the borrowed-session path adds a User-Agent to what it sends.
            sent_headers = dict(headers)
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
                    headers[CLIENT_REQUEST_ID_HEADER],
                )
                await anyio.sleep(delay)

    async def _send(self, send: _Send, headers: dict[str, str]) -> Response:
        method, url, body, limits = send.method, send.url, send.body, send.timeouts
        session = self._session
        if session is None:
            raise ClientClosedError(f"{method} {url.path}: the client was closed", request_sent=False)
        payload = _StreamPayload(body, limits.upload_stall) if body is not None else None
        extra: dict[str, Any] = {}
        if session is self._borrowed or limits is not self._timeouts:
            extra["timeout"] = self._client_timeout if limits is self._timeouts else _client_timeout(limits)
        expect_continue = send.expect_continue
        if session is self._borrowed:
            headers.setdefault("User-Agent", self._user_agent)
            # A borrowed session builds its own requests, whose wait for "100 Continue" cannot be
            # bounded: the body goes at once, without the header, rather than risk waiting forever.
            expect_continue = False
        clock = asyncio.get_running_loop().time
        started = clock()
        if logger.isEnabledFor(logging.DEBUG):
            size = "no body" if body is None else f"{body.size} bytes" if body.size is not None else "chunked"
            logger.debug("sending %s %s (%s)", method, url.path, size)
        token = (
            _CONTINUE_WAIT.set(limits.expect_continue if limits.expect_continue is not None else limits.response)
            if expect_continue
            else None
        )
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
                headers_at = clock()
                declared, most = resp.content_length, send.max_response_bytes
                if declared is not None and declared <= most and "Content-Encoding" not in resp.headers:
                    # The parser never reads past a declared length: the whole body is within the limit.
                    content = await resp.read()
                else:
                    content = await _read_bounded(resp, most, method, url)
                response = Response(
                    status=resp.status,
                    reason=resp.reason or "",
                    headers=resp.headers,
                    content=content,
                    request_id=request_id(resp.headers),
                    client_request_id=headers.get(CLIENT_REQUEST_ID_HEADER),
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
        except BaseException as err:
            _scrub(err)
            raise
        finally:
            if token is not None:
                _CONTINUE_WAIT.reset(token)
            if payload is not None and payload.running:
                await payload.settle()
        if logger.isEnabledFor(logging.INFO):
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
        attach_response(result, response_info(response))  # pyright: ignore[reportArgumentType]
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


def _client_timeout(timeouts: Timeouts) -> aiohttp.ClientTimeout:
    # Only the socket connect is bounded, not the wait for a free pooled connection: a bulk run
    # queues thousands of requests behind the pool, and queueing is not a failure.
    return aiohttp.ClientTimeout(total=None, connect=None, sock_connect=timeouts.connect, sock_read=timeouts.response)


def _summary(err: SpeechError) -> str:
    if isinstance(err, SpeechStatusError):
        return f"{err.status_code} {err.code}" if err.code else str(err.status_code)
    return f"{type(err).__name__}: {err}"
