"""Pure retry arithmetic: how long the service asked us to wait."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping

__all__ = ["parse_retry_after"]

_MAX_RETRY_AFTER = 120.0  # seconds; a larger or absurd value is capped rather than obeyed


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Return the delay in seconds that the response headers ask for, or ``None`` if they don't.

    ``retry-after-ms`` (and ``x-ms-retry-after-ms``) win over ``Retry-After``, which may hold seconds or
    an HTTP date. Negative values count as zero; values above two minutes are capped.
    """
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        raw = _get(headers, name)
        if raw is not None:
            try:
                return _clamp(float(raw) / 1000.0)
            except ValueError:
                pass
    raw = _get(headers, "retry-after")
    if raw is None:
        return None
    try:
        return _clamp(float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    current = time.time() if now is None else now
    return _clamp(when.timestamp() - current)


def _get(headers: Mapping[str, str], name: str) -> str | None:
    # aiohttp's CIMultiDictProxy is case-insensitive; a plain dict from a caller may not be.
    value = headers.get(name)
    if value is None:
        for key, candidate in headers.items():
            if key.lower() == name:
                return candidate
    return value


def _clamp(seconds: float) -> float | None:
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), _MAX_RETRY_AFTER)
