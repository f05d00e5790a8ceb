"""Credentials, and the authentication seam every request goes through.

Accepted by ``SpeechClient``:

- a resource key (:class:`KeyCredential`, or azure-core's ``AzureKeyCredential``), sent as
  ``Ocp-Apim-Subscription-Key``;
- a key exchanged through issueToken for ten-minute bearer tokens (:class:`IssueTokenCredential`);
- any azure-identity *async* token credential (``azure.identity.aio.DefaultAzureCredential`` and the
  like) for Microsoft Entra ID, with the Cognitive Services scope (short audio gets its tokens in the
  ``aad#<resource id>#<token>`` form, see :func:`short_audio_authenticator`);
- a bearer token you obtained yourself (:class:`BearerToken`), or an async callable that returns one.

Tokens live in a :class:`~speech_async._token_cache.TokenCache` shared by every client that uses the
same credential object, so a whole program makes one token request per refresh, however many clients
and tasks it runs.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

from ._exceptions import CredentialError, InvalidOptionsError, ResponseDecodeError
from ._token_cache import Token, TokenCache, TokenStats, release, shared_cache
from ._urls import bad_character, check_endpoint, redact_url

if TYPE_CHECKING:
    from yarl import URL

    from ._http import Response, Transport

__all__ = [
    "COGNITIVE_SERVICES_SCOPE",
    "DEFAULT_TOKEN_REFRESH",
    "Authenticator",
    "BearerToken",
    "IssueTokenCredential",
    "KeyCredential",
    "SupportsKey",
    "check_resource_id",
    "make_authenticator",
    "short_audio_authenticator",
]

SUBSCRIPTION_KEY_HEADER: Final = "Ocp-Apim-Subscription-Key"
AUTHORIZATION_HEADER: Final = "Authorization"
COGNITIVE_SERVICES_SCOPE: Final = "https://cognitiveservices.azure.com/.default"
"""The Microsoft Entra ID scope of Azure AI services."""
ISSUE_TOKEN_PATH: Final = "sts/v1.0/issueToken"
ISSUE_TOKEN_LIFETIME: Final = 600.0
"""issueToken tokens are valid for ten minutes."""
DEFAULT_TOKEN_REFRESH: Final = 540.0
"""Tokens are reused for nine minutes, then refreshed (the service's guidance for issueToken)."""
_ENTRA_REFRESH_LEAD: Final = 300.0  # refresh an Entra token at least this long before it expires
_TOKEN_TEXT: Final = re.compile(r"[\x21-\x7e]+")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
# A run of base64url/JWT characters as long as no English word: maybe a token, never kept in an error.
_TOKEN_LIKE: Final = re.compile(r"[A-Za-z0-9._~+/-]{32,}")
AAD_PREFIX: Final = "aad#"
"""The short-audio API takes an Entra token as ``Bearer aad#<resource id>#<token>``."""
_RESOURCE_ID: Final = re.compile(
    r"/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-\w.()]{1,90}/providers/"
    r"Microsoft\.CognitiveServices/accounts/[A-Za-z0-9][A-Za-z0-9_.-]{1,63}",
    re.IGNORECASE,
)


class KeyCredential:
    """A Speech resource key, sent as ``Ocp-Apim-Subscription-Key``.

    Rotate it with :meth:`update`: requests that start afterwards use the new key, without rebuilding
    the client. The key never appears in the credential's ``repr``.
    """

    __slots__ = ("__weakref__", "_key")

    def __init__(self, key: str) -> None:
        self._key = _check_secret(key, "key")

    @property
    def key(self) -> str:
        """The current key."""
        return self._key

    def update(self, key: str) -> None:
        """Replace the key, for instance after rotating it in the Azure portal."""
        self._key = _check_secret(key, "key")

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
        _check_secret(self._key.key, "key")
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
        update(_check_secret(key, "key"))

    def __repr__(self) -> str:
        endpoint = redact_url(self.endpoint) if isinstance(self.endpoint, str) else self.endpoint
        return f"IssueTokenCredential(key=<redacted>, endpoint={endpoint!r}, scope={self.scope!r})"


class BearerToken:
    """A bearer token obtained elsewhere, sent as is and never refreshed; :meth:`update` replaces it."""

    __slots__ = ("__weakref__", "_token")

    def __init__(self, token: str) -> None:
        self._token = _check_secret(token, "token")

    @property
    def token(self) -> str:
        """The current token."""
        return self._token

    def update(self, token: str) -> None:
        """Replace the token; the next request uses it."""
        self._token = _check_secret(token, "token")

    def __repr__(self) -> str:
        return "BearerToken(<redacted>)"


class AccessTokenLike(Protocol):
    """What azure-core's ``AccessToken`` holds: the token and its expiry in epoch seconds."""

    @property
    def token(self) -> str: ...
    @property
    def expires_on(self) -> int: ...


class Authenticator(Protocol):
    """Turns a credential into request headers. Token-based credentials refresh behind this seam."""

    async def headers(self) -> Mapping[str, str]:
        """The headers that authenticate the next request."""
        ...

    async def invalidate(self, headers: Mapping[str, str]) -> bool:
        """The service refused ``headers`` (401): drop their token; whether a retry with new ones may succeed."""
        ...

    @property
    def stats(self) -> TokenStats | None:
        """The token cache's counters, or ``None`` for credentials without tokens."""
        ...

    async def close(self) -> None:
        """Release what the credential holds."""
        ...


class _KeyAuthenticator:
    __slots__ = ("_credential",)

    def __init__(self, credential: SupportsKey) -> None:
        self._credential = credential

    async def headers(self) -> Mapping[str, str]:
        # Read the key on every request so that rotation takes effect at once; checked every time, since
        # a key object of another library (AzureKeyCredential) takes any text on update().
        return {SUBSCRIPTION_KEY_HEADER: _check_secret(self._credential.key, "key")}

    async def invalidate(self, headers: Mapping[str, str]) -> bool:
        return False  # a refused key stays refused

    @property
    def stats(self) -> TokenStats | None:
        return None

    async def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return "KeyAuthenticator(<redacted>)"


class _StaticTokenAuthenticator:
    __slots__ = ("_credential",)

    def __init__(self, credential: BearerToken) -> None:
        self._credential = credential

    async def headers(self) -> Mapping[str, str]:
        return {AUTHORIZATION_HEADER: f"Bearer {self._credential.token}"}

    async def invalidate(self, headers: Mapping[str, str]) -> bool:
        return False  # nothing to refresh it with

    @property
    def stats(self) -> TokenStats | None:
        return None

    async def close(self) -> None:
        pass

    def __repr__(self) -> str:
        return "StaticTokenAuthenticator(<redacted>)"


class _TokenAuthenticator:
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

    async def invalidate(self, headers: Mapping[str, str]) -> bool:
        value = headers.get(AUTHORIZATION_HEADER, "").removeprefix("Bearer ")
        # An aad#<resource id>#<token> value carries the token last; resource ids hold no '#'.
        self._cache.invalidate(value.rpartition("#")[2] if value.startswith(AAD_PREFIX) else value)
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


class _AadAuthenticator:
    """Entra tokens from another authenticator's cache, in the short-audio API's ``aad#`` form."""

    __slots__ = ("_inner", "_prefix")

    def __init__(self, inner: _TokenAuthenticator, resource_id: str) -> None:
        self._inner = inner
        self._prefix = f"Bearer {AAD_PREFIX}{resource_id}#"

    async def headers(self) -> Mapping[str, str]:
        return {AUTHORIZATION_HEADER: self._prefix + await self._inner.token()}

    async def invalidate(self, headers: Mapping[str, str]) -> bool:
        return await self._inner.invalidate(headers)

    @property
    def stats(self) -> TokenStats | None:
        return self._inner.stats

    async def close(self) -> None:
        pass  # the cache and the credential belong to the inner authenticator

    def __repr__(self) -> str:
        return "AadAuthenticator(<redacted>)"


def short_audio_authenticator(auth: Authenticator, resource_id: str | None) -> Authenticator:
    """The authenticator for the short-audio API, which takes Entra tokens only as ``aad#<resourceId>#<token>``.

    Every other credential authenticates short audio as it does the other APIs.
    """
    if not (isinstance(auth, _TokenAuthenticator) and auth.entra):
        return auth
    if resource_id is None:
        raise InvalidOptionsError(
            "short-audio recognition with Microsoft Entra ID needs the Speech resource's id: "
            "SpeechClient(..., resource_id='/subscriptions/<subscription>/resourceGroups/<group>/providers/"
            "Microsoft.CognitiveServices/accounts/<name>')"
        )
    return _AadAuthenticator(auth, resource_id)


def check_resource_id(resource_id: str) -> str:
    """Check the shape of an Azure Resource Manager id of a Cognitive Services account."""
    if not isinstance(resource_id, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"resource_id must be a str, got {type(resource_id).__name__}")
    text = resource_id.strip()
    if not _RESOURCE_ID.fullmatch(text):
        raise InvalidOptionsError(
            f"resource_id {resource_id!r} is not a Speech resource id such as '/subscriptions/<subscription id>/"
            "resourceGroups/<group>/providers/Microsoft.CognitiveServices/accounts/<name>' "
            "(the portal shows it under the resource's Properties, or: az cognitiveservices account show --query id)"
        )
    return text


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
        _check_secret(key, "key")
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
                SUBSCRIPTION_KEY_HEADER: _check_secret(credential.key, "key"),
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

    return _TokenAuthenticator(
        credential, str(url), fetch, clock=clock, name="issueToken token", close_credential=False
    )


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

    return _TokenAuthenticator(
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

    return _TokenAuthenticator(provider, "provider", fetch, clock=clock, name="token", close_credential=False)


def _timed(value: str, started: float, expires_at: float, refresh_interval: float) -> Token:
    # Refresh on the nine-minute cycle, but never later than a margin before the token's own expiry.
    refresh_at = min(started + refresh_interval, max(expires_at - _ENTRA_REFRESH_LEAD, started))
    return Token(value, fetched_at=started, refresh_at=refresh_at, expires_at=expires_at)


def _decode_issued_token(response: Response) -> str:
    try:
        text = response.content.decode("ascii").strip()
    except UnicodeDecodeError:
        text = ""
    if not _TOKEN_TEXT.fullmatch(text):
        if _TOKEN_TEXT.fullmatch(_CONTROL.sub("", text)):
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


def _check_secret(value: str, what: str) -> str:
    """A key or token given by the caller: visible ASCII only, since it goes into a header as it is."""
    if not isinstance(value, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"the {what} must be a str, got {type(value).__name__}")
    if not value.strip():
        hint = " (AZURE_SPEECH_API_KEY)" if what == "key" else ""
        raise InvalidOptionsError(f"the {what} is empty: pass your Speech resource {what}{hint}")
    if not _TOKEN_TEXT.fullmatch(value):
        problem = bad_character(value, secret=True)
        hint = " (pass the token alone, without 'Bearer ')" if what == "token" and value.startswith("Bearer ") else ""
        raise InvalidOptionsError(
            f"the {what} has {problem}{hint}: a {what} is visible ASCII only, since it is sent in a header as it is; "
            f"strip the whitespace or line break around it (the {what} itself is not shown)"
        )
    return value


def _check_fetched(value: object, source: str) -> str:
    """A token fetched at run time: a :class:`CredentialError` (without the token) if it cannot be sent."""
    if not isinstance(value, str):
        raise CredentialError(f"{source} returned a token that is not a str but a {type(value).__name__}")
    if not value.strip():
        raise CredentialError(f"{source} returned an empty token")
    if not _TOKEN_TEXT.fullmatch(value):
        raise CredentialError(
            f"{source} returned a token that has {bad_character(value, secret=True)}, which cannot be sent in "
            "a header (the token is not shown)"
        )
    return value
