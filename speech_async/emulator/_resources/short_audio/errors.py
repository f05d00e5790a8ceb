"""The error answers of the short-audio API.

Errors of this API have no documented body; the emulator answers ``{"code", "message"}``
(unverified), with ``code`` ``BadRequest``, ``UnsupportedMediaType`` or ``PayloadTooLarge``.
"""

from __future__ import annotations

from typing import Final

from ..._errors import ServiceError

__all__ = ("AUDIO_RULES", "bad_request", "invalid_audio", "too_large", "unsupported_media")

AUDIO_RULES: Final = (
    "The API accepts WAV (PCM, 16-bit, 16 kHz, mono) or OGG (Opus, mono, 16 kHz): "
    "audio/wav; codecs=audio/pcm; samplerate=16000 or audio/ogg; codecs=opus."
)


def bad_request(message: str) -> ServiceError:
    # unverified: the body of this API's 400s (see the module docstring).
    return ServiceError(400, "BadRequest", message)


def invalid_audio(detail: str) -> ServiceError:
    # Documented: 400 for an invalid audio file.
    return bad_request(f"The audio file is invalid: {detail}. {AUDIO_RULES}")


def unsupported_media(sent: str | None) -> ServiceError:
    # unverified: status 415 and its body (the digest: "415 for an unsupported content type").
    shown = "none" if sent is None else f"'{sent}'"
    return ServiceError(415, "UnsupportedMediaType", f"The content type {shown} is not supported. {AUDIO_RULES}")


def too_large(limit: int) -> ServiceError:
    # unverified: status 413 and the body; the rest of the upload is not read, so the connection closes.
    return ServiceError(
        413, "PayloadTooLarge", f"The audio exceeds the maximum size of {limit} bytes.", close_connection=True
    )
