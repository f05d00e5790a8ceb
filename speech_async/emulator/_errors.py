"""Error answers of the emulated service, and the exceptions handlers raise to produce them.

Two body shapes exist on the wire:

* the Speech service's own ``Error`` object, top level (not wrapped), as in the real 400 recording::

      {"code": "InvalidArgument", "message": "...", "innerError": {"code": "InvalidLocale", "message": "..."}}

* the Cognitive Services gateway's shape, used for authentication failures::

      {"error": {"code": "401", "message": "Access denied due to ..."}}

Routes of the v3.x management API (``RouteSpec.refusals``) answer 401, 403 and 429 in the ``Error``
shape with the published texts instead (:func:`management_refusal`). Area-specific errors live in the
areas (``_resources/<area>/errors.py``); this module has the shapes and the generic factories.
"""

from __future__ import annotations

from typing import Final

import msgspec

__all__ = (
    "EMULATOR_PREFIX",
    "INVALID_KEY_MESSAGE",
    "INVALID_TOKEN_MESSAGE",
    "MISSING_KEY_MESSAGE",
    "RESOURCE_NOT_FOUND_MESSAGE",
    "GatewayError",
    "ServiceError",
    "emulator_error",
    "invalid_argument",
    "invalid_request",
    "management_refusal",
)

EMULATOR_PREFIX: Final = "speech_async emulator: "

# Gateway texts for a missing or a wrong key: the commonly seen Cognitive Services wording;
# unverified for this endpoint (no recording of a 401 exists).
MISSING_KEY_MESSAGE: Final = (
    "Access denied due to missing subscription key. "
    "Make sure to include subscription key when making requests to an API."
)
INVALID_KEY_MESSAGE: Final = (
    "Access denied due to invalid subscription key or wrong API endpoint. "
    "Make sure to provide a valid key for an active subscription and use a correct regional API "
    "endpoint for your resource."
)
# unverified: the Cognitive Services gateway's wording for a refused bearer token (expired, revoked,
# forged, wrong audience), as reported by users of other Cognitive Services (Azure OpenAI) in
# {"statusCode", "message"} form; here it goes in the gateway's {"error": {...}} shape like the key errors.
INVALID_TOKEN_MESSAGE: Final = (
    "Unauthorized. Access token is missing, invalid, audience is incorrect "
    "(https://cognitiveservices.azure.com), or have expired."
)
# unverified: the gateway's usual answer for a path it does not route.
RESOURCE_NOT_FOUND_MESSAGE: Final = "Resource not found"


class _InnerError(msgspec.Struct, kw_only=True):
    code: str
    message: str


class _Error(msgspec.Struct, kw_only=True, omit_defaults=True, rename="camel"):
    code: str
    message: str
    inner_error: _InnerError | None = None


class _GatewayDetail(msgspec.Struct, kw_only=True):
    code: str
    message: str


class _GatewayBody(msgspec.Struct, kw_only=True):
    error: _GatewayDetail


class ServiceError(Exception):
    """An error answer in the service's ``Error`` shape; raised inside handlers."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        inner_code: str | None = None,
        inner_message: str | None = None,
        close_connection: bool = False,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.inner_code = inner_code
        self.inner_message = inner_message if inner_message is not None else message
        self.close_connection = close_connection

    def body(self) -> bytes:
        """The JSON body of the answer."""
        inner = None if self.inner_code is None else _InnerError(code=self.inner_code, message=self.inner_message)
        return msgspec.json.encode(_Error(code=self.code, message=self.message, inner_error=inner))


class GatewayError(Exception):
    """An error answer in the gateway's ``{"error": {...}}`` shape (authentication, routing).

    ``code`` defaults to the status as a string, as in the gateway's 401 and 429 answers.
    """

    def __init__(self, status: int, message: str, *, code: str | None = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.code = str(status) if code is None else code

    def body(self) -> bytes:
        """The JSON body of the answer."""
        detail = _GatewayDetail(code=self.code, message=self.message)
        return msgspec.json.encode(_GatewayBody(error=detail))


def invalid_argument(inner_code: str, message: str, *, status: int = 400) -> ServiceError:
    """A 400 ``InvalidArgument`` error whose inner error repeats the message (as recorded)."""
    return ServiceError(status, "InvalidArgument", message, inner_code=inner_code)


def invalid_request(inner_code: str, message: str, *, status: int = 400) -> ServiceError:
    """A 400 ``InvalidRequest`` error (malformed requests rather than bad values)."""
    return ServiceError(status, "InvalidRequest", message, inner_code=inner_code)


def emulator_error(inner_code: str, message: str) -> ServiceError:
    """A 422 for what the emulator itself cannot do; never produced by the real service."""
    text = EMULATOR_PREFIX + message
    return ServiceError(422, "UnprocessableEntity", text, inner_code=inner_code)


# The management API's published 401/403/429 bodies (v3.0 health-status example, addendum §3.6).
_MANAGEMENT_REFUSALS: Final = {
    401: ("Unauthorized", "Authentication is required to access the resource."),
    403: ("Forbidden", "No permission to access this resource."),
    429: (
        "TooManyRequests",
        "The rate limit has been reached. The timeout in seconds can be found in the Retry-After header.",
    ),
}


def management_refusal(error: ServiceError | GatewayError) -> ServiceError | GatewayError:
    """``error`` as a management route (v3.x) answers it: 401/403/429 in the published ``Error`` bodies.

    unverified: the examples show the bodies, not which refusal (missing key, wrong key, bad token)
    gets which; every 401 is taken to read the same. Other statuses keep their shape.
    """
    refusal = _MANAGEMENT_REFUSALS.get(error.status)
    if refusal is None:
        return error
    return ServiceError(error.status, *refusal)
