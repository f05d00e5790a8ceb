"""A streaming ``multipart/form-data`` body: small parts in memory, the audio part streamed.

The body is described once (boundary, part headers) and can then produce its bytes any number of
times, identically, as long as its audio source can be replayed.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from ._exceptions import InvalidAudioError
from ._urls import bad_character

if TYPE_CHECKING:
    from ._audio import AudioSource

__all__ = ["MultipartBody"]


class MultipartBody:
    """``multipart/form-data`` with in-memory fields followed by an optional streamed audio part."""

    __slots__ = ("_audio", "_head", "_tail", "boundary", "content_type", "size")

    def __init__(
        self,
        fields: list[tuple[str, str, bytes]],
        audio: AudioSource | None,
        *,
        audio_field: str = "audio",
        boundary: str | None = None,
    ) -> None:
        """``fields`` are (name, content type, value) triples; ``audio`` becomes the last part.

        Raises:
            InvalidAudioError: the audio's file name (from its path or file object, or the caller's
                ``filename``, which the client has checked already) holds a control character.
        """
        self.boundary = boundary or secrets.token_hex(16)
        self.content_type = f"multipart/form-data; boundary={self.boundary}"
        delimiter = f"--{self.boundary}\r\n".encode("ascii")
        head = bytearray()
        for name, content_type, value in fields:
            head += delimiter
            head += _part_headers(name, None, content_type)
            head += value
            head += b"\r\n"
        if audio is not None:
            head += delimiter
            head += _part_headers(audio_field, audio.filename, "application/octet-stream")
            tail = f"\r\n--{self.boundary}--\r\n".encode("ascii")
        else:
            tail = f"--{self.boundary}--\r\n".encode("ascii")
        self._head = bytes(head)
        self._tail = tail
        self._audio = audio
        if audio is None:
            self.size: int | None = len(self._head) + len(tail)
        elif audio.size is None:
            self.size = None
        else:
            self.size = len(self._head) + audio.size + len(tail)

    @property
    def replayable(self) -> bool:
        """Whether the body can be produced again for another attempt."""
        return self._audio is None or self._audio.replayable

    async def chunks(self) -> AsyncIterator[bytes | memoryview]:
        """Produce the whole body, from the first delimiter to the closing one."""
        yield self._head
        if self._audio is not None:
            # Closed with the body, not later by the garbage collector: the pass holds the open file.
            async with contextlib.aclosing(self._audio.chunks()) as audio:
                async for chunk in audio:
                    yield chunk
        yield self._tail


def _part_headers(name: str, filename: str | None, content_type: str) -> bytes:
    disposition = f'form-data; name="{_quote(name)}"'
    if filename is not None:
        problem = bad_character(filename, allow_space=True, allow_non_ascii=True)
        if problem is not None:
            raise InvalidAudioError(
                f"the audio's file name {filename!r} has {problem}: it is sent in the upload's "
                "Content-Disposition header, which cannot carry control characters; rename the file, "
                "or pass filename='...' to send another name"
            )
        disposition += f'; filename="{_quote(filename)}"'
    return f"Content-Disposition: {disposition}\r\nContent-Type: {content_type}\r\n\r\n".encode()


def _quote(value: str) -> str:
    # The inside of an RFC 9110 quoted-string: a backslash escapes the next character, so the
    # backslash itself and the double quote are escaped (control characters were refused before);
    # non-ASCII text goes as UTF-8, as browsers send it.
    return value.replace("\\", "\\\\").replace('"', '\\"')
