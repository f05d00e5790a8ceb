"""Where batch transcription's versions differ on the wire, in one place (spec digest §13, addendum §3.3).

- submit: ``POST transcriptions`` (v3.x) / ``POST transcriptions:submit`` (dated);
- time to live: ``timeToLive``, ISO and optional (unset: kept) / ``timeToLiveHours``, required, 6 to 744;
- diarization: ``diarizationEnabled`` + ``diarization {speakers {minCount, maxCount}}`` /
  ``diarization {enabled, maxSpeakers}``;
- SAS of file links: ``sasValidityInSeconds`` / ``sasLifetimeMinutes``;
- language identification ``mode``: not in v3.1.

The operations take one set of arguments and call these maps; answers are read in either shape by the
structs' properties (:mod:`speech_async._models._batch`).
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Final

from ..._exceptions import InvalidOptionsError
from ..._versions import is_path_version

__all__ = [
    "DEFAULT_TIME_TO_LIVE",
    "diarization_fields",
    "files_sas_query",
    "submit_path",
    "supports_lid_mode",
    "time_to_live_fields",
]

DEFAULT_TIME_TO_LIVE: Final = timedelta(hours=48)
"""What the dated versions get when no ``time_to_live`` is given: they require one, and 48 h is the
service's recommendation."""
MIN_TTL_HOURS: Final = 6
MAX_TTL_HOURS: Final = 744
MAX_V3_TTL: Final = timedelta(days=31)
MIN_SPEAKERS: Final = 1
MAX_SPEAKERS: Final = 35
_DATED_MIN_MAX_SPEAKERS: Final = 2


def submit_path(version: str) -> str:
    """The create path: ``transcriptions`` (v3.x) or ``transcriptions:submit`` (dated)."""
    return "transcriptions" if is_path_version(version) else "transcriptions:submit"


def time_to_live_fields(version: str, ttl: timedelta | None) -> dict[str, object]:
    """``properties`` members for a time to live (``None``: the default of the version).

    Raises:
        InvalidOptionsError: out of the version's range, or not whole hours on a dated version.
    """
    if is_path_version(version):
        if ttl is None:
            return {}
        if ttl <= timedelta(0) or ttl > MAX_V3_TTL:
            raise InvalidOptionsError(f"time_to_live {ttl} is out of range for {version}: more than 0, at most 31 days")
        seconds = ttl.total_seconds()
        text = f"PT{int(seconds // 3600)}H" if seconds % 3600 == 0 else f"PT{_number(seconds)}S"
        return {"timeToLive": text}
    ttl = DEFAULT_TIME_TO_LIVE if ttl is None else ttl
    hours = ttl.total_seconds() / 3600
    if hours != math.floor(hours):
        raise InvalidOptionsError(f"time_to_live {ttl} is not a whole number of hours, which {version} needs")
    if not MIN_TTL_HOURS <= hours <= MAX_TTL_HOURS:
        raise InvalidOptionsError(
            f"time_to_live {ttl} is out of range: {version} takes {MIN_TTL_HOURS} to {MAX_TTL_HOURS} hours (31 days)"
        )
    return {"timeToLiveHours": int(hours)}


def diarization_fields(version: str, max_speakers: int | None, min_speakers: int | None) -> dict[str, object]:
    """``properties`` members that turn diarization on, with an optional speaker range.

    Raises:
        InvalidOptionsError: a speaker count out of range, or a ``min_speakers`` the dated versions do not take.
    """
    if max_speakers is not None and not MIN_SPEAKERS <= max_speakers <= MAX_SPEAKERS:
        raise InvalidOptionsError(f"max_speakers {max_speakers} is out of range: {MIN_SPEAKERS} to {MAX_SPEAKERS}")
    if min_speakers is not None:
        if not MIN_SPEAKERS <= min_speakers <= MAX_SPEAKERS:
            raise InvalidOptionsError(f"min_speakers {min_speakers} is out of range: {MIN_SPEAKERS} to {MAX_SPEAKERS}")
        if max_speakers is not None and min_speakers > max_speakers:
            raise InvalidOptionsError(f"min_speakers {min_speakers} is more than max_speakers {max_speakers}")
    if is_path_version(version):
        fields: dict[str, object] = {"diarizationEnabled": True}
        if max_speakers is not None or min_speakers is not None:
            high = max_speakers if max_speakers is not None else MAX_SPEAKERS
            fields["diarization"] = {"speakers": {"minCount": min_speakers or MIN_SPEAKERS, "maxCount": high}}
        return fields
    if min_speakers is not None:
        raise InvalidOptionsError(
            f"min_speakers is a v3.x setting: {version} takes max_speakers only; leave min_speakers out"
        )
    if max_speakers is not None and max_speakers < _DATED_MIN_MAX_SPEAKERS:
        raise InvalidOptionsError(f"max_speakers {max_speakers} is out of range for {version}: 2 to {MAX_SPEAKERS}")
    diarization: dict[str, object] = {"enabled": True}
    if max_speakers is not None:
        diarization["maxSpeakers"] = max_speakers
    return {"diarization": diarization}


def supports_lid_mode(version: str) -> bool:
    """Whether ``languageIdentification.mode`` exists in ``version`` (not in v3.1)."""
    return version != "v3.1"


def files_sas_query(version: str, lifetime: timedelta | None) -> dict[str, str]:
    """The query that sets how long file links stay valid (``None``: the service's 12 h).

    Raises:
        InvalidOptionsError: not positive, or not a whole number of the version's unit.
    """
    if lifetime is None:
        return {}
    seconds = lifetime.total_seconds()
    if seconds <= 0:
        raise InvalidOptionsError(f"sas_lifetime {lifetime} must be more than 0")
    if is_path_version(version):
        if seconds != math.floor(seconds):
            raise InvalidOptionsError(
                f"sas_lifetime {lifetime} is not a whole number of seconds, which {version} needs"
            )
        return {"sasValidityInSeconds": str(int(seconds))}
    if seconds % 60:
        raise InvalidOptionsError(f"sas_lifetime {lifetime} is not a whole number of minutes, which {version} needs")
    return {"sasLifetimeMinutes": str(int(seconds // 60))}


def _number(seconds: float) -> str:
    return str(int(seconds)) if seconds == int(seconds) else f"{seconds:.3f}".rstrip("0")
