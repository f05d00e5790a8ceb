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
   :attr:`EmulatorConfig.max_short_audio_bytes`, 400 when empty;
5. the audio: WAV with 16-bit PCM, 16 kHz, mono; or Ogg/Opus, mono, 16 kHz input -> 400; at most
   :attr:`EmulatorConfig.max_short_audio_seconds` (30 s with pronunciation assessment) -> 400.

Errors of this API have no documented body; the emulator answers ``{"code", "message"}``
(unverified), with ``code`` ``BadRequest``, ``UnsupportedMediaType`` or ``PayloadTooLarge``.

A 200 carries one result built from all the recognizer's phrases, in the documented shapes:
``simple`` is ``{"RecognitionStatus", "DisplayText", "Offset", "Duration"}``, ``detailed`` is
``{"RecognitionStatus", "Offset", "Duration", "NBest": [...]}`` with one NBest item (the service may
send several; unverified how many). Times are integers in 100-ns ticks. ``SNR`` is never sent: the
emulator has no honest signal-to-noise estimate (unverified whether the service always sends it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

import anyio.to_thread
import msgspec

from ._assessment import ASSESSMENT_HEADER, AssessmentError, assess, decode_assessment_header
from ._errors import ServiceError, emulator_error
from ._locales import TRANSCRIBE_LOCALES
from ._recognizer import RecognitionRequest, RecognizedWord, RecognizerAudioError, RecognizerLimitation
from ._sniff import ogg_opus_info, sniff_file, wav_format
from ._spool import SpoolSet
from ._text_forms import apply_profanity, dictation_display, itn_form, lexical_form

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from ._assessment import AssessedWord, Assessment, AssessmentParams
    from ._body import BodyTap
    from ._config import EmulatorConfig
    from ._recognizer import Recognition, RecognizedPhrase, Recognizer
    from ._sniff import AudioInfo, WavFormat
    from ._spool import SpooledAudio
    from ._text_forms import ProfanityOption

__all__ = (
    "SHORT_AUDIO_MODES",
    "SHORT_AUDIO_PATH",
    "ShortAudioRequest",
    "parse_short_audio_request",
    "recognize_short_audio",
    "shape_short_audio",
)

SHORT_AUDIO_MODES: Final = ("conversation", "interactive", "dictation")
# One resource for both host forms: the custom domain puts "stt/" before the regional path.
# unverified: mode names are matched exactly (lower case, as documented).
SHORT_AUDIO_PATH: Final = (
    "/{prefix:(?:stt/)?}speech/recognition/{mode:" + "|".join(SHORT_AUDIO_MODES) + "}/cognitiveservices/v1"
)

Format = Literal["simple", "detailed"]
AudioKind = Literal["wav", "ogg"]

_TICKS_PER_MS: Final = 10_000
_CHUNK_BYTES: Final = 256 * 1024
_SAMPLE_RATE: Final = 16000
_BITS_PER_SAMPLE: Final = 16
_FORMATS: Final[dict[str, Format]] = {"simple": "simple", "detailed": "detailed"}
_PROFANITY: Final[dict[str, ProfanityOption]] = {"masked": "masked", "removed": "removed", "raw": "raw"}
# The profanity option in the fast-transcription terms that RecognitionRequest uses.
_RECOGNIZER_PROFANITY: Final = {"masked": "Masked", "removed": "Removed", "raw": "None"}
_LOCALES: Final = {locale.casefold(): locale for locale in TRANSCRIBE_LOCALES}
_GUID: Final = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_AUDIO_RULES: Final = (
    "The API accepts WAV (PCM, 16-bit, 16 kHz, mono) or OGG (Opus, mono, 16 kHz): "
    "audio/wav; codecs=audio/pcm; samplerate=16000 or audio/ogg; codecs=opus."
)
# Accepted Content-Type parameters, per media type: name -> the one accepted value (case-insensitive).
_MEDIA_TYPES: Final[dict[str, tuple[AudioKind, dict[str, str]]]] = {
    "audio/wav": ("wav", {"codecs": "audio/pcm", "samplerate": str(_SAMPLE_RATE)}),
    "audio/ogg": ("ogg", {"codecs": "opus"}),
}


def _bad_request(message: str) -> ServiceError:
    # unverified: the body of this API's 400s (see the module docstring).
    return ServiceError(400, "BadRequest", message)


def _invalid_audio(detail: str) -> ServiceError:
    # Documented: 400 for an invalid audio file.
    return _bad_request(f"The audio file is invalid: {detail}. {_AUDIO_RULES}")


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
        raise _bad_request(f"The {name} parameter must be one of {allowed}, not '{value}'.")
    return chosen


def parse_short_audio_request(mode: str, query: Mapping[str, str], headers: Mapping[str, str]) -> ShortAudioRequest:
    """Validate the query parameters and the ``Pronunciation-Assessment`` header; 400 when invalid.

    Parameter names are matched exactly (lower case, as documented; unverified whether the service
    is stricter or looser).
    """
    language = query.get("language")
    if not language:
        # Documented: without language the request fails with a 4xx (400).
        raise _bad_request("The language parameter is required, e.g. ?language=en-US.")
    # unverified: the list of locales (the emulator's own) and the case-insensitive match.
    canonical = _LOCALES.get(language.casefold())
    if canonical is None:
        raise _bad_request(f"The language '{language}' is not supported.")
    response_format = _FORMATS[_query_choice(query, "format", _FORMATS, "simple")]
    profanity = _PROFANITY[_query_choice(query, "profanity", _PROFANITY, "masked")]
    cid = query.get("cid")
    # unverified: the service's answer to a cid that is not a GUID (or names no deployed endpoint:
    # the emulator has no custom models and recognizes with its base model whatever the cid).
    if cid is not None and _GUID.fullmatch(cid) is None:
        raise _bad_request(f"The cid parameter must be a custom endpoint id (a GUID), not '{cid}'.")
    assessment: AssessmentParams | None = None
    header = headers.get(ASSESSMENT_HEADER)
    if header is not None:
        try:
            assessment = decode_assessment_header(header)
        except AssessmentError as exc:
            # unverified: the status and body for an invalid Pronunciation-Assessment header.
            raise _bad_request(f"The {ASSESSMENT_HEADER} header is invalid: {exc}.") from None
    return ShortAudioRequest(
        mode=mode, language=canonical, format=response_format, profanity=profanity, cid=cid, assessment=assessment
    )


def _unsupported_media(sent: str | None) -> ServiceError:
    # unverified: status 415 and its body (the digest: "415 for an unsupported content type").
    shown = "none" if sent is None else f"'{sent}'"
    return ServiceError(415, "UnsupportedMediaType", f"The content type {shown} is not supported. {_AUDIO_RULES}")


def _audio_kind(content_type: str | None) -> AudioKind:
    """The container a ``Content-Type`` announces; 415 for any other type or parameter value.

    unverified: parameters other than ``codecs`` and ``samplerate`` are ignored; a listed parameter
    with another value (``samplerate=8000``) is refused like another media type.
    """
    if content_type is None:
        raise _unsupported_media(None)
    media_type, *parameters = (piece.strip() for piece in content_type.split(";"))
    known = _MEDIA_TYPES.get(media_type.casefold())
    if known is None:
        raise _unsupported_media(content_type)
    kind, accepted = known
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        expected = accepted.get(name.strip().casefold())
        if expected is not None and value.strip().strip('"').casefold() != expected:
            raise _unsupported_media(content_type)
    return kind


def _too_large(limit: int) -> ServiceError:
    # unverified: status 413 and the body; the rest of the upload is not read, so the connection closes.
    return ServiceError(
        413, "PayloadTooLarge", f"The audio exceeds the maximum size of {limit} bytes.", close_connection=True
    )


async def _spool_body(body: BodyTap, spools: SpoolSet, *, limit: int, content_length: int | None) -> SpooledAudio:
    if content_length is not None and content_length > limit:
        raise _too_large(limit)
    spool = await spools.create()
    while chunk := await body.read(_CHUNK_BYTES):
        if spool.size + len(chunk) > limit:
            raise _too_large(limit)
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
        raise _invalid_audio("the WAV header has no format chunk")
    if sample_format.codec != "pcm":
        raise _invalid_audio(f"the WAV codec is {sample_format.codec}, not PCM")
    if sample_format.bits_per_sample != _BITS_PER_SAMPLE:
        raise _invalid_audio(f"the WAV samples have {sample_format.bits_per_sample} bits, not 16")
    if info.sample_rate != _SAMPLE_RATE:
        raise _invalid_audio(f"the sample rate is {info.sample_rate} Hz, not 16000 Hz")


def _check_ogg(info: AudioInfo) -> None:
    # unverified: the OpusHead "input sample rate" must say 16 kHz (0, "unknown", is accepted); Opus
    # itself always decodes at 48 kHz.
    if info.sample_rate is not None and info.sample_rate != _SAMPLE_RATE:
        raise _invalid_audio(f"the Opus input sample rate is {info.sample_rate} Hz, not 16000 Hz")
    if info.duration_ms is None:
        raise _invalid_audio("the Ogg stream has no page with a granule position")


async def _inspect(audio: SpooledAudio, kind: AudioKind, limit_seconds: float, assessment: bool) -> AudioInfo:
    if audio.size == 0:
        raise _bad_request("The request has no audio: send the audio in the body.")
    info, sample_format = await anyio.to_thread.run_sync(_sniff, audio.path)
    if info is None:
        raise _invalid_audio("the body is neither a WAV file nor an Ogg/Opus stream")
    if info.format != kind:
        # unverified: a body that contradicts its Content-Type is refused as invalid audio.
        raise _invalid_audio(f"the Content-Type says {kind.upper()}, the body is {info.format.upper()}")
    if kind == "wav":
        _check_wav(info, sample_format)
    else:
        _check_ogg(info)
    if info.channels != 1:
        raise _invalid_audio(f"the audio has {info.channels} channels, not 1 (mono)")
    if not info.duration_ms:
        # unverified: a header without samples is refused rather than answered as silence.
        raise _invalid_audio("the audio has no samples")
    _check_duration(info.duration_ms, limit_seconds, assessment)
    return info


def _check_duration(duration_ms: int, limit_seconds: float, assessment: bool) -> None:
    # Documented limits (60 s, 30 s with assessment); unverified: longer audio is refused with a 400
    # (the service may instead cut it).
    if duration_ms > limit_seconds * 1000:
        what = "with pronunciation assessment " if assessment else ""
        raise _bad_request(
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
    limit_seconds = config.max_assessment_seconds if assessing else config.max_short_audio_seconds
    spools = SpoolSet()
    try:
        audio = await _spool_body(body, spools, limit=config.max_short_audio_bytes, content_length=content_length)
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
            raise _invalid_audio(str(exc)) from None
        _check_duration(recognition.duration_ms, limit_seconds, assessing)
        return shape_short_audio(recognition, request)
    finally:
        await spools.aclose()


# --- response shapes -------------------------------------------------------------------------------


class _SimpleBody(msgspec.Struct, kw_only=True, omit_defaults=True, rename="pascal"):
    """``format=simple``: key order as in the documented sample."""

    recognition_status: str
    display_text: str | None = None
    offset: int
    duration: int


class _Confidence(msgspec.Struct, kw_only=True, rename="pascal"):
    confidence: float


class _Break(msgspec.Struct, kw_only=True, omit_defaults=True, rename="pascal"):
    error_types: list[str]
    unexpected_break: _Confidence | None = None
    missing_break: _Confidence | None = None
    break_length: int


class _Monotone(msgspec.Struct, kw_only=True, rename="pascal"):
    confidence: float
    word_pitch_slope_confidence: float
    syllable_pitch_delta_confidence: float


class _Intonation(msgspec.Struct, kw_only=True, rename="pascal"):
    error_types: list[str]
    monotone: _Monotone


class _Prosody(msgspec.Struct, kw_only=True, rename="pascal"):
    break_: _Break = msgspec.field(name="Break")
    intonation: _Intonation


class _Feedback(msgspec.Struct, kw_only=True, rename="pascal"):
    prosody: _Prosody


class _Word(msgspec.Struct, kw_only=True, omit_defaults=True, rename="pascal"):
    word: str
    offset: int
    duration: int
    confidence: float
    accuracy_score: float
    error_type: str | None = None
    feedback: _Feedback | None = None


class _NBest(msgspec.Struct, kw_only=True, omit_defaults=True, rename="pascal"):
    """One ``NBest`` item: key order as in the documented pronunciation-assessment sample."""

    confidence: float
    lexical: str
    itn: str = msgspec.field(name="ITN")
    masked_itn: str = msgspec.field(name="MaskedITN")
    display: str
    accuracy_score: float | None = None
    fluency_score: float | None = None
    prosody_score: float | None = None
    completeness_score: float | None = None
    pron_score: float | None = None
    words: list[_Word] | None = None


class _DetailedBody(msgspec.Struct, kw_only=True, omit_defaults=True, rename="pascal"):
    """``format=detailed``; ``DisplayText`` only with pronunciation assessment (as in the samples)."""

    recognition_status: str
    offset: int
    duration: int
    display_text: str | None = None
    n_best: list[_NBest] | None = msgspec.field(default=None, name="NBest")


_ENCODER: Final = msgspec.json.Encoder()
# unverified: no pitch analysis is done, so no monotone intonation is ever detected.
_NO_MONOTONE: Final = _Intonation(
    error_types=[],
    monotone=_Monotone(confidence=0.0, word_pitch_slope_confidence=0.0, syllable_pitch_delta_confidence=0.0),
)


def _ticks(milliseconds: int) -> int:
    return milliseconds * _TICKS_PER_MS


def _language(tag: str) -> str:
    return tag.split("-", 1)[0].casefold()


def _status_only(status: str, offset_ms: int, duration_ms: int, response_format: Format) -> bytes:
    offset, duration = _ticks(offset_ms), _ticks(duration_ms)
    if response_format == "simple":
        return _ENCODER.encode(_SimpleBody(recognition_status=status, offset=offset, duration=duration))
    return _ENCODER.encode(_DetailedBody(recognition_status=status, offset=offset, duration=duration))


def _words(phrase: RecognizedPhrase) -> tuple[RecognizedWord, ...]:
    if phrase.words:
        return phrase.words
    # A recognizer may leave words out: spread the phrase's words evenly over it.
    tokens = phrase.text.split()
    return tuple(
        RecognizedWord(
            text=token,
            offset_ms=phrase.offset_ms + phrase.duration_ms * index // len(tokens),
            duration_ms=phrase.duration_ms * (index + 1) // len(tokens) - phrase.duration_ms * index // len(tokens),
        )
        for index, token in enumerate(tokens)
    )


class _Scale:
    """Scores from 0-100 to the requested grading system (unverified: the rounding)."""

    def __init__(self, params: AssessmentParams) -> None:
        self._five_point = params.grading_system == "FivePoint"

    def __call__(self, score: float) -> float:
        return round(score / 20, 2) if self._five_point else round(score, 1)


def _feedback(word: AssessedWord) -> _Feedback | None:
    feedback = word.prosody
    if feedback is None:
        return None
    unexpected = None if feedback.unexpected_break is None else _Confidence(confidence=feedback.unexpected_break)
    missing = None if feedback.missing_break is None else _Confidence(confidence=feedback.missing_break)
    brk = _Break(
        error_types=list(feedback.error_types),
        unexpected_break=unexpected,
        missing_break=missing,
        break_length=feedback.break_length_ticks,
    )
    return _Feedback(prosody=_Prosody(break_=brk, intonation=_NO_MONOTONE))


def _assessed_words(params: AssessmentParams, assessment: Assessment, scale: _Scale) -> list[_Word] | None:
    """``Words``; unverified: which entries and members each granularity and dimension shows."""
    if params.granularity == "FullText":
        return None
    comprehensive = params.dimension == "Comprehensive"
    # Omissions and insertions are shown only with EnableMiscue (documented) and only where error
    # types are (Comprehensive); otherwise the words heard for a reference word are listed.
    miscue = comprehensive and params.enable_miscue
    words: list[_Word] = []
    for word in assessment.words:
        if word.error_type in ("Omission", "Insertion") and not miscue:
            continue
        words.append(
            _Word(
                word=word.word,
                offset=_ticks(word.offset_ms),
                duration=_ticks(word.duration_ms),
                # The documented sample's words all have Confidence 0.0.
                confidence=0.0,
                accuracy_score=scale(word.accuracy),
                error_type=word.error_type if comprehensive else None,
                feedback=_feedback(word) if params.enable_prosody else None,
            )
        )
    return words


def _assessed_item(item: _NBest, params: AssessmentParams, words: Sequence[RecognizedWord], *, language: str) -> _NBest:
    """The NBest item with scores; unverified: ``Basic`` shows accuracy (and prosody) only."""
    assessment = assess(params, words, language=language)
    scale = _Scale(params)
    comprehensive = params.dimension == "Comprehensive"
    item.accuracy_score = scale(assessment.accuracy)
    if assessment.prosody is not None:
        item.prosody_score = scale(assessment.prosody)
    if comprehensive:
        item.fluency_score = scale(assessment.fluency)
        item.completeness_score = scale(assessment.completeness)
        item.pron_score = scale(assessment.pronunciation)
    item.words = _assessed_words(params, assessment, scale)
    return item


def shape_short_audio(recognition: Recognition, request: ShortAudioRequest) -> bytes:
    """The 200 body for ``recognition``: its phrases joined, in time order, into one result.

    ``RecognitionStatus`` (all unverified but ``Success``):

    * ``InitialSilenceTimeout`` when nothing was heard, with ``Offset`` = the audio's duration
      and ``Duration`` 0 (as in a logged real answer for silent audio);
    * ``NoMatch`` when every phrase heard is in another language than ``language`` (the phrase's
      ``locale``), or when ``profanity=removed`` left no text (documented: "no speech result"),
      with the span of the speech as ``Offset`` / ``Duration``;
    * ``Success`` otherwise, from the phrases in the requested language.

    Text forms (see :mod:`._text_forms`): ``Display`` is the recognizer's text (spoken punctuation
    converted in ``dictation`` mode) with the profanity option applied; ``Lexical`` and ``ITN`` are
    unfiltered, ``MaskedITN`` carries the profanity option (unverified: which forms the service
    filters). ``Confidence`` is the mean of the phrases' confidences.
    """
    phrases = sorted((p for p in recognition.phrases if p.text.strip()), key=lambda p: p.offset_ms)
    if not phrases:
        return _status_only("InitialSilenceTimeout", recognition.duration_ms, 0, request.format)
    start = phrases[0].offset_ms
    end = max(p.offset_ms + p.duration_ms for p in phrases)
    language = _language(request.language)
    phrases = [p for p in phrases if _language(p.locale) == language]
    if not phrases:
        return _status_only("NoMatch", start, end - start, request.format)
    start = phrases[0].offset_ms
    end = max(p.offset_ms + p.duration_ms for p in phrases)
    text = " ".join(p.text.strip() for p in phrases)
    display = dictation_display(text) if request.mode == "dictation" else text
    display = apply_profanity(display, request.profanity)
    if not display.strip():
        return _status_only("NoMatch", start, end - start, request.format)
    offset, duration = _ticks(start), _ticks(end - start)
    if request.format == "simple":
        # unverified: the simple format carries no assessment scores (the docs use detailed for them).
        body = _SimpleBody(recognition_status="Success", display_text=display, offset=offset, duration=duration)
        return _ENCODER.encode(body)
    itn = itn_form(text)
    item = _NBest(
        confidence=round(sum(p.confidence for p in phrases) / len(phrases), 8),
        lexical=lexical_form(text, request.language),
        itn=itn,
        masked_itn=apply_profanity(itn, request.profanity),
        display=display,
    )
    params = request.assessment
    if params is None:
        detailed = _DetailedBody(recognition_status="Success", offset=offset, duration=duration, n_best=[item])
        return _ENCODER.encode(detailed)
    words = [word for phrase in phrases for word in _words(phrase)]
    item = _assessed_item(item, params, words, language=request.language)
    detailed = _DetailedBody(
        recognition_status="Success", offset=offset, duration=duration, display_text=display, n_best=[item]
    )
    return _ENCODER.encode(detailed)
