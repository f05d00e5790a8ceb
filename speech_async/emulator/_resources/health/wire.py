"""The health-status wire shape; field order is the published example's key order."""

from __future__ import annotations

import msgspec

from .model import ServiceHealth

__all__ = ("encode_health",)


class _Component(msgspec.Struct, kw_only=True, omit_defaults=True):
    name: str
    type: str
    status: str
    message: str | None = None


class _Health(msgspec.Struct, kw_only=True, omit_defaults=True):
    # unverified: the position of the top-level `message` (the example has none; the schema lists it second).
    status: str
    message: str | None = None
    components: list[_Component]


_ENCODER = msgspec.json.Encoder()


def encode_health(health: ServiceHealth) -> bytes:
    """The JSON body for ``health``; members that are ``None`` are left out, as in the example."""
    components = [_Component(name=c.name, type=c.type, status=c.status, message=c.message) for c in health.components]
    return _ENCODER.encode(_Health(status=health.status, message=health.message, components=components))
