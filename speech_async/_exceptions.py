"""The exceptions raised by speech_async.

Everything the client raises on purpose derives from :class:`SpeechError`::

    SpeechError
    ├── InvalidInputError (also ValueError)  bad input, found before anything is sent
    │   ├── InvalidAudioError                the audio: missing, unreadable, empty, too large, wrong type
    │   └── InvalidOptionsError              the transcription options or client settings
    ├── CredentialError                      no valid token could be had (the cause says why)
    ├── AudioSourceError                     reading the audio failed while it was being sent
    │   └── AudioNotReplayableError          a retry was due, but a one-shot stream cannot be sent again
    ├── SpeechConnectionError                no usable response arrived (DNS, refused, reset, TLS)
    │   ├── SpeechTimeoutError (also TimeoutError)
    │   └── ClientClosedError                the client was closed while the request was under way
    ├── SpeechStatusError                    the service answered with an error status
    │   ├── BadRequestError                  400
    │   ├── AuthenticationError              401
    │   ├── PermissionDeniedError            403
    │   ├── NotFoundError                    404
    │   ├── ConflictError                    409
    │   ├── PayloadTooLargeError             413
    │   ├── UnsupportedMediaTypeError        415
    │   ├── UnprocessableEntityError         422
    │   ├── RateLimitError                   429
    │   ├── RedirectError                    3xx: the Speech APIs never redirect, so none is followed
    │   └── ServiceError                     500 and above
    ├── ResponseDecodeError (also ValueError) a response body that does not have the documented shape
    ├── ResponseTooLargeError                a response body larger than Limits.max_response_bytes
    ├── UntrustedLinkError                   a link the service gave points away from the endpoint: not followed
    ├── TranscriptionFailedError             a batch transcription ended Failed; carries the job and its error
    └── TranscriptionTimeoutError (also TimeoutError) a batch transcription did not end by its deadline

A misused client (used after ``close()``, entered twice) raises ``RuntimeError``, and an argument of
the wrong type raises ``TypeError``. No aiohttp or msgspec exception escapes: each is wrapped, with the
original as ``__cause__``. Messages never contain keys or tokens.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ._headers import parse_retry_after, redact_url

if TYPE_CHECKING:
    from ._models._batch import Transcription
    from ._models._common import ErrorDetail, InnerError

__all__ = [
    "AudioNotReplayableError",
    "AudioSourceError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConflictError",
    "CredentialError",
    "InvalidAudioError",
    "InvalidInputError",
    "InvalidOptionsError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "RedirectError",
    "ResponseDecodeError",
    "ResponseTooLargeError",
    "ServiceError",
    "SpeechConnectionError",
    "SpeechError",
    "SpeechStatusError",
    "SpeechTimeoutError",
    "TranscriptionFailedError",
    "TranscriptionTimeoutError",
    "UnprocessableEntityError",
    "UnsupportedMediaTypeError",
    "UntrustedLinkError",
    "WrongEventLoopError",
]


class SpeechError(Exception):
    """Root of every error speech_async raises on purpose."""

    attempts: int = 1
    """How many attempts the call made before giving up with this error."""


class InvalidInputError(SpeechError, ValueError):
    """The input cannot be sent as it is; nothing went over the network."""


class InvalidAudioError(InvalidInputError):
    """The audio is missing, unreadable, empty, too large or of an unsupported kind."""


class InvalidOptionsError(InvalidInputError):
    """The transcription options break a documented rule of the service."""


class CredentialError(SpeechError):
    """No valid token could be obtained: the exchange or the token credential failed.

    The ``__cause__`` is what failed: an ``AuthenticationError`` from issueToken (a wrong key), a
    connection error, or the token credential's own exception.
    """


class AudioSourceError(SpeechError):
    """Reading the audio failed, or it changed size, while the request was being sent."""


class AudioNotReplayableError(AudioSourceError):
    """A retry was due, but the audio came from a one-shot stream that was already partly sent.

    The failure that called for the retry is the ``__cause__``. Pass a path, bytes or a seekable file,
    or ``spool=True`` to have the stream copied to a temporary file first.
    """


class SpeechConnectionError(SpeechError):
    """No usable response arrived: the connection failed, broke, or the response was cut short.

    ``request_sent`` is ``False`` when the failure came before any of the request went out (the
    connection could not be made), so the service cannot have acted on it.
    """

    def __init__(self, message: str, *, request_sent: bool = True) -> None:
        super().__init__(message)
        self.request_sent = request_sent


class SpeechTimeoutError(SpeechConnectionError, TimeoutError):
    """A phase of the request took longer than its configured timeout."""


class ClientClosedError(SpeechConnectionError):
    """The client whose connections carried this request was closed before the request ended.

    A token exchange started by one client and awaited by another (they share a credential) fails with
    this when the first client closes; the token cache then starts the exchange again on the other's
    connections instead of counting it as a failure.
    """


class ResponseTooLargeError(SpeechError):
    """The response body was larger than ``Limits.max_response_bytes``; no more than that was read.

    Never retried: the same request would get the same answer. ``limit`` is the bound in bytes.
    """

    def __init__(self, message: str, *, limit: int, status_code: int, request_id: str | None = None) -> None:
        super().__init__(message)
        self.limit = limit
        self.status_code = status_code
        self.request_id = request_id


class ResponseDecodeError(SpeechError, ValueError):
    """A response body could not be decoded into the documented shape; ``body`` keeps the raw bytes."""

    def __init__(self, message: str, *, body: bytes, request_id: str | None = None) -> None:
        super().__init__(message)
        self.body = body
        self.request_id = request_id


class SpeechStatusError(SpeechError):
    """The service answered with an error status.

    ``error`` is the decoded error body when it had the service's shape (or the API gateway's
    ``{"error": {...}}`` shape); ``body`` always keeps the raw bytes.
    """

    status_code: int

    def __init__(
        self,
        *,
        status_code: int,
        reason: str,
        request_id: str | None,
        headers: Mapping[str, str],
        body: bytes,
        error: ErrorDetail | None,
    ) -> None:
        self.status_code = status_code
        self.reason = reason
        self.request_id = request_id
        self.headers = headers
        self.body = body
        self.error = error
        super().__init__(self._describe())

    @property
    def code(self) -> str | None:
        """The service's error code, such as ``InvalidArgument``."""
        return self.error.code if self.error is not None else None

    @property
    def message(self) -> str | None:
        """The service's error message."""
        return self.error.message if self.error is not None else None

    @property
    def inner_error(self) -> InnerError | None:
        """The more specific inner error, such as ``InvalidLocale``."""
        return self.error.inner_error if self.error is not None else None

    def _describe(self) -> str:
        text = f"{self.status_code} {self.reason}"
        if self.error is not None:
            if self.error.code:
                text += f" [{self.error.code}"
                inner = self.error.inner_error
                if inner is not None and inner.code:
                    text += f"/{inner.code}"
                text += "]"
            if self.error.message:
                text += f": {self.error.message}"
        if self.request_id:
            text += f" (request id {self.request_id})"
        return text


class BadRequestError(SpeechStatusError):
    """400: the service rejected the request's content."""


class AuthenticationError(SpeechStatusError):
    """401: the key or token is missing, wrong, expired, or for another region."""


class PermissionDeniedError(SpeechStatusError):
    """403: the credential is valid but not allowed to do this."""


class NotFoundError(SpeechStatusError):
    """404: no such resource (or a wrong endpoint or API version)."""


class ConflictError(SpeechStatusError):
    """409: the request conflicts with the resource's state."""


class PayloadTooLargeError(SpeechStatusError):
    """413: the request body is larger than the service accepts."""


class UnsupportedMediaTypeError(SpeechStatusError):
    """415: the request's content type is not accepted."""


class UnprocessableEntityError(SpeechStatusError):
    """422: the request is well formed but cannot be processed."""


class RateLimitError(SpeechStatusError):
    """429: too many requests; ``retry_after`` is the delay the service asked for, in seconds."""

    @property
    def retry_after(self) -> float | None:
        """Seconds the service asked to wait (``retry-after-ms`` or ``Retry-After``), if it said; at most 120."""
        return parse_retry_after(self.headers)


class RedirectError(SpeechStatusError):
    """3xx: the server answered with a redirect, which the Speech REST APIs never send.

    No redirect is followed, so neither the audio nor a key or token goes to the host it names, and
    none is retried. ``location`` is the ``Location`` header without its user info, query string and
    fragment (which may carry a password or a signature), or ``None`` when there was none.
    """

    @property
    def location(self) -> str | None:
        """Where the redirect pointed, without its user info, query string and fragment."""
        raw = self.headers.get("Location") or self.headers.get("location")
        return redact_url(raw) if raw else None

    def _describe(self) -> str:
        text = super()._describe()
        location = self.location
        return f"{text}; redirected to {location}, which is not followed" if location else text


class ServiceError(SpeechStatusError):
    """500 and above: the service failed."""


class UntrustedLinkError(SpeechError):
    """A link from the service (a next page, a job URL in a continuation token) points at another scheme,
    host or port than the client's endpoint, so it was not followed: the key goes only to the endpoint.

    ``link`` is the link without its query (which may carry a signature).
    """

    def __init__(self, message: str, *, link: str) -> None:
        super().__init__(message)
        self.link = link


class TranscriptionFailedError(SpeechError):
    """A batch transcription ended with status ``Failed``.

    ``transcription`` is the job as last read; ``code`` and ``message`` are its ``properties.error``
    (``None`` when the service gave none).
    """

    def __init__(self, transcription: Transcription) -> None:
        error = transcription.properties.error
        self.transcription = transcription
        self.code: str | None = error.code if error is not None else None
        self.message: str | None = error.message if error is not None else None
        text = f"the transcription {transcription.id} failed"
        if self.code:
            text += f" [{self.code}]"
        if self.message:
            text += f": {self.message}"
        super().__init__(text)


class TranscriptionTimeoutError(SpeechError, TimeoutError):
    """A batch transcription had not ended when its poller's deadline passed; the job itself goes on.

    ``transcription`` is the job as last read (resume with the poller's ``continuation_token``).
    """

    def __init__(self, message: str, *, transcription: Transcription) -> None:
        super().__init__(message)
        self.transcription = transcription


class WrongEventLoopError(RuntimeError):
    """A client was used on an event loop other than the one it was opened on.

    A ``SpeechClient`` belongs to the event loop it was first used on (its connections live there): one
    ``asyncio.run(...)`` each, with a client created inside the coroutine, or one client used throughout
    a single ``asyncio.run``. Like the other misuses of a client, it is a ``RuntimeError``, raised before
    anything is sent.
    """
