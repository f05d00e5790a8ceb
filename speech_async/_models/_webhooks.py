"""Web hooks' wire structs: the hook, its events, properties and links.

One shape for every management version (v3.1, v3.2, 2024-11-15, 2025-10-15): the spec gives the
same members to all four. The hook's ``properties.secret`` is never shown in a ``repr``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

import msgspec

from ..webhooks import WebHookEventKind
from . import WithResponse
from ._batch import EntityError, _last_segment  # pyright: ignore[reportPrivateUsage]

__all__ = ["WebHook", "WebHookEvents", "WebHookLinks", "WebHookProperties", "WebHookStatus"]


class WebHookStatus(str, enum.Enum):
    """The statuses a web hook is seen in (``WebHook.status`` keeps any other text as it came).

    ``NotStarted`` from its creation until the service's challenge to its ``webUrl`` succeeds, then
    ``Succeeded``; ``Failed`` once its deliveries kept failing (PATCH the same ``webUrl`` to re-enable it).
    """

    NOT_STARTED = "NotStarted"
    # unverified: that a hook is ever Running (the spec shares the entities' status enum; no example shows it).
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"

    def __str__(self) -> str:
        return self.value


class WebHookEvents(
    msgspec.Struct, kw_only=True, frozen=True, rename="camel", omit_defaults=True, repr_omit_defaults=True
):
    """The events a hook is registered for: ``events`` on the wire, 22 booleans (``{"transcriptionCompletion": true}``).

    Build it from :class:`~speech_async.webhooks.WebHookEventKind` values with :meth:`of`, or pass the
    kinds themselves (a set) wherever the client takes events. Only the ``True`` members are sent.
    """

    dataset_creation: bool = False
    dataset_processing: bool = False
    dataset_completion: bool = False
    dataset_deletion: bool = False
    model_creation: bool = False
    model_processing: bool = False
    model_completion: bool = False
    model_deletion: bool = False
    evaluation_creation: bool = False
    evaluation_processing: bool = False
    evaluation_completion: bool = False
    evaluation_deletion: bool = False
    transcription_creation: bool = False
    transcription_processing: bool = False
    transcription_completion: bool = False
    transcription_deletion: bool = False
    endpoint_creation: bool = False
    endpoint_processing: bool = False
    endpoint_completion: bool = False
    endpoint_deletion: bool = False
    ping: bool = False
    challenge: bool = False

    @classmethod
    def of(cls, kinds: Iterable[WebHookEventKind | str]) -> WebHookEvents:
        """The events for ``kinds``: ``WebHookEventKind`` members, or their values (``"TranscriptionCompletion"``).

        Raises:
            ValueError: a kind is not one of :class:`~speech_async.webhooks.WebHookEventKind`.
        """
        flags: dict[str, bool] = {}
        for kind in kinds:
            member = _KIND_BY_VALUE.get(kind.value if isinstance(kind, WebHookEventKind) else kind)
            if member is None:
                known = ", ".join(kind.value for kind in WebHookEventKind)
                raise ValueError(f"{kind!r} is not a web-hook event; the events are {known}")
            flags[_FIELD_BY_KIND[member]] = True
        return cls(**flags)

    @property
    def kinds(self) -> frozenset[WebHookEventKind]:
        """The registered events, as :class:`~speech_async.webhooks.WebHookEventKind` members."""
        return frozenset(kind for kind, name in _FIELD_BY_KIND.items() if getattr(self, name))

    def __contains__(self, kind: object) -> bool:
        member = _KIND_BY_VALUE.get(kind.value if isinstance(kind, WebHookEventKind) else kind)  # pyright: ignore[reportArgumentType]
        return member is not None and bool(getattr(self, _FIELD_BY_KIND[member]))

    def __bool__(self) -> bool:
        return any(getattr(self, name) for name in _FIELD_BY_KIND.values())


# CHALLENGE -> "challenge", TRANSCRIPTION_COMPLETION -> "transcription_completion": the enum's names are the fields'.
_FIELD_BY_KIND: Final = {kind: kind.name.lower() for kind in WebHookEventKind}
_KIND_BY_VALUE: Final[dict[object, WebHookEventKind]] = {kind.value: kind for kind in WebHookEventKind}
assert set(_FIELD_BY_KIND.values()) == set(WebHookEvents.__struct_fields__)


class WebHookProperties(msgspec.Struct, kw_only=True, frozen=True, rename="camel"):
    """``properties`` of a hook. Its ``repr`` says whether there is a secret, never what it is."""

    api_version: str | None = None
    """The version that shapes the callbacks' payloads (read-only: the version the hook was made in)."""
    secret: str | None = None
    """The key of the callbacks' HMAC-SHA256 signature, when the service returns it."""
    error: EntityError | None = None
    """Why the hook failed, when it did."""

    def __repr__(self) -> str:
        secret = None if self.secret is None else "<hidden>"
        return f"WebHookProperties(api_version={self.api_version!r}, secret={secret}, error={self.error!r})"

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        secret = None if self.secret is None else "<hidden>"
        return [("api_version", self.api_version), ("secret", secret), ("error", self.error)]


class WebHookLinks(msgspec.Struct, kw_only=True, frozen=True, gc=False):
    """``links`` of a hook: the URLs of its ping and test operations."""

    ping: str | None = None
    test: str | None = None


class WebHook(WithResponse, kw_only=True, frozen=True, rename="camel"):
    """A web hook, as ``GET /speechtotext/webhooks/{id}`` returns it (every version)."""

    self_url: str | None = msgspec.field(default=None, name="self")
    """The hook's URL (with ``?api-version=`` on the dated versions)."""
    display_name: str | None = None
    description: str | None = None
    web_url: str | None = None
    """Where the service sends the callbacks."""
    events: WebHookEvents = msgspec.field(default_factory=WebHookEvents)
    properties: WebHookProperties = msgspec.field(default_factory=WebHookProperties)
    links: WebHookLinks | None = None
    status: str | None = None
    """One of :class:`WebHookStatus`, as text (an unknown status is kept as it came)."""
    created_date_time: datetime | None = None
    last_action_date_time: datetime | None = None
    custom_properties: dict[str, str] | None = None

    @property
    def id(self) -> str | None:
        """The hook's id: the last segment of :attr:`self_url`."""
        return _last_segment(self.self_url)

    @property
    def error(self) -> EntityError | None:
        """``properties.error``: why the hook failed."""
        return self.properties.error


# As in _batch: resolved here, before the package renames the classes' module.
msgspec.json.Decoder(WebHook)
