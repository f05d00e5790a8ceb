"""The error answers of fast transcription that are not about the definition (see ``definition.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..._errors import ServiceError, invalid_argument, invalid_request

if TYPE_CHECKING:
    from aiohttp import web

    from ..._config import FastConfig

__all__ = ("check_length", "empty_audio", "invalid_audio_format", "no_audio", "require_multipart")


def require_multipart(request: web.Request) -> None:
    """A 415 unless the body is ``multipart/form-data``."""
    if request.content_type != "multipart/form-data":
        sent = request.headers.get("Content-Type", "")
        # unverified: the service's answer to a body that is not multipart/form-data.
        raise ServiceError(
            415,
            "UnsupportedMediaType",
            f"The content type '{sent}' is not supported. Use multipart/form-data.",
        )


def no_audio() -> ServiceError:
    """Neither an audio part nor ``definition.audioUrl``."""
    # unverified: the codes when neither an audio part nor definition.audioUrl is given.
    return invalid_request("EmptyRequest", "No audio was provided: send an audio part or audioUrl.")


def empty_audio() -> ServiceError:
    """An audio part (or download) of zero bytes."""
    return invalid_argument("EmptyAudioFile", "The audio file is empty.")


def invalid_audio_format() -> ServiceError:
    """Audio in no format the service reads."""
    return invalid_argument(
        "InvalidAudioFormat",
        "The audio format is not supported. Supported formats are WAV, MP3, OPUS/OGG, FLAC, WMA, "
        "AAC, ALAW and MULAW in WAV, AMR, WebM and SPEEX.",
    )


def check_length(duration_ms: int | None, config: FastConfig) -> None:
    """A 400 ``AudioLengthLimitExceeded`` for audio longer than ``config.max_audio_seconds``."""
    if duration_ms is not None and duration_ms > config.max_audio_seconds * 1000:
        raise invalid_argument(
            "AudioLengthLimitExceeded",
            f"The audio is longer than the maximum of {config.max_audio_seconds:g} seconds.",
        )
