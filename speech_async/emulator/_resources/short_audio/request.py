"""The Speech-to-text REST API for short audio: one POST, audio in the body, one final result out.

``POST /speech/recognition/{mode}/cognitiveservices/v1`` (regional host form) and
``POST /stt/speech/recognition/{mode}/cognitiveservices/v1`` (custom-domain form; unverified for
every mode) are one route, ``"short_audio"``. ``{mode}`` is ``conversation``, ``interactive`` or
``dictation``; another mode is a path the gateway does not route (404).

What is checked, in this order (every status but the documented 400s is unverified):

1. the query: ``language`` (required, a supported locale), ``format`` (``simple`` | ``detailed``),
   ``profanity`` (``masked`` | ``removed`` | ``raw``), ``cid`` (a GUID) -> 400;
2. the ``Pronunciation-Assessment`` header, when sent -> 400;
3. ``Content-Type``: ``audio/wav`` (parameters ``codecs=audio/pcm``, ``samplerate=16000``, both
   optional) or ``audio/ogg`` (``codecs=opus``, optional) -> 415;
4. the body, spooled as it streams in (``Content-Length`` or chunked) -> 413 over
   :attr:`ShortAudioConfig.max_bytes`, 400 when empty;
5. the audio: WAV with 16-bit PCM, 16 kHz, mono; or Ogg/Opus, mono, 16 kHz input -> 400; at most
   :attr:`ShortAudioConfig.max_seconds` (30 s with pronunciation assessment) -> 400.

Errors of this API have no documented body; the emulator answers ``{"code", "message"}``
(unverified), with ``code`` ``BadRequest``, ``UnsupportedMediaType`` or ``PayloadTooLarge``.

A 200 carries one result built from all the recognizer's phrases, in the documented shapes:
``simple`` is ``{"RecognitionStatus", "DisplayText", "Offset", "Duration"}``, ``detailed`` is
``{"RecognitionStatus", "Offset", "Duration", "NBest": [...]}`` with one NBest item (the service may
send several; unverified how many). Times are integers in 100-ns ticks. ``SNR`` is never sent: the
emulator has no honest signal-to-noise estimate (unverified whether the service always sends it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

import anyio.to_thread

from ..._errors import emulator_error
from ..._ids import GUID
from ..._locales import TRANSCRIBE_LOCALES
from ..._media.sniff import ogg_opus_info, sniff_file, wav_format
from ..._media.spool import SpoolSet
from ..._recognizer import RecognitionRequest, RecognizerAudioError, RecognizerLimitation
from .assessment import ASSESSMENT_HEADER, AssessmentError, decode_assessment_header
from .errors import bad_request, invalid_audio, too_large, unsupported_media
from .shaping import shape_short_audio

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from ..._config import EmulatorConfig
    from ..._media.body import BodyTap
    from ..._media.sniff import AudioInfo, WavFormat
    from ..._media.spool import SpooledAudio
    from ..._recognizer import Recognizer
    from ..._text_forms import ProfanityOption
    from .assessment import AssessmentParams

__all__ = (
    "SHORT_AUDIO_MODES",
    "SHORT_AUDIO_PATHS",
    "ShortAudioRequest",
    "parse_short_audio_request",
    "recognize_short_audio",
)

SHORT_AUDIO_MODES: Final = ("conversation", "interactive", "dictation")
# One route for both host forms: the custom domain puts "stt/" before the regional path.
# unverified: mode names are matched exactly (lower case, as documented).
_REGIONAL_PATH: Final = "/speech/recognition/{mode:" + "|".join(SHORT_AUDIO_MODES) + "}/cognitiveservices/v1"
SHORT_AUDIO_PATHS: Final = (_REGIONAL_PATH, "/stt" + _REGIONAL_PATH)

Format = Literal["simple", "detailed"]
AudioKind = Literal["wav", "ogg"]

_CHUNK_BYTES: Final = 256 * 1024
_SAMPLE_RATE: Final = 16000
_BITS_PER_SAMPLE: Final = 16
_FORMATS: Final[dict[str, Format]] = {"simple": "simple", "detailed": "detailed"}
_PROFANITY: Final[dict[str, ProfanityOption]] = {"masked": "masked", "removed": "removed", "raw": "raw"}
# The profanity option in the fast-transcription terms that RecognitionRequest uses.
_RECOGNIZER_PROFANITY: Final = {"masked": "Masked", "removed": "Removed", "raw": "None"}
_LOCALES: Final = {locale.casefold(): locale for locale in TRANSCRIBE_LOCALES}
# Accepted Content-Type parameters, per media type: name -> the one accepted value (case-insensitive).
_MEDIA_TYPES: Final[dict[str, tuple[AudioKind, dict[str, str]]]] = {
    "audio/wav": ("wav", {"codecs": "audio/pcm", "samplerate": str(_SAMPLE_RATE)}),
    "audio/ogg": ("ogg", {"codecs": "opus"}),
}


@dataclass(frozen=True, kw_only=True)
class ShortAudioRequest:
    """The validated options of one short-audio request.

    Attributes:
        mode: ``conversation``, ``interactive`` or ``dictation``.
        language: The ``language`` query parameter, spelled as in the emulator's locale list.
        format: ``simple`` or ``detailed``.
        profanity: ``masked``, ``removed`` or ``raw``.
        cid: The custom endpoint id, if sent (accepted and recorded; no custom model is emulated).
        assessment: The pronunciation-assessment parameters, if the header was sent.
    """

    mode: str
    language: str
    format: Format = "simple"
    profanity: ProfanityOption = "masked"
    cid: str | None = None
    assessment: AssessmentParams | None = None


def _query_choice(query: Mapping[str, str], name: str, choices: Mapping[str, str], default: str) -> str:
    value = query.get(name)
    if value is None:
        return default
    # unverified: values are matched case-insensitively; "" is refused like any unknown value.
    chosen = choices.get(value.casefold())
    if chosen is None:
        allowed = ", ".join(choices)
        raise bad_request(f"The {name} parameter must be one of {allowed}, not '{value}'.")
    return chosen


def parse_short_audio_request(mode: str, query: Mapping[str, str], headers: Mapping[str, str]) -> ShortAudioRequest:
    """Validate the query parameters and the ``Pronunciation-Assessment`` header; 400 when invalid.

    Parameter names are matched exactly (lower case, as documented; unverified whether the service
    is stricter or looser).
    """
    language = query.get("language")
    if not language:
        # Documented: without language the request fails with a 4xx (400).
        raise bad_request("The language parameter is required, e.g. ?language=en-US.")
    # unverified: the list of locales (the emulator's own) and the case-insensitive match.
    canonical = _LOCALES.get(language.casefold())
    if canonical is None:
        raise bad_request(f"The language '{language}' is not supported.")
    response_format = _FORMATS[_query_choice(query, "format", _FORMATS, "simple")]
    profanity = _PROFANITY[_query_choice(query, "profanity", _PROFANITY, "masked")]
    cid = query.get("cid")
    # unverified: the service's answer to a cid that is not a GUID (or names no deployed endpoint:
    # the emulator has no custom models and recognizes with its base model whatever the cid).
    if cid is not None and GUID.fullmatch(cid) is None:
        raise bad_request(f"The cid parameter must be a custom endpoint id (a GUID), not '{cid}'.")
    assessment: AssessmentParams | None = None
    header = headers.get(ASSESSMENT_HEADER)
    if header is not None:
        try:
            assessment = decode_assessment_header(header)
        except AssessmentError as exc:
            # unverified: the status and body for an invalid Pronunciation-Assessment header.
            raise bad_request(f"The {ASSESSMENT_HEADER} header is invalid: {exc}.") from None
    return ShortAudioRequest(
        mode=mode, language=canonical, format=response_format, profanity=profanity, cid=cid, assessment=assessment
    )


def _audio_kind(content_type: str | None) -> AudioKind:
    """The container a ``Content-Type`` announces; 415 for any other type or parameter value.

    unverified: parameters other than ``codecs`` and ``samplerate`` are ignored; a listed parameter
    with another value (``samplerate=8000``) is refused like another media type.
    """
    if content_type is None:
        raise unsupported_media(None)
    media_type, *parameters = (piece.strip() for piece in content_type.split(";"))
    known = _MEDIA_TYPES.get(media_type.casefold())
    if known is None:
        raise unsupported_media(content_type)
    kind, accepted = known
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        expected = accepted.get(name.strip().casefold())
        if expected is not None and value.strip().strip('"').casefold() != expected:
            raise unsupported_media(content_type)
    return kind


async def _spool_body(body: BodyTap, spools: SpoolSet, *, limit: int, content_length: int | None) -> SpooledAudio:
    if content_length is not None and content_length > limit:
        raise too_large(limit)
    spool = await spools.create()
    while chunk := await body.read(_CHUNK_BYTES):
        if spool.size + len(chunk) > limit:
            raise too_large(limit)
        await spool.write(chunk)
    return await spool.finish()


def _sniff(path: Path) -> tuple[AudioInfo | None, WavFormat | None]:
    """WAV and Ogg/Opus headers only (blocking: run in a worker thread)."""
    with path.open("rb") as file:
        head = file.read(12)
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return sniff_file(path), wav_format(path)
    if head.startswith(b"OggS"):
        return ogg_opus_info(path), None
    return None, None


def _check_wav(info: AudioInfo, sample_format: WavFormat | None) -> None:
    if sample_format is None:
        raise invalid_audio("the WAV header has no format chunk")
    if sample_format.codec != "pcm":
        raise invalid_audio(f"the WAV codec is {sample_format.codec}, not PCM")
    if sample_format.bits_per_sample != _BITS_PER_SAMPLE:
        raise invalid_audio(f"the WAV samples have {sample_format.bits_per_sample} bits, not 16")
    if info.sample_rate != _SAMPLE_RATE:
        raise invalid_audio(f"the sample rate is {info.sample_rate} Hz, not 16000 Hz")


def _check_ogg(info: AudioInfo) -> None:
    # unverified: the OpusHead "input sample rate" must say 16 kHz (0, "unknown", is accepted); Opus
    # itself always decodes at 48 kHz.
    if info.sample_rate is not None and info.sample_rate != _SAMPLE_RATE:
        raise invalid_audio(f"the Opus input sample rate is {info.sample_rate} Hz, not 16000 Hz")
    if info.duration_ms is None:
        raise invalid_audio("the Ogg stream has no page with a granule position")


async def _inspect(audio: SpooledAudio, kind: AudioKind, limit_seconds: float, assessment: bool) -> AudioInfo:
    if audio.size == 0:
        raise bad_request("The request has no audio: send the audio in the body.")
    info, sample_format = await anyio.to_thread.run_sync(_sniff, audio.path)
    if info is None:
        raise invalid_audio("the body is neither a WAV file nor an Ogg/Opus stream")
    if info.format != kind:
        # unverified: a body that contradicts its Content-Type is refused as invalid audio.
        raise invalid_audio(f"the Content-Type says {kind.upper()}, the body is {info.format.upper()}")
    if kind == "wav":
        _check_wav(info, sample_format)
    else:
        _check_ogg(info)
    if info.channels != 1:
        raise invalid_audio(f"the audio has {info.channels} channels, not 1 (mono)")
    if not info.duration_ms:
        # unverified: a header without samples is refused rather than answered as silence.
        raise invalid_audio("the audio has no samples")
    _check_duration(info.duration_ms, limit_seconds, assessment)
    return info


def _check_duration(duration_ms: int, limit_seconds: float, assessment: bool) -> None:
    # Documented limits (60 s, 30 s with assessment); unverified: longer audio is refused with a 400
    # (the service may instead cut it).
    if duration_ms > limit_seconds * 1000:
        what = "with pronunciation assessment " if assessment else ""
        raise bad_request(
            f"The audio lasts {duration_ms / 1000:g} seconds; requests {what}take at most {limit_seconds:g} seconds."
        )


async def recognize_short_audio(
    *,
    mode: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    content_length: int | None,
    body: BodyTap,
    config: EmulatorConfig,
    recognizer: Recognizer,
) -> bytes:
    """Handle one short-audio request whose credentials were checked; the 200 body, or a ServiceError."""
    request = parse_short_audio_request(mode, query, headers)
    kind = _audio_kind(headers.get("Content-Type"))
    # unverified: the 30 s limit applies whenever the header is sent, whatever the format.
    assessing = request.assessment is not None
    limit_seconds = config.short_audio.max_assessment_seconds if assessing else config.short_audio.max_seconds
    spools = SpoolSet()
    try:
        audio = await _spool_body(body, spools, limit=config.short_audio.max_bytes, content_length=content_length)
        info = await _inspect(audio, kind, limit_seconds, assessing)
        recognition_request = RecognitionRequest(
            audio_path=audio.path,
            audio_sha256=audio.sha256,
            audio_format=info.format,
            audio_size=audio.size,
            audio_channels=info.channels,
            audio_duration_ms=info.duration_ms,
            locales=(request.language,),
            profanity_filter_mode=_RECOGNIZER_PROFANITY[request.profanity],
        )
        try:
            recognition = await recognizer.recognize(recognition_request)
        except RecognizerLimitation as exc:
            raise emulator_error(exc.code, str(exc)) from None
        except RecognizerAudioError as exc:
            raise invalid_audio(str(exc)) from None
        _check_duration(recognition.duration_ms, limit_seconds, assessing)
        return shape_short_audio(recognition, request)
    finally:
        await spools.aclose()
