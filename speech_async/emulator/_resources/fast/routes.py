"""Fast transcription routes: ``transcriptions:transcribe`` and the api-version supported locales."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import anyio.to_thread

from ..._config import SUPPORTED_API_VERSIONS
from ..._errors import emulator_error, invalid_argument
from ..._locales import SUBMIT_LOCALES, TRANSCRIBE_LOCALES
from ..._media.fetch import fetch_audio
from ..._media.multipart import read_form
from ..._media.sniff import sniff_file
from ..._media.spool import SpoolSet
from ..._recognizer import RecognitionRequest, RecognizerAudioError, RecognizerLimitation
from ..._replies import json_response
from ..._routes import RouteSpec, RouteTable, service_route
from ..._state import EXCHANGE, STATE
from .definition import check_channel_layout, decode_definition, parse_definition
from .errors import check_length, empty_audio, invalid_audio_format, no_audio, require_multipart
from .shaping import billing_usage, shape
from .wire import LocalesBody, encode

if TYPE_CHECKING:
    from aiohttp import web

    from ..._config import FastConfig
    from ..._media.sniff import AudioInfo
    from ..._media.spool import SpooledAudio
    from ..._state import EmulatorState
    from .definition import Definition

__all__ = ("LOCALES_PATH", "ROUTES", "TRANSCRIBE_PATH")

TRANSCRIBE_PATH: Final = "/speechtotext/transcriptions:transcribe"
LOCALES_PATH: Final = "/speechtotext/transcriptions/locales"

ROUTES: Final = RouteTable("fast")


async def _resolve_audio(
    state: EmulatorState,
    audio: SpooledAudio | None,
    definition: Definition,
    spools: SpoolSet,
) -> SpooledAudio:
    # The audio part wins over audioUrl (documented).
    if audio is None and definition.audio_url is not None:
        audio = await fetch_audio(
            state.http_session(),
            definition.audio_url,
            spools=spools,
            max_bytes=state.config.fast.max_audio_bytes,
        )
    if audio is None:
        raise no_audio()
    if audio.size == 0:
        raise empty_audio()
    return audio


async def _inspect(audio: SpooledAudio, config: FastConfig) -> AudioInfo:
    info = await anyio.to_thread.run_sync(sniff_file, audio.path)
    if info is None:
        raise invalid_audio_format()
    check_length(info.duration_ms, config)
    return info


def _recognition_request(audio: SpooledAudio, info: AudioInfo, definition: Definition) -> RecognitionRequest:
    return RecognitionRequest(
        audio_path=audio.path,
        audio_sha256=audio.sha256,
        audio_format=info.format,
        audio_size=audio.size,
        audio_channels=info.channels,
        audio_duration_ms=info.duration_ms,
        locales=definition.locales,
        diarization=definition.diarization,
        max_speakers=definition.max_speakers,
        channels=definition.channels,
        task=definition.task,
        target_language=definition.target_language,
        prompts=definition.prompts,
        phrases=definition.phrases,
        profanity_filter_mode=definition.profanity_filter_mode,
    )


@service_route(
    ROUTES,
    RouteSpec(
        name="transcribe",
        method="POST",
        paths=(TRANSCRIBE_PATH,),
        summary="Fast transcription and LLM speech (multipart `audio` + `definition`, or `audioUrl`)",
        api_versions=SUPPORTED_API_VERSIONS,
    ),
)
async def _transcribe(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    config = state.config
    exchange = request[EXCHANGE]
    # Checked by the pipeline before the handler runs (RouteSpec.api_versions).
    api_version = exchange.api_version
    assert api_version is not None
    require_multipart(request)
    spools = SpoolSet()
    try:
        form = await read_form(
            request.headers,
            exchange.body,
            spools=spools,
            max_audio_bytes=config.fast.max_audio_bytes,
            recorded=exchange.parts,
        )
        if form.definition is None:
            # Errata E7: the OpenAPI definition requires only `audio`; a missing definition part
            # behaves as {} (unrecorded). The record keeps `definition` None: none was sent.
            document: dict[str, object] = {}
        else:
            document = decode_definition(form.definition)
            exchange.definition = document
        definition = parse_definition(
            document,
            api_version=api_version,
            config=config.fast,
            has_audio=form.audio is not None,
        )
        audio = await _resolve_audio(state, form.audio, definition, spools)
        info = await _inspect(audio, config.fast)
        check_channel_layout(definition, info.channels)
        try:
            recognition = await state.recognizer.recognize(_recognition_request(audio, info, definition))
        except RecognizerLimitation as exc:
            raise emulator_error(exc.code, str(exc)) from None
        except RecognizerAudioError as exc:
            raise invalid_argument("InvalidAudioFormat", f"The audio is not valid: {exc}") from None
        check_length(recognition.duration_ms, config.fast)
        body = encode(shape(recognition, definition, info.channels))
        headers = {"CSP-Billing-Usage": billing_usage(definition, recognition.duration_ms)}
        return json_response(200, body, headers=headers)
    finally:
        await spools.aclose()


@service_route(
    ROUTES,
    RouteSpec(
        name="locales",
        method="GET",
        paths=(LOCALES_PATH,),
        summary='Supported locales, `{"Transcribe": [...], "Submit": [...]}` (Transcriptions_ListSupportedLocales)',
        api_versions=SUPPORTED_API_VERSIONS,
    ),
)
async def _locales(request: web.Request) -> web.StreamResponse:
    body = LocalesBody(transcribe=list(TRANSCRIBE_LOCALES), submit=list(SUBMIT_LOCALES))
    return json_response(200, encode(body))
