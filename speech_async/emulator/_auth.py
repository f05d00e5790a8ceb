"""Authentication of service requests: the one place that decides who may call.

Only resource keys (``Ocp-Apim-Subscription-Key``) are emulated so far. ``Authorization: Bearer``
(issueToken / Microsoft Entra ID tokens) is refused like a wrong key; replacing
:func:`authenticate` is all it takes to accept tokens later.
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Final

from ._errors import INVALID_KEY_MESSAGE, MISSING_KEY_MESSAGE, GatewayError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ._config import EmulatorConfig
    from ._recording import AuthKind

__all__ = ("KEY_HEADER", "authenticate", "credential_kind")

KEY_HEADER: Final = "Ocp-Apim-Subscription-Key"


def credential_kind(headers: Mapping[str, str]) -> AuthKind:
    """Which credential the request presents (for the record, never the value)."""
    if headers.get(KEY_HEADER):
        return "key"
    scheme = headers.get("Authorization", "").strip().split(" ", 1)[0]
    return "bearer" if scheme.casefold() == "bearer" else "none"


def _same(presented: str, expected: str) -> bool:
    return hmac.compare_digest(
        presented.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape")
    )


def authenticate(headers: Mapping[str, str], config: EmulatorConfig) -> None:
    """Raise :class:`GatewayError` (401) unless the request carries an acceptable key.

    Header names are case-insensitive (``headers`` is a case-insensitive mapping); the value must
    match exactly. ``config.key is None`` accepts any non-empty key.
    """
    key = headers.get(KEY_HEADER)
    if key:
        if config.key is None or _same(key, config.key):
            return
        raise GatewayError(401, INVALID_KEY_MESSAGE)
    if headers.get("Authorization", "").strip():
        # Tokens are not emulated yet: refused like an invalid key (unverified wording for tokens).
        raise GatewayError(401, INVALID_KEY_MESSAGE)
    raise GatewayError(401, MISSING_KEY_MESSAGE)
