"""speech_async: an asyncio client for the Azure AI Speech speech-to-text REST APIs.

Everything public is imported from here; the modules behind it are private. The service emulator is
the public subpackage :mod:`speech_async.emulator`.
"""

from ._client import SpeechClient
from ._config import LATEST_API_VERSION, ApiVersion, Limits, RetryPolicy, Timeouts
from ._credentials import BearerToken, IssueTokenCredential, KeyCredential
from ._exceptions import (
    AudioNotReplayableError,
    AudioSourceError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    CredentialError,
    InvalidAudioError,
    InvalidInputError,
    InvalidOptionsError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ResponseDecodeError,
    ServiceError,
    SpeechConnectionError,
    SpeechError,
    SpeechStatusError,
    SpeechTimeoutError,
    UnprocessableEntityError,
    UnsupportedMediaTypeError,
)
from ._models._errors import ErrorDetail, InnerError
from ._models._fast import (
    CombinedPhrase,
    DiarizationOptions,
    EnhancedMode,
    EnhancedModelOptions,
    Phrase,
    PhraseList,
    ProfanityFilterMode,
    TranscriptionOptions,
    TranscriptionResult,
    Word,
)
from ._token_cache import TokenStats
from ._version import __version__

__all__ = [
    "ApiVersion",
    "AudioNotReplayableError",
    "AudioSourceError",
    "AuthenticationError",
    "BadRequestError",
    "BearerToken",
    "CombinedPhrase",
    "ConflictError",
    "CredentialError",
    "DiarizationOptions",
    "EnhancedMode",
    "EnhancedModelOptions",
    "ErrorDetail",
    "InnerError",
    "InvalidAudioError",
    "InvalidInputError",
    "InvalidOptionsError",
    "IssueTokenCredential",
    "KeyCredential",
    "LATEST_API_VERSION",
    "Limits",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "Phrase",
    "PhraseList",
    "ProfanityFilterMode",
    "RateLimitError",
    "ResponseDecodeError",
    "RetryPolicy",
    "ServiceError",
    "SpeechClient",
    "SpeechConnectionError",
    "SpeechError",
    "SpeechStatusError",
    "SpeechTimeoutError",
    "Timeouts",
    "TokenStats",
    "TranscriptionOptions",
    "TranscriptionResult",
    "UnprocessableEntityError",
    "UnsupportedMediaTypeError",
    "Word",
    "__version__",
]


def _publish() -> None:
    import contextlib

    # Objects show up as speech_async.X in reprs, tracebacks and docs, whichever private module defines them.
    for name in __all__:
        obj = globals()[name]
        if getattr(obj, "__module__", "").startswith("speech_async._"):
            with contextlib.suppress(AttributeError, TypeError):
                obj.__module__ = "speech_async"


_publish()
del _publish
