"""msgspec Structs for every request and response body, with their wire names.

Also what every result knows of the response it came from (:class:`ResponseInfo`), kept beside the
wire fields so that it is never encoded and costs the decode nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import msgspec

__all__ = ["ResponseInfo", "ResponseSource", "WithResponse", "attach_response"]

_RESPONSE_KEY = "_speech_async_response"


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseInfo:
    """The HTTP response a result was decoded from, and how the call got it.

    The names match those of :class:`SpeechStatusError`, which carries the same for a failure.
    """

    status_code: int
    """The HTTP status (200)."""
    reason: str
    """The status text (``"OK"``)."""
    headers: Mapping[str, str]
    """The response headers (a case-insensitive mapping)."""
    body: bytes = field(repr=False)
    """The raw response body, exactly as it arrived: the service's JSON (left out of the ``repr``)."""
    request_id: str | None
    """The service's id of the request (``apim-request-id``), which Azure support asks for."""
    client_request_id: str | None
    """The ``x-ms-client-request-id`` the client sent (the same on every attempt of a call)."""
    attempts: int
    """How many attempts the call made: 1, or more after retries."""
    elapsed: float
    """Seconds from the call's first attempt to the whole body read, retry waits included."""
    upload_seconds: float | None = None
    """Seconds of the final attempt from its request's start (credentials fetched; the wait for a pooled
    connection included) to its last body byte handed to the connection; ``0.0`` without a body.

    When the server answered before the whole body was written, the time to that answer's headers
    (what was written by then), and :attr:`service_seconds` is ``0.0``. ``None`` when not measured.
    """
    service_seconds: float | None = None
    """Seconds of the final attempt from its last body byte written to the response's headers received:
    the service's own time, the network's round trip included."""
    download_seconds: float | None = None
    """Seconds of the final attempt from the response's headers to its whole body read."""


class WithResponse(msgspec.Struct, frozen=True, dict=True):
    """Base of the results the client returns: they carry their :class:`ResponseInfo` as :attr:`response`.

    The info lives in the instance ``__dict__``, not in a field: it is not compared, hashed or encoded,
    so ``msgspec.json.encode(result)`` gives the wire JSON only.
    """

    @property
    def response(self) -> ResponseInfo | None:
        """The response this result came from; ``None`` for a result built or decoded by hand.

        Copies (``msgspec.structs.replace``, ``copy``, ``pickle``) do not keep it.
        """
        attached: ResponseInfo | ResponseSource | None = vars(self).get(_RESPONSE_KEY)
        if attached is None or isinstance(attached, ResponseInfo):
            return attached
        info = vars(self)[_RESPONSE_KEY] = attached.info()  # built when first asked for, then kept
        return info


class ResponseSource(Protocol):
    """What a :class:`ResponseInfo` can be built from when first asked for (the transport's response)."""

    def info(self) -> ResponseInfo: ...


def attach_response(result: WithResponse, info: ResponseInfo | ResponseSource) -> None:
    """Attach ``info`` to a freshly decoded result (results are frozen; their ``__dict__`` is not).

    Given a :class:`ResponseSource`, the :class:`ResponseInfo` is built only if :attr:`WithResponse.response`
    is read: most callers never look, and a frozen dataclass of eleven fields is not free.
    """
    vars(result)[_RESPONSE_KEY] = info
