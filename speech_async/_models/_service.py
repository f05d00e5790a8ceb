"""The service-wide answers of the management API: supported locales and health status."""

from __future__ import annotations

import enum

import msgspec

from . import WithResponse

__all__ = ["HealthComponent", "HealthState", "HealthStatus", "SupportedLocales"]


class HealthState(str, enum.Enum):
    """The health states the service reports (``HealthStatus.status`` keeps any other text as it came)."""

    HEALTHY = "Healthy"
    DEGRADED = "Degraded"
    UNHEALTHY = "Unhealthy"

    def __str__(self) -> str:
        return self.value


class SupportedLocales(WithResponse, kw_only=True, frozen=True):
    """The locales of speech-to-text, as ``GET /speechtotext/transcriptions/locales`` lists them.

    The same for every version: 2024-11-15 and later answer ``{"Transcribe": [...], "Submit": [...]}``;
    v3.2 and v3.1 answer one list, the locales of batch transcription, which become :attr:`submit`.
    """

    transcribe: tuple[str, ...] | None = None
    """The locales of fast transcription (``Transcribe``); ``None`` when the version does not say (v3.x)."""
    submit: tuple[str, ...] = ()
    """The locales of batch transcription (``Submit``, or the whole v3.x list)."""


class HealthComponent(msgspec.Struct, kw_only=True, frozen=True, gc=False):
    """One component of the service and its health."""

    name: str | None = None
    """Such as ``Database``."""
    type: str | None = None
    """Such as ``SpeechServicesDbContext``."""
    status: str | None = None
    """One of :class:`HealthState`, as text (an unknown state is kept as it came)."""
    message: str | None = None
    """Why it is not healthy, when it is not."""


class HealthStatus(WithResponse, kw_only=True, frozen=True):
    """The health of the speech-to-text service (``ServiceHealth``), from ``GET /speechtotext/v3.1/healthstatus``."""

    status: str
    """``Healthy``, ``Degraded`` or ``Unhealthy`` (:class:`HealthState`); kept as text, so an unknown
    state still decodes."""
    message: str | None = None
    """The service's explanation, when it gives one."""
    components: tuple[HealthComponent, ...] = ()
    """The health of each component."""

    @property
    def healthy(self) -> bool:
        """Whether the status is ``Healthy``."""
        return self.status == HealthState.HEALTHY.value


# As in _fast: resolved here, before the package renames the classes' module.
msgspec.json.Decoder(HealthStatus)
