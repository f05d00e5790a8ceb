"""API versions per REST area: which each area takes, and how the management API builds its paths.

Fast transcription takes dated ``api-version`` values (2024-11-15 and later, plus any later dated or
preview value, forward compatible). The management API (batch transcription, web hooks, custom speech,
locales, health) takes the dated versions in the ``api-version`` query
(``/speechtotext/transcriptions/locales?api-version=2025-10-15``) and the older path versions
(``/speechtotext/v3.2/transcriptions/locales``). The service documentation retires v3.0 to v3.2 on
2026-03-31: v3.2 and v3.1 are kept for resources that still need them, never as a default; v3.0 is
refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from yarl import URL

from ._config import LATEST_API_VERSION, LATEST_MANAGEMENT_API_VERSION, ApiVersion
from ._exceptions import InvalidOptionsError

__all__ = [
    "FAST_API_VERSIONS",
    "MANAGEMENT_API_VERSIONS",
    "check_fast_version",
    "check_management_version",
    "is_path_version",
    "management_url",
]

_DATED: Final = re.compile(r"\d{4}-\d{2}-\d{2}(-preview)?")
_PATH_VERSION: Final = re.compile(r"v\d+\.\d+")
_FIRST_DATED: Final = ApiVersion.V2024_11_15.value
_MANAGEMENT_ROOT: Final = "speechtotext"

FAST_API_VERSIONS: Final = (ApiVersion.V2025_10_15.value, ApiVersion.V2024_11_15.value)
"""The fast-transcription versions this client knows; later dated values are passed on as they are."""
MANAGEMENT_API_VERSIONS: Final = (
    ApiVersion.V2025_10_15.value,
    ApiVersion.V2024_11_15.value,
    ApiVersion.V3_2.value,
    ApiVersion.V3_1.value,
)
"""The management-API versions this client knows, newest first; later dated values are passed on."""
RETIRED_API_VERSIONS: Final = ("v3.0",)


def _text(version: object, what: str) -> str:
    value = version.value if isinstance(version, ApiVersion) else version
    if not isinstance(value, str):
        raise InvalidOptionsError(f"{what} {value!r} is not an api-version such as {LATEST_API_VERSION.value!r}")
    return value


def check_fast_version(version: ApiVersion | str, *, what: str = "api_version") -> str:
    """The fast-transcription ``api-version`` meant by ``version``, or an :class:`InvalidOptionsError`."""
    value = _text(version, what)
    if _PATH_VERSION.fullmatch(value):
        raise InvalidOptionsError(
            f"{what} {value!r} is not an api-version of fast transcription, which needs {_FIRST_DATED} or "
            f"later (such as {LATEST_API_VERSION.value!r}); the v3.x versions are the management API's"
        )
    if not _DATED.fullmatch(value):
        raise InvalidOptionsError(f"{what} {value!r} is not an api-version such as {LATEST_API_VERSION.value!r}")
    return value


def check_management_version(version: ApiVersion | str, *, what: str = "api_version") -> str:
    """The management-API version meant by ``version``, or an :class:`InvalidOptionsError`.

    Known: 2025-10-15, 2024-11-15, v3.2 and v3.1. A later dated value (``2026-05-01``,
    ``2026-05-01-preview``) is passed on as it is, so that a new service version needs no new client.
    """
    value = _text(version, what)
    known = ", ".join(MANAGEMENT_API_VERSIONS)
    if value in MANAGEMENT_API_VERSIONS:
        return value
    if value in RETIRED_API_VERSIONS:
        raise InvalidOptionsError(
            f"{what} {value!r} is retired: the management API takes {known} "
            f"(the default is {LATEST_MANAGEMENT_API_VERSION.value})"
        )
    if _DATED.fullmatch(value) and value >= _FIRST_DATED:
        return value
    raise InvalidOptionsError(f"{what} {value!r} is not a version of the management API; it takes {known}")


def is_path_version(version: str) -> bool:
    """Whether ``version`` goes in the path (v3.x) rather than in the ``api-version`` query."""
    return _PATH_VERSION.fullmatch(version) is not None


def management_url(endpoint: URL, version: str, path: str, query: Mapping[str, str] | None = None) -> URL:
    """The URL of a management-API ``path`` (``transcriptions/locales``) in a checked ``version``.

    v3.x: ``{endpoint}/speechtotext/v3.2/transcriptions/locales``; dated versions:
    ``{endpoint}/speechtotext/transcriptions/locales?api-version=2025-10-15``. ``query`` comes first,
    then ``api-version``.
    """
    params = dict(query or {})
    if is_path_version(version):
        url = endpoint / _MANAGEMENT_ROOT / version / path
    else:
        url = endpoint / _MANAGEMENT_ROOT / path
        params["api-version"] = version
    return url.with_query(params) if params else url
