"""Streaming parse of the ``multipart/form-data`` request body.

Parts may come in any order; the audio is spooled to a temporary file while it streams in, so the
body is never held in memory, and the size limit is enforced as the bytes arrive.

The form is bounded: at most :data:`MAX_PARTS` parts (nested multipart parts included), each with
at most :data:`MAX_PART_HEADERS` header lines of at most :data:`MAX_PART_HEADER_LINE` bytes. A
form past a bound is refused with one 400 (and one log line) as soon as the bound is crossed; the
rest of the upload is then drained without being parsed.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, cast

from aiohttp import BodyPartReader, MultipartReader
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.multipart import parse_content_disposition

from .._errors import ServiceError, invalid_request
from .._recording import RecordedPart

if TYPE_CHECKING:
    from collections.abc import Mapping

    from aiohttp import StreamReader

    from .body import BodyTap
    from .spool import SpooledAudio, SpoolSet

__all__ = (
    "MAX_DEFINITION_BYTES",
    "MAX_PARTS",
    "MAX_PART_HEADERS",
    "MAX_PART_HEADER_LINE",
    "ReceivedForm",
    "read_form",
    "too_large",
)

_CHUNK_BYTES: Final = 256 * 1024
# unverified: the service's limit on the definition part is unknown; 1 MiB is far above any real use.
MAX_DEFINITION_BYTES: Final = 1024 * 1024
# unverified: the service's limits on the form are unknown. The real form has two parts (audio and
# definition); these bounds leave room for clients that add a few of their own.
MAX_PARTS: Final = 16
MAX_PART_HEADERS: Final = 8
# aiohttp's own default for a header line (8190 bytes, as most HTTP servers use).
MAX_PART_HEADER_LINE: Final = 8190

_log = logging.getLogger("speech_async.emulator")


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


def _refused(message: str) -> ServiceError:
    """The 400 for a form that is malformed or past a bound, logged once (one line, no traceback)."""
    _log.info("speech_async emulator: refused a multipart body: %s", " ".join(message.split()))
    # unverified: status 400 and the codes; the service's answer to such a body is unrecorded.
    return invalid_request("InvalidRequestBodyFormat", message)


def _malformed(detail: str) -> ServiceError:
    return _refused(f"The multipart body is malformed: {detail}")


class _PartBudget:
    """Counts the parts of one form, nested ones included, and refuses one past :data:`MAX_PARTS`."""

    def __init__(self) -> None:
        self.parts = 0

    async def take(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise _refused(f"The multipart body has more than {MAX_PARTS} parts.")
        # Parts that have already arrived are parsed without suspending: let other requests run.
        await asyncio.sleep(0)


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


async def _skip_nested(reader: MultipartReader, budget: _PartBudget, limit: int) -> None:
    """Read a nested multipart (not part of the protocol) to its end, counting its parts."""
    while (part := await reader.next()) is not None:
        await budget.take()
        if isinstance(part, MultipartReader):
            await _skip_nested(part, budget, limit)
        else:
            await _drain_part(part, limit)


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
    # unverified: the codes for an oversized definition.
    definition_too_large = invalid_request(
        "InvalidRequestBodyFormat",
        f"The definition exceeds the maximum size of {MAX_DEFINITION_BYTES} bytes.",
    )
    budget = _PartBudget()
    try:
        reader = MultipartReader(
            headers,
            cast("StreamReader", body),
            max_field_size=MAX_PART_HEADER_LINE,
            max_headers=MAX_PART_HEADERS,
        )
        while (part := await reader.next()) is not None:
            await budget.take()
            if isinstance(part, MultipartReader):
                # Nested multipart is not part of the protocol: skip it (its parts count too).
                _, params = parse_content_disposition(part.headers.get("Content-Disposition"))
                await _skip_nested(part, budget, max_audio_bytes)
                recorded.append(_describe(part.headers, 0, "", params.get("name"), None))
                continue
            name = part.name
            if name == "audio" and audio is None:
                audio = await _spool_part(part, spools, max_audio_bytes)
                size, digest = audio.size, audio.sha256
            elif name == "definition" and definition is None:
                definition, digest = await _read_part(part, MAX_DEFINITION_BYTES, definition_too_large)
                size = len(definition)
            else:
                size, digest = await _drain_part(part, max_audio_bytes)
            recorded.append(_describe(part.headers, size, digest, name, part.filename))
    except HttpProcessingError as exc:
        # Its str() is "400, message:" and the message on a second line.
        raise _malformed(exc.message or type(exc).__name__) from None
    except (ValueError, AssertionError) as exc:
        raise _malformed(str(exc) or type(exc).__name__) from None
    return ReceivedForm(definition=definition, audio=audio)
