"""Streaming parse of the ``multipart/form-data`` request body.

Parts may come in any order; the audio is spooled to a temporary file while it streams in, so the
body is never held in memory, and the size limit is enforced as the bytes arrive.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, cast

from aiohttp import BodyPartReader, MultipartReader
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.multipart import parse_content_disposition

from ._errors import ServiceError, invalid_request
from ._recording import RecordedPart

if TYPE_CHECKING:
    from collections.abc import Mapping

    from aiohttp import StreamReader

    from ._body import BodyTap
    from ._spool import SpooledAudio, SpoolSet

__all__ = ("ReceivedForm", "read_form", "too_large")

_CHUNK_BYTES: Final = 256 * 1024
# unverified: the service's limit on the definition part is unknown; 1 MiB is far above any real use.
_MAX_DEFINITION_BYTES: Final = 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class ReceivedForm:
    """The parts the service uses: the first ``definition`` and the first ``audio``."""

    definition: bytes | None
    audio: SpooledAudio | None


def too_large(limit: int, *, close_connection: bool = True) -> ServiceError:
    """The answer for audio over ``max_audio_bytes``; an unread upload rest closes the connection."""
    # unverified: status 413 and the codes; the service's answer for oversized audio is unrecorded.
    return ServiceError(
        413,
        "InvalidRequest",
        f"The audio exceeds the maximum size of {limit} bytes.",
        inner_code="InvalidPayload",
        close_connection=close_connection,
    )


def _malformed(detail: str) -> ServiceError:
    # unverified: the codes for a body that is not well-formed multipart.
    return invalid_request("InvalidRequestBodyFormat", f"The multipart body is malformed: {detail}")


def _describe(
    headers: Mapping[str, str], size: int, digest: str, name: str | None, filename: str | None
) -> RecordedPart:
    content_type = headers.get("Content-Type")
    return RecordedPart(
        name=name or "",
        filename=filename,
        content_type=None if content_type is None else str(content_type),
        # multidict keys are istr, a str subclass: store plain strings.
        headers=tuple((str(name), str(value)) for name, value in headers.items()),
        size=size,
        sha256=digest,
    )


async def _spool_part(part: BodyPartReader, spools: SpoolSet, limit: int) -> SpooledAudio:
    spool = await spools.create()
    while not part.at_eof():
        chunk = await part.read_chunk(_CHUNK_BYTES)
        if spool.size + len(chunk) > limit:
            raise too_large(limit)
        await spool.write(chunk)
    return await spool.finish()


async def _read_part(part: BodyPartReader, limit: int, error: ServiceError) -> tuple[bytes, str]:
    data = bytearray()
    digest = hashlib.sha256()
    while not part.at_eof():
        chunk = await part.read_chunk(_CHUNK_BYTES)
        if len(data) + len(chunk) > limit:
            raise error
        data += chunk
        digest.update(chunk)
    return bytes(data), digest.hexdigest()


async def _drain_part(part: BodyPartReader, limit: int) -> tuple[int, str]:
    size = 0
    digest = hashlib.sha256()
    while not part.at_eof():
        chunk = await part.read_chunk(_CHUNK_BYTES)
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        digest.update(chunk)
    return size, digest.hexdigest()


async def read_form(
    headers: Mapping[str, str],
    body: BodyTap,
    *,
    spools: SpoolSet,
    max_audio_bytes: int,
    recorded: list[RecordedPart],
) -> ReceivedForm:
    """Read the whole body part by part, appending each part's description to ``recorded``.

    ``body`` stands in for the request's payload stream, so that every byte read is hashed.
    """
    definition: bytes | None = None
    audio: SpooledAudio | None = None
    definition_too_large = invalid_request(
        "InvalidRequestBodyFormat",
        f"The definition exceeds the maximum size of {_MAX_DEFINITION_BYTES} bytes.",
    )
    try:
        reader = MultipartReader(headers, cast("StreamReader", body))
        while (part := await reader.next()) is not None:
            if isinstance(part, MultipartReader):
                # Nested multipart is not part of the protocol: skip it.
                _, params = parse_content_disposition(part.headers.get("Content-Disposition"))
                await part.release()
                recorded.append(_describe(part.headers, 0, "", params.get("name"), None))
                continue
            name = part.name
            if name == "audio" and audio is None:
                audio = await _spool_part(part, spools, max_audio_bytes)
                size, digest = audio.size, audio.sha256
            elif name == "definition" and definition is None:
                definition, digest = await _read_part(part, _MAX_DEFINITION_BYTES, definition_too_large)
                size = len(definition)
            else:
                size, digest = await _drain_part(part, max_audio_bytes)
            recorded.append(_describe(part.headers, size, digest, name, part.filename))
    except (ValueError, AssertionError, HttpProcessingError) as exc:
        raise _malformed(str(exc) or type(exc).__name__) from None
    return ReceivedForm(definition=definition, audio=audio)
