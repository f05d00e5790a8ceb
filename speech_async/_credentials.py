"""Credentials: what a caller passes to ``SpeechClient`` to authenticate.

Accepted by ``SpeechClient``:

- a resource key (:class:`KeyCredential`, or azure-core's ``AzureKeyCredential``), sent as
  ``Ocp-Apim-Subscription-Key``;
- a key exchanged through issueToken for ten-minute bearer tokens (:class:`IssueTokenCredential`);
- any azure-identity *async* token credential (``azure.identity.aio.DefaultAzureCredential`` and the
  like) for Microsoft Entra ID, with the Cognitive Services scope (short audio gets its tokens in the
  ``aad#<resource id>#<token>`` form);
- a bearer token you obtained yourself (:class:`BearerToken`), or an async callable that returns one.

Tokens live in a :class:`~speech_async._token_cache.TokenCache` shared by every client that uses the
same credential object, so a whole program makes one token request per refresh, however many clients
and tasks it runs. The machinery behind these classes (authenticators, the issueToken exchange) is in
:mod:`speech_async._authenticators`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final, Protocol, runtime_checkable

from ._exceptions import InvalidOptionsError
from ._headers import redact_url
from ._urls import bad_character

__all__ = [
    "BearerToken",
    "IssueTokenCredential",
    "KeyCredential",
    "SupportsKey",
    "check_secret",
]

TOKEN_TEXT: Final = re.compile(r"[\x21-\x7e]+")
"""What a key or a token may hold: visible ASCII, since it goes into a header as it is."""


class KeyCredential:
    """A Speech resource key, sent as ``Ocp-Apim-Subscription-Key``.

    Rotate it with :meth:`update`: requests that start afterwards use the new key, without rebuilding
    the client. The key never appears in the credential's ``repr``.
    """

    __slots__ = ("__weakref__", "_key")

    def __init__(self, key: str) -> None:
        self._key = check_secret(key, "key")

    @property
    def key(self) -> str:
        """The current key."""
        return self._key

    def update(self, key: str) -> None:
        """Replace the key, for instance after rotating it in the Azure portal."""
        self._key = check_secret(key, "key")

    def __repr__(self) -> str:
        return "KeyCredential(key=<redacted>)"


@runtime_checkable
class SupportsKey(Protocol):
    """Anything with a ``key`` attribute, such as ``azure.core.credentials.AzureKeyCredential``."""

    @property
    def key(self) -> str: ...


class IssueTokenCredential:
    """A resource key exchanged through issueToken for bearer tokens, valid ten minutes, reused for nine.

    The exchange is ``POST {endpoint}/sts/v1.0/issueToken``; ``endpoint`` defaults to the client's own
    (a regional endpoint or the resource's custom domain both serve it). ``scope`` is sent as the
    ``scope`` query parameter when given (the v3 management API's ``speechservicesmanagement``).

    ``endpoint`` follows the same rule as the client's (checked when a client is built with this
    credential, with that client's ``allow_insecure_http``): the key is sent there.
    """

    __slots__ = ("__weakref__", "_key", "endpoint", "scope")

    def __init__(self, key: str | SupportsKey, *, endpoint: str | None = None, scope: str | None = None) -> None:
        self._key: SupportsKey = KeyCredential(key) if isinstance(key, str) else key
        if not isinstance(self._key, SupportsKey):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError("IssueTokenCredential needs a key: a str, KeyCredential or AzureKeyCredential")
        check_secret(self._key.key, "key")
        self.endpoint = endpoint
        self.scope = scope

    @property
    def key(self) -> str:
        """The current key."""
        return self._key.key

    def update(self, key: str) -> None:
        """Replace the key; the next exchange uses it."""
        update: Callable[[str], None] | None = getattr(self._key, "update", None)
        if update is None:
            raise TypeError("this key credential cannot be updated")
        update(check_secret(key, "key"))

    def __repr__(self) -> str:
        endpoint = redact_url(self.endpoint) if isinstance(self.endpoint, str) else self.endpoint
        return f"IssueTokenCredential(key=<redacted>, endpoint={endpoint!r}, scope={self.scope!r})"


class BearerToken:
    """A bearer token obtained elsewhere, sent as is and never refreshed; :meth:`update` replaces it."""

    __slots__ = ("__weakref__", "_token")

    def __init__(self, token: str) -> None:
        self._token = check_secret(token, "token")

    @property
    def token(self) -> str:
        """The current token."""
        return self._token

    def update(self, token: str) -> None:
        """Replace the token; the next request uses it."""
        self._token = check_secret(token, "token")

    def __repr__(self) -> str:
        return "BearerToken(<redacted>)"


def check_secret(value: str, what: str) -> str:
    """A key or token given by the caller: visible ASCII only, since it goes into a header as it is."""
    if not isinstance(value, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"the {what} must be a str, got {type(value).__name__}")
    if not value.strip():
        hint = " (AZURE_SPEECH_API_KEY)" if what == "key" else ""
        raise InvalidOptionsError(f"the {what} is empty: pass your Speech resource {what}{hint}")
    if not TOKEN_TEXT.fullmatch(value):
        problem = bad_character(value, secret=True)
        hint = " (pass the token alone, without 'Bearer ')" if what == "token" and value.startswith("Bearer ") else ""
        raise InvalidOptionsError(
            f"the {what} has {problem}{hint}: a {what} is visible ASCII only, since it is sent in a header as it is; "
            f"strip the whitespace or line break around it (the {what} itself is not shown)"
        )
    return value
