"""The authentication machinery behind the public credentials: one :class:`Authenticator` per credential.

:func:`make_authenticator` picks it: a key goes as ``Ocp-Apim-Subscription-Key``; an
:class:`IssueTokenCredential`, an Entra credential or a token provider gets bearer tokens from a shared
:class:`~speech_async._token_cache.TokenCache` (the issueToken exchange is here); a
:class:`BearerToken` is sent as it is. The short-audio API's ``aad#`` form of Entra tokens is that
area's own quirk, and lives with it (:mod:`speech_async._resources.short_audio`).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, Protocol

from ._credentials import TOKEN_TEXT, BearerToken, IssueTokenCredential, SupportsKey, check_secret
from ._exceptions import CredentialError, InvalidOptionsError, ResponseDecodeError
from ._headers import AUTHORIZATION_HEADER, SUBSCRIPTION_KEY_HEADER
from ._token_cache import Token, TokenCache, TokenStats, release, shared_cache
from ._urls import bad_character, check_endpoint

if TYPE_CHECKING:
    from yarl import URL

    from ._http import Authenticator, Response, Transport

__all__ = [
    "COGNITIVE_SERVICES_SCOPE",
    "DEFAULT_TOKEN_REFRESH",
    "TokenAuthenticator",
    "make_authenticator",
]

COGNITIVE_SERVICES_SCOPE: Final = "https://cognitiveservices.azure.com/.default"
"""The Microsoft Entra ID scope of Azure AI services."""
ISSUE_TOKEN_PATH: Final = "sts/v1.0/issueToken"
ISSUE_TOKEN_LIFETIME: Final = 600.0
"""issueToken tokens are valid for ten minutes."""
DEFAULT_TOKEN_REFRESH: Final = 540.0
"""Tokens are reused for nine minutes, then refreshed (the service's guidance for issueToken)."""
_ENTRA_REFRESH_LEAD: Final = 300.0  # refresh an Entra token at least this long before it expires
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
# A run of base64url/JWT characters as long as no English word: maybe a token, never kept in an error.
_TOKEN_LIKE: Final = re.compile(r"[A-Za-z0-9._~+/-]{32,}")


class AccessTokenLike(Protocol):
    """What azure-core's ``AccessToken`` holds: the token and its expiry in epoch seconds."""

    @property
    def token(self) -> str: ...
    @property
    def expires_on(self) -> int: ...


class _FixedAuthenticator:
    """Headers from a secret that nothing can refresh: a refusal stays a refusal, and there is no cache."""

    __slots__ = ()

    async def invalidate(self, headers: Mapping[str, str]) -> bool:
        return False

    async def headers(self) -> Mapping[str, str]:
        return self.current()

    def current(self) -> Mapping[str, str]:
        raise NotImplementedError

    @property
    def stats(self) -> TokenStats | None:
        return None

    async def close(self) -> None:
        pass


class _KeyAuthenticator(_FixedAuthenticator):
    __slots__ = ("_checked", "_credential")

    def __init__(self, credential: SupportsKey) -> None:
        self._credential = credential
        self._checked: str | None = None

    def current(self) -> Mapping[str, str]:
        # Read the key on every request so that rotation takes effect at once; a new key is checked,
        # since a key object of another library (AzureKeyCredential) takes any text on update(). The
        # last key checked is known by identity (a str is immutable), so an unchanged key costs nothing.
        key = self._credential.key
        if key is not self._checked:
            self._checked = check_secret(key, "key")
        return {SUBSCRIPTION_KEY_HEADER: key}

    def __repr__(self) -> str:
        return "KeyAuthenticator(<redacted>)"


class _StaticTokenAuthenticator(_FixedAuthenticator):
    __slots__ = ("_credential",)

    def __init__(self, credential: BearerToken) -> None:
        self._credential = credential

    def current(self) -> Mapping[str, str]:
        return {AUTHORIZATION_HEADER: f"Bearer {self._credential.token}"}

    def __repr__(self) -> str:
        return "StaticTokenAuthenticator(<redacted>)"


class TokenAuthenticator:
    """Bearer tokens from a shared cache, refreshed with ``fetch``."""

    __slots__ = ("_cache", "_close_credential", "_closed", "_credential", "_fetch", "_issuer", "entra")

    def __init__(
        self,
        credential: object,
        issuer: str,
        fetch: Callable[[], Awaitable[Token]],
        *,
        clock: Callable[[], float],
        name: str,
        close_credential: bool,
        entra: bool = False,
    ) -> None:
        self._credential = credential
        self._issuer = issuer
        self._fetch = fetch
        self._cache: TokenCache = shared_cache(credential, issuer, clock=clock, name=name)
        self._close_credential = close_credential
        self._closed = False
        self.entra = entra
        """Whether the tokens come from Microsoft Entra ID (the short-audio API wants them as ``aad#``)."""

    async def token(self) -> str:
        """The current token, fetched or refreshed as needed."""
        return await self._cache.get(self._fetch)

    async def headers(self) -> Mapping[str, str]:
        return {AUTHORIZATION_HEADER: f"Bearer {await self.token()}"}

    def current(self) -> None:
        return None  # the cache decides when to refresh: always through headers()

    async def invalidate(self, headers: Mapping[str, str]) -> bool:
        self._cache.invalidate(headers.get(AUTHORIZATION_HEADER, "").removeprefix("Bearer "))
        return True  # the token was dropped now, or already replaced by another caller: try the current one

    @property
    def stats(self) -> TokenStats | None:
        return self._cache.stats

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        # Before anything else: an exchange running on this client's connections is orphaned from now
        # on, and whoever else waits for it gets the token on their own (see TokenCache).
        self._cache.detach(self._fetch)
        last = await release(self._credential, self._issuer, self._cache)
        close: Callable[[], Awaitable[None]] | None = getattr(self._credential, "close", None)
        if last and self._close_credential and close is not None and inspect.iscoroutinefunction(close):
            await close()

    def __repr__(self) -> str:
        return f"TokenAuthenticator(issuer={self._issuer!r})"


def make_authenticator(
    credential: object,
    *,
    transport: Transport,
    endpoint: URL,
    clock: Callable[[], float],
    refresh_interval: float,
    allow_insecure_http: bool = False,
) -> Authenticator:
    """Pick the authenticator for a credential object, or explain what is accepted.

    Everything that can be checked without the network is checked here: keys and tokens given now,
    and where an :class:`IssueTokenCredential` sends its key (the client's URL rule, with
    ``allow_insecure_http``).
    """
    if isinstance(credential, str):
        raise TypeError(
            "pass the key wrapped in a credential, not as a plain string: "
            "SpeechClient(endpoint, KeyCredential(key)), or BearerToken(token) for a token"
        )
    if isinstance(credential, IssueTokenCredential):
        return _issue_token_authenticator(credential, transport, endpoint, clock, refresh_interval, allow_insecure_http)
    if isinstance(credential, BearerToken):
        return _StaticTokenAuthenticator(credential)
    if isinstance(credential, SupportsKey):
        key = credential.key
        if not isinstance(key, str) or not key:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise InvalidOptionsError(
                "the credential's key is empty: set AZURE_SPEECH_API_KEY or pass the resource key"
            )
        check_secret(key, "key")
        return _KeyAuthenticator(credential)
    get_token = getattr(credential, "get_token", None)
    if get_token is not None:
        if not inspect.iscoroutinefunction(get_token):
            raise TypeError(
                f"{type(credential).__name__} is a synchronous token credential, which would block the event loop: "
                "use its async twin from azure.identity.aio (for example azure.identity.aio.DefaultAzureCredential)"
            )
        return _entra_authenticator(credential, get_token, clock, refresh_interval)
    if callable(credential):
        return _provider_authenticator(credential, clock, refresh_interval)
    raise TypeError(
        f"unsupported credential type {type(credential).__name__}: pass speech_async.KeyCredential(key), "
        "azure.core.credentials.AzureKeyCredential(key), IssueTokenCredential(key), an azure.identity.aio "
        "credential, BearerToken(token), or an async function that returns a token"
    )


def _issue_token_authenticator(
    credential: IssueTokenCredential,
    transport: Transport,
    endpoint: URL,
    clock: Callable[[], float],
    refresh_interval: float,
    allow_insecure_http: bool,
) -> Authenticator:
    base = (
        endpoint
        if credential.endpoint is None or credential.endpoint == ""
        else check_endpoint(
            credential.endpoint,
            what="the IssueTokenCredential endpoint",
            allow_insecure_http=allow_insecure_http,
            api_paths=("sts/v1.0",),
        )
    )
    url = base / ISSUE_TOKEN_PATH
    scope = credential.scope
    if scope is not None:
        if not isinstance(scope, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"the IssueTokenCredential scope must be a str, got {type(scope).__name__}")
        problem = bad_character(scope)
        if scope and problem is not None:
            raise InvalidOptionsError(
                f"the IssueTokenCredential scope {scope!r} has {problem}: a scope is one word of visible ASCII, "
                "such as 'speechservicesmanagement'"
            )
        if scope:
            url = url.with_query({"scope": scope})

    async def fetch() -> Token:
        started = clock()
        value = await transport.request(
            "POST",
            url,
            headers={
                SUBSCRIPTION_KEY_HEADER: check_secret(credential.key, "key"),
                "Content-Type": "application/x-www-form-urlencoded",
            },
            decode=_decode_issued_token,
            idempotent=True,
        )
        return Token(
            value,
            fetched_at=started,
            refresh_at=started + min(refresh_interval, ISSUE_TOKEN_LIFETIME),
            expires_at=started + ISSUE_TOKEN_LIFETIME,
        )

    return TokenAuthenticator(credential, str(url), fetch, clock=clock, name="issueToken token", close_credential=False)


def _entra_authenticator(
    credential: object,
    get_token: Callable[..., Awaitable[AccessTokenLike]],
    clock: Callable[[], float],
    refresh_interval: float,
) -> Authenticator:
    async def fetch() -> Token:
        started = clock()
        access = await get_token(COGNITIVE_SERVICES_SCOPE)
        token = _check_fetched(access.token, "the Microsoft Entra credential's get_token()")
        return _timed(token, started, float(access.expires_on), refresh_interval)

    return TokenAuthenticator(
        credential,
        COGNITIVE_SERVICES_SCOPE,
        fetch,
        clock=clock,
        name="Microsoft Entra token",
        close_credential=True,
        entra=True,
    )


def _provider_authenticator(
    provider: Callable[[], Any], clock: Callable[[], float], refresh_interval: float
) -> Authenticator:
    async def fetch() -> Token:
        started = clock()
        result: Any = provider()
        if inspect.isawaitable(result):
            result = await result
        if isinstance(result, str):
            token = _check_fetched(result, "the token provider")
            return _timed(token, started, started + ISSUE_TOKEN_LIFETIME, refresh_interval)
        token, expires_on = getattr(result, "token", None), getattr(result, "expires_on", None)
        if not isinstance(token, str) or not isinstance(expires_on, int | float):
            raise TypeError("the token provider must return a str or an object with .token and .expires_on")
        return _timed(_check_fetched(token, "the token provider"), started, float(expires_on), refresh_interval)

    return TokenAuthenticator(provider, "provider", fetch, clock=clock, name="token", close_credential=False)


def _timed(value: str, started: float, expires_at: float, refresh_interval: float) -> Token:
    # Refresh on the nine-minute cycle, but never later than a margin before the token's own expiry.
    refresh_at = min(started + refresh_interval, max(expires_at - _ENTRA_REFRESH_LEAD, started))
    return Token(value, fetched_at=started, refresh_at=refresh_at, expires_at=expires_at)


def _decode_issued_token(response: Response) -> str:
    try:
        text = response.content.decode("ascii").strip()
    except UnicodeDecodeError:
        text = ""
    if not TOKEN_TEXT.fullmatch(text):
        if TOKEN_TEXT.fullmatch(_CONTROL.sub("", text)):
            # A token with control characters in it: still a secret, so neither body nor token is kept.
            raise ResponseDecodeError(
                "issueToken answered with a token that holds control characters, which cannot be sent in "
                "a header (the token is not shown)",
                body=b"",
                request_id=response.request_id,
            )
        if _TOKEN_LIKE.search(text):
            raise ResponseDecodeError(
                "issueToken answered with something that is not a token, but may hold one: the body is not kept",
                body=b"",
                request_id=response.request_id,
            )
        # The body is kept only when nothing in it is token-shaped: then it cannot be a secret.
        raise ResponseDecodeError(
            "issueToken answered with something that is not a token",
            body=response.content,
            request_id=response.request_id,
        )
    return text


def _check_fetched(value: object, source: str) -> str:
    """A token fetched at run time: a :class:`CredentialError` (without the token) if it cannot be sent."""
    if not isinstance(value, str):
        raise CredentialError(f"{source} returned a token that is not a str but a {type(value).__name__}")
    if not value.strip():
        raise CredentialError(f"{source} returned an empty token")
    if not TOKEN_TEXT.fullmatch(value):
        raise CredentialError(
            f"{source} returned a token that has {bad_character(value, secret=True)}, which cannot be sent in "
            "a header (the token is not shown)"
        )
    return value
