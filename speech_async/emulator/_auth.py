"""Authentication of service requests: the one place that decides who may call.

Three credentials exist (see the auth digest):

* a resource key in ``Ocp-Apim-Subscription-Key``, accepted everywhere, and the only one issueToken takes;
* ``Authorization: Bearer <token>`` with a token this emulator minted through issueToken;
* ``Authorization: Bearer <token>`` with an Entra-style token from the admin route, whose audience is
  ``https://cognitiveservices.azure.com``.

Which rule a route follows is its :attr:`RouteSpec.auth` (:class:`AuthPolicy`). The short-audio API
(:attr:`AuthPolicy.SHORT_AUDIO`) differs (auth digest, table of section 4):

* it takes Entra tokens only as ``Authorization: Bearer aad#<resourceId>#<token>``, where the token
  must be an Entra-style token of this emulator and ``<resourceId>`` the configured
  :attr:`EmulatorConfig.resource_id`; a plain Entra bearer token is refused there (unverified);
* a request without any credential gets 403, not 401 (its doc table: "key or token missing").

Every other route refuses the ``aad#`` form (unverified). issueToken (:attr:`AuthPolicy.KEY_ONLY`) takes a
key and nothing else. :func:`authenticate` is the whole policy.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from ._errors import INVALID_KEY_MESSAGE, INVALID_TOKEN_MESSAGE, MISSING_KEY_MESSAGE, GatewayError
from ._routes import AuthPolicy
from ._tokens import COGNITIVE_SERVICES_AUDIENCE, TokenRejectedError, sts_audience

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ._config import EmulatorConfig
    from ._recording import AuthKind
    from ._tokens import TokenAuthority, TokenClaims

__all__ = ("AAD_PREFIX", "KEY_HEADER", "Caller", "authenticate", "credential_kind")

KEY_HEADER: Final = "Ocp-Apim-Subscription-Key"
AAD_PREFIX: Final = "aad#"

_log = logging.getLogger("speech_async.emulator")


@dataclass(frozen=True, kw_only=True)
class Caller:
    """Who a request was authenticated as.

    Attributes:
        kind: ``"key"``, ``"bearer"``, or ``"sas"`` (a route whose URL carries its own credential).
        token: The verified token's claims, for ``"bearer"``.
    """

    kind: Literal["key", "bearer", "sas"]
    token: TokenClaims | None = None


_KEY_CALLER: Final = Caller(kind="key")
_SAS_CALLER: Final = Caller(kind="sas")


def _bearer_value(headers: Mapping[str, str]) -> str | None:
    """The credentials of an ``Authorization: Bearer`` header (maybe empty), or ``None`` for another scheme."""
    scheme, _, rest = headers.get("Authorization", "").strip().partition(" ")
    return rest.strip() if scheme.casefold() == "bearer" else None


def credential_kind(headers: Mapping[str, str]) -> AuthKind:
    """Which credential the request presents (for the record, never the value).

    A key wins over an ``Authorization`` header, as in :func:`authenticate`.
    """
    if headers.get(KEY_HEADER):
        return "key"
    return "none" if _bearer_value(headers) is None else "bearer"


def _same(presented: str, expected: str) -> bool:
    return hmac.compare_digest(
        presented.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape")
    )


def _refuse_token(reason: str) -> GatewayError:
    # The reason, never the token: the logs of a test run must not carry credentials.
    _log.debug("speech_async emulator: bearer token refused (%s)", reason)
    return GatewayError(401, INVALID_TOKEN_MESSAGE)


def _verify(token: str, tokens: TokenAuthority) -> TokenClaims:
    try:
        return tokens.verify(token)
    except TokenRejectedError as exc:
        raise _refuse_token(exc.reason) from None


def _aad_caller(credential: str, config: EmulatorConfig, tokens: TokenAuthority) -> Caller:
    """The caller of a short-audio ``aad#<resourceId>#<entraToken>`` credential, or a 401."""
    # Neither an ARM id nor a JWT contains "#": the first one after the prefix is the separator.
    resource_id, separator, entra_token = credential.removeprefix(AAD_PREFIX).partition("#")
    if not separator or not resource_id or not entra_token:
        raise _refuse_token("malformed aad# credential")
    claims = _verify(entra_token, tokens)
    if claims.kind != "entra" or claims.audience != COGNITIVE_SERVICES_AUDIENCE:
        raise _refuse_token("the aad# form needs an Entra token for Cognitive Services")
    # unverified: ARM ids are case-insensitive, so the service is assumed to compare them that way.
    if resource_id.casefold() != config.resource_id.casefold():
        raise _refuse_token("the aad# credential names another resource")
    return Caller(kind="bearer", token=claims)


def authenticate(
    headers: Mapping[str, str], *, policy: AuthPolicy, config: EmulatorConfig, tokens: TokenAuthority
) -> Caller:
    """Who is calling a route with ``policy``; raises :class:`GatewayError` for a missing or refused credential.

    A refused credential is a 401; a missing one is a 401 too, except on short audio (403). Header
    names are case-insensitive (``headers`` is a case-insensitive mapping); a key must match
    exactly (``config.key is None`` accepts any non-empty key). When a key and an ``Authorization``
    header are both sent, the key decides and the header is ignored (unverified: the docs say to
    send exactly one; the gateway's subscription-key check is assumed to come first).
    """
    if policy is AuthPolicy.SAS:
        # Blob storage ignores the Speech credential headers; the route checks its SAS itself.
        return _SAS_CALLER
    key = headers.get(KEY_HEADER)
    if key:
        if config.key is None or _same(key, config.key):
            return _KEY_CALLER
        raise GatewayError(401, INVALID_KEY_MESSAGE)
    authorization = headers.get("Authorization", "").strip()
    short_audio = policy is AuthPolicy.SHORT_AUDIO
    if short_audio and not authorization:
        # Documented status (short-audio doc table: "key or token missing"); unverified body: the
        # gateway's missing-key text in its {"error": {...}} shape, with code "403".
        raise GatewayError(403, MISSING_KEY_MESSAGE)
    if policy is AuthPolicy.KEY_ONLY or not authorization:
        # issueToken takes a key and nothing else, so a bearer token there is a missing key.
        raise GatewayError(401, MISSING_KEY_MESSAGE)
    token = _bearer_value(headers)
    if not token:
        # unverified: another scheme (Basic ...) or an empty Bearer, answered like a bad token.
        raise _refuse_token("not a bearer token")
    if token.startswith(AAD_PREFIX):
        if short_audio:
            return _aad_caller(token, config, tokens)
        # unverified: the aad# form is documented for short audio only.
        raise _refuse_token("the aad# form is for short audio only")
    claims = _verify(token, tokens)
    if short_audio:
        # unverified: short audio takes Entra tokens only in the aad# form (auth digest table: "—").
        if claims.kind != "sts" or claims.audience != sts_audience(config.region):
            raise _refuse_token("short audio takes Entra tokens only in the aad# form")
        return Caller(kind="bearer", token=claims)
    # unverified: either STS scope (speechservices, speechservicesmanagement) is taken here.
    if claims.audience not in (sts_audience(config.region), COGNITIVE_SERVICES_AUDIENCE):
        raise _refuse_token("wrong audience")
    return Caller(kind="bearer", token=claims)
