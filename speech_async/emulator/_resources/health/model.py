"""The health the emulator reports (``ServiceHealth_Get``), settable by tests."""

# No "from __future__ import annotations": the admin API decodes into these dataclasses with msgspec,
# which would resolve string annotations in the public package (their __module__), not here.

from dataclasses import dataclass
from typing import Final, Literal, get_args

__all__ = ("DEFAULT_HEALTH", "HEALTH_STATUSES", "HealthComponent", "HealthStatus", "ServiceHealth")

# The HealthStatus enum of the v3.1 spec (addendum §3.8); "Unknown" does not exist.
HealthStatus = Literal["Healthy", "Degraded", "Unhealthy"]
HEALTH_STATUSES: Final[tuple[HealthStatus, ...]] = get_args(HealthStatus)


def _check_status(status: str) -> None:
    if status not in HEALTH_STATUSES:
        raise ValueError(f"status must be one of {', '.join(HEALTH_STATUSES)}, not {status!r}")


@dataclass(frozen=True, kw_only=True)
class HealthComponent:
    """One component of :class:`ServiceHealth` (``{name, type, status, message}`` on the wire).

    Attributes:
        name: The component's name (``"Database"`` in the published example).
        type: Its type (``"SpeechServicesDbContext"`` in the published example).
        status: ``"Healthy"``, ``"Degraded"`` or ``"Unhealthy"``.
        message: Why it is not healthy; omitted from the answer when ``None``.
    """

    name: str
    type: str
    status: HealthStatus = "Healthy"
    message: str | None = None

    def __post_init__(self) -> None:
        _check_status(self.status)


# The one component of the published v3.0 example (get_healthstatus.json, addendum §3.8).
_DATABASE: Final = HealthComponent(name="Database", type="SpeechServicesDbContext")


@dataclass(frozen=True, kw_only=True)
class ServiceHealth:
    """What ``GET /speechtotext/v3.1/healthstatus`` answers (see :meth:`Emulator.set_health`).

    ``"Unhealthy"`` is answered with HTTP 503 (as in the published v3.0 example), the other two with
    200 (unverified for ``"Degraded"``).

    Attributes:
        status: The overall status: ``"Healthy"``, ``"Degraded"`` or ``"Unhealthy"``.
        message: A description of the status; omitted from the answer when ``None``.
        components: The components' statuses, in answer order.
    """

    status: HealthStatus = "Healthy"
    message: str | None = None
    components: tuple[HealthComponent, ...] = (_DATABASE,)

    def __post_init__(self) -> None:
        _check_status(self.status)
        components = tuple(self.components)
        if any(not isinstance(c, HealthComponent) for c in components):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError("components must be HealthComponent objects")
        object.__setattr__(self, "components", components)


DEFAULT_HEALTH: Final = ServiceHealth()
