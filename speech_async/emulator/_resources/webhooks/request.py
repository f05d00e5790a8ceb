"""Checking a ``WebHook`` (create) and a ``WebHookUpdate`` (PATCH) body (addendum §3.7).

Required on create: ``displayName``, ``webUrl``, ``events``. ``properties.apiVersion`` is read-only
and ignored when sent. unverified: every refusal is 400 ``InvalidRequest`` / ``InvalidPayload``, the
pair of the real 400 quoted in addendum §3.6; the service's codes for these cases are not published.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, cast
from urllib.parse import urlsplit

from ..batch.errors import invalid_payload

__all__ = ("EVENTS", "HookFields", "check_update", "parse_create")

# The 22 event booleans of WebHookEvents.
EVENTS: Final = (
    *(
        f"{entity}{phase}"
        for entity in ("dataset", "model", "evaluation", "transcription", "endpoint")
        for phase in ("Creation", "Processing", "Completion", "Deletion")
    ),
    "ping",
    "challenge",
)
# unverified: the limits of customProperties on web hooks (those of transcriptions: 10 keys, 64-char keys).
_MAX_CUSTOM: Final = 10
_MAX_CUSTOM_KEY: Final = 64


@dataclass(frozen=True, kw_only=True)
class HookFields:
    """A checked create body."""

    display_name: str
    description: str | None
    custom_properties: dict[str, str] | None
    web_url: str
    events: dict[str, bool]
    secret: str | None


def _object(value: object) -> dict[str, Any] | None:
    return cast("dict[str, Any]", value) if isinstance(value, dict) else None


def _display_name(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid_payload("The property webHook.displayName must be a non-empty string.")
    return value


def _description(value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise invalid_payload("The property webHook.description must be a string.")
    return value


def _web_url(value: object) -> str:
    if not isinstance(value, str):
        raise invalid_payload("The property webHook.webUrl must be a string.")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid_payload(f"The property webHook.webUrl '{value}' is not an absolute http or https URL.")
    return value


def _events(value: object) -> dict[str, bool]:
    events = _object(value)
    if events is None:
        raise invalid_payload("The property webHook.events must be an object of event names and booleans.")
    checked: dict[str, bool] = {}
    for name, flag in events.items():
        if name not in EVENTS:
            raise invalid_payload(f"The event '{name}' is not a web hook event.")
        if not isinstance(flag, bool):
            raise invalid_payload(f"The event '{name}' must be true or false.")
        checked[name] = flag
    return checked


def _custom_properties(value: object) -> dict[str, str] | None:
    if value is None:
        return None
    properties = _object(value)
    if (
        properties is None
        or len(properties) > _MAX_CUSTOM
        or not all(isinstance(v, str) and 0 < len(k) <= _MAX_CUSTOM_KEY for k, v in properties.items())
    ):
        raise invalid_payload("The property webHook.customProperties must map at most 10 names to strings.")
    return cast("dict[str, str]", properties)


def _secret(properties: object) -> tuple[bool, str | None]:
    """(whether properties.secret was sent, its value: an empty secret is no secret)."""
    if properties is None:
        return False, None
    shaped = _object(properties)
    if shaped is None:
        raise invalid_payload("The property webHook.properties must be an object.")
    if "secret" not in shaped:
        return False, None
    secret = shaped["secret"]
    if secret is not None and not isinstance(secret, str):
        raise invalid_payload("The property webHook.properties.secret must be a string.")
    return True, secret or None


def parse_create(document: dict[str, Any]) -> HookFields:
    """The fields of a new hook; a missing or bad one is a 400."""
    for name in ("displayName", "webUrl", "events"):
        if document.get(name) is None:
            raise invalid_payload(f"The property webHook.{name} is required.")
    return HookFields(
        display_name=_display_name(document["displayName"]),
        description=_description(document.get("description")),
        custom_properties=_custom_properties(document.get("customProperties")),
        web_url=_web_url(document["webUrl"]),
        events=_events(document["events"]),
        secret=_secret(document.get("properties"))[1],
    )


def check_update(document: dict[str, Any]) -> dict[str, Any]:
    """The members of a ``WebHookUpdate`` that were sent, checked; ``secret`` is ``None`` to turn it off."""
    changes: dict[str, Any] = {}
    if document.get("displayName") is not None:
        changes["displayName"] = _display_name(document["displayName"])
    if "description" in document:
        changes["description"] = _description(document["description"])
    if "customProperties" in document:
        changes["customProperties"] = _custom_properties(document["customProperties"])
    if document.get("webUrl") is not None:
        changes["webUrl"] = _web_url(document["webUrl"])
    if document.get("events") is not None:
        changes["events"] = _events(document["events"])
    sent, secret = _secret(document.get("properties"))
    if sent:
        # Digest §9: emptying the secret on update turns the signature off. unverified: that leaving
        # properties out keeps it (the digest says "omitting" turns it off too, which a merge patch would not).
        changes["secret"] = secret
    return changes
