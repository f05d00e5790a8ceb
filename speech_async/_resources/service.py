"""Service-wide operations of the management API: the supported locales and the health status.

The first operations of the management area (batch transcription, web hooks and custom speech come
next); their URLs come from :func:`~speech_async._versions.management_url`, so that one rule builds
the v3.x paths and the ``api-version`` queries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import msgspec

from .._bodies import JSON_CONTENT_TYPE
from .._exceptions import InvalidOptionsError, ResponseDecodeError
from .._http import json_decoder, response_info
from .._models import attach_response
from .._models._service import HealthStatus, SupportedLocales
from .._resource import AsyncResource
from .._versions import check_management_version, management_url

if TYPE_CHECKING:
    from .._config import ApiVersion, RetryPolicy, Timeouts
    from .._http import Response

__all__ = ["HEALTH_API_VERSIONS", "ServiceOperations"]

LOCALES_PATH: Final = "transcriptions/locales"
HEALTH_PATH: Final = "healthstatus"
HEALTH_API_VERSIONS: Final = ("v3.1",)
"""The versions that declare ServiceHealth_Get, newest first (and the retired v3.0, which is refused)."""
_UNAVAILABLE: Final = 503


class _DatedLocales(msgspec.Struct, kw_only=True, frozen=True, gc=False):
    transcribe: tuple[str, ...] | None = msgspec.field(default=None, name="Transcribe")
    submit: tuple[str, ...] = msgspec.field(default=(), name="Submit")


# Either shape under any version: what the answer holds decides, not what the version should send.
_LOCALES: Final = msgspec.json.Decoder(tuple[str, ...] | _DatedLocales)
_HEALTH: Final = msgspec.json.Decoder(HealthStatus)
_decode_health: Final = json_decoder(_HEALTH, "the health status")


class ServiceOperations(AsyncResource):
    """The service-wide operations, as methods of :class:`SpeechClient`."""

    async def get_supported_locales(
        self,
        *,
        api_version: ApiVersion | str | None = None,
        retry: RetryPolicy | int | None = None,
        timeout: Timeouts | float | None = None,
    ) -> SupportedLocales:
        """The locales that fast and batch transcription support (``GET /speechtotext/transcriptions/locales``).

        The answer is the same for every version: 2024-11-15 and later list both (``Transcribe`` and
        ``Submit``); v3.2 and v3.1 list the batch locales only, so :attr:`SupportedLocales.transcribe`
        is ``None`` there.

        Args:
            api_version: The management API version (default: the client's ``management_api_version``):
                2025-10-15, 2024-11-15, v3.2 or v3.1.
            retry: Overrides the client's retry policy for this call; an int is a number of retries.
            timeout: Overrides the client's timeouts for this call; a number of seconds sets every phase.

        Raises:
            InvalidOptionsError: ``api_version`` is not a version of the management API (v3.0 is retired);
                nothing was sent.
            SpeechStatusError: the service answered with an error; the subclass tells which.
            SpeechConnectionError: no usable response arrived.
            ResponseDecodeError: the answer is neither shape.
        """
        call = self._call_options(retry, timeout)
        version = self._management_version(api_version)
        return await self._request(
            "GET",
            management_url(self._ctx.endpoint, version, LOCALES_PATH),
            headers={"Accept": JSON_CONTENT_TYPE},
            decode=_decode_locales,
            idempotent=True,
            call=call,
        )

    async def get_health_status(
        self,
        *,
        api_version: ApiVersion | str | None = None,
        retry: RetryPolicy | int | None = None,
        timeout: Timeouts | float | None = None,
    ) -> HealthStatus:
        """The health of the speech-to-text service (``GET /speechtotext/v3.1/healthstatus``, ServiceHealth_Get).

        Only v3.1 declares this operation (v3.2, 2024-11-15 and 2025-10-15 do not), so it uses v3.1
        whatever the client's ``management_api_version``.

        An unhealthy service answers 503 with the health body: that is an answer, not a failure, so it
        is returned as a :class:`HealthStatus` (``status="Unhealthy"``) and never retried; check
        :attr:`HealthStatus.healthy`. A 503 without that body (a gateway's) is a ``ServiceError``,
        retried like any other; other errors (401, 429...) raise as usual.

        Args:
            api_version: The version to ask (default and only choice: v3.1).
            retry: Overrides the client's retry policy for this call; an int is a number of retries.
            timeout: Overrides the client's timeouts for this call; a number of seconds sets every phase.

        Raises:
            InvalidOptionsError: ``api_version`` does not declare the operation (nothing was sent).
            SpeechStatusError: the service answered with an error; the subclass tells which.
            SpeechConnectionError: no usable response arrived.
            ResponseDecodeError: the answer is not a health status.
        """
        call = self._call_options(retry, timeout)
        version = HEALTH_API_VERSIONS[0] if api_version is None else self._management_version(api_version)
        if version not in HEALTH_API_VERSIONS:
            raise InvalidOptionsError(
                f"get_health_status needs api_version {' or '.join(HEALTH_API_VERSIONS)}: the health status "
                f"(ServiceHealth_Get) is not part of {version}; leave api_version out"
            )
        return await self._request(
            "GET",
            management_url(self._ctx.endpoint, version, HEALTH_PATH),
            headers={"Accept": JSON_CONTENT_TYPE},
            decode=_decode_health,
            idempotent=True,
            call=call,
            accept=_is_unhealthy_answer,
        )

    def _management_version(self, api_version: ApiVersion | str | None) -> str:
        if api_version is None:
            return self._ctx.management_api_version
        return check_management_version(api_version)


def _decode_locales(response: Response) -> SupportedLocales:
    try:
        wire = _LOCALES.decode(response.content)
    except (msgspec.DecodeError, UnicodeDecodeError) as err:
        raise ResponseDecodeError(
            f"the supported locales do not have the documented shape: {err}",
            body=response.content,
            request_id=response.request_id,
        ) from err
    if isinstance(wire, _DatedLocales):
        result = SupportedLocales(transcribe=wire.transcribe, submit=wire.submit)
    else:
        result = SupportedLocales(transcribe=None, submit=wire)
    attach_response(result, response_info(response))
    return result


def _is_unhealthy_answer(response: Response) -> bool:
    """A 503 whose body is the health status: the service saying it is unhealthy, not failing."""
    if response.status != _UNAVAILABLE:
        return False
    try:
        _HEALTH.decode(response.content)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return False
    return True
