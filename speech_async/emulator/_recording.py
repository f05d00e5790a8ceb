"""What the emulator remembers about each request, with secrets redacted."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal, cast

import msgspec

__all__ = (
    "REDACTED",
    "AuthKind",
    "RecordedPart",
    "RecordedRequest",
    "encode_requests",
    "redact_headers",
    "redact_query",
)

REDACTED: Final = "***"
_SECRET_HEADERS: Final = frozenset({"ocp-apim-subscription-key", "authorization"})
# Not a credential the emulator accepts, but some clients send it: never store it either.
_SECRET_QUERY: Final = frozenset({"subscription-key"})

AuthKind = Literal["key", "bearer", "none"]


def redact_headers(headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Headers in wire order with the values of credential headers replaced by ``***``."""
    return tuple((name, REDACTED if name.lower() in _SECRET_HEADERS else value) for name, value in headers)


def redact_query(query: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Query parameters (first value of each) with a ``subscription-key`` parameter redacted."""
    redacted: dict[str, str] = {}
    for name, value in query:
        if name not in redacted:
            redacted[name] = REDACTED if name.lower() in _SECRET_QUERY else value
    return redacted


def _header(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    wanted = name.lower()
    return next((value for key, value in headers if key.lower() == wanted), None)


@dataclass(frozen=True, kw_only=True)
class RecordedPart:
    """One multipart part as received.

    Attributes:
        name: The form field name from ``Content-Disposition``.
        filename: The ``filename`` parameter, if any.
        content_type: The part's ``Content-Type`` header, if any.
        headers: All part headers in wire order, names as sent.
        size: Size of the part body in bytes.
        sha256: Hex SHA-256 of the part body.
    """

    name: str
    filename: str | None
    content_type: str | None
    headers: tuple[tuple[str, str], ...]
    size: int
    sha256: str

    def header(self, name: str) -> str | None:
        """The first value of part header ``name`` (case-insensitive), or ``None``."""
        return _header(self.headers, name)


@dataclass(frozen=True, kw_only=True)
class RecordedRequest:
    """One request the service API received, oldest first in :attr:`Emulator.requests`.

    issueToken exchanges are service requests too (:attr:`route` ``"issue_token"``); admin calls
    are not recorded. Credentials are never stored: the values of ``Ocp-Apim-Subscription-Key``
    and ``Authorization`` are replaced by ``***``; :attr:`auth` tells which kind was presented.
    Tokens issueToken hands out are not recorded either.

    Attributes:
        method: HTTP method.
        path: Decoded request path (``/speechtotext/transcriptions:transcribe``).
        query: Query parameters (first value of each).
        headers: Request headers in wire order, names as sent, secrets redacted.
        auth: ``"key"``, ``"bearer"`` or ``"none"``: the credential header presented.
        content_type: The ``Content-Type`` header.
        chunked: Whether the body came with ``Transfer-Encoding: chunked``.
        content_length: The ``Content-Length`` header, if sent.
        body_bytes: Body bytes (de-chunked) that arrived from the client. For an answer sent
            before the upload ended, the record is replaced once the rest was read (or the
            client hung up).
        parts: The multipart parts in wire order (empty when the body was not read).
        definition: The parsed ``definition`` JSON object, if it parsed as one.
        status: The HTTP status answered; ``0`` if the client went away before an answer.
        request_id: The ``apim-request-id`` the emulator answered with.
        attempt_body_sha256: Hex SHA-256 of the entire body as received (the raw multipart
            body, de-chunked); ``None`` if the emulator could not read it to its end.
        body_complete: Whether the emulator read the whole body (``Content-Length`` reached or
            the chunked terminator seen); ``True`` exactly when :attr:`attempt_body_sha256` is set.
        client_request_id: The ``x-ms-client-request-id`` header, which a client repeats on
            every attempt of one logical call.
        fault: :attr:`Fault.kind` of the fault injected into this request, if any.
        route: The route name from the route registry (``"transcribe"``, ``"locales"``,
            ``"issue_token"``, ``"short_audio"``, ``"locales_v3"``, ``"health_status"``; see
            ``docs/emulator-routes.md``); ``None`` for a path or method no route takes.
        expect_continue: Whether the request carried ``Expect: 100-continue`` (the short-audio API
            asks for it with chunked uploads). aiohttp answers such an HTTP/1.1 request with
            ``100 Continue`` once it is routed, before the body is read.
    """

    method: str
    path: str
    query: Mapping[str, str]
    headers: tuple[tuple[str, str], ...]
    auth: AuthKind
    content_type: str | None
    chunked: bool
    content_length: int | None
    body_bytes: int
    parts: tuple[RecordedPart, ...]
    definition: Mapping[str, object] | None
    status: int
    request_id: str
    attempt_body_sha256: str | None = None
    body_complete: bool = False
    client_request_id: str | None = None
    fault: str | None = None
    route: str | None = None
    expect_continue: bool = False

    def header(self, name: str) -> str | None:
        """The first value of request header ``name`` (case-insensitive), or ``None``."""
        return _header(self.headers, name)

    def part(self, name: str) -> RecordedPart | None:
        """The first part named ``name``, or ``None``."""
        return next((part for part in self.parts if part.name == name), None)


def _encode_hook(value: object) -> object:
    if isinstance(value, Mapping):
        return dict(cast("Mapping[object, object]", value))
    raise NotImplementedError(f"cannot encode {type(value).__name__}")


_ENCODER: Final = msgspec.json.Encoder(enc_hook=_encode_hook)


def encode_requests(requests: Iterable[RecordedRequest]) -> bytes:
    """JSON list of recorded requests (snake_case members, headers as ``[name, value]`` pairs)."""
    return _ENCODER.encode(list(requests))
