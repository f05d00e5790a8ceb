"""speech_async: an asyncio client for the Azure AI Speech speech-to-text REST APIs.

Everything public is imported from here; the modules behind it are private. The service emulator is
the public subpackage :mod:`speech_async.emulator`.
"""

from ._client import SpeechClient
from ._config import (
    LATEST_API_VERSION,
    LATEST_MANAGEMENT_API_VERSION,
    ApiVersion,
    ClientOptions,
    FastLimits,
    Limits,
    RetryPolicy,
    ShortAudioLimits,
    Timeouts,
    UploadLimits,
)
from ._credentials import BearerToken, IssueTokenCredential, KeyCredential
from ._exceptions import (
    AudioNotReplayableError,
    AudioSourceError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConflictError,
    CredentialError,
    InvalidAudioError,
    InvalidInputError,
    InvalidOptionsError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    RedirectError,
    ResponseDecodeError,
    ResponseTooLargeError,
    ServiceError,
    SpeechConnectionError,
    SpeechError,
    SpeechStatusError,
    SpeechTimeoutError,
    UnprocessableEntityError,
    UnsupportedMediaTypeError,
    WrongEventLoopError,
)
from ._models import ResponseInfo
from ._models._common import ErrorDetail, InnerError
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
from ._models._service import HealthComponent, HealthState, HealthStatus, SupportedLocales
from ._models._short_audio import (
    AssessedWord,
    BreakConfidence,
    BreakFeedback,
    IntonationFeedback,
    MonotoneFeedback,
    NBestItem,
    PronunciationAssessment,
    ProsodyFeedback,
    RecognitionMode,
    RecognitionResult,
    RecognitionStatus,
    WordFeedback,
)
from ._token_cache import TokenStats
from ._version import __version__

__all__ = (
    "ApiVersion",
    "AssessedWord",
    "AudioNotReplayableError",
    "AudioSourceError",
    "AuthenticationError",
    "BadRequestError",
    "BearerToken",
    "BreakConfidence",
    "BreakFeedback",
    "ClientClosedError",
    "ClientOptions",
    "CombinedPhrase",
    "ConflictError",
    "CredentialError",
    "DiarizationOptions",
    "EnhancedMode",
    "EnhancedModelOptions",
    "ErrorDetail",
    "FastLimits",
    "HealthComponent",
    "HealthState",
    "HealthStatus",
    "InnerError",
    "IntonationFeedback",
    "InvalidAudioError",
    "InvalidInputError",
    "InvalidOptionsError",
    "IssueTokenCredential",
    "KeyCredential",
    "LATEST_API_VERSION",
    "LATEST_MANAGEMENT_API_VERSION",
    "Limits",
    "MonotoneFeedback",
    "NBestItem",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "Phrase",
    "PhraseList",
    "ProfanityFilterMode",
    "PronunciationAssessment",
    "ProsodyFeedback",
    "RateLimitError",
    "RecognitionMode",
    "RecognitionResult",
    "RecognitionStatus",
    "RedirectError",
    "ResponseDecodeError",
    "ResponseInfo",
    "ResponseTooLargeError",
    "RetryPolicy",
    "ServiceError",
    "ShortAudioLimits",
    "SpeechClient",
    "SpeechConnectionError",
    "SpeechError",
    "SpeechStatusError",
    "SpeechTimeoutError",
    "SupportedLocales",
    "Timeouts",
    "TokenStats",
    "TranscriptionOptions",
    "TranscriptionResult",
    "UnprocessableEntityError",
    "UnsupportedMediaTypeError",
    "UploadLimits",
    "Word",
    "WordFeedback",
    "WrongEventLoopError",
    "__version__",
)


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
