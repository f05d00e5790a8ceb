"""Short-audio recognition: ``POST /speech/recognition/{mode}/cognitiveservices/v1``.

One request carries up to 60 seconds of WAV/PCM (16 kHz, 16-bit, mono) or Ogg/Opus audio as the raw
body, sent with chunked transfer and ``Expect: 100-continue`` so the service starts recognizing while
the audio is still arriving. The answer is a single final result. Everything that can be known before
sending (language, options, the audio's format and length) is checked here first.
"""

from __future__ import annotations

import base64
import dataclasses
import re
from typing import TYPE_CHECKING, Final

import msgspec
from yarl import URL

from .._audio import open_audio
from .._exceptions import InvalidAudioError, InvalidOptionsError
from .._formats import AudioHead, describe_head, format_for_extension, sniff
from .._http import json_decoder
from .._models._short_audio import PronunciationAssessment, RecognitionResult

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from .._audio import AudioSource
    from .._config import Limits, RetryPolicy, Timeouts
    from .._credentials import Authenticator
    from .._http import Transport

__all__ = ["MODES", "assessment_header", "recognize", "short_audio_base", "short_audio_url"]

MODES: Final = ("conversation", "interactive", "dictation")
FORMATS: Final = ("simple", "detailed")
PROFANITY: Final = ("masked", "removed", "raw")
WAV_CONTENT_TYPE: Final = "audio/wav; codecs=audio/pcm; samplerate=16000"
OGG_CONTENT_TYPE: Final = "audio/ogg; codecs=opus"
ASSESSMENT_HEADER: Final = "Pronunciation-Assessment"
_PATH: Final = "cognitiveservices/v1"
_REGIONAL_HOST: Final = re.compile(r"([a-z0-9]+)\.api\.cognitive\.microsoft\.com")
_CUSTOM_DOMAIN_SUFFIX: Final = ".cognitiveservices.azure.com"
# A BCP-47 tag as the service lists them: en-US, zh-Hans-CN, es-419.
_LANGUAGE: Final = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z]{4})?-([A-Za-z]{2}|[0-9]{3})")
_GUID: Final = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_GRADING: Final = ("FivePoint", "HundredMark")
_GRANULARITY: Final = ("Phoneme", "Word", "FullText")
_DIMENSION: Final = ("Basic", "Comprehensive")
_ENCODER: Final = msgspec.json.Encoder()
_ACCEPT_JSON: Final = "application/json"


def short_audio_base(endpoint: URL) -> URL:
    """Where the short-audio API lives for a resource endpoint.

    A regional endpoint (``https://eastus.api.cognitive.microsoft.com``) maps to the region's speech
    host (``https://eastus.stt.speech.microsoft.com``); a custom domain
    (``https://name.cognitiveservices.azure.com``) serves it under ``/stt``; any other endpoint (an
    emulator, a proxy) is taken to serve it directly.
    """
    host = (endpoint.host or "").lower()
    regional = _REGIONAL_HOST.fullmatch(host)
    if regional is not None:
        return URL.build(
            scheme=endpoint.scheme, host=f"{regional[1]}.stt.speech.microsoft.com", port=endpoint.explicit_port
        )
    if host.endswith(_CUSTOM_DOMAIN_SUFFIX):
        return endpoint / "stt"
    return endpoint


def short_audio_url(
    base: URL,
    *,
    mode: str,
    language: str,
    output_format: str,
    profanity: str | None,
    endpoint_id: str | None,
) -> URL:
    """The request URL, after checking each parameter against the documented values.

    Every value that goes into the path or the query is one of a fixed set or matches a strict pattern
    (a locale, a GUID), so none can carry a control character, a space or a delimiter.
    """
    if mode not in MODES:
        raise InvalidOptionsError(f"mode {mode!r} is not one of {', '.join(MODES)}")
    if not isinstance(language, str) or not _LANGUAGE.fullmatch(language):  # pyright: ignore[reportUnnecessaryIsInstance]
        text = str(language)
        hint = f" (did you mean {text.replace('_', '-')!r}?)" if "_" in text else ""
        raise InvalidOptionsError(
            f"language {language!r} is not a locale such as 'en-US'{hint}; short-audio recognition needs one"
        )
    if output_format not in FORMATS:
        raise InvalidOptionsError(f"output_format {output_format!r} is not 'simple' or 'detailed'")
    query = {"language": language, "format": output_format}
    if profanity is not None:
        if profanity not in PROFANITY:
            raise InvalidOptionsError(f"profanity {profanity!r} is not one of {', '.join(PROFANITY)}")
        query["profanity"] = profanity
    if endpoint_id is not None:
        if not isinstance(endpoint_id, str) or not _GUID.fullmatch(endpoint_id):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise InvalidOptionsError(f"endpoint_id {endpoint_id!r} is not a custom speech endpoint id (a GUID)")
        query["cid"] = endpoint_id
    return (base / "speech/recognition" / mode / _PATH).with_query(query)


def assessment_header(assessment: PronunciationAssessment) -> str:
    """The ``Pronunciation-Assessment`` header: the parameters as UTF-8 JSON, base64-encoded."""
    if not isinstance(assessment.reference_text, str) or not assessment.reference_text.strip():  # pyright: ignore[reportUnnecessaryIsInstance]
        raise InvalidOptionsError("pronunciation assessment needs the reference_text the speaker reads")
    for name, value, allowed in (
        ("grading_system", assessment.grading_system, _GRADING),
        ("granularity", assessment.granularity, _GRANULARITY),
        ("dimension", assessment.dimension, _DIMENSION),
    ):
        if value not in allowed:
            raise InvalidOptionsError(f"pronunciation assessment {name} {value!r} is not one of {', '.join(allowed)}")
    parameters: dict[str, str] = {
        "ReferenceText": assessment.reference_text,
        "GradingSystem": assessment.grading_system,
        "Granularity": assessment.granularity,
        "Dimension": assessment.dimension,
        # The documentation passes these flags as the strings "True" and "False".
        "EnableMiscue": str(bool(assessment.enable_miscue)),
    }
    if assessment.enable_prosody_assessment:
        parameters["EnableProsodyAssessment"] = "True"
    if assessment.scenario_id is not None:
        if not isinstance(assessment.scenario_id, str) or not _GUID.fullmatch(assessment.scenario_id):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise InvalidOptionsError(f"scenario_id {assessment.scenario_id!r} is not a GUID")
        parameters["ScenarioId"] = assessment.scenario_id
    return base64.b64encode(_ENCODER.encode(parameters)).decode("ascii")


class _AudioBody:
    """The audio itself as the request body: chunked (no length), or with its length when known."""

    __slots__ = ("_source", "content_type", "size")

    def __init__(self, source: AudioSource, content_type: str, *, chunked: bool) -> None:
        self._source = source
        self.content_type = content_type
        self.size = None if chunked else source.size

    @property
    def replayable(self) -> bool:
        return self._source.replayable

    def chunks(self) -> AsyncIterator[bytes | memoryview]:
        return self._source.chunks()


async def recognize(
    transport: Transport,
    url: URL,
    auth: Authenticator,
    *,
    audio: object,
    assessment: PronunciationAssessment | None,
    limits: Limits,
    filename: str | None,
    chunked: bool,
    retry: RetryPolicy | None,
    timeouts: Timeouts | None,
    spool: bool,
) -> RecognitionResult:
    """Check, upload and decode one short-audio recognition (``url`` is already checked).

    The call is idempotent (the service keeps nothing), so every transient failure may be retried, as
    long as the audio can be sent again.
    """
    headers = {"Accept": _ACCEPT_JSON}
    if assessment is not None:
        headers[ASSESSMENT_HEADER] = assessment_header(assessment)
    if audio is None:
        raise InvalidAudioError("no audio: pass a path, bytes, a file object or an async iterable")
    if isinstance(audio, str) and audio[:8].lower().startswith(("https://", "http://")):
        raise InvalidAudioError(
            "short-audio recognition takes the audio itself, not a URL: download it first, or use transcribe()"
        )
    limit = limits.max_short_audio_seconds
    if assessment is not None and limits.max_assessment_seconds is not None:
        limit = limits.max_assessment_seconds if limit is None else min(limit, limits.max_assessment_seconds)
    # Fast transcription's format list does not apply here: the check below is this API's own.
    general = dataclasses.replace(limits, check_audio_format=False, max_audio_seconds=None)
    source = await open_audio(audio, filename=filename, limits=general, spool=spool)
    try:
        head = await source.head()
        found = sniff(head, source.size) if head is not None else None
        content_type = _content_type(source, head, found, limits)
        if limit is not None and found is not None and found.seconds is not None and found.seconds > limit:
            what = "pronunciation assessment" if assessment is not None else "short-audio recognition"
            raise InvalidAudioError(
                f"the audio {source.filename!r} lasts {found.seconds:.1f} s; {what} takes at most {limit:g} s: "
                "use transcribe() (fast transcription) for longer audio"
            )
        body = _AudioBody(source, content_type, chunked=chunked)
        return await transport.request(
            "POST",
            url,
            headers=headers,
            decode=decode_result,
            auth=auth,
            body=body,
            idempotent=True,
            retry=retry,
            timeouts=timeouts,
            expect_continue=chunked,
        )
    finally:
        await source.aclose()


# Offset and Duration come as numbers or as strings of digits (both appear in the documentation).
decode_result: Final = json_decoder(msgspec.json.Decoder(RecognitionResult, strict=False), "the recognition result")
"""Decode a 200 response into a :class:`RecognitionResult`, keeping the raw body on failure."""


def _content_type(source: AudioSource, head: bytes | None, found: AudioHead | None, limits: Limits) -> str:
    if found is not None and found.format == "OGG":
        if limits.check_audio_format and found.codec not in ("opus", None):
            raise _wrong_format(source.filename, "an Ogg stream that is not Opus")
        if limits.check_audio_format and found.channels not in (1, None):
            raise _wrong_format(source.filename, f"Opus with {found.channels} channels")
        return OGG_CONTENT_TYPE
    if not limits.check_audio_format or found is None:
        return WAV_CONTENT_TYPE
    if found.format != "WAV":
        if found.format is None:
            assert head is not None
            claimed = format_for_extension(source.filename)
            named = f"; its name says {claimed}, but the content is not" if claimed else ""
            raise _wrong_format(source.filename, f"not audio (it starts with {describe_head(head)}{named})")
        raise _wrong_format(source.filename, found.format)
    problems: list[str] = []
    if found.codec not in ("pcm", None):
        problems.append("not PCM")
    if found.sample_rate not in (16000, None):
        problems.append(f"{found.sample_rate} Hz")
    if found.bits_per_sample not in (16, None):
        problems.append(f"{found.bits_per_sample}-bit")
    if found.channels not in (1, None):
        problems.append(f"{found.channels} channels")
    if problems:
        raise _wrong_format(source.filename, f"WAV that is {', '.join(problems)}")
    return WAV_CONTENT_TYPE


def _wrong_format(filename: str, what: str) -> InvalidAudioError:
    return InvalidAudioError(
        f"the audio {filename!r} is {what}: short-audio recognition takes WAV with 16-bit PCM at 16 kHz, "
        "mono, or Ogg/Opus, mono; convert it (for example: ffmpeg -i in -ar 16000 -ac 1 -c:a pcm_s16le out.wav), "
        "or use transcribe(), which takes many more formats"
    )
