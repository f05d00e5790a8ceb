"""Audio sources: everything a caller may pass as audio, read in chunks without blocking the loop.

Each source can start a fresh pass over its audio with :meth:`AudioSource.chunks`, so a request body can
be rebuilt for every attempt. Files are read in a worker thread in fixed-size chunks, and bytes are
sliced with memoryviews: the whole audio is never copied into memory. Before anything is sent,
:func:`open_source` checks what every upload needs: that the audio exists, is a regular file, is not
empty and is not too large; an area adds its own policy on top (fast transcription's formats and
duration: :func:`check_audio`; short audio has its own).

A path holds no file descriptor between those checks and the upload: it is opened at the start of every
pass (when the request body is written, so after a pooled connection was acquired) and closed at its
end. Thousands of queued calls therefore hold thousands of paths, not thousands of descriptors.

Whatever the caller's own object raises while it is read (its ``read``, its async iterator) becomes an
:class:`AudioSourceError` whose ``__cause__`` is the original exception; that is never retried.
Everything a source opens itself is released even when the call is cancelled at any point.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import inspect
import io
import operator
import os
import re
import stat
import tempfile
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import IO, TYPE_CHECKING, Any, Final, Protocol, TypeAlias, TypeVar, cast

import anyio
import anyio.to_thread

from ._exceptions import AudioSourceError, InvalidAudioError, SpeechError
from ._formats import HEAD_BYTES, describe_head, format_for_extension, sniff

if TYPE_CHECKING:
    from ._config import FastLimits, UploadLimits

__all__ = [
    "CHUNK_SIZE",
    "AsyncReadable",
    "AudioInput",
    "AudioSource",
    "check_audio",
    "check_audio_text",
    "is_audio_url",
    "open_bytes",
    "open_source",
]

CHUNK_SIZE: Final = 256 * 1024
"""Bytes read and written at a time: large enough to keep thread hops rare, small enough for flat memory."""

MEMORY_CHUNK_SIZE: Final = 1024 * 1024
"""Bytes of audio in memory written at a time: slices cost no read, so they are larger (a short-audio
request of up to 30 s goes in one write), and still small enough that the transient copy some Python
versions make of each write stays small."""

SPOOL_PREFIX: Final = "speech-async-"
SPOOL_SUFFIX: Final = ".audio"
"""Spool files are ``speech-async-*.audio`` in :func:`tempfile.gettempdir`, deleted when the call ends."""

_MIB: Final = 1024 * 1024

# Opening never waits: a FIFO swapped in for a checked file must not hang a worker thread (and with it
# the interpreter's exit). O_NONBLOCK means nothing for the regular files that are actually read.
_OPEN_FLAGS: Final = (
    os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
)

_PREAD: Final[Callable[[int, int, int], bytes] | None] = getattr(os, "pread", None)
"""Positional reads (POSIX): they neither need a seek nor move a descriptor's shared position."""

_TOO_MANY_FILES: Final = frozenset({errno.EMFILE, errno.ENFILE})
_DESCRIPTOR_PATIENCE: Final = 10.0
"""Seconds to wait for a free file descriptor before the call fails with :class:`AudioSourceError`."""

_T = TypeVar("_T")

_MAX_PATH_CHARS: Final = 4096
_SHOWN_AUDIO_CHARS: Final = 40
_BASE64_TEXT: Final = re.compile(r"[A-Za-z0-9+/_\-\s]+={0,2}\s*")
# The base64 of the first bytes of RIFF/WAV, ID3/MP3, FLAC, Ogg and WebM/Matroska audio.
_BASE64_AUDIO_PREFIXES: Final = ("UklGR", "SUQz", "ZkxhQ", "T2dnU", "GkXfo")
_DATA_URL: Final = re.compile(r"data:[\w.+-]*/?[\w.+-]*(;[^,]*)?,", re.IGNORECASE)


class AsyncReadable(Protocol):
    """A binary file object with a coroutine ``read``, such as an aiofiles or anyio file."""

    async def read(self, size: int = -1, /) -> bytes: ...


AudioInput: TypeAlias = (
    "str | os.PathLike[str] | bytes | bytearray | memoryview | IO[bytes] | AsyncReadable | AsyncIterable[bytes]"
)
"""What ``transcribe`` accepts as audio (a ``str`` that starts with ``http://`` or ``https://`` is an audio URL)."""


class AudioSource:
    """Audio that a request body can read, from its start, once per attempt."""

    __slots__ = ("filename", "max_bytes", "size")

    size: int | None
    """Bytes the audio has, when known before reading it (then the request gets a Content-Length)."""
    filename: str
    """The file name sent with the audio part."""

    def __init__(self, *, size: int | None, filename: str) -> None:
        self.size = size
        self.filename = filename
        self.max_bytes: int | None = None

    @property
    def replayable(self) -> bool:
        """Whether another pass would yield the same bytes from the start."""
        return True

    @property
    def in_memory(self) -> bool:
        """Whether the whole audio is already in memory (bytes, a buffer, a ``BytesIO``): nothing to read."""
        return False

    def whole(self) -> bytes | memoryview | None:
        """The whole audio, to write at once: immutable bytes of at most :data:`MEMORY_CHUNK_SIZE`, else ``None``."""
        return None

    def chunks(self) -> AsyncGenerator[bytes | memoryview, None]:
        """Start a pass over the audio from its beginning."""
        if not self.replayable:
            raise AudioSourceError(
                f"the audio {self.filename!r} comes from a one-shot stream that was already read; "
                "pass a path, bytes or a seekable file to allow the request to be sent again"
            )
        return self._checked(self._read())

    async def head(self) -> bytes | memoryview | None:
        """The first bytes of the audio (64 KiB, or all of them for bytes in memory), without using up a pass.

        ``None`` if unknowable.
        """
        return None

    def known_head(self) -> bytes | memoryview | None:
        """:meth:`head` when it is known without waiting (``bytes`` in memory, a path's head read when
        opened), else ``None``: then await :meth:`head`."""
        return None

    async def aclose(self) -> None:
        """Release what the source opened itself (never a file object the caller passed).

        Safe to call at any time, also while a pass is still running in another task: what that pass
        holds is then released when it ends.
        """

    def _read(self) -> AsyncIterator[bytes | memoryview]:
        raise NotImplementedError

    async def _checked(self, chunks: AsyncIterator[bytes | memoryview]) -> AsyncGenerator[bytes | memoryview, None]:
        # A file that grows or shrinks mid-upload would make the declared Content-Length a lie: the
        # server would wait for bytes that never come, or cut the audio short. Fail loudly instead.
        sent = 0
        expected = self.size
        limit = self.max_bytes
        try:
            while True:
                try:
                    chunk = await anext(chunks)
                except StopAsyncIteration:
                    break
                except SpeechError:
                    raise
                except Exception as err:
                    # The one place every pass goes through: nothing but our own typed errors leaves it,
                    # so the transport never mistakes a broken source for a broken connection.
                    raise _source_failure(self.filename, err) from err
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
    """Bytes in memory, sent in slices: zero-copy for ``bytes``, copied a chunk at a time otherwise.

    A slice of a mutable buffer (a ``bytearray``, a ``BytesIO``) locks it against resizing for as long
    as the slice lives, and a cancelled upload's traceback can keep its last chunk alive long after
    the call ended; a copied chunk locks nothing, so the caller's object is free once the call is over.
    """

    __slots__ = ("_copy", "_data", "_release")

    def __init__(self, data: bytes | memoryview, filename: str, release: Callable[[], None] | None = None) -> None:
        # ``bytes`` are kept as they are (no view to allocate: each object a request allocates costs it
        # garbage-collector time too); a view is made only to slice audio larger than one chunk.
        # AudioSource.__init__'s work, without its call (one per request, for the commonest audio).
        if isinstance(data, bytes):
            self.size = len(data)
            self._copy = False
        else:
            self.size = data.nbytes
            self._copy = not isinstance(data.obj, bytes)
        self.filename = filename
        self.max_bytes = None
        self._data = data
        self._release = release

    @property
    def in_memory(self) -> bool:
        return True

    def whole(self) -> bytes | memoryview | None:
        # Not a mutable buffer's: its chunks are copies (see above), and a copy of it all is not free.
        size = self.size
        return self._data if not self._copy and size is not None and size <= MEMORY_CHUNK_SIZE else None

    def chunks(self) -> AsyncGenerator[bytes | memoryview, None]:
        # Bytes in memory cannot grow, shrink or fail, and their size was checked against the limit when
        # the source was opened: a pass needs none of the checks of _checked, nor its extra generator.
        return self._read()

    async def _read(self) -> AsyncGenerator[bytes | memoryview, None]:
        data = self._data
        if isinstance(data, bytes) and len(data) <= MEMORY_CHUNK_SIZE:
            yield data
            return
        view = memoryview(data) if isinstance(data, bytes) else data
        copy = self._copy
        for start in range(0, view.nbytes, MEMORY_CHUNK_SIZE):
            end = start + MEMORY_CHUNK_SIZE
            yield view[start:end].tobytes() if copy else view[start:end]

    def known_head(self) -> bytes | None:
        data = self._data
        return data if isinstance(data, bytes) else None

    async def head(self) -> bytes | memoryview | None:
        data = self._data
        if isinstance(data, bytes):
            return data  # whole: sniff() looks at no more than HEAD_BYTES of it
        # A view of immutable bytes costs nothing; a mutable buffer's is copied, like its chunks.
        head = data[:HEAD_BYTES]
        return head.tobytes() if self._copy else head

    async def aclose(self) -> None:
        if self._release is not None:
            self._release()
            self._release = None


class _PathSource(AudioSource):
    """A regular file: its head from memory, then the rest from the file, opened for each pass and closed at its end.

    The head was read (and checked) when the source was opened; every pass sends those very bytes again
    and reads the file only from where they end, so no byte is read twice and a file no larger than
    its head costs no thread hop at all. Optionally deleted by :meth:`aclose`.
    """

    __slots__ = ("_closed", "_delete", "_head", "_open_passes", "_path", "_shown")

    def __init__(self, path: str, shown: str, size: int, head: bytes, filename: str, *, delete: bool = False) -> None:
        super().__init__(size=size, filename=filename)
        self._path = path
        self._shown = shown
        self._head = head
        self._delete = delete
        self._closed = False
        self._open_passes = 0

    async def _read(self) -> AsyncIterator[bytes | memoryview]:
        expected = self.size
        assert expected is not None
        head = self._head
        offset = len(head)
        if head:
            yield head
        if offset >= expected:
            return  # the whole file (one that grew since is refused by the pass's own count)
        # One worker-thread call opens the file, checks it and reads the next chunk (and, for a file
        # whose rest fits in one chunk, finds its end and closes it).
        opening = functools.partial(_open_for_pass, self._path, self._shown, offset, expected - offset)
        fd, chunk, done = await _patiently(lambda: _acquire(opening, _close_opened_pass), self._shown)
        self._open_passes += 1
        try:
            while True:
                if chunk:
                    offset += len(chunk)
                    yield chunk
                if done:
                    break
                chunk, done = await _in_thread(_read_path_chunk, fd, offset, expected - offset, self._shown)
        finally:
            self._open_passes -= 1
            try:
                if not done:
                    # Every read of the pass has ended (a cancelled hop still waits for its thread), so
                    # the descriptor is closed with nothing reading it.
                    await _release(functools.partial(_close_fd_quietly, fd))
            finally:
                if self._closed and self._open_passes == 0:
                    await self._remove()

    async def head(self) -> bytes | None:
        return self._head

    def known_head(self) -> bytes | None:
        return self._head

    async def aclose(self) -> None:
        self._closed = True
        # POSIX removes a file that a running pass still reads; elsewhere the last pass removes it.
        if self._open_passes == 0 or os.name == "posix":
            await self._remove()

    async def _remove(self) -> None:
        if self._delete:
            self._delete = False
            await _release(functools.partial(_unlink_quietly, self._path))


class _SyncFileSource(AudioSource):
    """A caller's file object: its head from memory, then the rest read in a worker thread, for every pass.

    Its head is read when it is measured (one thread hop); each pass sends those bytes again and reads
    on from where they end, so a file no larger than its head costs no hop a pass. A plain read-only
    file (``open(path, "rb")``) on a system with ``pread`` is read at explicit offsets, which never
    moves its position; any other seekable file is sought to each chunk, which leaves it at its end.
    """

    __slots__ = ("_file", "_head", "_positional", "_start")

    def __init__(self, file: IO[bytes], start: int, size: int, filename: str, head: bytes, *, positional: bool) -> None:
        super().__init__(size=size, filename=filename)
        self._file = file
        self._start = start
        self._head = head
        self._positional = positional

    async def _read(self) -> AsyncIterator[bytes | memoryview]:
        file = self._file
        expected = self.size
        assert expected is not None
        head = self._head
        sent = len(head)
        if head:
            yield head
        if sent >= expected:
            return
        read = _read_file_at if self._positional else _read_file_chunk
        while True:
            try:
                chunk, done = await _in_thread(read, file, self._start + sent, expected - sent)
            except Exception as err:
                raise _source_failure(self.filename, err) from err
            if chunk:
                data = _require_bytes(chunk, self.filename)
                sent += len(data)
                yield data
            if done:
                break

    async def head(self) -> bytes | None:
        return self._head


class _AsyncFileSource(AudioSource):
    """A caller's async file object (aiofiles, anyio, Starlette's ``UploadFile``), rewound for every pass.

    It is rewound to where it stood when it has ``tell``, and to its start otherwise.
    """

    __slots__ = ("_file", "_start")

    def __init__(self, file: Any, start: int, size: int | None, filename: str) -> None:
        super().__init__(size=size, filename=filename)
        self._file = file
        self._start = start

    async def _read(self) -> AsyncIterator[bytes | memoryview]:
        file = self._file
        try:
            await file.seek(self._start)
        except Exception as err:
            raise _source_failure(self.filename, err) from err
        while True:
            try:
                chunk = await file.read(CHUNK_SIZE)
            except Exception as err:
                raise _source_failure(self.filename, err) from err
            if not chunk:
                break
            yield _require_bytes(chunk, self.filename)

    async def head(self) -> bytes | None:
        try:
            await self._file.seek(self._start)
            data = await self._file.read(HEAD_BYTES)
            await self._file.seek(self._start)
        except Exception as err:
            raise _source_failure(self.filename, err) from err
        return _as_bytes(data, self.filename)


class _StreamSource(AudioSource):
    """A one-shot stream (an async iterable, or a file object that cannot seek).

    Its first chunk is pulled before sending, to catch an empty stream and to sniff the format. Until
    the stream is read past that chunk, a pass can start again from it; after that, never.
    """

    __slots__ = ("_advanced", "_close_pending", "_closed", "_exhausted", "_first_chunk", "_reading", "_rest")

    def __init__(self, first_chunk: bytes, rest: AsyncIterator[Any], filename: str) -> None:
        super().__init__(size=None, filename=filename)
        self._first_chunk = first_chunk
        self._rest = rest
        self._advanced = False
        self._exhausted = False
        self._reading = False
        self._close_pending = False
        self._closed = False

    @property
    def replayable(self) -> bool:
        return not self._advanced

    async def _read(self) -> AsyncIterator[bytes | memoryview]:
        if self._closed:
            raise AudioSourceError(f"the audio stream {self.filename!r} was closed before it was sent")
        yield self._first_chunk
        if self._exhausted:
            return
        self._advanced = True
        rest = False
        self._reading = True
        try:
            while True:
                if self._closed:
                    raise AudioSourceError(f"the audio stream {self.filename!r} was closed while it was being sent")
                try:
                    chunk = await anext(self._rest)
                except StopAsyncIteration:
                    break
                except Exception as err:
                    raise _source_failure(self.filename, err) from err
                if chunk:
                    rest = True
                    yield _require_bytes(chunk, self.filename)
        finally:
            self._reading = False
            if self._close_pending:
                await self._close_rest()
        if not rest:
            # The stream held nothing past its first chunk, which we keep: it can be sent again whole.
            self._exhausted = True
            self._advanced = False

    async def head(self) -> bytes | None:
        return self._first_chunk

    async def aclose(self) -> None:
        self._closed = True
        if self._reading and getattr(self._rest, "ag_running", True):
            # Another task (the request's body writer) is inside the caller's iterator right now; an
            # async generator cannot be closed from outside then. That pass closes it when it ends.
            self._close_pending = True
            return
        await self._close_rest()

    async def _close_rest(self) -> None:
        self._close_pending = False
        aclose = getattr(self._rest, "aclose", None)
        if aclose is None:
            return
        try:
            await aclose()
        except RuntimeError as err:
            if "already running" not in str(err):
                raise
            self._close_pending = True  # closed by the pass that is running it, when it ends


def is_audio_url(audio: object) -> bool:
    """Whether ``audio`` is an http(s) URL for the service to fetch, rather than a path."""
    return isinstance(audio, str) and audio[:8].lower().startswith(("https://", "http://"))


def check_audio_text(audio: object) -> None:
    """Refuse a ``str`` that holds data rather than a path, before it reaches the file system."""
    if not isinstance(audio, str) or is_audio_url(audio):
        return
    if "\x00" in audio:
        reason = "holds a NUL character, which no path has"
    elif _DATA_URL.match(audio):
        reason = "is a data: URL"
    elif _BASE64_TEXT.fullmatch(audio) and (
        len(audio) >= 256 or (len(audio) >= 16 and audio.startswith(_BASE64_AUDIO_PREFIXES))
    ):
        reason = "looks like base64 text"
    elif len(audio) > _MAX_PATH_CHARS:
        reason = f"is longer than any path ({_MAX_PATH_CHARS} characters)"
    else:
        return
    shown = audio[:_SHOWN_AUDIO_CHARS]
    more = "..." if len(audio) > _SHOWN_AUDIO_CHARS else ""
    raise InvalidAudioError(
        f"the audio is a str of {len(audio):,} characters that {reason} ({shown!r}{more}): expected a path "
        "or bytes; to send base64 data, decode it first (base64.b64decode(text)), and pass the bytes"
    )


async def open_source(audio: object, *, filename: str | None, upload: UploadLimits, spool: bool = False) -> AudioSource:
    """Open the audio for reading, with what every upload needs checked; raise :class:`InvalidAudioError`.

    Runs before anything is sent, so missing files, non-regular files (pipes, devices, directories,
    sockets), empty and over-size content fail locally; no format or duration policy applies here
    (see :func:`check_audio`). ``spool`` copies a one-shot stream to a temporary file first, so that it
    can be sent again on a retry. The caller must ``aclose()`` the returned source.
    """
    quick = open_bytes(audio, filename=filename, upload=upload)
    if quick is not None:
        return quick
    source = await _open(audio, filename)
    try:
        if spool and isinstance(source, _StreamSource):
            source = await _spool(source, upload.max_audio_bytes)
        _limit(source, upload)
    except BaseException:
        await source.aclose()
        raise
    return source


def open_bytes(audio: object, *, filename: str | None, upload: UploadLimits) -> AudioSource | None:
    """:func:`open_source` for ``bytes``, at once (no coroutine: bytes need no waiting); ``None`` for any other audio.

    The caller must ``aclose()`` the returned source, as with :func:`open_source`.
    """
    if type(audio) is not bytes:
        return None
    if not audio:
        raise InvalidAudioError("the audio is empty (0 bytes)")
    source = _BytesSource(audio, filename or "audio")
    _limit(source, upload)  # nothing to release on failure: the source holds the caller's bytes only
    return source


def _limit(source: AudioSource, upload: UploadLimits) -> None:
    source.max_bytes = most = upload.max_audio_bytes
    if source.size is not None and most is not None and source.size > most:
        raise InvalidAudioError(_too_large(source.filename, _mb(source.size), most))


async def _open(audio: object, filename: str | None) -> AudioSource:
    # (``bytes`` themselves were opened by open_bytes.)
    if isinstance(audio, bytes | bytearray | memoryview):
        return _BytesSource(_byte_view(cast("bytes | bytearray | memoryview", audio)), filename or "audio")
    if isinstance(audio, str | os.PathLike):
        path = os.fspath(cast("str | os.PathLike[str]", audio))
        return await _open_path(path, filename or os.path.basename(path) or "audio")
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


async def check_audio(source: AudioSource, limits: FastLimits) -> None:
    """Fast transcription's policy: a format the service accepts, no longer than the limit (where the header tells)."""
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


# --- paths -------------------------------------------------------------------------------------------


async def _open_path(path: str, name: str) -> AudioSource:
    try:
        # One worker-thread call stats, opens, reads the head and closes: no descriptor outlives it,
        # whenever the call is cancelled.
        absolute, size, head = await _patiently(lambda: _in_thread(_inspect_path, path), path, preflight=True)
    except FileNotFoundError as err:
        raise InvalidAudioError(f"no audio file at {path!r}: check the path") from err
    except PermissionError as err:
        raise InvalidAudioError(f"the audio file {path!r} cannot be read: permission denied") from err
    except OSError as err:
        if err.errno in _TOO_MANY_FILES:  # raised by something else than the open itself
            raise AudioSourceError(_too_many_files(path, err, preflight=True, waited=0.0)) from err
        raise InvalidAudioError(f"the audio file {path!r} cannot be opened: {err.strerror or err}") from err
    return _PathSource(absolute, path, size, head, name)


def _inspect_path(path: str) -> tuple[str, int, bytes]:
    """In a worker thread: refuse what is not a regular file before opening it, then read the head."""
    info = os.stat(path)
    kind = _not_regular(info.st_mode)
    if kind is not None:
        raise InvalidAudioError(_not_a_file(path, kind))
    fd = os.open(path, _OPEN_FLAGS)
    try:
        opened = os.fstat(fd)
        kind = _not_regular(opened.st_mode)
        if kind is not None:  # replaced between the stat and the open
            raise InvalidAudioError(_not_a_file(path, kind))
        if opened.st_size == 0:
            raise InvalidAudioError(f"the audio file {path!r} is empty (0 bytes)")
        head = b""
        while len(head) < HEAD_BYTES:
            more = _read_at(fd, HEAD_BYTES - len(head), len(head))
            if not more:
                break
            head += more
    finally:
        os.close(fd)
    return os.path.abspath(path), opened.st_size, head


def _open_for_pass(path: str, shown: str, offset: int, remaining: int) -> tuple[int, bytes, bool]:
    """In a worker thread: open a checked file again for one pass and read its chunk at ``offset``.

    Refuses the file if it is no longer regular. Returns the descriptor, the chunk and whether the pass
    has ended; a pass that ended has closed the descriptor already.
    """
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as err:
        if err.errno in _TOO_MANY_FILES:
            raise
        raise AudioSourceError(f"the audio file {shown!r} cannot be opened to send it: {err.strerror or err}") from err
    try:
        kind = _not_regular(os.fstat(fd).st_mode)
        if kind is not None:
            raise AudioSourceError(f"the audio file {shown!r} changed since it was checked: it is now {kind}")
        chunk, done = _read_path_chunk(fd, offset, remaining, shown)
    except BaseException:
        _close_fd_quietly(fd)
        raise
    return fd, chunk, done


def _read_path_chunk(fd: int, offset: int, remaining: int, shown: str) -> tuple[bytes, bool]:
    """In a worker thread: the chunk at ``offset``, and whether the pass ended (the descriptor is closed then).

    Asking for one byte more than the ``remaining`` bytes finds the end with the same read (a file that
    grew gives that byte, and the pass fails on it); a read that gives nothing is the end too.
    """
    want = min(CHUNK_SIZE, max(remaining, 0) + 1)
    try:
        chunk = _read_at(fd, want, offset)
    except OSError as err:
        raise AudioSourceError(f"reading {shown!r} failed: {err.strerror or err}") from err
    done = not chunk or _ended(chunk, want, remaining)
    if done:
        _close_fd_quietly(fd)
    return chunk, done


def _read_at(fd: int, size: int, offset: int) -> bytes:
    """Up to ``size`` bytes at ``offset`` of a descriptor of our own: one ``pread``, where the system has it.

    One system call, so one release of the GIL: each release while the loop's thread wants the GIL is a
    pair of context switches, the largest cost of a thread hop. (Elsewhere: a seek, then a read.)
    """
    if _PREAD is not None:
        return _PREAD(fd, size, offset)
    os.lseek(fd, offset, os.SEEK_SET)
    return os.read(fd, size)


def _ended(chunk: object, want: int, remaining: int) -> bool:
    # A short read that reached exactly the expected end is the end of the file: regular files give
    # short reads only there. Short elsewhere, the next read tells.
    if isinstance(chunk, memoryview):
        size = cast("memoryview", chunk).nbytes
    elif isinstance(chunk, bytes | bytearray):
        size = len(chunk)
    else:
        return False  # not bytes: the pass refuses it
    return size == remaining and size < want


def _close_opened_pass(opened: tuple[int, bytes, bool]) -> None:
    fd, _chunk, done = opened
    if not done:
        _close_fd_quietly(fd)


def _not_regular(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _not_a_file(path: str, kind: str) -> str:
    message = f"{path!r} is {kind}, not an audio file"
    if kind.startswith(("a FIFO", "a character")):
        message += ": to stream what it produces, open it yourself and pass the file object"
    return message


async def _patiently(attempt: Callable[[], Awaitable[_T]], path: str, *, preflight: bool = False) -> _T:
    """Run ``attempt`` (which opens a file), waiting for a free descriptor while the process has none.

    Running out of descriptors says nothing about the audio: it is never an :class:`InvalidAudioError`.
    """
    waited = 0.0
    delay = 0.002
    while True:
        try:
            return await attempt()
        except OSError as err:
            if err.errno not in _TOO_MANY_FILES:
                raise
            if waited >= _DESCRIPTOR_PATIENCE:
                raise AudioSourceError(_too_many_files(path, err, preflight=preflight, waited=waited)) from err
        await asyncio.sleep(delay)  # asyncio's own: nothing to import, which could need a descriptor itself
        waited += delay
        delay = min(delay * 2, 0.05)


def _too_many_files(path: str, err: OSError, *, preflight: bool, waited: float) -> str:
    limit = ""
    with contextlib.suppress(ImportError, OSError, ValueError):
        import resource

        limit = f" ({resource.getrlimit(resource.RLIMIT_NOFILE)[0]})"
    which = "the system's open-file table" if err.errno == errno.ENFILE else f"the process's descriptor limit{limit}"
    full = f"stayed full for {_DESCRIPTOR_PATIENCE:g} s" if waited else "is reached"
    when = "to check it" if preflight else "to send it"
    return (
        f"too many open files: {which} {full}, so {path!r} could not be opened {when}; "
        "raise the limit (ulimit -n), or run fewer calls at once (SpeechClient(connection_limit=...))"
    )


# --- caller-owned objects and streams -----------------------------------------------------------------


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
    try:
        measured = await _in_thread(_measure_sync, file)
    except Exception as err:
        raise _source_failure(name, err) from err
    if measured is None:
        return await _open_stream(_sync_chunks(file), name)
    start, size, head, positional = measured
    if size == 0:
        raise InvalidAudioError(f"the audio file object {name!r} has no bytes left to read")
    return _SyncFileSource(file, start, size, name, _as_bytes(head, name), positional=positional)


def _measure_sync(file: IO[bytes]) -> tuple[int, int, object, bool] | None:
    """In a worker thread: where a seekable file stands, how many bytes it has left, its head, and how to read it.

    ``None`` if it cannot seek (a one-shot stream). The file is left where it stood. The last item says
    whether it can be read at explicit offsets (:func:`_positional_fd`).
    """
    try:
        if not file.seekable():
            return None
        start = file.tell()
        fd = _positional_fd(file)
        if fd is not None:
            info = os.fstat(fd)
            if stat.S_ISREG(info.st_mode):
                size = max(info.st_size - start, 0)
                return start, size, _read_at(fd, min(HEAD_BYTES, size), start) if size else b"", True
        end = file.seek(0, io.SEEK_END)
        file.seek(start)
    except (OSError, ValueError, AttributeError):
        return None
    size = max(end - start, 0)
    if size == 0:
        return start, 0, b"", False
    try:
        head: object = file.read(HEAD_BYTES)
    finally:
        file.seek(start)
    return start, size, head, False


def _positional_fd(file: IO[bytes]) -> int | None:
    """The descriptor of a plain read-only file, readable with ``pread`` behind the file object's back; else ``None``.

    Only ``open(path, "rb")`` (a ``BufferedReader``, or an unbuffered ``FileIO``) qualifies: a file open
    for writing may hold unwritten bytes in its buffer, and without ``pread`` a read would move the
    position the file object thinks it has.
    """
    if _PREAD is None:
        return None
    kind = type(file)
    if kind is io.FileIO:
        if "+" in cast("io.FileIO", file).mode or not file.readable():
            return None
    elif kind is not io.BufferedReader:
        return None
    try:
        return file.fileno()
    except (OSError, ValueError):
        return None


def _read_file_at(file: IO[bytes], offset: int, remaining: int) -> tuple[bytes, bool]:
    """In a worker thread: the chunk at ``offset`` of a plain read-only file, read with ``pread``; whether it ended.

    The descriptor is asked of the file object for every chunk, so a file the caller has closed fails
    here (``ValueError``) instead of reading whatever took its descriptor's number.
    """
    want = min(CHUNK_SIZE, max(remaining, 0) + 1)
    chunk = _read_at(file.fileno(), want, offset)
    return chunk, not chunk or _ended(chunk, want, remaining)


def _read_file_chunk(file: IO[bytes], offset: int, remaining: int) -> tuple[object, bool]:
    """In a worker thread: seek to ``offset`` and read the next chunk of a caller's file; whether it ended.

    Asking for one byte more than the ``remaining`` bytes finds the end of the file with the same read
    (a file that grew gives that byte, and the pass fails); a read that gives nothing is the end too.
    """
    file.seek(offset)
    want = min(CHUNK_SIZE, max(remaining, 0) + 1)
    chunk = file.read(want)
    return chunk, not chunk or _ended(chunk, want, remaining)


async def _open_async_file(file: Any, filename: str | None) -> AudioSource:
    """An async file object: replayable whenever it has an async ``seek``, even without ``tell``.

    Starlette's (FastAPI's) ``UploadFile`` is the case in point: ``await seek(offset)`` takes no
    ``whence`` and returns ``None``, and there is no ``tell``. Such a file is sent from its start on
    every pass; its size, unknown, makes the upload chunked. A ``seek`` that takes a ``whence`` and
    returns the position measures the file, for a Content-Length. A file whose ``seek`` fails is a
    one-shot stream, read from where it stands.
    """
    name = filename or _file_name(file)
    if getattr(file, "closed", False) is True:
        raise InvalidAudioError(f"the audio file object {name!r} is closed")
    measured = await _measure_async(file, name) if callable(getattr(file, "seek", None)) else None
    if measured is None:
        return await _open_stream(_async_file_chunks(file), name)
    start, size = measured
    if size == 0 or (size is None and not await _has_bytes_at(file, start, name)):
        raise InvalidAudioError(f"the audio file object {name!r} has no bytes left to read")
    return _AsyncFileSource(file, start, size, name)


async def _measure_async(file: Any, name: str) -> tuple[int, int | None] | None:
    """Where a pass starts and how many bytes it has (``None``: unknown); ``None`` if it cannot seek."""
    try:
        start = 0  # without tell, the file's start
        if callable(getattr(file, "tell", None)):
            start = _position(await file.tell())
            if start is None:
                return None
        size: int | None = None
        if _takes_whence(file.seek):
            end = _position(await file.seek(0, io.SEEK_END))
            size = None if end is None else max(end - start, 0)
        await file.seek(start)
    except (OSError, ValueError, TypeError):
        return None
    except Exception as err:
        raise _source_failure(name, err) from err
    return start, size


async def _has_bytes_at(file: Any, start: int, name: str) -> bool:
    try:
        data = await file.read(1)
        await file.seek(start)
    except Exception as err:
        raise _source_failure(name, err) from err
    return bool(_require_bytes(data, name))


def _takes_whence(seek: Callable[..., Any]) -> bool:
    try:
        inspect.signature(seek).bind(0, io.SEEK_END)
    except (TypeError, ValueError):  # no second parameter, or no signature to tell
        return False
    return True


def _position(value: object) -> int | None:
    """A position a ``tell`` or ``seek`` returned, as an ``int``; ``None`` if it returned none."""
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)  # pyright: ignore[reportArgumentType]
    except TypeError:
        return None


async def _open_stream(iterator: AsyncIterator[Any], name: str) -> AudioSource:
    # Pull the first non-empty chunk now: an empty stream is an error the caller should get before
    # anything is sent, not as a 400 from the service.
    while True:
        try:
            chunk = await anext(iterator)
        except StopAsyncIteration:
            break
        except Exception as err:
            raise _source_failure(name, err) from err
        if chunk:
            return _StreamSource(_as_bytes(chunk, name), iterator, name)
    raise InvalidAudioError(f"the audio stream {name!r} yielded no bytes")


async def _spool(stream: _StreamSource, max_bytes: int | None) -> AudioSource:
    """Copy a one-shot stream to a temporary file, which is deleted when the source closes."""
    try:
        out, path = await _patiently(
            lambda: _acquire(_make_spool_file, _discard_spool_file), f"a spool file in {tempfile.gettempdir()}"
        )
    except OSError as err:
        raise AudioSourceError(_spool_failure(stream.filename, err)) from err
    try:
        size = 0
        head = bytearray()
        chunks = stream.chunks()
        try:
            async for chunk in chunks:
                size += len(chunk)
                if max_bytes is not None and size > max_bytes:
                    raise InvalidAudioError(_too_large(stream.filename, f"more than {_mb(max_bytes)}", max_bytes))
                if len(head) < HEAD_BYTES:
                    head += chunk[: HEAD_BYTES - len(head)]
                await anyio.to_thread.run_sync(out.write, chunk)
        finally:
            await chunks.aclose()  # type: ignore[attr-defined]
        await anyio.to_thread.run_sync(out.close)
    except BaseException as err:
        await _release(functools.partial(_discard_spool_file, (out, path)))
        if isinstance(err, OSError):
            raise AudioSourceError(_spool_failure(stream.filename, err)) from err
        raise
    finally:
        await stream.aclose()
    return _PathSource(path, path, size, bytes(head), stream.filename, delete=True)


def _make_spool_file() -> tuple[io.BufferedWriter, str]:
    fd, path = tempfile.mkstemp(prefix=SPOOL_PREFIX, suffix=SPOOL_SUFFIX)
    try:
        return open(fd, "wb"), path  # closed by _spool, or by _discard_spool_file
    except BaseException:
        os.close(fd)
        _unlink_quietly(path)
        raise


def _discard_spool_file(spool: tuple[io.BufferedWriter, str]) -> None:
    out, path = spool
    with contextlib.suppress(OSError, ValueError):
        out.close()  # may fail to flush what the full disk refused: the file goes anyway
    _unlink_quietly(path)


def _spool_failure(filename: str, err: OSError) -> str:
    return (
        f"copying the audio stream {filename!r} to a temporary file (spool=True) failed: {err.strerror or err}; "
        f"free space in {tempfile.gettempdir()!r}, or point TMPDIR elsewhere"
    )


async def _sync_chunks(file: IO[bytes]) -> AsyncIterator[bytes]:
    while chunk := await anyio.to_thread.run_sync(file.read, CHUNK_SIZE):
        yield chunk


async def _async_file_chunks(file: Any) -> AsyncIterator[bytes]:
    while chunk := await file.read(CHUNK_SIZE):
        yield chunk


# --- releasing what we open, whenever the call is cancelled -------------------------------------------


async def _in_thread(func: Callable[..., _T], *args: object) -> _T:
    """``func(*args)`` in the loop's default executor; a cancelled await still waits for it to end.

    What ``anyio.to_thread.run_sync`` does by default, at half its cost: the caller's file (or ours) is
    never left in use by a thread once this returns, however it returns.
    """
    future = asyncio.get_running_loop().run_in_executor(None, func, *args)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        while not future.done():
            try:
                await asyncio.wait((future,))
            except asyncio.CancelledError:  # cancelled again: the thread still has to end first
                continue
        _retrieve(future)
        raise


async def _acquire(func: Callable[[], _T], release: Callable[[_T], None]) -> _T:
    """Run ``func`` (which opens something) in a worker thread and return what it opened.

    If this await is cancelled, the thread still finishes, and what it opened is released then:
    nothing leaks however the call is interrupted.
    """
    future = asyncio.get_running_loop().run_in_executor(None, func)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        future.add_done_callback(functools.partial(_release_when_done, release))
        raise


def _release_when_done(release: Callable[[_T], None], future: asyncio.Future[_T]) -> None:
    if future.cancelled() or future.exception() is not None:
        return
    try:
        _forget(future.get_loop().run_in_executor(None, release, future.result()))
    except RuntimeError:  # the loop's executor is gone: the loop is shutting down
        release(future.result())


async def _release(release: Callable[[], None]) -> None:
    """Run ``release`` in a worker thread; it runs to its end even if this await is cancelled."""
    future = asyncio.get_running_loop().run_in_executor(None, release)
    try:
        await asyncio.shield(future)
    except asyncio.CancelledError:
        _forget(future)
        raise


def _forget(future: asyncio.Future[Any]) -> None:
    future.add_done_callback(_retrieve)


def _retrieve(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


def _close_fd_quietly(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)


def _unlink_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)


# --- small helpers ------------------------------------------------------------------------------------


def _source_failure(filename: str, err: BaseException) -> AudioSourceError:
    detail = getattr(err, "strerror", None) if isinstance(err, OSError) else None
    return AudioSourceError(
        f"reading the audio {filename!r} failed: {type(err).__name__}: {detail or err}; "
        "the error is the caller's audio source's own (see __cause__), so the request is not retried"
    )


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
    # ``filename``: the client's name of an upload (Starlette's UploadFile), which has no ``name``.
    for attribute in ("name", "filename"):
        name = getattr(file, attribute, None)
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
