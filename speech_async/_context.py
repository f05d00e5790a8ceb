"""What every REST area of a client shares, fixed when the client is built: :class:`ClientContext`.

One immutable context per client (and per :meth:`SpeechClient.with_options` view, which differs only
in its default :class:`CallOptions`): the transport and its connection pool, the endpoint URLs, the
authenticators, each area's limits and versions, and the lifecycle that opens the connections on
first use. Areas reach all of it through :class:`~speech_async._resource.AsyncResource`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from ._config import coerce_retry, coerce_timeouts

if TYPE_CHECKING:
    from yarl import URL

    from ._config import FastLimits, RetryPolicy, ShortAudioLimits, Timeouts, UploadLimits
    from ._http import Authenticator, Transport

__all__ = ["CallOptions", "ClientContext", "Lifecycle", "LazyAuthenticator"]


@dataclass(frozen=True, slots=True)
class CallOptions:
    """How one call is sent: its retry policy and timeouts (``None``: the transport's own timeouts)."""

    retry: RetryPolicy
    timeouts: Timeouts | None = None

    def override(self, retry: object = None, timeout: object = None) -> CallOptions:
        """These options with a call's ``retry=`` and ``timeout=`` arguments applied (``None`` keeps them).

        An int ``retry`` counts retries on top of this policy (its statuses, backoff and budget kept).

        Raises:
            TypeError, ValueError: as :func:`coerce_retry` and :func:`coerce_timeouts`.
        """
        policy = coerce_retry(retry, base=self.retry)
        timeouts = coerce_timeouts(timeout)
        if policy is None and timeouts is None:
            return self
        return CallOptions(self.retry if policy is None else policy, self.timeouts if timeouts is None else timeouts)


class Lifecycle(Protocol):
    """The state of a client's connections, shared by the client and its views (the client's is the truth)."""

    @property
    def closed(self) -> bool:
        """Whether the client was closed (or its event loop ended)."""
        ...

    def ready(self) -> Transport | None:
        """The transport if it is open on the running loop (what every call after the first finds), else ``None``.

        The cheap check of the common case, without a coroutine; :meth:`ensure_open` does the rest.
        """
        ...

    async def ensure_open(self) -> Transport:
        """The transport, opened on the running loop on first use.

        Raises:
            RuntimeError: the client is closed.
            WrongEventLoopError: the client is open on another event loop.
        """
        ...


class LazyAuthenticator:
    """An authenticator built on first use, then kept: the short-audio ``aad#`` one, whose absent
    ``resource_id`` must fail the first ``recognize`` call, not the client's construction."""

    __slots__ = ("_build", "_value")

    def __init__(self, build: Callable[[], Authenticator]) -> None:
        self._build = build
        self._value: Authenticator | None = None

    def get(self) -> Authenticator:
        """The authenticator, built now if this is the first call (a failure is raised, and not kept)."""
        value = self._value
        if value is None:
            value = self._value = self._build()
        return value


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientContext:
    """Everything a client's areas share; immutable, and shared as it is by its views."""

    life: Lifecycle
    transport: Transport
    endpoint: URL
    """The resource endpoint (fast transcription, the management API, issueToken)."""
    short_audio_base: URL
    """Where the short-audio API lives."""
    auth: Authenticator
    short_audio_auth: LazyAuthenticator
    upload_limits: UploadLimits
    fast_limits: FastLimits
    short_audio_limits: ShortAudioLimits
    api_version: str
    """Fast transcription's default ``api-version``."""
    management_api_version: str
    """The management API's default version."""
    call: CallOptions
    """The default retry policy and timeouts of every call."""
