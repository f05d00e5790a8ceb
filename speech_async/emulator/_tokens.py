"""Bearer tokens the emulator mints and later verifies: issueToken (STS) and Entra-style test tokens.

Tokens are compact JWTs, ``base64url(header).base64url(payload).base64url(signature)``, signed with
HMAC-SHA256 under a random secret that lives as long as one :class:`TokenAuthority` (one emulator
application). Only tokens minted by the same instance verify. The real STS signs differently and its
claims are only partly known: every claim below is unverified (see the auth digest, third-party
observations), the header and ``jti`` are the emulator's own.

Time comes from the configured clock, so tests can move the emulator's "now" together with their
client's fake clock. A token expires at ``exp = ceil(issued_at + lifetime)`` and is accepted while
``clock() < exp``: it lives at least ``lifetime`` seconds, exactly that with a whole-second clock.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import msgspec

__all__ = (
    "COGNITIVE_SERVICES_AUDIENCE",
    "COGNITIVE_SERVICES_SCOPE",
    "STS_ISSUER",
    "STS_SCOPE",
    "TokenAuthority",
    "TokenClaims",
    "TokenRejectedError",
    "region_slug",
    "sts_audience",
)

STS_SCOPE: Final = "speechservices"
STS_ISSUER: Final = "urn:ms.cognitiveservices"
COGNITIVE_SERVICES_SCOPE: Final = "https://cognitiveservices.azure.com/.default"
COGNITIVE_SERVICES_AUDIENCE: Final = "https://cognitiveservices.azure.com"
# The emulator's own stand-ins for Microsoft Entra ID: a fixed tenant and its v1 issuer form.
_ENTRA_TENANT: Final = "00000000-0000-0000-0000-00000000e4a1"
_ENTRA_ISSUER: Final = f"https://sts.windows.net/{_ENTRA_TENANT}/"
# unverified: the STS's header (the real one is not HMAC-signed by us); HS256 says honestly what this is.
_HEADER: Final = b'{"alg":"HS256","typ":"JWT"}'

TokenKind = Literal["sts", "entra"]


def region_slug(region: str) -> str:
    """``"East US"`` -> ``"eastus"``: the region's identifier as used in host names."""
    return "".join(region.split()).lower()


def sts_audience(region: str) -> str:
    """The ``aud`` of an issueToken token for ``region`` (unverified: third-party observation)."""
    return f"urn:ms.speechservices.{region_slug(region)}"


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    if not text or not text.isascii():
        raise TokenRejectedError("malformed")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise TokenRejectedError("malformed") from None


class _StsPayload(msgspec.Struct, kw_only=True):
    # Key order as minted; unverified claims (third-party observations of the real STS).
    region: str
    scope: str
    aud: str
    iss: str
    exp: int
    jti: str


class _EntraPayload(msgspec.Struct, kw_only=True):
    aud: str
    iss: str
    scp: str
    exp: int
    jti: str


class _Claims(msgspec.Struct, kw_only=True):
    """What verification reads back; the rest of a verified payload is ours anyway."""

    aud: str
    exp: int
    jti: str
    iss: str
    scope: str | None = None


_ENCODER: Final = msgspec.json.Encoder()
_CLAIMS_DECODER: Final = msgspec.json.Decoder(_Claims)


class TokenRejectedError(Exception):
    """A bearer token did not verify; ``reason`` is safe to log (never the token itself)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, kw_only=True)
class TokenClaims:
    """A verified token's claims.

    Attributes:
        kind: ``"sts"`` (issueToken) or ``"entra"`` (the admin route's Entra-style tokens).
        token_id: The serial number the authority gave the token (its ``jti``).
        audience: ``aud``.
        scope: The STS ``scope`` claim; ``None`` for Entra-style tokens.
        expires_on: ``exp``, epoch seconds of the emulator's clock.
    """

    kind: TokenKind
    token_id: int
    audience: str
    scope: str | None
    expires_on: int


class TokenAuthority:
    """Mints tokens, verifies them, and revokes them; one per emulator application.

    Safe to use from any thread (``revoke_all`` is called from tests' threads).
    """

    def __init__(self, *, region: str, clock: Callable[[], float]) -> None:
        self._secret = secrets.token_bytes(32)
        self._region = region
        self._clock = clock
        self._lock = threading.Lock()
        self._serial = 0
        self._revoked_through = 0
        self._revoked: set[int] = set()

    def now(self) -> float:
        """The emulator's clock."""
        return self._clock()

    def _next_serial(self) -> int:
        with self._lock:
            self._serial += 1
            return self._serial

    def _sign(self, payload: bytes) -> str:
        signing_input = _b64encode(_HEADER) + "." + _b64encode(payload)
        signature = hmac.new(self._secret, signing_input.encode("ascii"), hashlib.sha256).digest()
        return signing_input + "." + _b64encode(signature)

    def _expiry(self, lifetime: float) -> int:
        return math.ceil(self._clock() + lifetime)

    def issue_sts(self, *, lifetime: float, scope: str = STS_SCOPE) -> str:
        """A new issueToken token valid ``lifetime`` seconds, for this region and ``scope``."""
        payload = _StsPayload(
            region=region_slug(self._region),
            scope=scope,
            aud=sts_audience(self._region),
            iss=STS_ISSUER,
            exp=self._expiry(lifetime),
            jti=str(self._next_serial()),
        )
        return self._sign(_ENCODER.encode(payload))

    def issue_entra(self, *, scopes: Sequence[str], lifetime: float) -> tuple[str, int]:
        """A new Entra-style access token and its ``expires_on`` (epoch seconds).

        Its audience is :data:`COGNITIVE_SERVICES_AUDIENCE` only when every scope is
        :data:`COGNITIVE_SERVICES_SCOPE`; otherwise it is the resource of the first other scope
        (``https://management.azure.com/.default`` -> ``https://management.azure.com``), which
        the service routes refuse.
        """
        if not scopes:
            raise ValueError("at least one scope is needed")
        other = next((scope for scope in scopes if scope != COGNITIVE_SERVICES_SCOPE), None)
        audience = COGNITIVE_SERVICES_AUDIENCE if other is None else other.removesuffix("/.default")
        expires_on = self._expiry(lifetime)
        payload = _EntraPayload(
            aud=audience,
            iss=_ENTRA_ISSUER,
            scp=" ".join(scopes),
            exp=expires_on,
            jti=str(self._next_serial()),
        )
        return self._sign(_ENCODER.encode(payload)), expires_on

    def verify(self, token: str) -> TokenClaims:
        """The claims of a token this authority minted, still valid now; else :class:`TokenRejectedError`.

        The reasons (``"malformed"``, ``"bad signature"``, ``"expired"``, ``"revoked"``) are for logs.
        """
        pieces = token.split(".")
        if len(pieces) != 3 or not token.isascii():
            raise TokenRejectedError("malformed")
        header, payload, signature = pieces
        expected = hmac.new(self._secret, f"{header}.{payload}".encode("ascii"), hashlib.sha256).digest()
        if not hmac.compare_digest(_b64decode(signature), expected):
            raise TokenRejectedError("bad signature")
        try:
            claims = _CLAIMS_DECODER.decode(_b64decode(payload))
            serial = int(claims.jti)
        except (msgspec.DecodeError, ValueError):
            raise TokenRejectedError("malformed") from None
        if self._clock() >= claims.exp:
            raise TokenRejectedError("expired")
        with self._lock:
            if serial <= self._revoked_through or serial in self._revoked:
                raise TokenRejectedError("revoked")
        kind: TokenKind = "entra" if claims.iss == _ENTRA_ISSUER else "sts"
        return TokenClaims(kind=kind, token_id=serial, audience=claims.aud, scope=claims.scope, expires_on=claims.exp)

    def revoke(self, claims: TokenClaims) -> None:
        """Revoke one token for good: every later use is refused."""
        with self._lock:
            if claims.token_id > self._revoked_through:
                self._revoked.add(claims.token_id)

    def revoke_all(self) -> None:
        """Revoke every token minted so far (tokens minted later are not affected)."""
        with self._lock:
            self._revoked_through = self._serial
            self._revoked.clear()
