"""Short-audio recognition: ``POST /speech/recognition/{mode}/cognitiveservices/v1``.

One request carries up to 60 seconds of WAV/PCM (16 kHz, 16-bit, mono) or Ogg/Opus audio as the raw
body. Files and streams go with chunked transfer and ``Expect: 100-continue``, so the service starts
recognizing while the audio is still arriving; bytes already in memory go with a ``Content-Length`` in
one write (there is nothing to stream, and the wait for ``100 Continue`` would only hold them back).
The answer is a single final result. Everything that can be known before sending (language, options,
the audio's format and length) is checked here first, by :class:`ShortAudioOperations`. The API's own
way of taking Entra tokens (``aad#<resource id>#<token>``) is here too.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Literal

import msgspec
from yarl import URL

from .._audio import check_audio_text, is_audio_url, open_bytes, open_source
from .._authenticators import TokenAuthenticator
from .._bodies import JSON_CONTENT_TYPE, AudioBody
from .._exceptions import InvalidAudioError, InvalidOptionsError
from .._formats import AudioHead, describe_head, format_for_extension, sniff
from .._headers import AUTHORIZATION_HEADER
from .._http import json_decoder
from .._models._short_audio import PronunciationAssessment, RecognitionMode, RecognitionResult
from .._options import struct_from_mapping
from .._resource import AsyncResource

if TYPE_CHECKING:
    from .._audio import AudioInput, AudioSource
    from .._config import RetryPolicy, ShortAudioLimits, Timeouts
    from .._http import Authenticator
    from .._token_cache import TokenStats

__all__ = [
    "MODES",
    "ShortAudioOperations",
    "assessment_header",
    "check_resource_id",
    "short_audio_authenticator",
    "short_audio_base",
    "short_audio_url",
]

MODES: Final = ("conversation", "interactive", "dictation")
FORMATS: Final = ("simple", "detailed")
PROFANITY: Final = ("masked", "removed", "raw")
WAV_CONTENT_TYPE: Final = "audio/wav; codecs=audio/pcm; samplerate=16000"
OGG_CONTENT_TYPE: Final = "audio/ogg; codecs=opus"
ASSESSMENT_HEADER: Final = "Pronunciation-Assessment"
AAD_PREFIX: Final = "aad#"
"""The short-audio API takes an Entra token as ``Bearer aad#<resource id>#<token>``."""
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
_RESOURCE_ID: Final = re.compile(
    r"/subscriptions/[0-9a-fA-F-]{36}/resourceGroups/[-\w.()]{1,90}/providers/"
    r"Microsoft\.CognitiveServices/accounts/[A-Za-z0-9][A-Za-z0-9_.-]{1,63}",
    re.IGNORECASE,
)


class ShortAudioOperations(AsyncResource):
    """Short-audio recognition, as a method of :class:`SpeechClient`."""

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
        chunked: bool | None = None,
        filename: str | None = None,
        retry: RetryPolicy | int | None = None,
        timeout: Timeouts | float | None = None,
        spool: bool = False,
    ) -> RecognitionResult:
        """Recognize up to 60 seconds of speech with the REST API for short audio.

        Files and streams are sent with chunked transfer, so the service recognizes while the audio
        arrives; bytes in memory go with a ``Content-Length`` in one write. The answer is one final
        result. The audio must be WAV (16-bit PCM, 16 kHz, mono) or Ogg/Opus; use :meth:`transcribe`
        for longer audio or other formats.

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
            chunked: ``True`` sends with ``Transfer-Encoding: chunked`` and ``Expect: 100-continue`` (the
                documented way to stream); ``False`` sends a ``Content-Length`` when the size is known.
                The default (``None``) streams paths, file objects and async iterables chunked and sends
                in-memory audio (``bytes``, ``bytearray``, ``memoryview``, ``BytesIO``) with its length.
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
        if type(audio) is not bytes:  # the commonest audio is neither text, nor missing, nor a URL
            check_audio_text(audio)
            if audio is None:
                raise InvalidAudioError("no audio: pass a path, bytes, a file object or an async iterable")
            if is_audio_url(audio):
                raise InvalidAudioError(
                    "short-audio recognition takes the audio itself, not a URL: download it first, or use transcribe()"
                )
        call = self._call_options(retry, timeout)
        if self._ctx.life.ready() is None:
            await self._ctx.life.ensure_open()
        if output_format is None:
            output_format = "simple" if pronunciation_assessment is None else "detailed"
        elif pronunciation_assessment is not None and output_format != "detailed":
            raise InvalidOptionsError(
                "pronunciation assessment scores come in the detailed output: leave output_format out, "
                "or pass output_format='detailed'"
            )
        ctx = self._ctx
        url = _url(
            ctx.short_audio_base,
            mode=mode,
            language=language,
            output_format=output_format,
            profanity=profanity,
            endpoint_id=endpoint_id,
        )
        auth = ctx.short_audio_auth.get()
        assessment = (
            struct_from_mapping(PronunciationAssessment, pronunciation_assessment)
            if isinstance(pronunciation_assessment, Mapping)
            else pronunciation_assessment
        )
        headers: Mapping[str, str] = (
            _ACCEPT_JSON
            if assessment is None
            else {"Accept": JSON_CONTENT_TYPE, ASSESSMENT_HEADER: assessment_header(assessment)}
        )
        limits = ctx.short_audio_limits
        limit = limits.max_seconds
        if assessment is not None and limits.max_assessment_seconds is not None:
            limit = limits.max_assessment_seconds if limit is None else min(limit, limits.max_assessment_seconds)
        # Only what every upload needs: fast transcription's formats and duration do not apply here,
        # the checks below are this API's own.
        source = open_bytes(audio, filename=filename, upload=ctx.upload_limits) or await open_source(
            audio, filename=filename, upload=ctx.upload_limits, spool=spool
        )
        try:
            head = source.known_head()
            if head is None:
                head = await source.head()
            found = sniff(head, source.size) if head is not None else None
            content_type = _content_type(source, head, found, limits)
            if limit is not None and found is not None and found.seconds is not None and found.seconds > limit:
                what = "pronunciation assessment" if assessment is not None else "short-audio recognition"
                raise InvalidAudioError(
                    f"the audio {source.filename!r} lasts {found.seconds:.1f} s; {what} takes at most {limit:g} s: "
                    "use transcribe() (fast transcription) for longer audio"
                )
            # In-memory audio goes in one write with its length: the 100-continue round trip before
            # it would delay it, and there is no reading to overlap with the sending. (Whether the
            # service starts recognizing a sized body before it has fully arrived is unverified.)
            stream = not source.in_memory if chunked is None else chunked
            # The service keeps nothing: every transient failure may be retried, as long as the audio
            # can be sent again.
            return await self._request(
                "POST",
                url,
                headers=headers,
                decode=decode_result,
                auth=auth,
                body=AudioBody(source, content_type, chunked=stream),
                idempotent=True,
                call=call,
                expect_continue=stream,
            )
        finally:
            await source.aclose()


_ACCEPT_JSON: Final[Mapping[str, str]] = MappingProxyType({"Accept": JSON_CONTENT_TYPE})
"""The headers of a recognition without assessment (the transport copies them into each attempt's own)."""


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


@functools.lru_cache(maxsize=256)
def _cached_url(
    base: URL, mode: str, language: str, output_format: str, profanity: str | None, endpoint_id: str | None
) -> URL:
    return short_audio_url(
        base, mode=mode, language=language, output_format=output_format, profanity=profanity, endpoint_id=endpoint_id
    )


def _url(
    base: URL,
    *,
    mode: str,
    language: str,
    output_format: str,
    profanity: str | None,
    endpoint_id: str | None,
) -> URL:
    """:func:`short_audio_url`, built and checked once per client and set of parameters (a miss raises anew)."""
    if (
        type(mode) is str
        and type(language) is str
        and type(output_format) is str
        and (profanity is None or type(profanity) is str)
        and (endpoint_id is None or type(endpoint_id) is str)
    ):
        return _cached_url(base, mode, language, output_format, profanity, endpoint_id)
    return short_audio_url(  # not text (a caller's mistake, or a str subclass): checked, never cached
        base, mode=mode, language=language, output_format=output_format, profanity=profanity, endpoint_id=endpoint_id
    )


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


# Offset and Duration come as numbers or as strings of digits (both appear in the documentation).
decode_result: Final = json_decoder(msgspec.json.Decoder(RecognitionResult, strict=False), "the recognition result")
"""Decode a 200 response into a :class:`RecognitionResult`, keeping the raw body on failure."""


def _content_type(
    source: AudioSource, head: bytes | memoryview | None, found: AudioHead | None, limits: ShortAudioLimits
) -> str:
    if (
        found is not None
        and found.codec == "pcm"
        and found.sample_rate == 16000
        and found.bits_per_sample == 16
        and found.channels == 1
        and found.format == "WAV"
    ):
        return WAV_CONTENT_TYPE  # the usual audio, at once (what every check below would let through)
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


class _AadAuthenticator:
    """Entra tokens from another authenticator's cache, in the short-audio API's ``aad#`` form."""

    __slots__ = ("_inner", "_prefix")

    def __init__(self, inner: TokenAuthenticator, resource_id: str) -> None:
        self._inner = inner
        self._prefix = f"Bearer {AAD_PREFIX}{resource_id}#"

    async def headers(self) -> Mapping[str, str]:
        return {AUTHORIZATION_HEADER: self._prefix + await self._inner.token()}

    def current(self) -> None:
        return None

    async def invalidate(self, headers: Mapping[str, str]) -> bool:
        # The refused value carries the token last; resource ids hold no '#'.
        token = headers.get(AUTHORIZATION_HEADER, "").removeprefix(self._prefix).rpartition("#")[2]
        return await self._inner.invalidate({AUTHORIZATION_HEADER: f"Bearer {token}"})

    @property
    def stats(self) -> TokenStats | None:
        return self._inner.stats

    async def close(self) -> None:
        pass  # the cache and the credential belong to the inner authenticator

    def __repr__(self) -> str:
        return "AadAuthenticator(<redacted>)"


def short_audio_authenticator(auth: Authenticator, resource_id: str | None) -> Authenticator:
    """The authenticator for the short-audio API, which takes Entra tokens only as ``aad#<resourceId>#<token>``.

    Every other credential authenticates short audio as it does the other APIs.
    """
    if not (isinstance(auth, TokenAuthenticator) and auth.entra):
        return auth
    if resource_id is None:
        raise InvalidOptionsError(
            "short-audio recognition with Microsoft Entra ID needs the Speech resource's id: "
            "SpeechClient(..., resource_id='/subscriptions/<subscription>/resourceGroups/<group>/providers/"
            "Microsoft.CognitiveServices/accounts/<name>')"
        )
    return _AadAuthenticator(auth, resource_id)


def check_resource_id(resource_id: str) -> str:
    """Check the shape of an Azure Resource Manager id of a Cognitive Services account."""
    if not isinstance(resource_id, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"resource_id must be a str, got {type(resource_id).__name__}")
    text = resource_id.strip()
    if not _RESOURCE_ID.fullmatch(text):
        raise InvalidOptionsError(
            f"resource_id {resource_id!r} is not a Speech resource id such as '/subscriptions/<subscription id>/"
            "resourceGroups/<group>/providers/Microsoft.CognitiveServices/accounts/<name>' "
            "(the portal shows it under the resource's Properties, or: az cognitiveservices account show --query id)"
        )
    return text
