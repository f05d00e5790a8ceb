"""The JSON of a web hook, in the key order of ``webhook-get-2025-10-15.json``.

``self, displayName, description, properties {apiVersion, secret}, webUrl, events, createdDateTime,
lastActionDateTime, status, links {test, ping}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..batch.request import is_v3
from ..batch.results import iso_datetime
from ..batch.wire import version_base

if TYPE_CHECKING:
    from .backend import WebHook

__all__ = ("entity_url", "hook_body")


def entity_url(origin: str, version: str, path: str, suffix: str = "") -> str:
    """The URL of ``path`` (``webhooks/{id}``) in ``version``, with ``suffix`` (``:ping``) before the query."""
    base = f"{version_base(origin, version)}/{path}{suffix}"
    return base if is_v3(version) else f"{base}?api-version={version}"


def hook_body(hook: WebHook, *, version: str, origin: str, with_secret: bool) -> dict[str, Any]:
    """``hook`` as ``version`` shows it at ``origin``; ``with_secret=False`` for a ping's body (sent to ``webUrl``)."""
    path = f"webhooks/{hook.id}"
    body: dict[str, Any] = {"self": entity_url(origin, version, path), "displayName": hook.display_name}
    if hook.description is not None:
        body["description"] = hook.description
    if hook.custom_properties is not None:
        # unverified: where customProperties sits (no example shows it).
        body["customProperties"] = hook.custom_properties
    # unverified: v3.x hooks name their version "v3.1" / "v3.2" here.
    properties: dict[str, Any] = {"apiVersion": hook.version}
    if with_secret and hook.secret is not None:
        # The examples echo properties.secret (as a placeholder); the secret never goes to webUrl.
        properties["secret"] = hook.secret
    if hook.error is not None:
        properties["error"] = {"code": hook.error[0], "message": hook.error[1]}
    body["properties"] = properties
    body["webUrl"] = hook.web_url
    body["events"] = dict(hook.events)
    body["createdDateTime"] = iso_datetime(hook.created)
    body["lastActionDateTime"] = iso_datetime(hook.last_action)
    body["status"] = hook.status
    # The published examples swap the two URLs (test -> ":ping"); the emulator points each at its own action.
    body["links"] = {
        "test": entity_url(origin, version, path, ":test"),
        "ping": entity_url(origin, version, path, ":ping"),
    }
    return body
