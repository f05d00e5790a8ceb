"""``SpeechClient``: one aiohttp session, one credential, every speech-to-text operation."""

from __future__ import annotations

import asyncio
import enum
import logging
import os
import re
import time
import weakref
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal, TypedDict

import msgspec
from yarl import URL

from ._config import (
    DEFAULT_LIMITS,
    DEFAULT_RETRY,
    DEFAULT_TIMEOUTS,
    LATEST_API_VERSION,
    ApiVersion,
    Limits,
    RetryPolicy,
    Timeouts,
    coerce_retry,
    coerce_timeouts,
)
from ._credentials import (
    DEFAULT_TOKEN_REFRESH,
    Authenticator,
    check_resource_id,
    make_authenticator,
    short_audio_authenticator,
)
from ._exceptions import CredentialError, InvalidAudioError, InvalidOptionsError, WrongEventLoopError
from ._http import Transport
from ._models._fast import EnhancedMode, TranscriptionOptions, TranscriptionResult
from ._models._short_audio import PronunciationAssessment, RecognitionMode, RecognitionResult
from ._options import as_transcription_options, struct_from_mapping
from ._resources import fast, short_audio
from ._urls import bad_character, check_endpoint

if TYPE_CHECKING:
    import aiohttp
    from typing_extensions import Self, Unpack

    from ._audio import AudioInput
    from ._token_cache import TokenStats

__all__ = ["SpeechClient"]

ENDPOINT_ENV: Final = "AZURE_SPEECH_ENDPOINT"
KEY_ENV: Final = "AZURE_SPEECH_API_KEY"
REGION_ENV: Final = "AZURE_SPEECH_REGION"

_API_VERSION: Final = re.compile(r"\d{4}-\d{2}-\d{2}(-preview)?")
_REGION: Final = re.compile(r"[a-z0-9]+")
_NO_OPTIONS: Final = TranscriptionOptions()
_API_PATHS: Final = ("speechtotext", "sts/v1.0")
_SHORT_AUDIO_API_PATHS: Final = ("speech/recognition",)
_MAX_PATH_CHARS: Final = 4096
_SHOWN_AUDIO_CHARS: Final = 40
_BASE64_TEXT: Final = re.compile(r"[A-Za-z0-9+/_\-\s]+={0,2}\s*")
# The base64 of the first bytes of RIFF/WAV, ID3/MP3, FLAC, Ogg and WebM/Matroska audio.
_BASE64_AUDIO_PREFIXES: Final = ("UklGR", "SUQz", "ZkxhQ", "T2dnU", "GkXfo")
_DATA_URL: Final = re.compile(r"data:[\w.+-]*/?[\w.+-]*(;[^,]*)?,", re.IGNORECASE)
_ENTRA_HINT: Final = f"{KEY_ENV} was not set, so Microsoft Entra ID (DefaultAzureCredential) was used"

logger: Final = logging.getLogger("speech_async")


class ClientOptions(TypedDict, total=False):
    """The keyword arguments of :class:`SpeechClient` besides endpoint and credential."""

    api_version: ApiVersion | str
    timeout: Timeouts | float | None
    retry: RetryPolicy | int | None
    limits: Limits
    session: aiohttp.ClientSession | None
    connection_limit: int
    user_agent: str | None
    allow_insecure_http: bool
    token_refresh_interval: float
    clock: Callable[[], float]
    resource_id: str | None
    short_audio_endpoint: str | None


class _State(enum.Enum):
    UNOPENED = "unopened"
    OPENED = "opened"
    CLOSED = "closed"


class SpeechClient:
    """An asyncio client for the Azure AI Speech speech-to-text REST APIs.

    Use it as an async context manager, which closes its connections on the way out::

        async with SpeechClient("https://eastus.api.cognitive.microsoft.com", KeyCredential(key)) as client:
            result = await client.transcribe("meeting.wav", options=TranscriptionOptions(locales=["en-US"]))

    Without ``async with``, the client opens itself on first use and must be closed with ``await
    client.close()``. A closed client cannot be reopened. One client is meant to be shared by every task
    of a program: it holds a connection pool, and it is safe to use from many tasks at once.

    Args:
        endpoint: The resource endpoint, such as ``https://eastus.api.cognitive.microsoft.com`` or
            ``https://my-resource.cognitiveservices.azure.com`` (or an emulator's URL).
        credential: A :class:`KeyCredential` or ``azure.core.credentials.AzureKeyCredential`` (a key);
            an :class:`IssueTokenCredential` (a key exchanged for tokens); an ``azure.identity.aio``
            credential (Microsoft Entra ID); a :class:`BearerToken`; or an async function returning a token.
        api_version: The default ``api-version`` of fast transcription; each call may override it.
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
        self._endpoint = check_endpoint(
            endpoint,
            what="the endpoint",
            allow_insecure_http=allow_insecure_http,
            api_paths=_API_PATHS,
            empty_hint=f": set it (or {ENDPOINT_ENV}) to your resource endpoint",
            resource_endpoint=True,
        )
        self._short_audio_base = (
            short_audio.short_audio_base(self._endpoint)
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
        self._retry = coerce_retry(retry) or DEFAULT_RETRY
        _check_user_agent(user_agent)
        self._resource_id = None if resource_id is None else check_resource_id(resource_id)
        self._api_version = _check_api_version(api_version)
        self._limits = limits
        if connection_limit < 1:
            raise ValueError("connection_limit must be at least 1")
        if not token_refresh_interval > 0:
            raise ValueError("token_refresh_interval must be a positive number of seconds")
        self._transport = Transport(
            timeouts=timeouts,
            retry=self._retry,
            session=session,
            connection_limit=connection_limit,
            user_agent=user_agent,
            max_response_bytes=limits.max_response_bytes,
        )
        self._auth = make_authenticator(
            credential,
            transport=self._transport,
            endpoint=self._endpoint,
            clock=clock,
            refresh_interval=token_refresh_interval,
            allow_insecure_http=allow_insecure_http,
        )
        self._short_audio_auth: Authenticator | None = None
        self._state = _State.UNOPENED
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_ended = False
        self._loop_watch: AsyncGenerator[None, None] | None = None
        self._entered = False
        self._transcribe_url = self._endpoint / fast.TRANSCRIBE_PATH
        self._transcribe_urls: dict[str, URL] = {}

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
        from ._credentials import KeyCredential

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
        return str(self._endpoint)

    @property
    def api_version(self) -> str:
        """The default ``api-version`` of fast transcription."""
        return self._api_version

    @property
    def token_stats(self) -> TokenStats | None:
        """Token exchanges, failures and waits of the credential's shared cache (``None`` for a key)."""
        return self._auth.stats

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called."""
        return self._state is _State.CLOSED

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
        closing it afterwards, from another loop, is harmless too.

        Raises:
            WrongEventLoopError: the client is open on another event loop, which is still running.
        """
        if self._state is _State.CLOSED:
            return
        if self._state is _State.OPENED and self._loop is not None and self._loop.is_closed():
            # Closed without shutting down its async generators (not by asyncio.run): the connections
            # cannot be closed from another loop, and are left to the garbage collector.
            self._state = _State.CLOSED
            self._loop_watch = None
            return
        if self._state is _State.OPENED:
            self._check_loop()
        self._state = _State.CLOSED
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

    async def transcribe(
        self,
        audio: AudioInput | None = None,
        *,
        options: TranscriptionOptions | Mapping[str, object] | None = None,
        api_version: ApiVersion | str | None = None,
        extra_definition: Mapping[str, object] | None = None,
        filename: str | None = None,
        retry: RetryPolicy | int | None = None,
        timeout: Timeouts | float | None = None,
        spool: bool = False,
    ) -> TranscriptionResult:
        """Transcribe audio with fast transcription (or LLM speech, through ``options.enhanced_mode``).

        Args:
            audio: A path, ``bytes``/``bytearray``/``memoryview``, a binary file object (sync or
                async, such as aiofiles'), an async iterable of bytes, or an ``http(s)`` URL that the
                service fetches itself. Files are streamed in chunks, never read whole.
            options: The request's ``definition``: locales, diarization, channels, phrase list...
            api_version: Overrides the client's default for this call.
            extra_definition: Definition fields that :class:`TranscriptionOptions` doesn't know yet;
                nested objects are merged, so ``{"enhancedMode": {"newField": 1}}`` adds one field.
            filename: The file name sent with the audio (defaults to the path's or file's name). It
                may not hold control characters; quotes and backslashes are escaped.
            retry: Overrides the client's retry policy for this call; an int is a number of retries (``0``
                or ``False``: none), with the client's other retry settings.
            timeout: Overrides the client's timeouts for this call; a number of seconds sets every phase.
            spool: Copy a one-shot stream (an async iterable, an unseekable file) to a temporary file
                before sending, so that it can be sent again if an attempt fails.

        Raises:
            InvalidAudioError: the audio is missing, unreadable, empty or too large, or the name taken
                from its path or file holds a control character (nothing was sent).
            InvalidOptionsError: the options break a documented rule, or ``filename`` holds a control
                character (nothing was sent).
            AudioNotReplayableError: an attempt failed and a one-shot stream could not be sent again.
            SpeechStatusError: the service answered with an error; the subclass tells which.
            SpeechConnectionError: no usable response arrived.
        """
        _check_audio_text(audio)
        policy = coerce_retry(retry, base=self._retry)
        timeouts = coerce_timeouts(timeout)
        if filename is not None:
            _check_filename(filename)
        transport = await self._ensure_open()
        version = self._api_version if api_version is None else _check_api_version(api_version)
        return await fast.transcribe(
            transport,
            self._url_for(version),
            self._auth,
            audio=audio,
            options=_NO_OPTIONS if options is None else options,
            api_version=version,
            limits=self._limits,
            extra_definition=extra_definition,
            filename=filename,
            retry=policy,
            timeouts=timeouts,
            spool=spool,
        )

    async def translate(
        self,
        audio: AudioInput | None = None,
        *,
        target_language: str,
        prompt: Sequence[str] | None = None,
        options: TranscriptionOptions | Mapping[str, object] | None = None,
        api_version: ApiVersion | str | None = None,
        extra_definition: Mapping[str, object] | None = None,
        filename: str | None = None,
        retry: RetryPolicy | int | None = None,
        timeout: Timeouts | float | None = None,
        spool: bool = False,
    ) -> TranscriptionResult:
        """Translate speech into ``target_language`` (such as ``"de"``) with LLM speech.

        A shortcut for :meth:`transcribe` with ``EnhancedMode(task="translate", target_language=...,
        prompt=...)``; any other settings of ``options.enhanced_mode`` are kept.
        """
        _check_audio_text(audio)
        retry = coerce_retry(retry, base=self._retry)
        timeout = coerce_timeouts(timeout)
        base = _NO_OPTIONS if options is None else as_transcription_options(options)
        current = base.enhanced_mode
        mode = current if isinstance(current, EnhancedMode) else EnhancedMode()
        mode = msgspec.structs.replace(
            mode,
            enabled=True,
            task="translate",
            target_language=target_language,
            prompt=list(prompt) if prompt is not None else mode.prompt,
        )
        return await self.transcribe(
            audio,
            options=msgspec.structs.replace(base, enhanced_mode=mode),
            api_version=api_version,
            extra_definition=extra_definition,
            filename=filename,
            retry=retry,
            timeout=timeout,
            spool=spool,
        )

    async def recognize(
        self,
        audio: AudioInput | None = None,
        *,
        language: str,
        mode: RecognitionMode = "conversation",
        output_format: Literal["simple", "detailed"] | None = None,
        profanity: Literal["masked", "removed", "raw"] | None = None,
        endpoint_id: str | None = None,
        pronunciation_assessment: PronunciationAssessment | Mapping[str, object] | None = None,
        chunked: bool = True,
        filename: str | None = None,
        retry: RetryPolicy | int | None = None,
        timeout: Timeouts | float | None = None,
        spool: bool = False,
    ) -> RecognitionResult:
        """Recognize up to 60 seconds of speech with the REST API for short audio.

        The audio is streamed with chunked transfer, so the service recognizes while it arrives, and
        the answer is one final result. It must be WAV (16-bit PCM, 16 kHz, mono) or Ogg/Opus; use
        :meth:`transcribe` for longer audio or other formats.

        Args:
            audio: A path, ``bytes``/``bytearray``/``memoryview``, a binary file object (sync or
                async), or an async iterable of bytes (a live stream: it is sent as it comes).
            language: The spoken language, such as ``"en-US"`` (required by the service).
            mode: ``"conversation"`` (the default), ``"interactive"`` (single utterances of up to about
                15 s) or ``"dictation"`` (spoken punctuation such as "period" becomes punctuation).
            output_format: ``"simple"`` (the display text) or ``"detailed"`` (candidates with lexical,
                ITN, masked ITN and display forms, and confidences). Defaults to ``"simple"``, or to
                ``"detailed"`` with a pronunciation assessment, whose scores only it carries.
            profanity: ``"masked"`` (the service's default), ``"removed"`` or ``"raw"``.
            endpoint_id: The id of a custom speech endpoint whose model should be used (``cid``).
            pronunciation_assessment: Grade the speaker against a reference text (audio up to 30 s).
            chunked: Send with ``Transfer-Encoding: chunked`` and ``Expect: 100-continue`` (the
                documented, lower-latency way); ``False`` sends a ``Content-Length`` when it is known.
            filename: The name used in error messages (defaults to the path's or file's name).
            retry: Overrides the client's retry policy for this call; an int is a number of retries (``0``
                or ``False``: none), with the client's other retry settings.
            timeout: Overrides the client's timeouts for this call; a number of seconds sets every phase.
            spool: Copy a one-shot stream to a temporary file first, so it can be sent again.

        Returns:
            The result. Audio without recognizable speech is not an error: check
            :attr:`RecognitionResult.succeeded` or :attr:`~RecognitionResult.recognition_status`.

        Raises:
            InvalidAudioError: the audio is missing, unreadable, not WAV/PCM 16 kHz mono or Ogg/Opus,
                or too long (nothing was sent).
            InvalidOptionsError: a parameter breaks a documented rule, or Microsoft Entra ID is used
                without ``resource_id`` (nothing was sent).
            AudioNotReplayableError: an attempt failed and a one-shot stream could not be sent again.
            SpeechStatusError: the service answered with an error; the subclass tells which.
            SpeechConnectionError: no usable response arrived.
        """
        _check_audio_text(audio)
        policy = coerce_retry(retry, base=self._retry)
        timeouts = coerce_timeouts(timeout)
        transport = await self._ensure_open()
        if output_format is None:
            output_format = "simple" if pronunciation_assessment is None else "detailed"
        elif pronunciation_assessment is not None and output_format != "detailed":
            raise InvalidOptionsError(
                "pronunciation assessment scores come in the detailed output: leave output_format out, "
                "or pass output_format='detailed'"
            )
        url = short_audio.short_audio_url(
            self._short_audio_base,
            mode=mode,
            language=language,
            output_format=output_format,
            profanity=profanity,
            endpoint_id=endpoint_id,
        )
        auth = self._short_audio_auth
        if auth is None:
            auth = self._short_audio_auth = short_audio_authenticator(self._auth, self._resource_id)
        return await short_audio.recognize(
            transport,
            url,
            auth,
            audio=audio,
            assessment=(
                struct_from_mapping(PronunciationAssessment, pronunciation_assessment)
                if isinstance(pronunciation_assessment, Mapping)
                else pronunciation_assessment
            ),
            limits=self._limits,
            filename=filename,
            chunked=chunked,
            retry=policy,
            timeouts=timeouts,
            spool=spool,
        )

    async def _ensure_open(self) -> Transport:
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
        # An async generator started on the loop is closed by the loop's shutdown_asyncgens(), which
        # asyncio.run() calls before closing the loop: the client's connections are then closed on their
        # own loop, so that a client left open does not warn about an unclosed session when the loop
        # ends, and a later use from another loop gets a WrongEventLoopError instead of a dead session.
        watch = self._loop_watch = self._watch_loop(weakref.ref(self))
        await anext(watch)
        return self._transport

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
    async def _watch_loop(ref: weakref.ref[SpeechClient]) -> AsyncGenerator[None, None]:
        # Holds only a weak reference: a client dropped without close() still warns, as aiohttp's do.
        try:
            yield
        finally:
            client = ref()
            if client is not None and client._state is _State.OPENED:
                client._loop_ended = True
                client._state = _State.CLOSED
                client._loop_watch = None
                try:
                    await client._close_connections()
                except Exception:  # the loop is ending: nothing can be done about it, nor anyone told
                    logger.debug("closing a SpeechClient as its event loop ended failed", exc_info=True)

    def _url_for(self, version: str) -> URL:
        url = self._transcribe_urls.get(version)
        if url is None:
            url = self._transcribe_urls[version] = self._transcribe_url.with_query({"api-version": version})
        return url

    def __repr__(self) -> str:
        return f"SpeechClient(endpoint={self.endpoint!r}, api_version={self._api_version!r}, state={self._state.value})"


def _check_api_version(version: ApiVersion | str) -> str:
    value = version.value if isinstance(version, ApiVersion) else version
    if not isinstance(value, str) or not _API_VERSION.fullmatch(value):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise InvalidOptionsError(f"api_version {version!r} is not an api-version such as {LATEST_API_VERSION.value!r}")
    return value


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


def _check_filename(filename: str) -> None:
    if not isinstance(filename, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"filename must be a str, got {type(filename).__name__}")
    # Non-ASCII names are fine (sent as UTF-8, as browsers do); quotes and backslashes are escaped.
    problem = bad_character(filename, allow_space=True, allow_non_ascii=True)
    if problem is not None:
        raise InvalidOptionsError(
            f"filename {filename!r} has {problem}: it is sent in the upload's Content-Disposition header, "
            "which cannot carry control characters; pass a name without them"
        )


def _check_audio_text(audio: object) -> None:
    """Refuse a ``str`` that holds data rather than a path, before it reaches the file system."""
    if not isinstance(audio, str) or fast.is_audio_url(audio):
        return
    if "\x00" in audio:
        reason = "holds a NUL character, which no path has"
    elif _DATA_URL.match(audio):
        reason = "is a data: URL"
    elif _BASE64_TEXT.fullmatch(audio) and (
        len(audio) >= 256 or (len(audio) >= 16 and audio.startswith(_BASE64_AUDIO_PREFIXES))
    ):
        reason = "looks like base64 text"
    elif len(audio) > _MAX_PATH_CHARS:
        reason = f"is longer than any path ({_MAX_PATH_CHARS} characters)"
    else:
        return
    shown = audio[:_SHOWN_AUDIO_CHARS]
    more = "..." if len(audio) > _SHOWN_AUDIO_CHARS else ""
    raise InvalidAudioError(
        f"the audio is a str of {len(audio):,} characters that {reason} ({shown!r}{more}): expected a path "
        "or bytes; to send base64 data, decode it first (base64.b64decode(text)), and pass the bytes"
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
