"""A test credential that gets Entra-style tokens from an emulator instead of Microsoft Entra ID."""

from __future__ import annotations

import asyncio
import math
from typing import TYPE_CHECKING, Any, Final

import aiohttp
import msgspec
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ("EmulatorTokenCredential",)

_ENTRA_TOKEN_PATH: Final = "/_emulator/entra/token"
_TIMEOUT: Final = aiohttp.ClientTimeout(total=30)


class _TokenAnswer(msgspec.Struct, kw_only=True):
    access_token: str
    expires_on: int


class EmulatorTokenCredential:
    """An ``AsyncTokenCredential`` whose tokens come from a running emulator, never from the internet.

    Use it where an ``azure.identity.aio`` credential would go, to exercise a client's Microsoft
    Entra ID path against :class:`Emulator`. Each :meth:`get_token` call asks the emulator's admin
    route ``POST /_emulator/entra/token`` for a new token. The emulator accepts the token on its
    service routes when the only scope requested was ``https://cognitiveservices.azure.com/.default``;
    a token for any other scope has another audience and is refused with 401. Example::

        async with EmulatorTokenCredential(emulator.url) as credential:
            token = await credential.get_token("https://cognitiveservices.azure.com/.default")

    Like ``azure.identity.aio`` credentials it can be used again after :meth:`close`: the next
    :meth:`get_token` opens a new session (and :meth:`close` must be called again).

    Attributes:
        calls: :meth:`get_token` calls made so far, failed ones included.
        closed: Whether :meth:`close` was called since the last :meth:`get_token`.
    """

    def __init__(self, emulator_url: str, *, lifetime: float = 3600.0) -> None:
        """``emulator_url`` is :attr:`Emulator.url`; ``lifetime`` is the tokens' lifetime in seconds."""
        if not (math.isfinite(lifetime) and lifetime > 0):
            raise ValueError(f"lifetime must be a positive number of seconds, not {lifetime!r}")
        self._url = emulator_url.rstrip("/") + _ENTRA_TOKEN_PATH
        self._lifetime = lifetime
        self._session: aiohttp.ClientSession | None = None
        self.calls = 0
        self.closed = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._url.removesuffix(_ENTRA_TOKEN_PATH)!r}, lifetime={self._lifetime:g})"

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        """A new token for ``scopes``, with its ``expires_on`` on the emulator's clock.

        ``claims``, ``tenant_id``, ``enable_cae`` and other keyword arguments are accepted and
        ignored. Raises ``ValueError`` without scopes, and
        ``azure.core.exceptions.ClientAuthenticationError`` when the emulator cannot be reached
        or refuses the request (as ``azure.identity`` credentials do when they get no token).
        """
        self.calls += 1
        if not scopes:
            raise ValueError("get_token requires at least one scope")
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=_TIMEOUT, trust_env=False)
            self.closed = False
        request = {"scopes": list(scopes), "lifetime": self._lifetime}
        try:
            async with self._session.post(self._url, json=request) as response:
                body = await response.read()
                status = response.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise ClientAuthenticationError(message=f"the emulator could not be reached: {exc}") from exc
        if status != 200:
            # The body is the admin API's error text (no token in it).
            detail = body.decode("utf-8", "replace")
            raise ClientAuthenticationError(message=f"the emulator refused the token request ({status}): {detail}")
        try:
            answer = msgspec.json.decode(body, type=_TokenAnswer)
        except msgspec.DecodeError as exc:
            raise ClientAuthenticationError(message="the emulator's token answer did not decode") from exc
        return AccessToken(answer.access_token, answer.expires_on)

    async def close(self) -> None:
        """Close the credential's HTTP session; a second call does nothing."""
        session, self._session = self._session, None
        self.closed = True
        if session is not None:
            await session.close()

    async def __aenter__(self) -> EmulatorTokenCredential:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        await self.close()
