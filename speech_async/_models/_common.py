"""Wire pieces every REST area shares: the service's error body, in both shapes it comes in, and list pages."""

from __future__ import annotations

from typing import Generic, TypeVar

import msgspec

__all__ = ["ErrorDetail", "InnerError", "PageBody", "decode_error_body"]

ItemT = TypeVar("ItemT")


class InnerError(msgspec.Struct, kw_only=True, frozen=True, rename="camel"):
    """The specific cause behind an error code, such as ``InvalidLocale``."""

    code: str | None = None
    message: str | None = None
    target: str | None = None
    details: dict[str, str] | None = None
    inner_error: InnerError | None = None


class ErrorDetail(msgspec.Struct, kw_only=True, frozen=True, rename="camel"):
    """An error as the service reports it: a code such as ``InvalidArgument``, a message, and causes."""

    code: str | None = None
    message: str | None = None
    target: str | None = None
    details: list[ErrorDetail] | None = None
    inner_error: InnerError | None = None


class _Envelope(msgspec.Struct, kw_only=True, frozen=True, rename="camel"):
    # The speech service answers with the error at the top level; the API gateway in front of it
    # (bad key, throttling) wraps it as {"error": {...}}. One struct reads both.
    code: str | None = None
    message: str | None = None
    target: str | None = None
    details: list[ErrorDetail] | None = None
    inner_error: InnerError | None = None
    error: ErrorDetail | None = None


_ENVELOPE_DECODER = msgspec.json.Decoder(_Envelope)


def decode_error_body(body: bytes) -> ErrorDetail | None:
    """Decode an error body, or return ``None`` when it is not JSON of either known shape."""
    if not body:
        return None
    try:
        envelope = _ENVELOPE_DECODER.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None
    if envelope.error is not None:
        return envelope.error
    if envelope.code is None and envelope.message is None:
        return None
    return ErrorDetail(
        code=envelope.code,
        message=envelope.message,
        target=envelope.target,
        details=envelope.details,
        inner_error=envelope.inner_error,
    )


class PageBody(msgspec.Struct, Generic[ItemT], kw_only=True, frozen=True):
    """One page of a management-API list: ``{"values": [...], "@nextLink": "<url>" | null}``."""

    values: tuple[ItemT, ...] = ()
    next_link: str | None = msgspec.field(default=None, name="@nextLink")
