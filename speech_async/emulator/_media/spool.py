"""Temporary audio files, written from the event loop without blocking it."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import anyio.to_thread

if TYPE_CHECKING:
    from typing import BinaryIO

__all__ = ("Spool", "SpoolSet", "SpooledAudio", "spool_prefix")

# Writes are batched so that a 300 MB upload costs a few hundred thread hops, not tens of thousands.
_FLUSH_BYTES: Final = 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class SpooledAudio:
    """A completely received audio file."""

    path: Path
    size: int
    sha256: str


def spool_prefix() -> str:
    """The name prefix of this process's spool files (the pid tells concurrent emulators apart)."""
    return f"speech-async-emulator-{os.getpid()}-"


def _create() -> tuple[Path, BinaryIO]:
    fd, name = tempfile.mkstemp(prefix=spool_prefix(), suffix=".audio")
    return Path(name), os.fdopen(fd, "wb")


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)


class Spool:
    """One temporary file fed chunk by chunk; hashes (SHA-256) and counts what it stores."""

    def __init__(self, path: Path, file: BinaryIO) -> None:
        self.path = path
        self._file: BinaryIO | None = file
        self._hash = hashlib.sha256()
        self._buffer = bytearray()
        self.size = 0

    async def write(self, data: bytes) -> None:
        """Append ``data``; it reaches the disk in batches."""
        self._buffer += data
        self.size += len(data)
        if len(self._buffer) >= _FLUSH_BYTES:
            await self._flush()

    async def _flush(self) -> None:
        if not self._buffer or self._file is None:
            return
        data = bytes(self._buffer)
        self._buffer.clear()
        await anyio.to_thread.run_sync(self._write_sync, self._file, data)

    def _write_sync(self, file: BinaryIO, data: bytes) -> None:
        # Hashing here too keeps the CPU work of large uploads off the event loop.
        self._hash.update(data)
        file.write(data)

    async def finish(self) -> SpooledAudio:
        """Flush and close the file; the spool must not be written afterwards."""
        await self._flush()
        file, self._file = self._file, None
        if file is not None:
            await anyio.to_thread.run_sync(file.close)
        return SpooledAudio(path=self.path, size=self.size, sha256=self._hash.hexdigest())

    def discard_blocking(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            file.close()
        _unlink(self.path)


class SpoolSet:
    """Owns every spool of one request and deletes them all in :meth:`aclose`, even when cancelled."""

    def __init__(self) -> None:
        self._spools: list[Spool] = []

    async def create(self) -> Spool:
        """A new, empty spool file."""
        path, file = await anyio.to_thread.run_sync(_create)
        spool = Spool(path, file)
        self._spools.append(spool)
        return spool

    async def aclose(self) -> None:
        """Close and delete all spools."""
        spools, self._spools = self._spools, []
        if not spools:
            return

        def discard_all() -> None:
            for spool in spools:
                spool.discard_blocking()

        # Shielded: a cancelled request must still leave no file behind; the worker thread finishes
        # the deletion even if this await is interrupted.
        await asyncio.shield(asyncio.ensure_future(anyio.to_thread.run_sync(discard_all)))
