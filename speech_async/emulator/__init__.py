"""A local emulator of the Azure AI Speech speech-to-text REST APIs (what Azurite is to Storage).

An aiohttp server on loopback that answers fast transcription
(``POST /speechtotext/transcriptions:transcribe``), the REST API for short audio
(``POST /speech/recognition/{mode}/cognitiveservices/v1``, also under ``/stt/`` as on a custom
domain, with pronunciation assessment), batch transcription in all four versions (jobs on
:attr:`EmulatorConfig.clock`, timed by :class:`BatchConfig`; audio fetched from the content URLs or a
blob container, result files at SAS-style URLs), web hooks (a validation challenge, then signed
callbacks of transcription events to ``webUrl``, retried per :class:`WebHookConfig`, recorded in
:attr:`Emulator.webhook_deliveries`), the supported locales (api-version and v3.x forms)
and the v3.1 health status (:meth:`Emulator.set_health`) like the real service: same paths, query parameters,
headers, status codes, error bodies, limits and JSON shapes. Recognition is real (faster-whisper,
with the ``asr`` extra) or scripted (transcripts registered per audio content). Callers
authenticate with a key, with a token from ``POST /sts/v1.0/issueToken``, or with an Entra-style
test token (:class:`EmulatorTokenCredential`), which short audio takes as
``aad#{EmulatorConfig.resource_id}#{token}``; token time follows :attr:`EmulatorConfig.clock`, so
tests expire tokens without waiting. Behaviour the public sources leave open is marked
"unverified" in the code. Faults are injected on demand (:class:`Fault`, :attr:`Emulator.faults`,
``--fault``): error statuses, slow or dropped connections, undecodable answers, tokens expiring
early; every request's body is hashed as received, so tests can prove that retried uploads were
byte-exact.

Run it in your event loop (:class:`Emulator`), in a thread for synchronous code
(:func:`serve_in_thread`), under your own runner (:func:`create_app`), from the command line
(``speech-async emulator`` or ``python -m speech_async.emulator``), or in pytest
(:mod:`speech_async.emulator.pytest_plugin`).
"""

from ._app import create_app
from ._cli import main
from ._config import BatchConfig, EmulatorConfig, FastConfig, ShortAudioConfig, TokenConfig, WebHookConfig
from ._credential import EmulatorTokenCredential
from ._faults import ALL_FAULT_KINDS, AppliedFault, Fault, FaultPlan, RandomFaults
from ._recognizer import (
    Recognition,
    RecognitionRequest,
    RecognizedPhrase,
    RecognizedWord,
    Recognizer,
    RecognizerAudioError,
    RecognizerLimitation,
)
from ._recording import RecordedPart, RecordedRequest
from ._resources.health.model import HealthComponent, ServiceHealth
from ._resources.webhooks.backend import WebHookDelivery
from ._scripted import ScriptedPhrase, ScriptedRecognizer, ScriptedTranscript, ScriptedWord
from ._server import Emulator, serve_in_thread
from ._wav import make_wav, wav_header
from ._whisper import ModelIntegrityError, WhisperModelError, WhisperRecognizer

__all__ = (
    "ALL_FAULT_KINDS",
    "AppliedFault",
    "BatchConfig",
    "Emulator",
    "EmulatorConfig",
    "EmulatorTokenCredential",
    "FastConfig",
    "Fault",
    "FaultPlan",
    "HealthComponent",
    "ModelIntegrityError",
    "RandomFaults",
    "Recognition",
    "RecognitionRequest",
    "RecognizedPhrase",
    "RecognizedWord",
    "Recognizer",
    "RecognizerAudioError",
    "RecognizerLimitation",
    "RecordedPart",
    "RecordedRequest",
    "ScriptedPhrase",
    "ScriptedRecognizer",
    "ScriptedTranscript",
    "ScriptedWord",
    "ServiceHealth",
    "ShortAudioConfig",
    "TokenConfig",
    "WebHookConfig",
    "WebHookDelivery",
    "WhisperModelError",
    "WhisperRecognizer",
    "create_app",
    "main",
    "make_wav",
    "serve_in_thread",
    "wav_header",
)


def _adopt_public_names() -> None:
    # Public objects report this package as their module (reprs, docs), not the private modules.
    for name in __all__:
        obj = globals()[name]
        if getattr(obj, "__module__", "").startswith(__name__ + "._"):
            obj.__module__ = __name__


_adopt_public_names()
del _adopt_public_names
