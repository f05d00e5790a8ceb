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
    TranscriptionFailedError,
    TranscriptionTimeoutError,
    UnprocessableEntityError,
    UnsupportedMediaTypeError,
    UntrustedLinkError,
    WrongEventLoopError,
)
from ._models import ResponseInfo
from ._models._batch import (
    BatchDiarization,
    EntityError,
    EntityReference,
    LanguageIdentification,
    PunctuationMode,
    Transcription,
    TranscriptionFile,
    TranscriptionProperties,
    TranscriptionStatus,
)
from ._models._batch_results import (
    BatchFailure,
    BatchItem,
    CombinedRecognizedPhrase,
    DisplayWord,
    PhraseAlternative,
    RecognizedPhrase,
    ResultWord,
    TranscriptionReport,
    TranscriptionReportDetail,
    TranscriptionResultFile,
)
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
from ._models._webhooks import WebHook, WebHookEvents, WebHookLinks, WebHookProperties, WebHookStatus
from ._paging import AsyncPager, Page
from ._polling import AsyncPoller, PollInterval
from ._resources.batch import BatchOperations
from ._resources.batch.results import BatchItemError
from ._resources.batch.transcriptions import TranscriptionPoller
from ._resources.webhooks import WebHookOperations
from ._token_cache import TokenStats
from ._version import __version__

__all__ = (
    "ApiVersion",
    "AssessedWord",
    "AsyncPager",
    "AsyncPoller",
    "AudioNotReplayableError",
    "AudioSourceError",
    "AuthenticationError",
    "BadRequestError",
    "BatchDiarization",
    "BatchFailure",
    "BatchItem",
    "BatchItemError",
    "BatchOperations",
    "BearerToken",
    "BreakConfidence",
    "BreakFeedback",
    "ClientClosedError",
    "ClientOptions",
    "CombinedPhrase",
    "CombinedRecognizedPhrase",
    "ConflictError",
    "CredentialError",
    "DiarizationOptions",
    "DisplayWord",
    "EnhancedMode",
    "EnhancedModelOptions",
    "EntityError",
    "EntityReference",
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
    "LanguageIdentification",
    "Limits",
    "MonotoneFeedback",
    "NBestItem",
    "NotFoundError",
    "Page",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "Phrase",
    "PhraseAlternative",
    "PhraseList",
    "PollInterval",
    "ProfanityFilterMode",
    "PronunciationAssessment",
    "ProsodyFeedback",
    "PunctuationMode",
    "RateLimitError",
    "RecognitionMode",
    "RecognitionResult",
    "RecognitionStatus",
    "RecognizedPhrase",
    "RedirectError",
    "ResponseDecodeError",
    "ResponseInfo",
    "ResponseTooLargeError",
    "ResultWord",
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
    "Transcription",
    "TranscriptionFailedError",
    "TranscriptionFile",
    "TranscriptionOptions",
    "TranscriptionPoller",
    "TranscriptionProperties",
    "TranscriptionReport",
    "TranscriptionReportDetail",
    "TranscriptionResult",
    "TranscriptionResultFile",
    "TranscriptionStatus",
    "TranscriptionTimeoutError",
    "UnprocessableEntityError",
    "UnsupportedMediaTypeError",
    "UntrustedLinkError",
    "UploadLimits",
    "WebHook",
    "WebHookEvents",
    "WebHookLinks",
    "WebHookOperations",
    "WebHookProperties",
    "WebHookStatus",
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
