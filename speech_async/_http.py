"""The HTTP layer: the only client module that touches aiohttp.

It sends one request with a streamed body, reads the response, and turns every failure into the
exception tree of :mod:`speech_async._exceptions`. Bodies are given as objects that can produce their
bytes again, so that a later attempt gets a fresh, complete body.
"""

from __future__ import annotations

import asyncio
import logging
import platform
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

import aiohttp
import aiohttp.abc
import aiohttp.payload
import anyio
from yarl import URL

from ._config import Timeouts
from ._exceptions import (
    AudioSourceError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ServiceError,
    SpeechConnectionError,
    SpeechStatusError,
    SpeechTimeoutError,
    UnprocessableEntityError,
    UnsupportedMediaTypeError,
)
from ._models._errors import decode_error_body
from ._version import __version__

__all__ = ["Body", "Response", "Transport", "status_error"]

logger: Final = logging.getLogger("speech_async")

USER_AGENT: Final = f"speech-async/{__version__} Python/{platform.python_version()} ({platform.platform(terse=True)})"
_REQUEST_ID_HEADERS: Final = ("apim-request-id", "x-ms-request-id", "x-request-id")

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


class Body(Protocol):
    """A request body that can produce its bytes once per attempt."""

    @property
    def size(self) -> int | None: ...
    @property
    def content_type(self) -> str: ...
    def chunks(self) -> AsyncIterator[bytes | memoryview]: ...


@dataclass(frozen=True, slots=True)
class Response:
    """A complete response: status, headers and the whole body."""

    status: int
    reason: str
    headers: Mapping[str, str]
    content: bytes
    request_id: str | None


class _StreamPayload(aiohttp.payload.Payload):
    """Streams a :class:`Body` into the connection, watching for stalls and keeping the body's own error."""

    def __init__(self, body: Body, stall_timeout: float | None) -> None:
        super().__init__(body, content_type=body.content_type)
        self._size = body.size
        self._body = body
        self._stall_timeout = stall_timeout
        self.failure: BaseException | None = None
        self.stalled = False
        self.bytes_sent = 0

    async def write(self, writer: aiohttp.abc.AbstractStreamWriter) -> None:
        await self.write_with_length(writer, None)

    async def write_with_length(self, writer: aiohttp.abc.AbstractStreamWriter, content_length: int | None) -> None:
        # The bytes are produced afresh from the body; this payload object itself is single-use.
        self._consumed = True
        chunks = self._body.chunks()
        try:
            if self._stall_timeout is None:
                async for chunk in chunks:
                    await writer.write(chunk)
                    self.bytes_sent += len(chunk)
            else:
                await self._write_watched(writer, chunks, self._stall_timeout)
        except Exception as exc:
            self.failure = exc
            raise
        finally:
            await chunks.aclose()  # type: ignore[attr-defined]

    async def _write_watched(
        self, writer: aiohttp.abc.AbstractStreamWriter, chunks: AsyncIterator[bytes | memoryview], stall: float
    ) -> None:
        # One cancel scope for the whole upload, its deadline pushed forward after every chunk: cheaper
        # than a timer per chunk, and it measures exactly "no progress for `stall` seconds".
        try:
            with anyio.fail_after(stall) as scope:
                async for chunk in chunks:
                    await writer.write(chunk)
                    self.bytes_sent += len(chunk)
                    scope.deadline = anyio.current_time() + stall
        except TimeoutError:
            self.stalled = True
            raise

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> str:
        raise TypeError("a streamed request body cannot be decoded")


class Transport:
    """Owns (or borrows) one aiohttp session and sends requests through it."""

    def __init__(
        self,
        *,
        timeouts: Timeouts,
        session: aiohttp.ClientSession | None,
        connection_limit: int,
        user_agent: str | None,
    ) -> None:
        self._timeouts = timeouts
        # Only the socket connect is bounded, not the wait for a free pooled connection: a bulk run
        # queues thousands of requests behind the pool, and queueing is not a failure.
        self._client_timeout = aiohttp.ClientTimeout(
            total=None, connect=None, sock_connect=timeouts.connect, sock_read=timeouts.response
        )
        self._user_agent = f"{USER_AGENT} {user_agent}" if user_agent else USER_AGENT
        self._borrowed = session
        self._session: aiohttp.ClientSession | None = session
        self._connection_limit = connection_limit

    @property
    def timeouts(self) -> Timeouts:
        """The timeouts every request is sent with."""
        return self._timeouts

    def open(self) -> None:
        """Create the owned session (on the running loop) unless one was lent."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connection_limit),
                timeout=self._client_timeout,
                headers={"User-Agent": self._user_agent},
                raise_for_status=False,
            )

    async def close(self) -> None:
        """Close the owned session; a borrowed one stays open for its owner."""
        session, self._session = self._session, None
        if session is not None and session is not self._borrowed:
            await session.close()

    async def request(
        self,
        method: str,
        url: URL,
        *,
        headers: dict[str, str],
        body: Body | None = None,
    ) -> Response:
        """Send one request and return the complete response, raising for any error status."""
        total = self._timeouts.total
        if total is None:
            return await self._send(method, url, headers, body)
        try:
            with anyio.fail_after(total):
                return await self._send(method, url, headers, body)
        except TimeoutError as err:
            if isinstance(err, SpeechTimeoutError):
                raise
            raise SpeechTimeoutError(
                f"{method} {url.path} did not complete within the total timeout of {total} s"
            ) from err

    async def _send(self, method: str, url: URL, headers: dict[str, str], body: Body | None) -> Response:
        session = self._session
        if session is None:
            raise RuntimeError("the transport is not open")
        payload = _StreamPayload(body, self._timeouts.upload_stall) if body is not None else None
        extra: dict[str, Any] = {}
        if session is self._borrowed:
            extra["timeout"] = self._client_timeout
            headers.setdefault("User-Agent", self._user_agent)
        started = time.perf_counter()
        if logger.isEnabledFor(logging.DEBUG):
            size = "no body" if body is None else f"{body.size} bytes" if body.size is not None else "chunked"
            logger.debug("sending %s %s (%s)", method, url.path, size)
        try:
            async with session.request(method, url, headers=headers, data=payload, **extra) as resp:
                content = await resp.read()
                response = Response(
                    status=resp.status,
                    reason=resp.reason or "",
                    headers=resp.headers,
                    content=content,
                    request_id=_request_id(resp.headers),
                )
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as err:
            raise _transport_error(err, payload, method, url, self._timeouts) from err
        if logger.isEnabledFor(logging.INFO):
            logger.info(
                "%s %s -> %d in %.1f ms (request id %s)",
                method,
                url.path,
                response.status,
                (time.perf_counter() - started) * 1000,
                response.request_id,
            )
        if response.status >= 400:
            raise status_error(response)
        return response


def status_error(response: Response) -> SpeechStatusError:
    """The exception for an error response: the class by status, with the decoded error body."""
    status = response.status
    cls = _STATUS_ERRORS.get(status) or (ServiceError if status >= 500 else SpeechStatusError)
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
        return SpeechConnectionError(f"cannot connect to {url.host}:{url.port}: {err.os_error.strerror or err}")
    if isinstance(err, aiohttp.ClientPayloadError):
        return SpeechConnectionError(f"the response to {method} {url.path} was cut short: {err}")
    if isinstance(err, aiohttp.ServerDisconnectedError):
        return SpeechConnectionError(f"the server closed the connection during {method} {url.path}")
    return SpeechConnectionError(f"{method} {url.path} failed: {type(err).__name__}: {err}")


def _request_id(headers: Mapping[str, str]) -> str | None:
    for name in _REQUEST_ID_HEADERS:
        value = headers.get(name)
        if value:
            return value
    return None
