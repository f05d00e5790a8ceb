"""Fast transcription and LLM speech: ``POST /speechtotext/transcriptions:transcribe``.

Everything that can be known before sending is checked here, so a bad request fails locally with an
:class:`InvalidOptionsError` or :class:`InvalidAudioError` and never costs a round trip.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

import msgspec

from .._audio import open_audio
from .._exceptions import InvalidAudioError, InvalidOptionsError
from .._http import json_decoder
from .._models._fast import DiarizationOptions, EnhancedMode, PhraseList, TranscriptionOptions, TranscriptionResult
from .._multipart import MultipartBody
from .._options import as_transcription_options

if TYPE_CHECKING:
    from yarl import URL

    from .._audio import AudioSource
    from .._config import Limits, RetryPolicy, Timeouts
    from .._credentials import Authenticator
    from .._http import Transport

__all__ = ["as_transcription_options", "is_audio_url", "transcribe", "validate_options"]

TRANSCRIBE_PATH: Final = "speechtotext/transcriptions:transcribe"
FIRST_LLM_VERSION: Final = "2025-10-15"
"""The first api-version with ``audioUrl``, ``phraseList`` and ``enhancedMode``."""

# Language, optional script, optional region: en-US, zh-Hans-CN, es-419; MAI-Transcribe takes bare "en".
_LOCALE: Final = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?")
_LANGUAGE: Final = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")

_ENCODER: Final = msgspec.json.Encoder()
_ACCEPT_JSON: Final = "application/json"


def is_audio_url(audio: object) -> bool:
    """Whether ``audio`` is an http(s) URL for the service to fetch, rather than a path."""
    return isinstance(audio, str) and audio[:8].lower().startswith(("https://", "http://"))


def validate_options(options: TranscriptionOptions, api_version: str, limits: Limits) -> None:
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


async def transcribe(
    transport: Transport,
    url: URL,
    auth: Authenticator,
    *,
    audio: object,
    options: TranscriptionOptions | Mapping[str, object],
    api_version: str,
    limits: Limits,
    extra_definition: Mapping[str, object] | None,
    filename: str | None,
    retry: RetryPolicy | None,
    timeouts: Timeouts | None,
    spool: bool,
) -> TranscriptionResult:
    """Validate, upload and decode one fast transcription.

    ``options`` may be a mapping (see :func:`as_transcription_options`). The call is idempotent (the
    service keeps nothing from it), so every transient failure may be retried, as long as the audio
    can be sent again.
    """
    options = as_transcription_options(options)
    if is_audio_url(audio):
        if options.audio_url is not None:
            raise InvalidOptionsError("the audio URL is given twice: as audio and as options.audio_url")
        options = msgspec.structs.replace(options, audio_url=audio)  # pyright: ignore[reportArgumentType]
        audio = None
    if audio is None and options.audio_url is None:
        raise InvalidAudioError("no audio: pass a path, bytes, a file object, an async iterable or an audio URL")
    if audio is not None and options.audio_url is not None:
        raise InvalidOptionsError("pass either audio or options.audio_url, not both (the service would ignore the URL)")
    validate_options(options, api_version, limits)
    definition = encode_definition(options, extra_definition)
    source: AudioSource | None = None
    if audio is not None:
        source = await open_audio(audio, filename=filename, limits=limits, spool=spool)
    try:
        # One body, and so one boundary, for every attempt: retries resend the very same bytes.
        body = MultipartBody([("definition", _ACCEPT_JSON, definition)], source)
        return await transport.request(
            "POST",
            url,
            headers={"Accept": _ACCEPT_JSON},
            decode=decode_result,
            auth=auth,
            body=body,
            idempotent=True,
            retry=retry,
            timeouts=timeouts,
        )
    finally:
        if source is not None:
            await source.aclose()


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


def _check_phrase_list(options: TranscriptionOptions, limits: Limits) -> None:
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


def _check_enhanced_mode(options: TranscriptionOptions, limits: Limits) -> None:
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
