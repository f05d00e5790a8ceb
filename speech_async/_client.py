"""``SpeechClient``: one aiohttp session, one credential, every speech-to-text operation.

The client builds the shared context and owns the lifecycle of its connections; the operations
themselves live in their areas (:mod:`._resources.fast`, :mod:`._resources.short_audio`,
:mod:`._resources.service`), mixed in.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import logging
import os
import re
import time
import weakref
from collections.abc import AsyncGenerator, Callable
from dataclasses import replace
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

from ._authenticators import DEFAULT_TOKEN_REFRESH, make_authenticator
from ._config import (
    DEFAULT_LIMITS,
    DEFAULT_RETRY,
    DEFAULT_TIMEOUTS,
    LATEST_API_VERSION,
    LATEST_MANAGEMENT_API_VERSION,
    ApiVersion,
    ClientOptions,
    Limits,
    RetryPolicy,
    Timeouts,
    coerce_retry,
    coerce_timeouts,
)
from ._context import CallOptions, ClientContext, LazyAuthenticator
from ._credentials import KeyCredential
from ._exceptions import CredentialError, InvalidOptionsError, WrongEventLoopError
from ._http import Transport
from ._resource import AsyncResource
from ._resources.fast import FastOperations
from ._resources.service import ServiceOperations
from ._resources.short_audio import (
    ShortAudioOperations,
    check_resource_id,
    short_audio_authenticator,
    short_audio_base,
)
from ._urls import bad_character, check_endpoint
from ._versions import check_fast_version, check_management_version

if TYPE_CHECKING:
    import aiohttp
    from typing_extensions import Self, Unpack

    from ._http import Authenticator
    from ._resources.batch import BatchOperations
    from ._resources.webhooks import WebHookOperations
    from ._token_cache import TokenStats

__all__ = ["SpeechClient"]

ENDPOINT_ENV: Final = "AZURE_SPEECH_ENDPOINT"
KEY_ENV: Final = "AZURE_SPEECH_API_KEY"
REGION_ENV: Final = "AZURE_SPEECH_REGION"

_REGION: Final = re.compile(r"[a-z0-9]+")
_API_PATHS: Final = ("speechtotext", "sts/v1.0")
_SHORT_AUDIO_API_PATHS: Final = ("speech/recognition",)
_ENTRA_HINT: Final = f"{KEY_ENV} was not set, so Microsoft Entra ID (DefaultAzureCredential) was used"

logger: Final = logging.getLogger("speech_async")


class _State(enum.Enum):
    UNOPENED = "unopened"
    OPENED = "opened"
    CLOSED = "closed"


class _Lifecycle:
    """The state machine of one client's connections, shared with its views: the client's is the truth.

    UNOPENED until first use (which opens the session on the running loop), OPENED, then CLOSED for
    good, by ``close()`` or when the event loop it was opened on ends.
    """

    __slots__ = ("__weakref__", "_auth", "_loop", "_loop_ended", "_loop_watch", "_open_on", "_state", "_transport")

    def __init__(self, transport: Transport, auth: Authenticator) -> None:
        self._transport = transport
        self._auth = auth
        self._state = _State.UNOPENED
        self._loop: asyncio.AbstractEventLoop | None = None
        self._open_on: asyncio.AbstractEventLoop | None = None
        """The loop while the state is OPENED, else ``None``: what :meth:`ready` checks, in one comparison."""
        self._loop_ended = False
        self._loop_watch: AsyncGenerator[None, None] | None = None

    @property
    def closed(self) -> bool:
        return self._state is _State.CLOSED

    @property
    def state(self) -> str:
        return self._state.value

    def ready(self) -> Transport | None:
        return self._transport if self._open_on is asyncio.get_running_loop() else None

    async def ensure_open(self) -> Transport:
        if self._state is _State.OPENED:
            self._check_loop()
            return self._transport
        if self._loop_ended:
            self._check_loop()
        if self._state is _State.CLOSED:
            raise RuntimeError("this SpeechClient is closed; create a new one")
        self._loop = asyncio.get_running_loop()
        self._transport.open()
        self._state = _State.OPENED
        self._open_on = self._loop
        # An async generator started on the loop is closed by the loop's shutdown_asyncgens(), which
        # asyncio.run() calls before closing the loop: the client's connections are then closed on their
        # own loop, so that a client left open does not warn about an unclosed session when the loop
        # ends, and a later use from another loop gets a WrongEventLoopError instead of a dead session.
        watch = self._loop_watch = self._watch_loop(weakref.ref(self))
        await anext(watch)
        return self._transport

    async def close(self) -> None:
        if self._state is _State.CLOSED:
            return
        if self._state is _State.OPENED and self._loop is not None and self._loop.is_closed():
            # Closed without shutting down its async generators (not by asyncio.run): the connections
            # cannot be closed from another loop, and are left to the garbage collector.
            self._state = _State.CLOSED
            self._open_on = None
            self._loop_watch = None
            return
        if self._state is _State.OPENED:
            self._check_loop()
        self._state = _State.CLOSED
        self._open_on = None
        watch, self._loop_watch = self._loop_watch, None
        try:
            await self._close_connections()
        finally:
            if watch is not None:
                await watch.aclose()  # it finds the client closed, and does nothing

    async def _close_connections(self) -> None:
        # The credential first: a token exchange this client started for clients that share the credential
        # is then known to be orphaned when closing the connections below makes it fail, and the others
        # get their token on their own connections (see TokenCache).
        try:
            await self._auth.close()
        finally:
            await self._transport.close()

    def _check_loop(self) -> None:
        loop = self._loop
        if loop is None or loop is asyncio.get_running_loop():
            return
        if self._loop_ended or loop.is_closed():
            closed_too = "; its connections were closed with it" if self._loop_ended else ""
            raise WrongEventLoopError(
                "this SpeechClient belongs to the event loop it was opened on, which has ended (an asyncio.run() "
                f"call returned){closed_too}. Create the client inside the coroutine that asyncio.run() runs "
                "(async with SpeechClient(...) as client:), once per asyncio.run()"
            )
        raise WrongEventLoopError(
            "this SpeechClient belongs to the event loop it was opened on, and is used from another one; "
            "use it only on that loop (or create one client per event loop)"
        )

    @staticmethod
    async def _watch_loop(ref: weakref.ref[_Lifecycle]) -> AsyncGenerator[None, None]:
        # Holds only a weak reference: a client dropped without close() still warns, as aiohttp's do.
        try:
            yield
        finally:
            life = ref()
            if life is not None and life._state is _State.OPENED:
                life._loop_ended = True
                life._state = _State.CLOSED
                life._open_on = None
                life._loop_watch = None
                try:
                    await life._close_connections()
                except Exception:  # the loop is ending: nothing can be done about it, nor anyone told
                    logger.debug("closing a SpeechClient as its event loop ended failed", exc_info=True)


class SpeechClient(FastOperations, ShortAudioOperations, ServiceOperations):
    """An asyncio client for the Azure AI Speech speech-to-text REST APIs.

    Use it as an async context manager, which closes its connections on the way out::

        async with SpeechClient("https://eastus.api.cognitive.microsoft.com", KeyCredential(key)) as client:
            result = await client.transcribe("meeting.wav", options=TranscriptionOptions(locales=["en-US"]))

    Without ``async with``, the client opens itself on first use and must be closed with ``await
    client.close()``. A closed client cannot be reopened. One client is meant to be shared by every task
    of a program: it holds a connection pool, and it is safe to use from many tasks at once;
    :meth:`with_options` gives a view of it with other retry or timeout settings.

    Args:
        endpoint: The resource endpoint, such as ``https://eastus.api.cognitive.microsoft.com`` or
            ``https://my-resource.cognitiveservices.azure.com`` (or an emulator's URL).
        credential: A :class:`KeyCredential` or ``azure.core.credentials.AzureKeyCredential`` (a key);
            an :class:`IssueTokenCredential` (a key exchanged for tokens); an ``azure.identity.aio``
            credential (Microsoft Entra ID); a :class:`BearerToken`; or an async function returning a token.
        api_version: The default ``api-version`` of fast transcription (2024-11-15 or later); each call
            may override it.
        management_api_version: The default version of the management API (supported locales; batch
            transcription and custom speech next): 2025-10-15 (the default), 2024-11-15, or v3.2/v3.1 for
            resources that still need them (the service documentation retires v3.x on 2026-03-31); each
            call may override it.
        timeout: Limits for each phase of a request; there is no total limit unless you set one. A
            number of seconds sets every phase to it, as httpx does (``30`` is ``Timeouts(connect=30,
            upload_stall=30, response=30)``, still without a total limit); ``None`` keeps the defaults.
        retry: When failed requests are sent again (408, 429, 5xx, connection failures, timeouts). An
            int is a number of retries, as openai's ``max_retries``: ``3`` is ``RetryPolicy(max_attempts=4)``,
            and ``0`` or ``False`` turns retries off; ``None`` keeps the default policy.
        limits: The service limits checked before sending.
        session: An aiohttp session to borrow instead of creating one; the client never closes it.
        connection_limit: The most connections the client's own session opens at once.
        user_agent: Text appended to the ``User-Agent`` header.
        allow_insecure_http: Allow an ``http://`` endpoint that is not on this machine. Plain HTTP sends
            the key in clear text, so only loopback addresses (an emulator) are allowed without it.
        token_refresh_interval: How long a token is reused before it is refreshed in the background
            (nine minutes; an Entra token is also refreshed ahead of its own expiry).
        clock: The wall clock the token cache runs on (``time.time``); tests pass a fake one.
        resource_id: The Speech resource's Azure Resource Manager id
            (``/subscriptions/.../providers/Microsoft.CognitiveServices/accounts/<name>``). Needed only
            for short-audio recognition with Microsoft Entra ID, which sends the token as
            ``aad#<resource id>#<token>``.
        short_audio_endpoint: Where short-audio recognition is sent, when it is not where the client
            would derive it from ``endpoint`` (``https://<region>.stt.speech.microsoft.com`` for a
            regional endpoint, ``<endpoint>/stt`` for a custom domain, else ``endpoint`` itself), for
            instance in a sovereign cloud.
    """

    def __init__(
        self,
        endpoint: str,
        credential: object,
        *,
        api_version: ApiVersion | str = LATEST_API_VERSION,
        management_api_version: ApiVersion | str = LATEST_MANAGEMENT_API_VERSION,
        timeout: Timeouts | float | None = DEFAULT_TIMEOUTS,
        retry: RetryPolicy | int | None = DEFAULT_RETRY,
        limits: Limits = DEFAULT_LIMITS,
        session: aiohttp.ClientSession | None = None,
        connection_limit: int = 100,
        user_agent: str | None = None,
        allow_insecure_http: bool = False,
        token_refresh_interval: float = DEFAULT_TOKEN_REFRESH,
        clock: Callable[[], float] = time.time,
        resource_id: str | None = None,
        short_audio_endpoint: str | None = None,
    ) -> None:
        base = check_endpoint(
            endpoint,
            what="the endpoint",
            allow_insecure_http=allow_insecure_http,
            api_paths=_API_PATHS,
            empty_hint=f": set it (or {ENDPOINT_ENV}) to your resource endpoint",
            resource_endpoint=True,
        )
        short_audio = (
            short_audio_base(base)
            if short_audio_endpoint is None
            else check_endpoint(
                short_audio_endpoint,
                what="the short_audio_endpoint",
                allow_insecure_http=allow_insecure_http,
                api_paths=_SHORT_AUDIO_API_PATHS,
                hint="such as https://eastus.stt.speech.microsoft.com",
                region_url="https://{region}.stt.speech.microsoft.com",
            )
        )
        timeouts = coerce_timeouts(timeout) or DEFAULT_TIMEOUTS
        policy = coerce_retry(retry) or DEFAULT_RETRY
        _check_user_agent(user_agent)
        checked_resource_id = None if resource_id is None else check_resource_id(resource_id)
        version = check_fast_version(api_version)
        management_version = check_management_version(management_api_version, what="management_api_version")
        if connection_limit < 1:
            raise ValueError("connection_limit must be at least 1")
        if not token_refresh_interval > 0:
            raise ValueError("token_refresh_interval must be a positive number of seconds")
        transport = Transport(
            timeouts=timeouts,
            retry=policy,
            session=session,
            connection_limit=connection_limit,
            user_agent=user_agent,
            max_response_bytes=limits.max_response_bytes,
        )
        auth = make_authenticator(
            credential,
            transport=transport,
            endpoint=base,
            clock=clock,
            refresh_interval=token_refresh_interval,
            allow_insecure_http=allow_insecure_http,
        )
        self._life = _Lifecycle(transport, auth)
        self._owner = True
        self._entered = False
        super().__init__(
            ClientContext(
                life=self._life,
                transport=transport,
                endpoint=base,
                short_audio_base=short_audio,
                auth=auth,
                short_audio_auth=LazyAuthenticator(lambda: short_audio_authenticator(auth, checked_resource_id)),
                upload_limits=limits.upload,
                fast_limits=limits.fast,
                short_audio_limits=limits.short_audio,
                api_version=version,
                management_api_version=management_version,
                call=CallOptions(policy),
            )
        )

    @classmethod
    def from_env(cls, *, credential: object | None = None, **options: Unpack[ClientOptions]) -> SpeechClient:
        """Build a client from ``AZURE_SPEECH_ENDPOINT`` (or ``AZURE_SPEECH_REGION``) and ``AZURE_SPEECH_API_KEY``.

        ``credential`` replaces the key from the environment when given. With neither, the client uses
        Microsoft Entra ID through ``azure.identity.aio.DefaultAzureCredential`` (which needs the
        resource's custom-domain endpoint), as the service's quickstart does; it says so in an INFO log
        line (logger ``speech_async``), and a failure to get a token says that the key was not set.
        Every other keyword is passed on to :class:`SpeechClient`.

        Raises:
            InvalidOptionsError: neither endpoint variable is set; ``AZURE_SPEECH_API_KEY`` is set but
                empty; or it is not set while a look-alike is (``AZURE_SPEECH_KEY``, ``SPEECH_KEY``,
                ``azure_speech_api_key``...), which would otherwise fall back to Microsoft Entra ID (and
                on a developer's machine, quietly to their ``az login``). Only the variables' names are
                shown, never their values.
        """
        endpoint = os.environ.get(ENDPOINT_ENV, "").strip()
        if not endpoint:
            region = os.environ.get(REGION_ENV, "").strip().lower()
            if not region:
                look_alikes = _look_alikes(("ENDPOINT", "REGION", "URL", "LOCATION"), {ENDPOINT_ENV, REGION_ENV})
                found = f"; {_names(look_alikes)} set, but the client reads only these two" if look_alikes else ""
                raise InvalidOptionsError(
                    f"set {ENDPOINT_ENV} to your resource endpoint (or {REGION_ENV} to its region, such as eastus)"
                    f"{found}"
                )
            if not _REGION.fullmatch(region):
                raise InvalidOptionsError(f"{REGION_ENV}={region!r} is not a region name such as 'eastus'")
            endpoint = f"https://{region}.api.cognitive.microsoft.com"
        if credential is None:
            raw_key = os.environ.get(KEY_ENV)
            key = (raw_key or "").strip()
            if key:
                credential = KeyCredential(key)
            elif raw_key is not None:
                raise InvalidOptionsError(
                    f"{KEY_ENV} is set but empty: set it to the resource key, or unset it to use Microsoft "
                    "Entra ID (DefaultAzureCredential)"
                )
            else:
                look_alikes = _look_alikes(("KEY",), {KEY_ENV})
                if look_alikes:
                    raise InvalidOptionsError(
                        f"{KEY_ENV} is not set, but {_names(look_alikes)}: did you mean {KEY_ENV}? Set {KEY_ENV} "
                        "to the resource key (the client reads no other name), or pass credential= explicitly; "
                        "without a key the client would fall back to Microsoft Entra ID (DefaultAzureCredential)"
                    )
                from azure.identity.aio import DefaultAzureCredential

                logger.info(
                    "%s is not set: using Microsoft Entra ID (azure.identity.aio.DefaultAzureCredential)", KEY_ENV
                )
                credential = _EntraFallback(DefaultAzureCredential())
        return cls(endpoint, credential, **options)

    @property
    def endpoint(self) -> str:
        """The resource endpoint requests go to."""
        return str(self._ctx.endpoint)

    @property
    def api_version(self) -> str:
        """The default ``api-version`` of fast transcription."""
        return self._ctx.api_version

    @property
    def management_api_version(self) -> str:
        """The default version of the management API (supported locales; batch and custom speech next)."""
        return self._ctx.management_api_version

    @functools.cached_property
    def batch(self) -> BatchOperations:
        """Batch transcription: ``await client.batch.begin_transcription(...)``, jobs, files and pollers.

        A :meth:`with_options` view has its own, with the view's retry and timeout defaults.
        """
        from ._resources.batch import BatchOperations  # lazily: most programs never submit a batch job

        return BatchOperations(self._ctx)

    @functools.cached_property
    def webhooks(self) -> WebHookOperations:
        """Web hooks: ``await client.webhooks.create_webhook(...)``, and get, list, update, delete, ping, test.

        A :meth:`with_options` view has its own, with the view's retry and timeout defaults.
        """
        from ._resources.webhooks import WebHookOperations  # lazily: most programs register no web hook

        return WebHookOperations(self._ctx)

    @property
    def token_stats(self) -> TokenStats | None:
        """Token exchanges, failures and waits of the credential's shared cache (``None`` for a key)."""
        return self._ctx.auth.stats

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called (for a view: whether the client it came from is closed)."""
        return self._life.closed

    def with_options(
        self, *, retry: RetryPolicy | int | None = None, timeout: Timeouts | float | None = None
    ) -> SpeechClient:
        """A view of this client with other default retry and timeout settings.

        The view shares everything else: the connection pool, the credential and its token cache, the
        endpoints, limits and versions. ``retry`` and ``timeout`` take what the constructor takes (an int
        ``retry`` counts retries on top of this client's policy); ``None`` keeps this client's.

        The view is not a client of its own: closing it (or leaving ``async with`` on it) closes nothing,
        and it is open exactly while the client it came from is. Once that client is closed, the view
        refuses every call as the client does (``RuntimeError``), and on another event loop it raises
        ``WrongEventLoopError`` like the client. Views are cheap: make one per setting, or per call::

            probe = client.with_options(retry=0, timeout=5)
            status = await probe.get_health_status()
        """
        view = object.__new__(type(self))
        view._life = self._life
        view._owner = False
        view._entered = False
        AsyncResource.__init__(view, replace(self._ctx, call=self._ctx.call.override(retry, timeout)))
        return view

    async def __aenter__(self) -> Self:
        await self._ensure_open()
        if self._entered:
            raise RuntimeError("this SpeechClient is already in use as a context manager; enter it only once")
        self._entered = True
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connections (and the credential's, if it holds any). Closing twice is harmless.

        A client whose event loop has ended (``asyncio.run`` returned) closed its connections then, so
        closing it afterwards, from another loop, is harmless too. Closing a view (:meth:`with_options`)
        closes nothing: the connections belong to the client it came from.

        Raises:
            WrongEventLoopError: the client is open on another event loop, which is still running.
        """
        if self._owner:
            await self._life.close()

    def __repr__(self) -> str:
        view = ", view" if not self._owner else ""
        return (
            f"SpeechClient(endpoint={self.endpoint!r}, api_version={self.api_version!r}, "
            f"state={self._life.state}{view})"
        )


def _check_user_agent(user_agent: str | None) -> None:
    if user_agent is None:
        return
    if not isinstance(user_agent, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"user_agent must be a str, got {type(user_agent).__name__}")
    problem = bad_character(user_agent, allow_space=True, allow_tab=True)
    if problem is not None:
        raise InvalidOptionsError(
            f"user_agent {user_agent!r} has {problem}: it goes into the User-Agent header, which takes "
            "visible ASCII text and spaces only (such as 'my-app/1.2')"
        )


def _look_alikes(suffixes: tuple[str, ...], exact: set[str]) -> list[str]:
    """Environment variables whose names look like one of ``exact`` but are not: a Speech variable
    (a word of the name has SPEECH in it) whose last word ends with one of ``suffixes``, or one of
    ``exact`` in another case. Names only: the values may be secrets."""
    found: list[str] = []
    for name in os.environ:
        if name in exact:
            continue
        words = [word for word in re.split(r"[^A-Z0-9]+", name.upper()) if word]
        if name.upper() in exact or (
            any("SPEECH" in word for word in words) and words and words[-1].endswith(suffixes)
        ):
            found.append(name)
    return sorted(found)


def _names(names: list[str]) -> str:
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return f"{shown} {'is' if len(names) == 1 else 'are'}"


class _EntraFallback:
    """The ``DefaultAzureCredential`` that :meth:`SpeechClient.from_env` falls back to without a key.

    Its failures say why Microsoft Entra ID was used at all: the key variable was not set.
    """

    def __init__(self, credential: Any) -> None:
        self._credential = credential

    async def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        try:
            return await self._credential.get_token(*scopes, **kwargs)
        except CredentialError:
            raise
        except Exception as err:
            first_line = str(err).strip().partition("\n")[0][:200]
            raise CredentialError(
                f"{_ENTRA_HINT}, and it could not get a token ({type(err).__name__}: {first_line}): set "
                f"{KEY_ENV} to the resource key, or sign in to Microsoft Entra ID (such as with az login)"
            ) from err

    async def close(self) -> None:
        await self._credential.close()

    async def __aenter__(self) -> Self:
        await self._credential.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"EntraFallback({type(self._credential).__name__})"
