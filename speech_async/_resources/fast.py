"""Fast transcription and LLM speech: ``POST /speechtotext/transcriptions:transcribe``.

:class:`FastOperations` holds the area's operations (:meth:`~FastOperations.transcribe`,
:meth:`~FastOperations.translate`). Everything that can be known before sending is checked here, so a
bad request fails locally with an :class:`InvalidOptionsError` or :class:`InvalidAudioError` and never
costs a round trip.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

import msgspec
from yarl import URL

from .._audio import check_audio, check_audio_text, is_audio_url, open_bytes, open_source
from .._bodies import JSON_CONTENT_TYPE, MultipartBody
from .._exceptions import InvalidAudioError, InvalidOptionsError
from .._http import json_decoder
from .._models._fast import DiarizationOptions, EnhancedMode, PhraseList, TranscriptionOptions, TranscriptionResult
from .._options import as_transcription_options
from .._resource import AsyncResource
from .._urls import bad_character
from .._versions import check_fast_version

if TYPE_CHECKING:
    from .._audio import AudioInput, AudioSource
    from .._config import ApiVersion, FastLimits, RetryPolicy, Timeouts

__all__ = [
    "FastOperations",
    "as_transcription_options",
    "checked_definition",
    "is_audio_url",
    "resolve_options",
    "validate_options",
]

TRANSCRIBE_PATH: Final = "speechtotext/transcriptions:transcribe"
FIRST_LLM_VERSION: Final = "2025-10-15"
"""The first api-version with ``audioUrl``, ``phraseList`` and ``enhancedMode``."""

# Language, optional script, optional region: en-US, zh-Hans-CN, es-419; MAI-Transcribe takes bare "en".
_LOCALE: Final = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?")
_LANGUAGE: Final = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")

_ENCODER: Final = msgspec.json.Encoder()
_NO_OPTIONS: Final = TranscriptionOptions()
_ACCEPT_JSON: Final = MappingProxyType({"Accept": JSON_CONTENT_TYPE})


@functools.lru_cache(maxsize=64)
def _transcribe_url(endpoint: URL, api_version: str) -> URL:
    """The request URL, built once per endpoint and (checked) api-version."""
    return (endpoint / TRANSCRIBE_PATH).update_query({"api-version": api_version})


class FastOperations(AsyncResource):
    """Fast transcription and LLM speech, as methods of :class:`SpeechClient`."""

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
        check_audio_text(audio)
        call = self._call_options(retry, timeout)
        if filename is not None:
            _check_filename(filename)
        if self._ctx.life.ready() is None:
            await self._ctx.life.ensure_open()
        ctx = self._ctx
        options, version = resolve_options(options, api_version, ctx.api_version)
        if is_audio_url(audio):
            if options.audio_url is not None:
                raise InvalidOptionsError("the audio URL is given twice: as audio and as options.audio_url")
            options = msgspec.structs.replace(options, audio_url=audio)  # pyright: ignore[reportArgumentType]
            audio = None
        if audio is None and options.audio_url is None:
            raise InvalidAudioError("no audio: pass a path, bytes, a file object, an async iterable or an audio URL")
        if audio is not None and options.audio_url is not None:
            raise InvalidOptionsError(
                "pass either audio or options.audio_url, not both (the service would ignore the URL)"
            )
        definition = checked_definition(options, version, ctx.fast_limits, extra_definition)
        source: AudioSource | None = None
        if audio is not None:
            source = open_bytes(audio, filename=filename, upload=ctx.upload_limits) or await open_source(
                audio, filename=filename, upload=ctx.upload_limits, spool=spool
            )
        try:
            if source is not None:
                await check_audio(source, ctx.fast_limits)
            # One body, and so one boundary, for every attempt: retries resend the very same bytes.
            body = MultipartBody([("definition", JSON_CONTENT_TYPE, definition)], source)
            # The service keeps nothing from the call: every transient failure may be retried, as long
            # as the audio can be sent again.
            return await self._request(
                "POST",
                _transcribe_url(ctx.endpoint, version),
                headers=_ACCEPT_JSON,
                decode=decode_result,
                body=body,
                idempotent=True,
                call=call,
            )
        finally:
            if source is not None:
                await source.aclose()

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
        check_audio_text(audio)
        call = self._call_options(retry, timeout)
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
            retry=call.retry,
            timeout=call.timeouts,
            spool=spool,
        )


def resolve_options(
    options: TranscriptionOptions | Mapping[str, object] | None,
    api_version: ApiVersion | str | None,
    default_version: str,
) -> tuple[TranscriptionOptions, str]:
    """A call's options as :class:`TranscriptionOptions` and its checked api-version (``None``: the default).

    The first local checks of :meth:`FastOperations.transcribe`, shared with :func:`speech_async.bulk.transcribe_many`
    (which runs them once for a whole run).
    """
    version = default_version if api_version is None else check_fast_version(api_version)
    return as_transcription_options(_NO_OPTIONS if options is None else options), version


def checked_definition(
    options: TranscriptionOptions, api_version: str, limits: FastLimits, extra: Mapping[str, object] | None
) -> bytes:
    """The ``definition`` JSON of checked options: :func:`validate_options`, then :func:`encode_definition`."""
    validate_options(options, api_version, limits)
    return encode_definition(options, extra)


def validate_options(options: TranscriptionOptions, api_version: str, limits: FastLimits) -> None:
    """Check the documented rules of a definition; raise :class:`InvalidOptionsError` for the first broken one."""
    if options.locales is not None:
        _check_locales(options.locales)
    if options.channels is not None:
        _check_channels(options)
    diarization = options.diarization
    if isinstance(diarization, DiarizationOptions) and diarization.max_speakers is not None:
        count = diarization.max_speakers
        if not limits.min_speakers <= count <= limits.max_speakers:
            raise InvalidOptionsError(
                f"diarization max_speakers is {count}; the service accepts "
                f"{limits.min_speakers} to {limits.max_speakers}"
            )
    newer = {
        "audio_url": options.audio_url is not None,
        "phrase_list": options.phrase_list is not None,
        "enhanced_mode": options.enhanced_mode is not None,
    }
    if api_version < FIRST_LLM_VERSION:
        for name, present in newer.items():
            if present:
                raise InvalidOptionsError(
                    f"{name} needs api-version {FIRST_LLM_VERSION} or later; this request uses {api_version}"
                )
    if options.audio_url is not None and not is_audio_url(options.audio_url):
        raise InvalidOptionsError(f"audio_url must be an http(s) URL, got {options.audio_url!r}")
    if options.phrase_list is not None:
        _check_phrase_list(options, limits)
    if options.enhanced_mode is not None:
        _check_enhanced_mode(options, limits)


def encode_definition(options: TranscriptionOptions, extra: Mapping[str, object] | None) -> bytes:
    """The ``definition`` JSON; ``extra`` adds fields the structs don't know yet, merged into nested objects."""
    if not extra:
        return _ENCODER.encode(options)
    merged = msgspec.to_builtins(options)
    _deep_merge(merged, extra)
    try:
        return _ENCODER.encode(merged)
    except (TypeError, msgspec.EncodeError) as err:
        raise InvalidOptionsError(f"extra_definition cannot be encoded as JSON: {err}") from err


decode_result: Final = json_decoder(msgspec.json.Decoder(TranscriptionResult), "the transcription result")
"""Decode a 200 response into a :class:`TranscriptionResult`, keeping the raw body on failure."""


def _check_locales(locales: list[str]) -> None:
    if isinstance(locales, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise InvalidOptionsError(f"locales must be a list of locales, such as [{locales!r}], not a string")
    seen: set[str] = set()
    for locale in locales:
        if not isinstance(locale, str) or not _LOCALE.fullmatch(locale):  # pyright: ignore[reportUnnecessaryIsInstance]
            text = str(locale)
            hint = f" (did you mean {text.replace('_', '-')!r}?)" if "_" in text else ""
            raise InvalidOptionsError(f"{locale!r} is not a locale such as 'en-US'{hint}")
        if locale.lower() in seen:
            raise InvalidOptionsError(f"locale {locale!r} is listed twice")
        seen.add(locale.lower())


def _check_channels(options: TranscriptionOptions) -> None:
    channels = options.channels or []
    if not channels:
        raise InvalidOptionsError("channels is empty: leave it out to mix all channels, or pass [0], [1] or [0, 1]")
    for channel in channels:
        if type(channel) is not int or channel not in (0, 1):
            raise InvalidOptionsError(f"channel {channel!r} is not 0 or 1: the service separates at most two channels")
    if len(set(channels)) != len(channels):
        raise InvalidOptionsError(f"channels {channels} lists a channel twice")
    # Diarization with channels [0, 1] is sent: the live service serves it for mono audio (200,
    # phrases with channel 0 and a speaker). Whether it serves it for stereo audio is unrecorded,
    # so the service answers for itself.


def _check_phrase_list(options: TranscriptionOptions, limits: FastLimits) -> None:
    phrase_list = options.phrase_list
    assert isinstance(phrase_list, PhraseList)  # a list of phrases was expanded by TranscriptionOptions
    phrases = phrase_list.phrases
    if isinstance(phrases, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise InvalidOptionsError("phrase_list.phrases must be a list of phrases, not a string")
    if not phrases:
        raise InvalidOptionsError("phrase_list.phrases is empty: leave phrase_list out instead")
    if len(phrases) > limits.max_phrases:
        raise InvalidOptionsError(
            f"phrase_list has {len(phrases)} phrases; the limit is {limits.max_phrases} "
            "(keep the most important ones, or raise Limits.max_phrases)"
        )
    for phrase in phrases:
        if not isinstance(phrase, str) or not phrase.strip():  # pyright: ignore[reportUnnecessaryIsInstance]
            raise InvalidOptionsError(f"phrase_list holds an empty or non-text phrase: {phrase!r}")
        if len(phrase) > limits.max_phrase_chars:
            raise InvalidOptionsError(
                f"a phrase_list phrase has {len(phrase)} characters; the limit is {limits.max_phrase_chars}"
            )
    weight = phrase_list.biasing_weight
    if weight is not None and not limits.min_biasing_weight <= weight <= limits.max_biasing_weight:
        raise InvalidOptionsError(
            f"phrase_list biasing_weight is {weight}; the service documents "
            f"{limits.min_biasing_weight} to {limits.max_biasing_weight}"
        )


def _check_enhanced_mode(options: TranscriptionOptions, limits: FastLimits) -> None:
    mode = options.enhanced_mode
    assert isinstance(mode, EnhancedMode)  # True was expanded by TranscriptionOptions
    if mode.task == "translate" and not mode.target_language:
        raise InvalidOptionsError(
            "task 'translate' needs a target language: EnhancedMode(task='translate', target_language='de')"
        )
    if mode.target_language is not None and not _LANGUAGE.fullmatch(mode.target_language):
        raise InvalidOptionsError(f"target_language {mode.target_language!r} is not a language code such as 'de'")
    if mode.prompt is not None:
        if isinstance(mode.prompt, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise InvalidOptionsError("enhanced_mode.prompt must be a list of strings, not a string")
        total = sum(len(item) for item in mode.prompt)
        if total > limits.max_prompt_chars:
            raise InvalidOptionsError(
                f"the prompt has {total} characters in all; the service allows {limits.max_prompt_chars}"
            )


def _deep_merge(target: dict[str, object], extra: Mapping[str, object]) -> None:
    for key, value in extra.items():
        current = target.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            _deep_merge(current, value)  # pyright: ignore[reportUnknownArgumentType]
        else:
            target[key] = value


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
