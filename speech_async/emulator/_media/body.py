"""Reading a request body while hashing every byte of it, whoever reads it.

Every read of a service request's body (the multipart parser, a fault draining the upload, the
drain after an early answer) goes through one :class:`BodyTap`, so the SHA-256 in the record covers
the exact body as received (de-chunked), however it was consumed, without ever holding the whole
body in memory.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import TYPE_CHECKING, Final

from aiohttp.http_exceptions import LineTooLong

if TYPE_CHECKING:
    from aiohttp import StreamReader

__all__ = ("STALL_AFTER_BYTES", "BodyTap")

# A stall starts once this much of the body was read, so the upload is under way when it stops.
STALL_AFTER_BYTES: Final = 64 * 1024
_CHUNK_BYTES: Final = 256 * 1024


def _check_line(line: bytes, max_line_length: int | None) -> None:
    # What aiohttp's StreamReader.readline does for the lines it reads itself.
    if max_line_length is not None and len(line) > max_line_length:
        raise LineTooLong(line[:100] + b"...", max_line_length)


class BodyTap:
    """A read-only view of a request's payload stream that hashes and counts what it hands out.

    It offers the subset of :class:`aiohttp.StreamReader` that :class:`aiohttp.MultipartReader`
    uses (``read``, ``readline``, ``readany``, ``at_eof``, ``unread_data``). Data pushed back
    with ``unread_data`` is kept here and handed out again without being hashed twice, so the
    deprecated ``StreamReader.unread_data`` is never called.

    Pushed-back data is handed out from an offset, so a read costs what it returns, not what is
    held: a form of many tiny parts must not copy the rest of the body once per part. A stream
    that has reached its end is not read again: aiohttp logs a warning with a stack trace for
    every read of an exhausted stream past the fifth, one per part of such a form.
    """

    def __init__(self, content: StreamReader) -> None:
        self._content = content
        self._hash = hashlib.sha256()
        self._pushed_back = b""
        self._offset = 0
        self._stall = 0.0
        self.consumed = 0
        """Body bytes taken from the stream so far."""

    def _take(self, data: bytes) -> bytes:
        self._hash.update(data)
        self.consumed += len(data)
        return data

    def _exhausted(self) -> bool:
        # A failed stream is still read, so that its exception is raised.
        content = self._content
        return content.at_eof() and content.exception() is None

    def _held(self) -> int:
        return len(self._pushed_back) - self._offset

    def _give_back(self, end: int) -> bytes:
        """The pushed-back data from the offset up to index ``end``."""
        data = self._pushed_back[self._offset : end]
        if end >= len(self._pushed_back):
            self._pushed_back, self._offset = b"", 0
        else:
            self._offset = end
        return data

    def stall(self, seconds: float) -> None:
        """Stop reading for ``seconds`` once :data:`STALL_AFTER_BYTES` of the body were read."""
        self._stall = seconds

    async def _maybe_stall(self) -> None:
        if self._stall > 0 and self.consumed >= STALL_AFTER_BYTES:
            seconds, self._stall = self._stall, 0.0
            await asyncio.sleep(seconds)

    async def read(self, n: int) -> bytes:
        """Up to ``n`` (positive) bytes; ``b""`` at the end."""
        if self._held():
            return self._give_back(self._offset + n)
        if self._exhausted():
            return b""
        await self._maybe_stall()
        return self._take(await self._content.read(n))

    async def readany(self) -> bytes:
        """Whatever is available next; ``b""`` at the end."""
        if self._held():
            return self._give_back(len(self._pushed_back))
        if self._exhausted():
            return b""
        await self._maybe_stall()
        return self._take(await self._content.readany())

    async def readline(self, *, max_line_length: int | None = None) -> bytes:
        """One line including its ``\\n`` (shorter at the end of the body).

        A line longer than ``max_line_length`` raises :class:`~aiohttp.http_exceptions.LineTooLong`,
        whether it comes from the stream or from pushed-back data.
        """
        head = b""
        if self._held():
            end = self._pushed_back.find(b"\n", self._offset)
            if end >= 0:
                line = self._give_back(end + 1)
                _check_line(line, max_line_length)
                return line
            head = self._give_back(len(self._pushed_back))
            _check_line(head, max_line_length)
        if self._exhausted():
            return head
        await self._maybe_stall()
        if max_line_length is None:
            line = await self._content.readline()
        else:
            line = await self._content.readline(max_line_length=max_line_length)
        line = head + self._take(line)
        _check_line(line, max_line_length)
        return line

    def at_eof(self) -> bool:
        """Whether everything, pushed-back data included, has been read."""
        return not self._held() and self._content.at_eof()

    def unread_data(self, data: bytes) -> None:
        """Push ``data`` back; the next reads return it first."""
        self._pushed_back = data + self._pushed_back[self._offset :]
        self._offset = 0

    async def drain(self) -> None:
        """Read (hashing) and drop the rest of the body, letting other requests run meanwhile."""
        while True:
            if not await self.readany():
                return
            # Data that has already arrived is handed out without suspending: yield anyway.
            await asyncio.sleep(0)

    async def skip(self, limit: int) -> None:
        """Read and drop body bytes until :attr:`consumed` reaches ``limit`` or the body ends."""
        while self.consumed < limit:
            if not await self.read(min(limit - self.consumed, _CHUNK_BYTES)):
                return

    def settle(self) -> None:
        """Hash the unread rest of a body that has completely arrived (no waiting)."""
        content = self._content
        if content.is_eof() and not content.at_eof() and content.exception() is None:
            self._take(content.read_nowait(-1))

    @property
    def complete(self) -> bool:
        """Whether the emulator has read the whole body (its end was seen and nothing is left)."""
        return self._content.at_eof()

    def sha256(self) -> str | None:
        """Hex SHA-256 of the whole body, or ``None`` while it has not been read to its end."""
        return self._hash.hexdigest() if self.complete else None
