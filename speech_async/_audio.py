"""Audio sources: everything a caller may pass as audio, read in chunks without blocking the loop.

Each source can start a fresh pass over its audio with :meth:`AudioSource.chunks`, so a request body can
be rebuilt for every attempt. Files are read through aiofiles (or a worker thread for caller-owned
file objects) in fixed-size chunks, and bytes are sliced with memoryviews: the whole audio is never
copied into memory. Before anything is sent, :func:`open_audio` checks what can be known locally: that
the audio exists, is not empty, is not too large or too long, and looks like audio.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import os
import stat
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import IO, TYPE_CHECKING, Any, Final, Protocol, TypeAlias, cast

import aiofiles
import aiofiles.os
import anyio.to_thread

from ._exceptions import AudioSourceError, InvalidAudioError
from ._formats import HEAD_BYTES, describe_head, format_for_extension, sniff

if TYPE_CHECKING:
    from aiofiles.threadpool.binary import AsyncBufferedReader

    from ._config import Limits

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

    def __init__(self, *, size: int | None, filename: str) -> None:
        self.size = size
        self.filename = filename
        self.max_bytes: int | None = None
        self._passes = 0

    @property
    def replayable(self) -> bool:
        """Whether another pass would yield the same bytes from the start."""
        return True

    def chunks(self) -> AsyncIterator[bytes | memoryview]:
        """Start a pass over the audio from its beginning."""
        if not self.replayable:
            raise AudioSourceError(
                f"the audio {self.filename!r} comes from a one-shot stream that was already read; "
                "pass a path, bytes or a seekable file to allow the request to be sent again"
            )
        self._passes += 1
        return self._checked(self._read())

    async def head(self) -> bytes | None:
        """The first bytes of the audio (up to 64 KiB), without using up a pass; ``None`` if unknowable."""
        return None

    async def aclose(self) -> None:
        """Release what the source opened itself (never a file object the caller passed)."""

    def _read(self) -> AsyncIterator[bytes | memoryview]:
        raise NotImplementedError

    async def _checked(self, chunks: AsyncIterator[bytes | memoryview]) -> AsyncIterator[bytes | memoryview]:
        # A file that grows or shrinks mid-upload would make the declared Content-Length a lie: the
        # server would wait for bytes that never come, or cut the audio short. Fail loudly instead.
        sent = 0
        expected = self.size
        limit = self.max_bytes
        try:
            async for chunk in chunks:
                sent += len(chunk)
                if expected is not None and sent > expected:
                    raise AudioSourceError(
                        f"the audio {self.filename!r} grew while it was being sent (expected {expected} bytes)"
                    )
                if limit is not None and sent > limit:
                    raise InvalidAudioError(_too_large(self.filename, f"more than {_mb(limit)}", limit))
                yield chunk
        finally:
            await chunks.aclose()  # type: ignore[attr-defined]
        if expected is not None and sent != expected:
            raise AudioSourceError(
                f"the audio {self.filename!r} shrank while it was being sent: {sent} of {expected} bytes"
            )


class _BytesSource(AudioSource):
    def __init__(self, data: memoryview, filename: str, release: Callable[[], None] | None = None) -> None:
        super().__init__(size=data.nbytes, filename=filename)
        self._data = data
        self._release = release

    async def _read(self) -> AsyncIterator[bytes | memoryview]:
        data = self._data
        for start in range(0, len(data), CHUNK_SIZE):
            yield data[start : start + CHUNK_SIZE]

    async def head(self) -> bytes | None:
        return self._data[:HEAD_BYTES].tobytes()

    async def aclose(self) -> None:
        if self._release is not None:
            self._release()
            self._release = None


class _PathSource(AudioSource):
    def __init__(self, handle: AsyncBufferedReader, size: int, filename: str, *, delete: str | None = None) -> None:
        super().__init__(size=size, filename=filename)
        self._handle = handle
        self._delete = delete

    async def _read(self) -> AsyncIterator[bytes | memoryview]:
        handle = self._handle
        try:
            await handle.seek(0)
            while chunk := await handle.read(CHUNK_SIZE):
                yield chunk
        except OSError as err:
            raise AudioSourceError(f"reading {self.filename!r} failed: {err.strerror or err}") from err

    async def head(self) -> bytes | None:
        try:
            await self._handle.seek(0)
            return await self._handle.read(HEAD_BYTES)
        except OSError as err:
            raise InvalidAudioError(f"the audio file {self.filename!r} cannot be read: {err.strerror or err}") from err

    async def aclose(self) -> None:
        try:
            await self._handle.close()
        finally:
            if self._delete is not None:
                with contextlib.suppress(FileNotFoundError):
                    await aiofiles.os.remove(self._delete)
                self._delete = None


class _SyncFileSource(AudioSource):
    """A caller's file object; read in a worker thread, rewound to where it stood for every pass."""

    def __init__(self, file: IO[bytes], start: int, size: int, filename: str) -> None:
        super().__init__(size=size, filename=filename)
        self._file = file
        self._start = start

    async def _read(self) -> AsyncIterator[bytes | memoryview]:
        file = self._file
        try:
            await anyio.to_thread.run_sync(file.seek, self._start)
            while chunk := await anyio.to_thread.run_sync(file.read, CHUNK_SIZE):
                yield _require_bytes(chunk, self.filename)
        except (OSError, ValueError) as err:
            raise AudioSourceError(f"reading the file object {self.filename!r} failed: {err}") from err

    async def head(self) -> bytes | None:
        def peek() -> bytes:
            self._file.seek(self._start)
            data = self._file.read(HEAD_BYTES)
            self._file.seek(self._start)
            return data

        try:
            return _as_bytes(await anyio.to_thread.run_sync(peek), self.filename)
        except (OSError, ValueError) as err:
            raise InvalidAudioError(f"the audio file object {self.filename!r} cannot be read: {err}") from err


class _AsyncFileSource(AudioSource):
    """A caller's async file object (aiofiles, anyio), rewound to where it stood for every pass."""

    def __init__(self, file: Any, start: int, size: int, filename: str) -> None:
        super().__init__(size=size, filename=filename)
        self._file = file
        self._start = start

    async def _read(self) -> AsyncIterator[bytes | memoryview]:
        file = self._file
        try:
            await file.seek(self._start)
            while chunk := await file.read(CHUNK_SIZE):
                yield _require_bytes(chunk, self.filename)
        except (OSError, ValueError) as err:
            raise AudioSourceError(f"reading the file object {self.filename!r} failed: {err}") from err

    async def head(self) -> bytes | None:
        try:
            await self._file.seek(self._start)
            data = await self._file.read(HEAD_BYTES)
            await self._file.seek(self._start)
        except (OSError, ValueError) as err:
            raise InvalidAudioError(f"the audio file object {self.filename!r} cannot be read: {err}") from err
        return _as_bytes(data, self.filename)


class _StreamSource(AudioSource):
    """A one-shot stream (an async iterable, or a file object that cannot seek).

    Its first chunk is pulled before sending, to catch an empty stream and to sniff the format. Until
    the stream is read past that chunk, a pass can start again from it; after that, never.
    """

    def __init__(
        self,
        first_chunk: bytes,
        rest: AsyncIterator[bytes],
        filename: str,
        on_close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        super().__init__(size=None, filename=filename)
        self._first_chunk = first_chunk
        self._rest = rest
        self._on_close = on_close
        self._advanced = False
        self._exhausted = False

    @property
    def replayable(self) -> bool:
        return not self._advanced

    async def _read(self) -> AsyncIterator[bytes | memoryview]:
        yield self._first_chunk
        if self._exhausted:
            return
        self._advanced = True
        rest = False
        async for chunk in self._rest:
            if chunk:
                rest = True
                yield _require_bytes(chunk, self.filename)
        if not rest:
            # The stream held nothing past its first chunk, which we keep: it can be sent again whole.
            self._exhausted = True
            self._advanced = False

    async def head(self) -> bytes | None:
        return self._first_chunk

    async def aclose(self) -> None:
        try:
            aclose = getattr(self._rest, "aclose", None)
            if aclose is not None:
                await aclose()
        finally:
            on_close, self._on_close = self._on_close, None
            if on_close is not None:
                await on_close()


async def open_audio(audio: object, *, filename: str | None, limits: Limits, spool: bool = False) -> AudioSource:
    """Check the audio and open it for reading; raise :class:`InvalidAudioError` for bad audio.

    Runs before anything is sent, so missing files, empty, over-size, over-long and non-audio content
    fail locally. ``spool`` copies a one-shot stream to a temporary file first, so that it can be sent
    again on a retry. The caller must ``aclose()`` the returned source.
    """
    source = await _open(audio, filename)
    try:
        if spool and isinstance(source, _StreamSource):
            source = await _spool(source, limits.max_audio_bytes)
        source.max_bytes = limits.max_audio_bytes
        await _check(source, limits)
    except BaseException:
        await source.aclose()
        raise
    return source


async def _open(audio: object, filename: str | None) -> AudioSource:
    if isinstance(audio, str | os.PathLike):
        path = os.fspath(cast("str | os.PathLike[str]", audio))
        return await _open_path(path, filename or os.path.basename(path) or "audio")
    if isinstance(audio, bytes | bytearray | memoryview):
        return _BytesSource(_byte_view(cast("bytes | bytearray | memoryview", audio)), filename or "audio")
    if isinstance(audio, io.BytesIO):
        return _open_bytesio(audio, filename)
    if isinstance(audio, io.TextIOBase):
        raise TypeError("the audio file object is open in text mode: open it with 'rb'")
    if inspect.iscoroutinefunction(getattr(audio, "read", None)):
        return await _open_async_file(audio, filename)
    if callable(getattr(audio, "read", None)):
        return await _open_sync_file(cast("IO[bytes]", audio), filename)
    if isinstance(audio, AsyncIterable):
        return await _open_stream(aiter(cast("AsyncIterable[bytes]", audio)), filename or "audio")
    raise TypeError(
        f"unsupported audio type {type(audio).__name__}: pass a path, bytes, a binary file object, "
        "an async iterable of bytes, or an http(s) URL"
    )


async def _check(source: AudioSource, limits: Limits) -> None:
    if source.size is not None and limits.max_audio_bytes is not None and source.size > limits.max_audio_bytes:
        raise InvalidAudioError(_too_large(source.filename, _mb(source.size), limits.max_audio_bytes))
    if not limits.check_audio_format and limits.max_audio_seconds is None:
        return
    head = await source.head()
    if head is None:
        return
    found = sniff(head, source.size)
    if limits.check_audio_format and found.format is None:
        claimed = format_for_extension(source.filename)
        named = f"; its name says {claimed}, but the content is not" if claimed else ""
        raise InvalidAudioError(
            f"the audio {source.filename!r} is not in a format the service accepts (it starts with "
            f"{describe_head(head)}{named}): send WAV, MP3, OGG/OPUS, FLAC, WMA, AAC, AMR, WebM or SPEEX, "
            "or turn the check off with Limits(check_audio_format=False)"
        )
    limit = limits.max_audio_seconds
    if limit is not None and found.seconds is not None and found.seconds > limit:
        raise InvalidAudioError(
            f"the audio {source.filename!r} lasts {_duration(found.seconds)}, over the limit of {_duration(limit)}: "
            "split it, use batch transcription for long recordings, or raise Limits.max_audio_seconds"
        )


async def _open_path(path: str, name: str) -> AudioSource:
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
        if not stat.S_ISREG(info.st_mode):
            # A pipe or a device has no size and cannot be re-read: stream it, once, with chunked transfer.
            return await _open_stream(_handle_chunks(handle), name, on_close=handle.close)
        if info.st_size == 0:
            raise InvalidAudioError(f"the audio file {path!r} is empty (0 bytes)")
    except BaseException:
        await handle.close()
        raise
    return _PathSource(handle, info.st_size, name)


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
    if start is None or size is None:
        return await _open_stream(_sync_chunks(file), name)
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


async def _open_async_file(file: Any, filename: str | None) -> AudioSource:
    name = filename or _file_name(file)
    if getattr(file, "closed", False) is True:
        raise InvalidAudioError(f"the audio file object {name!r} is closed")
    start: int | None = None
    size: int | None = None
    if callable(getattr(file, "seek", None)) and callable(getattr(file, "tell", None)):
        try:
            start = int(await file.tell())
            end = int(await file.seek(0, io.SEEK_END))
            await file.seek(start)
            size = max(end - start, 0)
        except (OSError, ValueError, TypeError):
            start = size = None
    if start is None or size is None:
        return await _open_stream(_async_file_chunks(file), name)
    if size == 0:
        raise InvalidAudioError(f"the audio file object {name!r} has no bytes left to read")
    return _AsyncFileSource(file, start, size, name)


async def _open_stream(
    iterator: AsyncIterator[bytes], name: str, *, on_close: Callable[[], Awaitable[None]] | None = None
) -> AudioSource:
    # Pull the first non-empty chunk now: an empty stream is an error the caller should get before
    # anything is sent, not as a 400 from the service.
    try:
        async for chunk in iterator:
            if chunk:
                return _StreamSource(_as_bytes(chunk, name), iterator, name, on_close)
    except BaseException:
        if on_close is not None:
            await on_close()
        raise
    if on_close is not None:
        await on_close()
    raise InvalidAudioError(f"the audio stream {name!r} yielded no bytes")


async def _spool(stream: _StreamSource, max_bytes: int | None) -> AudioSource:
    """Copy a one-shot stream to a temporary file, which is deleted when the source closes."""
    fd, path = await anyio.to_thread.run_sync(lambda: tempfile.mkstemp(prefix="speech-async-", suffix=".audio"))
    try:
        size = 0
        async with aiofiles.open(fd, "wb") as out:
            async for chunk in stream.chunks():
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise InvalidAudioError(_too_large(stream.filename, f"more than {_mb(max_bytes)}", max_bytes))
                await out.write(chunk)
        handle = await aiofiles.open(path, "rb")
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            await aiofiles.os.remove(path)
        raise
    finally:
        await stream.aclose()
    return _PathSource(handle, size, stream.filename, delete=path)


async def _handle_chunks(handle: AsyncBufferedReader) -> AsyncIterator[bytes]:
    while chunk := await handle.read(CHUNK_SIZE):
        yield chunk


async def _sync_chunks(file: IO[bytes]) -> AsyncIterator[bytes]:
    while chunk := await anyio.to_thread.run_sync(file.read, CHUNK_SIZE):
        yield chunk


async def _async_file_chunks(file: Any) -> AsyncIterator[bytes]:
    while chunk := await file.read(CHUNK_SIZE):
        yield chunk


def _byte_view(data: bytes | bytearray | memoryview) -> memoryview:
    view = memoryview(data)
    if not view.contiguous:
        raise TypeError("the audio memoryview must be contiguous")
    if view.nbytes == 0:
        raise InvalidAudioError("the audio is empty (0 bytes)")
    return view.cast("B") if view.format != "B" or view.ndim != 1 else view


def _as_bytes(chunk: object, filename: str) -> bytes:
    data = _require_bytes(chunk, filename)
    return data if isinstance(data, bytes) else data.tobytes()


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


def _too_large(filename: str, size_text: str, max_bytes: int) -> str:
    return (
        f"the audio {filename!r} is {size_text}, over the limit of {_mb(max_bytes)}: pass an audio URL "
        "for large files, or raise Limits.max_audio_bytes if the service accepts more"
    )


def _duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} minutes"


def _mb(size: int) -> str:
    return f"{size / _MIB:.1f} MiB"
