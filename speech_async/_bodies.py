"""Every kind of request body, each able to produce its bytes once per attempt (the ``Body`` protocol).

- :class:`JsonBody`: a JSON document, encoded once (batch and custom-speech writes);
- :class:`AudioBody`: the audio itself as the body (short audio), chunked or with a length;
- :class:`MultipartBody`: ``multipart/form-data``, small parts in memory and the audio part streamed
  (fast transcription).

A body is described once (boundary, part headers, encoded JSON) and then produces the same bytes any
number of times, as long as its audio source can be replayed.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Final

import msgspec

from ._exceptions import InvalidAudioError, InvalidOptionsError
from ._urls import bad_character

if TYPE_CHECKING:
    from ._audio import AudioSource

__all__ = ["JSON_CONTENT_TYPE", "AudioBody", "JsonBody", "MultipartBody"]

JSON_CONTENT_TYPE: Final = "application/json"
_ENCODER: Final = msgspec.json.Encoder()


class JsonBody:
    """A JSON document as the body: encoded with msgspec when the body is built, then sent as it is.

    ``value`` is a msgspec Struct or anything msgspec encodes (dicts, lists, strings, numbers).

    Raises:
        InvalidOptionsError: ``value`` cannot be encoded as JSON (nothing was sent).
    """

    __slots__ = ("_data", "content_type", "size")

    def __init__(self, value: object, *, content_type: str = JSON_CONTENT_TYPE) -> None:
        try:
            self._data = _ENCODER.encode(value)
        except (TypeError, msgspec.EncodeError) as err:
            raise InvalidOptionsError(f"the request body cannot be encoded as JSON: {err}") from err
        self.content_type = content_type
        self.size: int | None = len(self._data)

    @property
    def replayable(self) -> bool:
        """Always: the bytes are in memory."""
        return True

    @property
    def data(self) -> bytes:
        """The encoded document."""
        return self._data

    @property
    def memory(self) -> bytes:
        """The encoded document, written at once."""
        return self._data

    async def chunks(self) -> AsyncIterator[bytes | memoryview]:
        """The whole document, in one chunk."""
        yield self._data


class AudioBody:
    """The audio itself as the request body: chunked (no length), or with its length when known."""

    __slots__ = ("_source", "content_type", "size")

    def __init__(self, source: AudioSource, content_type: str, *, chunked: bool) -> None:
        self._source = source
        self.content_type = content_type
        self.size = None if chunked else source.size

    @property
    def replayable(self) -> bool:
        """Whether the audio can be sent again."""
        return self._source.replayable

    @property
    def memory(self) -> bytes | memoryview | None:
        """The audio itself, when it is small bytes in memory sent with its length (see ``AudioSource.whole``)."""
        return None if self.size is None else self._source.whole()

    def chunks(self) -> AsyncIterator[bytes | memoryview]:
        """A fresh pass over the audio."""
        return self._source.chunks()


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

    @property
    def memory(self) -> None:
        """Never: the parts are written one by one, the audio part streamed."""
        return None

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
