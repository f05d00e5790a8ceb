"""Header names and header parsing: a leaf module, so that errors, retries and the transport share it.

``Retry-After`` is read here once (:func:`parse_retry_after`), with the one cap on how long the client
obeys it (:data:`MAX_RETRY_AFTER`), and so is the service's request id (:func:`request_id`).
"""

from __future__ import annotations

import email.utils
import os
import random
import time
from collections.abc import Mapping
from typing import Final

from yarl import URL

__all__ = [
    "AUTHORIZATION_HEADER",
    "CLIENT_REQUEST_ID_HEADER",
    "MAX_RETRY_AFTER",
    "REQUEST_ID_HEADERS",
    "SUBSCRIPTION_KEY_HEADER",
    "new_client_request_id",
    "parse_retry_after",
    "redact_url",
    "request_id",
]

SUBSCRIPTION_KEY_HEADER: Final = "Ocp-Apim-Subscription-Key"
AUTHORIZATION_HEADER: Final = "Authorization"
CLIENT_REQUEST_ID_HEADER: Final = "x-ms-client-request-id"
REQUEST_ID_HEADERS: Final = ("apim-request-id", "x-ms-request-id", "x-request-id")
"""Where the service's id of a request may be, in order of preference."""
_FIRST_ID, _SECOND_ID, _THIRD_ID = REQUEST_ID_HEADERS  # unrolled by request_id(), called for every response

MAX_RETRY_AFTER: Final = 120.0
"""The longest delay, in seconds, that the client obeys when the service asks for one (``RetryPolicy``'s
default, and the cap of :attr:`RateLimitError.retry_after`)."""
_ABSURD_RETRY_AFTER: Final = 86_400.0  # a value beyond a day is nonsense, not a request to wait


_RANDOM: Final = random.Random()
"""A Mersenne Twister of our own, seeded from the system's randomness (and again in a forked child): a
caller's ``random.seed()`` cannot make two processes' ids collide."""


class _Ids:
    """Client request ids: a random prefix per process, then a count of its requests.

    In the usual text form of a version 4 (RFC 4122 variant) UUID: 74 random bits, drawn once per
    process (and again in a forked child), and the last 48 bits counting up. Correlation ids need to be
    unique, not unpredictable: this gives unique ids within a process, and across processes as unlikely
    a collision as 74 random bits allow, for a fraction of the cost of ``uuid.uuid4()`` per request.
    """

    __slots__ = ("count", "prefix")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        _RANDOM.seed()
        bits = _RANDOM.getrandbits(80)
        text = f"{(bits & _VERSION_MASK) | _VERSION_4:020x}"  # the 80 high bits of the UUID
        self.prefix = f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-"
        self.count = _RANDOM.getrandbits(47)  # a random start, so that reading one id tells little


# The version nibble (4) and the variant bits (10), where they fall within the UUID's 80 high bits.
_VERSION_4: Final = (0x4 << 28) | (0x2 << 14)
_VERSION_MASK: Final = ~((0xF << 28) | (0x3 << 14)) & ((1 << 80) - 1)
_IDS: Final = _Ids()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_IDS.reset)


def new_client_request_id() -> str:
    """A fresh ``x-ms-client-request-id``, in the text form of a version 4 UUID (see :class:`_Ids`)."""
    ids = _IDS
    ids.count = count = (ids.count + 1) & 0xFFFFFFFFFFFF
    return f"{ids.prefix}{count:012x}"


def request_id(headers: Mapping[str, str]) -> str | None:
    """The service's id of the request, from the first request-id header that has one."""
    get = headers.get
    return get(_FIRST_ID) or get(_SECOND_ID) or get(_THIRD_ID) or None


def parse_retry_after(
    headers: Mapping[str, str], *, now: float | None = None, cap: float | None = MAX_RETRY_AFTER
) -> float | None:
    """Return the delay in seconds that the response headers ask for, or ``None`` if they don't.

    ``retry-after-ms`` (and ``x-ms-retry-after-ms``) win over ``Retry-After``, which may hold seconds or
    an HTTP date. A value that is negative (a date in the past included), not a number, infinite or
    beyond a day asks for nothing: ``None``, so that the policy's own backoff applies and a broken
    header never causes a zero-delay burst. Values above ``cap`` (two minutes) are capped.
    """
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        raw = _get(headers, name)
        if raw is not None:
            try:
                delay = _clamp(float(raw) / 1000.0, cap)
            except ValueError:
                delay = None
            if delay is not None:
                return delay
    raw = _get(headers, "retry-after")
    if raw is None:
        return None
    try:
        return _clamp(float(raw), cap)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    current = time.time() if now is None else now
    return _clamp(when.timestamp() - current, cap)


def redact_url(text: str) -> str:
    """What an error message or a ``repr`` may show of ``text``: no user info, query or fragment.

    Text without those parts is returned as it is (not normalized), so the message shows what was given.
    """
    shown = _strip_query(text) if "?" in text or "#" in text else text
    scheme, sep, rest = shown.partition("://")
    if sep:
        authority, slash, path = rest.partition("/")
        if "@" in authority:
            shown = f"{scheme}://{authority.rpartition('@')[2]}{slash}{path}"
    return shown


def _strip_query(url: str) -> str:
    """``url`` without its query string and fragment, which may carry a signature or a token."""
    try:
        parsed = URL(url)
    except (TypeError, ValueError):
        return url.split("?", 1)[0].split("#", 1)[0]
    return str(parsed.with_query(None).with_fragment(None))


def _get(headers: Mapping[str, str], name: str) -> str | None:
    # aiohttp's CIMultiDictProxy is case-insensitive; a plain dict from a caller may not be.
    value = headers.get(name)
    if value is None:
        for key, candidate in headers.items():
            if key.lower() == name:
                return candidate
    return value


def _clamp(seconds: float, cap: float | None) -> float | None:
    if not 0.0 <= seconds <= _ABSURD_RETRY_AFTER:  # NaN, infinities and negatives fail this too
        return None
    return seconds if cap is None else min(seconds, cap)
