"""Credentials and the authentication seam every request goes through."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Protocol, runtime_checkable

__all__ = ["KeyCredential", "SupportsKey", "make_authenticator"]

SUBSCRIPTION_KEY_HEADER: Final = "Ocp-Apim-Subscription-Key"


class KeyCredential:
    """A Speech resource key, sent as ``Ocp-Apim-Subscription-Key``.

    Rotate it with :meth:`update`: requests that start afterwards use the new key, without rebuilding
    the client. The key never appears in the credential's ``repr``.
    """

    __slots__ = ("_key",)

    def __init__(self, key: str) -> None:
        self._key = _check_key(key)

    @property
    def key(self) -> str:
        """The current key."""
        return self._key

    def update(self, key: str) -> None:
        """Replace the key, for instance after rotating it in the Azure portal."""
        self._key = _check_key(key)

    def __repr__(self) -> str:
        return "KeyCredential(key=<redacted>)"


@runtime_checkable
class SupportsKey(Protocol):
    """Anything with a ``key`` attribute, such as ``azure.core.credentials.AzureKeyCredential``."""

    @property
    def key(self) -> str: ...


class Authenticator(Protocol):
    """Turns a credential into request headers. Token-based credentials refresh behind this seam."""

    async def headers(self) -> Mapping[str, str]:
        """The headers that authenticate the next request."""
        ...

    async def close(self) -> None:
        """Release whatever the credential holds."""
        ...


class _KeyAuthenticator:
    __slots__ = ("_credential",)

    def __init__(self, credential: SupportsKey) -> None:
        self._credential = credential

    async def headers(self) -> Mapping[str, str]:
        # Read the key on every request so that rotation takes effect at once.
        return {SUBSCRIPTION_KEY_HEADER: self._credential.key}

    async def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return "KeyAuthenticator(<redacted>)"


def make_authenticator(credential: object) -> Authenticator:
    """Pick the authenticator for a credential object, or explain what is accepted."""
    if isinstance(credential, str):
        raise TypeError(
            "pass the key wrapped in a credential, not as a plain string: SpeechClient(endpoint, KeyCredential(key))"
        )
    if isinstance(credential, SupportsKey):
        if not isinstance(credential.key, str) or not credential.key:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError("the credential's key is empty: set AZURE_SPEECH_API_KEY or pass the resource key")
        return _KeyAuthenticator(credential)
    raise TypeError(
        f"unsupported credential type {type(credential).__name__}: pass speech_async.KeyCredential(key) "
        "or azure.core.credentials.AzureKeyCredential(key)"
    )


def _check_key(key: str) -> str:
    if not isinstance(key, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"the key must be a str, got {type(key).__name__}")
    if not key.strip():
        raise ValueError("the key is empty: pass your Speech resource key (AZURE_SPEECH_API_KEY)")
    return key
