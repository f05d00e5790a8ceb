"""Error answers of batch transcription: the management API's ``Error`` bodies, and Blob storage's XML ones.

The codes are the spec's ``ErrorCode`` (outer) and ``DetailedErrorCode`` (inner) values; the messages
are the emulator's own unless a real one is quoted (addendum §3.6).
"""

from __future__ import annotations

import datetime as dt
from typing import Final
from xml.sax.saxutils import escape

from aiohttp import web

from ..._errors import ServiceError, invalid_argument, invalid_request

__all__ = (
    "CROSS_VERSION_MESSAGE",
    "bad_value",
    "blob_error",
    "cross_version",
    "invalid_payload",
    "not_found",
    "unsupported_filter",
    "unsupported_media_type",
    "unsupported_pagination",
)

# The migration guide's text for a v3.2 transcription read with v3.0/v3.1.
CROSS_VERSION_MESSAGE: Final = (
    "The API version can't be used to access this transcription. Use API version {version} or higher."
)


def not_found(kind: str, entity_id: str) -> ServiceError:
    """404 ``NotFound`` (digest §14: "GET of an unknown id → 404 with the Error body (code: NotFound)")."""
    # unverified: the message text and the absence of an innerError.
    return ServiceError(404, "NotFound", f"The specified {kind} '{entity_id}' could not be found.")


def invalid_payload(message: str) -> ServiceError:
    """400 ``InvalidRequest`` / ``InvalidPayload``, the pair of the real 400 quoted in addendum §3.6."""
    return invalid_request("InvalidPayload", message)


def bad_value(inner_code: str, message: str) -> ServiceError:
    """400 ``InvalidArgument`` with a DetailedErrorCode (``InvalidLocale``, ``InvalidTimeToLive`` ...)."""
    return invalid_argument(inner_code, message)


def unsupported_filter(message: str) -> ServiceError:
    """400 ``InvalidArgument`` / ``UnsupportedFilter`` (digest §2: "Unsupported filter → UnsupportedFilter")."""
    # unverified: the outer code.
    return invalid_argument("UnsupportedFilter", message)


def unsupported_pagination(message: str) -> ServiceError:
    """400 ``InvalidArgument`` / ``UnsupportedPagination`` for a bad ``skip`` or ``top``."""
    # unverified: the outer code; the inner one is a DetailedErrorCode value.
    return invalid_argument("UnsupportedPagination", message)


def unsupported_media_type(content_type: str) -> ServiceError:
    """415 ``UnsupportedMediaType`` for a PATCH body that is not JSON or merge-patch JSON."""
    # unverified: the message; the status and code are the spec's ErrorCode mapping.
    return ServiceError(
        415,
        "UnsupportedMediaType",
        f"The content type '{content_type}' is not supported; use application/json or application/merge-patch+json.",
    )


def cross_version(created_with: str) -> ServiceError:
    """A transcription read with an older API version than the one that created it."""
    # unverified: the status and codes (the migration guide gives only the message, for v3.2 vs v3.0/v3.1).
    return invalid_request("InvalidTranscription", CROSS_VERSION_MESSAGE.format(version=created_with))


_BLOB_MESSAGES: Final = {
    "AuthorizationFailure": "This request is not authorized to perform this operation.",
    "AuthenticationFailed": (
        "Server failed to authenticate the request. Make sure the value of Authorization header is formed "
        "correctly including the signature."
    ),
    "BlobNotFound": "The specified blob does not exist.",
}


def blob_error(status: int, code: str, *, request_id: str, now: float, detail: str | None = None) -> web.Response:
    """An answer in Blob storage's XML ``<Error>`` shape (addendum §2: ``<Code>``, ``<Message>… RequestId:…``)."""
    when = dt.datetime.fromtimestamp(now, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
    message = f"{_BLOB_MESSAGES[code]}\nRequestId:{request_id}\nTime:{when}"
    extra = "" if detail is None else f"<AuthenticationErrorDetail>{escape(detail)}</AuthenticationErrorDetail>"
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>{extra}</Error>"
    )
    headers = {"x-ms-error-code": code}
    return web.Response(status=status, body=body.encode(), content_type="application/xml", headers=headers)
