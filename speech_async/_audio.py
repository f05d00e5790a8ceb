"""Audio sources: everything a caller may pass as audio, read in chunks without blocking the loop.

Each source can start a fresh pass over its audio with :meth:`AudioSource.chunks`, so a request body can
be rebuilt for every attempt. Files are read through aiofiles (or a worker thread for caller-owned
file objects) in fixed-size chunks, and bytes are sliced with memoryviews: the whole audio is never
copied into memory.
"""

from __future__ import annotations

import inspect
import io
import os
import stat
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import IO, TYPE_CHECKING, Any, Final, Protocol, TypeAlias, cast

import aiofiles
import anyio.to_thread

from ._exceptions import AudioSourceError, InvalidAudioError

if TYPE_CHECKING:
    from aiofiles.threadpool.binary import AsyncBufferedReader

__all__ = ["CHUNK_SIZE", "AsyncReadable", "AudioInput", "AudioSource", "open_audio"]

CHUNK_SIZE: Final = 256 * 1024
"""Bytes read and written at a time: large enough to keep thread hops rare, small enough for flat memory."""

_MIB: Final = 1024 * 1024


class AsyncReadable(Protocol):
    """A binary file object with a coroutine ``read``, such as an aiofiles or anyio file."""

    async def read(self, size: int = -1, /) -> bytes: ...


AudioInput: TypeAlias = (
    "str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes] | AsyncReadable | AsyncIterable[bytes]"
)
"""What ``transcribe`` accepts as audio (a ``str`` that starts with ``http://`` or ``https://`` is an audio URL)."""


class AudioSource:
    """Audio that a request body can read, from its start, once per attempt."""

    size: int | None
    """Bytes the audio has, when known before reading it (then the request gets a Content-Length)."""
    filename: str
    """The file name sent with the audio part."""
    replayable: bool
    """Whether a second pass yields the same bytes (a one-shot iterator cannot)."""

    def __init__(self, *, size: int | None, filename: str, replayable: bool) -> None:
        self.size = size
        self.filename = filename
        self.replayable = replayable
        self.max_bytes: int | None = None
        self._passes = 0

    def chunks(self) -> AsyncIterator[bytes | memoryview]:
        """Start a pass over the audio from its beginning."""
        if self._passes and not self.replayable:
            raise AudioSourceError(
                f"the audio {self.filename!r} comes from a one-shot iterator that was already read; "
                "pass a path, bytes or a seekable file to allow the request to be sent again"
            )
        self._passes += 1
        return self._checked(self._read(first=self._passes == 1))

    async def aclose(self) -> None:
        """Release what the source opened itself (never a file object the caller passed)."""

    def _read(self, *, first: bool) -> AsyncIterator[bytes | memoryview]:
        raise NotImplementedError

    async def _checked(self, chunks: AsyncIterator[bytes | memoryview]) -> AsyncIterator[bytes | memoryview]:
        # A file that grows or shrinks mid-upload would make the declared Content-Length a lie: the
        # server would wait for bytes that never come, or cut the audio short. Fail loudly instead.
        sent = 0
        expected = self.size
        limit = self.max_bytes
        async for chunk in chunks:
            sent += len(chunk)
            if expected is not None and sent > expected:
                raise AudioSourceError(
                    f"the audio {self.filename!r} grew while it was being sent (expected {expected} bytes)"
                )
            if limit is not None and sent > limit:
                raise InvalidAudioError(_too_large(self.filename, f"more than {_mb(limit)}", limit))
            yield chunk
        if expected is not None and sent != expected:
            raise AudioSourceError(
                f"the audio {self.filename!r} shrank while it was being sent: {sent} of {expected} bytes"
            )


class _BytesSource(AudioSource):
    def __init__(self, data: memoryview, filename: str, release: Callable[[], None] | None = None) -> None:
        super().__init__(size=data.nbytes, filename=filename, replayable=True)
        self._data = data
        self._release = release

    async def _read(self, *, first: bool) -> AsyncIterator[bytes | memoryview]:
        data = self._data
        for start in range(0, len(data), CHUNK_SIZE):
            yield data[start : start + CHUNK_SIZE]

    async def aclose(self) -> None:
        if self._release is not None:
            self._release()
            self._release = None


class _PathSource(AudioSource):
    def __init__(self, handle: AsyncBufferedReader, size: int | None, filename: str) -> None:
        super().__init__(size=size, filename=filename, replayable=size is not None)
        self._handle = handle

    async def _read(self, *, first: bool) -> AsyncIterator[bytes | memoryview]:
        handle = self._handle
        try:
            if not first:
                await handle.seek(0)
            while chunk := await handle.read(CHUNK_SIZE):
                yield chunk
        except OSError as err:
            raise AudioSourceError(f"reading {self.filename!r} failed: {err.strerror or err}") from err

    async def aclose(self) -> None:
        await self._handle.close()


class _SyncFileSource(AudioSource):
    def __init__(self, file: IO[bytes], start: int | None, size: int | None, filename: str) -> None:
        super().__init__(size=size, filename=filename, replayable=start is not None)
        self._file = file
        self._start = start

    async def _read(self, *, first: bool) -> AsyncIterator[bytes | memoryview]:
        file = self._file
        try:
            if not first and self._start is not None:
                await anyio.to_thread.run_sync(file.seek, self._start)
            while chunk := await anyio.to_thread.run_sync(file.read, CHUNK_SIZE):
                yield _require_bytes(chunk, self.filename)
        except (OSError, ValueError) as err:
            raise AudioSourceError(f"reading the file object {self.filename!r} failed: {err}") from err


class _AsyncFileSource(AudioSource):
    def __init__(self, file: AsyncReadable, start: int | None, size: int | None, filename: str) -> None:
        super().__init__(size=size, filename=filename, replayable=start is not None)
        self._file = file
        self._start = start

    async def _read(self, *, first: bool) -> AsyncIterator[bytes | memoryview]:
        file: Any = self._file
        try:
            if not first and self._start is not None:
                await file.seek(self._start)
            while chunk := await self._file.read(CHUNK_SIZE):
                yield _require_bytes(chunk, self.filename)
        except (OSError, ValueError) as err:
            raise AudioSourceError(f"reading the file object {self.filename!r} failed: {err}") from err


class _IterableSource(AudioSource):
    def __init__(self, first_chunk: bytes | memoryview, rest: AsyncIterator[bytes], filename: str) -> None:
        super().__init__(size=None, filename=filename, replayable=False)
        self._first_chunk = first_chunk
        self._rest = rest

    async def _read(self, *, first: bool) -> AsyncIterator[bytes | memoryview]:
        yield self._first_chunk
        async for chunk in self._rest:
            if chunk:
                yield _require_bytes(chunk, self.filename)

    async def aclose(self) -> None:
        aclose = getattr(self._rest, "aclose", None)
        if aclose is not None:
            await aclose()


async def open_audio(audio: object, *, filename: str | None, max_bytes: int | None) -> AudioSource:
    """Check the audio and open it for reading; raise :class:`InvalidAudioError` for bad audio.

    Runs before anything is sent, so missing files, empty audio and audio over ``max_bytes`` fail
    locally. The caller must ``aclose()`` the returned source.
    """
    if isinstance(audio, str | os.PathLike):
        source: AudioSource = await _open_path(os.fspath(audio), filename)  # pyright: ignore[reportUnknownArgumentType]
    elif isinstance(audio, bytes | bytearray | memoryview):
        source = _BytesSource(_byte_view(cast("bytes | bytearray | memoryview", audio)), filename or "audio")
    elif isinstance(audio, io.BytesIO):
        source = _open_bytesio(audio, filename)
    elif isinstance(audio, io.TextIOBase):
        raise TypeError("the audio file object is open in text mode: open it with 'rb'")
    elif inspect.iscoroutinefunction(getattr(audio, "read", None)):
        source = await _open_async_file(audio, filename)  # pyright: ignore[reportArgumentType]
    elif callable(getattr(audio, "read", None)):
        source = await _open_sync_file(audio, filename)  # pyright: ignore[reportArgumentType]
    elif isinstance(audio, AsyncIterable):
        source = await _open_iterable(audio, filename)  # pyright: ignore[reportUnknownArgumentType]
    else:
        raise TypeError(
            f"unsupported audio type {type(audio).__name__}: pass a path, bytes, a binary file object, "
            "an async iterable of bytes, or an http(s) URL"
        )
    source.max_bytes = max_bytes
    if source.size is not None:
        try:
            _check_size(source.size, source.filename, max_bytes)
        except InvalidAudioError:
            await source.aclose()
            raise
    return source


async def _open_path(path: str, filename: str | None) -> AudioSource:
    name = filename or os.path.basename(path) or "audio"
    try:
        handle = await aiofiles.open(path, "rb")
    except FileNotFoundError as err:
        raise InvalidAudioError(f"no audio file at {path!r}: check the path") from err
    except IsADirectoryError as err:
        raise InvalidAudioError(f"{path!r} is a directory, not an audio file") from err
    except PermissionError as err:
        raise InvalidAudioError(f"the audio file {path!r} cannot be read: permission denied") from err
    except OSError as err:
        raise InvalidAudioError(f"the audio file {path!r} cannot be opened: {err.strerror or err}") from err
    try:
        info = await anyio.to_thread.run_sync(os.fstat, handle.fileno())
        if stat.S_ISDIR(info.st_mode):
            raise InvalidAudioError(f"{path!r} is a directory, not an audio file")
        # A pipe or device has no size up front: it is streamed with chunked transfer, once.
        size = info.st_size if stat.S_ISREG(info.st_mode) else None
        if size == 0:
            raise InvalidAudioError(f"the audio file {path!r} is empty (0 bytes)")
    except BaseException:
        await handle.close()
        raise
    return _PathSource(handle, size, name)


def _open_bytesio(buffer: io.BytesIO, filename: str | None) -> AudioSource:
    if buffer.closed:
        raise InvalidAudioError("the audio BytesIO is closed")
    # getbuffer() is a zero-copy view; it must be released or the BytesIO stays locked against resizing.
    whole = buffer.getbuffer()
    view = whole[buffer.tell() :]
    if view.nbytes == 0:
        view.release()
        whole.release()
        raise InvalidAudioError("the audio is empty (0 bytes): the BytesIO has no bytes left to read")

    def release() -> None:
        view.release()
        whole.release()

    return _BytesSource(view, filename or _file_name(buffer), release)


async def _open_sync_file(file: IO[bytes], filename: str | None) -> AudioSource:
    name = filename or _file_name(file)
    if getattr(file, "closed", False):
        raise InvalidAudioError(f"the audio file object {name!r} is closed")
    mode = getattr(file, "mode", "rb")
    if isinstance(mode, str) and "b" not in mode and "r" in mode:
        raise TypeError(f"the audio file object {name!r} is open in text mode ({mode!r}): open it with 'rb'")
    start, size = await anyio.to_thread.run_sync(_measure_sync, file)
    if size == 0:
        raise InvalidAudioError(f"the audio file object {name!r} has no bytes left to read")
    return _SyncFileSource(file, start, size, name)


def _measure_sync(file: IO[bytes]) -> tuple[int | None, int | None]:
    try:
        if not file.seekable():
            return None, None
        start = file.tell()
        end = file.seek(0, io.SEEK_END)
        file.seek(start)
    except (OSError, ValueError, AttributeError):
        return None, None
    return start, max(end - start, 0)


async def _open_async_file(file: AsyncReadable, filename: str | None) -> AudioSource:
    name = filename or _file_name(file)
    if getattr(file, "closed", False) is True:
        raise InvalidAudioError(f"the audio file object {name!r} is closed")
    start: int | None = None
    size: int | None = None
    handle: Any = file
    if callable(getattr(handle, "seek", None)) and callable(getattr(handle, "tell", None)):
        try:
            start = int(await handle.tell())
            end = int(await handle.seek(0, io.SEEK_END))
            await handle.seek(start)
            size = max(end - start, 0)
        except (OSError, ValueError, TypeError):
            start = size = None
    if size == 0:
        raise InvalidAudioError(f"the audio file object {name!r} has no bytes left to read")
    return _AsyncFileSource(file, start, size, name)


async def _open_iterable(iterable: AsyncIterable[bytes], filename: str | None) -> AudioSource:
    name = filename or "audio"
    iterator = aiter(iterable)
    # Pull the first non-empty chunk now: an empty stream is an error the caller should get before
    # anything is sent, not as a 400 from the service.
    async for chunk in iterator:
        if chunk:
            return _IterableSource(_require_bytes(chunk, name), iterator, name)
    raise InvalidAudioError(f"the audio stream {name!r} yielded no bytes")


def _byte_view(data: bytes | bytearray | memoryview) -> memoryview:
    view = memoryview(data)
    if not view.contiguous:
        raise TypeError("the audio memoryview must be contiguous")
    if view.nbytes == 0:
        raise InvalidAudioError("the audio is empty (0 bytes)")
    return view.cast("B") if view.format != "B" or view.ndim != 1 else view


def _require_bytes(chunk: object, filename: str) -> bytes | memoryview:
    if isinstance(chunk, bytes):
        return chunk
    if isinstance(chunk, memoryview):
        return cast("memoryview", chunk)
    if isinstance(chunk, bytearray):
        return bytes(chunk)  # the caller may reuse its buffer before the socket is done with it
    raise AudioSourceError(
        f"the audio {filename!r} produced {type(chunk).__name__}, not bytes: open files in binary mode"
    )


def _file_name(file: object) -> str:
    name = getattr(file, "name", None)
    if isinstance(name, str) and name:
        return os.path.basename(name) or "audio"
    return "audio"


def _check_size(size: int, filename: str, max_bytes: int | None) -> None:
    if max_bytes is not None and size > max_bytes:
        raise InvalidAudioError(_too_large(filename, _mb(size), max_bytes))


def _too_large(filename: str, size_text: str, max_bytes: int) -> str:
    return (
        f"the audio {filename!r} is {size_text}, over the limit of {_mb(max_bytes)}: pass an audio URL "
        "for large files, or raise Limits.max_audio_bytes if the service accepts more"
    )


def _mb(size: int) -> str:
    return f"{size / _MIB:.1f} MiB"
