"""Bulk transcription: many sources through one client, bounded, throttled, resumable.

::

    from speech_async.bulk import transcribe_many

    async with SpeechClient.from_env() as client:
        async with transcribe_many(client, ["calls/", "extra/*.mp3"], output_dir="out", formats=("json", "srt")) as run:
            async for item in run:
                print(item.source.name, "ok" if item.ok else item.error)
        print(run.summary)

What it guarantees:

* **Bounded.** At most ``concurrency`` requests are in flight, and at most ``requests_per_minute`` start
  in any minute (a sliding window of ``rate_window`` seconds holding ``requests_per_minute *
  rate_window / 60`` starts; 600 a minute is fast transcription's documented default quota). A file is
  opened only when its request can start, so a run of any size holds at most ``concurrency`` audio
  files open.
* **Adaptive.** A 429 (:class:`~speech_async.RateLimitError`) halves the concurrency and the rate in
  effect (once per burst: only requests started after the last cut count), holds every new request
  back for the ``Retry-After`` the service asked (or a growing pause when it said nothing), and each
  success wins a little back (additive increase). The item is sent again: a 429 means the service did
  not process it. The client's own retries stay in charge of everything else (5xx, connection
  failures, timeouts), following its :class:`~speech_async.RetryPolicy`; only 429 is taken out of the
  policy for bulk's calls, so that bulk sees it and slows the whole run down instead of each call
  waiting on its own. Bulk itself never sends a request again after any other failure.
* **Failures are items.** A missing or corrupt file, a service error: the item carries the typed error
  and its source, the rest go on. Bad arguments (``concurrency < 1``, an unknown format, options the
  client refuses locally such as ``max_speakers=99`` or a bad locale: :func:`transcribe_many` itself
  raises; an ``output_dir`` that is a file, a folder locked by another run: when the run starts) raise
  typed errors before any request.
  A glob that matches nothing, a folder without audio, a source name used twice or unsafe as a path are
  items with an :class:`~speech_async.InvalidInputError` (nothing is sent for them).
* **Resumable.** With ``output_dir``, each result is written atomically (a temporary file in the same
  folder, ``fsync``, ``os.replace``) and recorded in a manifest; a rerun skips what is finished and
  unchanged and redoes what changed. See :class:`BulkRun` for the manifest and the lock.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import glob
import hashlib
import inspect
import io
import itertools
import math
import os
import stat
import sys
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterable, Awaitable, Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal, TypeAlias, cast

import anyio
import anyio.abc
import msgspec

from ._audio import CHUNK_SIZE, is_audio_url
from ._exceptions import InvalidAudioError, InvalidInputError, InvalidOptionsError, RateLimitError, SpeechError

if TYPE_CHECKING:
    from ._client import SpeechClient
    from ._config import RetryPolicy
    from ._models._fast import TranscriptionOptions, TranscriptionResult

__all__ = (
    "AUDIO_EXTENSIONS",
    "BulkItem",
    "BulkProgress",
    "BulkRun",
    "BulkSource",
    "BulkSummary",
    "FORMATS",
    "LOCK_FILE",
    "MANIFEST_FILE",
    "OutputLockedError",
    "transcribe_many",
)

AUDIO_EXTENSIONS: Final = frozenset(
    {".aac", ".amr", ".flac", ".m4a", ".mp3", ".mp4", ".ogg", ".opus", ".spx", ".wav", ".webm", ".wma"}
)
"""The files a folder source yields (by extension, case-insensitive); ``extensions=`` replaces the set."""

FORMATS: Final = ("json", "srt", "txt", "vtt")
"""The output formats: the service's JSON as it arrived, the plain transcript, SRT and WebVTT captions."""

MANIFEST_FILE: Final = ".speech-async-manifest.jsonl"
"""The manifest in ``output_dir``: one JSON object a line, appended and ``fsync``-ed."""

LOCK_FILE: Final = ".speech-async.lock"
"""The lock file in ``output_dir`` (an OS lock on it: released on close, and by the OS on a crash)."""

_GLOB_CHARS: Final = frozenset("*?[")
_ENUMERATION_BATCH: Final = 256
_SPEC_BATCH: Final = 64
_READY_BURST: Final = 16
_MANIFEST_VERSION: Final = 1
_DEFAULT_RATE_LIMIT_RETRIES: Final = 30
_NO_RETRY_AFTER_PAUSE: Final = 1.0
_MAX_PAUSE: Final = 120.0


class OutputLockedError(SpeechError):
    """Another run (in this process or another) holds the output folder's lock; nothing was sent."""


@dataclass(frozen=True, slots=True)
class BulkSource:
    """One source of a bulk run: a name (the relative path of its outputs) and any audio ``transcribe`` takes."""

    name: str
    """The relative name, with ``/`` separators: outputs are ``<output_dir>/<name>.<format>``."""
    audio: Any
    """A path, bytes, a file object, an async iterable of bytes, or an http(s) URL."""

    @property
    def path(self) -> str | None:
        """The file the audio is read from, when it is a path."""
        audio = self.audio
        if isinstance(audio, os.PathLike):
            return os.fspath(cast("os.PathLike[str]", audio))
        if isinstance(audio, str) and not is_audio_url(audio):
            return audio
        return None


@dataclass(frozen=True, slots=True)
class BulkItem:
    """The outcome of one source: its result, or the error that stopped it, or skipped (done before)."""

    source: BulkSource
    index: int
    """The source's position in the input, from 0."""
    result: TranscriptionResult | None = None
    error: BaseException | None = None
    skipped: bool = False
    """Finished by an earlier run and unchanged since: no request was sent, nothing written."""
    outputs: tuple[Path, ...] = ()
    """The files holding this source's outputs (written now, or earlier when skipped).

    A format that cannot be made from the result (``srt``/``vtt`` of a result without timings:
    :class:`speech_async.captions.MissingTimingsError`) is the item's ``error``, with ``result`` set and
    the other formats still written and listed here; the source is not recorded as done, so a rerun
    with that format sends it again.
    """

    @property
    def ok(self) -> bool:
        """Whether the source is transcribed (now, or by an earlier run)."""
        return self.error is None


@dataclass(frozen=True, slots=True)
class BulkProgress:
    """Where a run stands, given to the ``progress`` callback after every item.

    ``done`` counts every finished item (succeeded, failed or skipped); ``total`` is ``None`` until the
    sources are all enumerated (counted ahead in a worker thread for paths, globs and folders).
    """

    total: int | None
    done: int
    failed: int
    skipped: int
    in_flight: int
    audio_seconds: float
    """Seconds of audio transcribed by this run (skipped sources not included)."""

    @property
    def succeeded(self) -> int:
        """Items transcribed by this run."""
        return self.done - self.failed - self.skipped


@dataclass(frozen=True, slots=True)
class BulkSummary:
    """The counts of a run so far (final once the run is exhausted)."""

    total: int | None
    succeeded: int
    failed: int
    skipped: int
    audio_seconds: float


ProgressCallback: TypeAlias = "Callable[[BulkProgress], Awaitable[None] | None]"
SourceSpec: TypeAlias = "str | os.PathLike[str] | BulkSource | tuple[str, Any]"
Sources: TypeAlias = "str | os.PathLike[str] | Iterable[SourceSpec] | AsyncIterable[SourceSpec]"


# --- enumeration -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Entry:
    source: BulkSource
    error: BaseException | None = None


def _name_for_path(path: str) -> str:
    """The output name of a path: the path as given, normalised (relative to the working folder when
    inside it, else without its anchor); ``..`` becomes ``__``."""
    if os.path.isabs(path):
        with contextlib.suppress(ValueError):
            inside = os.path.relpath(path)
            if not inside.startswith(os.pardir):
                path = inside
    pure = PurePath(os.path.normpath(path))
    parts = pure.parts[1:] if pure.anchor else pure.parts
    parts = tuple(part for part in parts if part not in ("", "."))
    return "/".join("__" if part == ".." else part for part in parts) or "audio"


def _check_name(name: object) -> str:
    """A safe relative name, with ``/`` separators; ``InvalidInputError`` otherwise."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError(f"a bulk source's name must be a non-empty str, got {name!r}")
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        raise InvalidInputError(f"the bulk source name {name!r} holds a control character")
    posix = name.replace("\\", "/")
    parts = posix.split("/")
    if posix.startswith("/") or PurePath(name).anchor or any(part in ("..", "") for part in parts):
        raise InvalidInputError(
            f"the bulk source name {name!r} must be a relative path inside the output folder (no '..', no root)"
        )
    return "/".join(part for part in parts if part != ".")


def _walk(folder: str, extensions: frozenset[str]) -> Iterator[tuple[str, str]]:
    """The audio files under ``folder``, sorted, with their names: the folder's own name, then the path inside."""
    prefix = os.path.basename(os.path.normpath(folder))
    prefix = "" if prefix in ("", ".", "..") else prefix + "/"
    for top, dirs, files in os.walk(folder):
        dirs.sort()
        for file in sorted(files):
            if os.path.splitext(file)[1].lower() in extensions:
                path = os.path.join(top, file)
                yield path, prefix + PurePath(os.path.relpath(path, folder)).as_posix()


def _expand_path(spec: str, extensions: frozenset[str]) -> Generator[_Entry, None, None]:
    """In a worker thread: the entries of one path, glob or folder (never materialised)."""
    if os.path.isdir(spec):
        found = False
        for path, name in _walk(spec, extensions):
            found = True
            yield _Entry(BulkSource(name, path))
        if not found:
            shown = ", ".join(sorted(extensions))
            yield _Entry(
                BulkSource(_name_for_path(spec), None),
                InvalidInputError(f"the folder {spec!r} holds no audio files (looked for {shown})"),
            )
        return
    if _GLOB_CHARS.isdisjoint(spec) or os.path.lexists(spec):
        yield _Entry(BulkSource(_name_for_path(spec), spec))
        return
    found = False
    for match in glob.iglob(spec, recursive=True):
        found = True
        if os.path.isdir(match):
            yield from _expand_path(match, extensions)
        else:
            yield _Entry(BulkSource(_name_for_path(match), match))
    if not found:
        yield _Entry(
            # Named by the pattern as given: an item without audio writes no output, so the name is only shown.
            BulkSource(_name_for_path(spec), None),
            InvalidInputError(f"the pattern {spec!r} matches no file"),
        )


def _is_path_spec(spec: object) -> bool:
    return isinstance(spec, os.PathLike) or (isinstance(spec, str) and not is_audio_url(spec))


def _entry_for(spec: object) -> _Entry:
    """An entry for a source that is not a path: a BulkSource, a (name, audio) pair or a URL."""
    pair = _as_pair(spec)
    try:
        if isinstance(spec, BulkSource):
            source = spec
        elif pair is not None:
            source = BulkSource(cast("str", pair[0]), pair[1])
        elif isinstance(spec, str):  # an audio URL
            tail = spec.split("?", 1)[0].split("://", 1)[-1]
            return _Entry(BulkSource(_name_for_path(tail), spec))
        else:
            raise InvalidInputError(
                f"unsupported bulk source {type(spec).__name__}: pass a path, a glob, a folder, a BulkSource "
                "or a (name, audio) pair"
            )
        return _Entry(dataclasses.replace(source, name=_check_name(source.name)))
    except InvalidInputError as err:
        shown = spec.name if isinstance(spec, BulkSource) else repr(spec)[:60]
        return _Entry(BulkSource(str(shown) or "?", None), err)


def _as_pair(spec: object) -> tuple[object, Any] | None:
    if isinstance(spec, tuple):
        items = cast("tuple[object, ...]", spec)
        if len(items) == 2:
            return items[0], items[1]
    return None


def _take(iterator: Iterator[_Entry], count: int) -> list[_Entry]:
    batch: list[_Entry] = []
    for entry in iterator:
        batch.append(entry)
        if len(batch) >= count:
            break
    return batch


def _expand_specs(specs: list[object], extensions: frozenset[str]) -> Generator[_Entry, None, None]:
    """In a worker thread: the entries of a batch of sources (paths expanded, the others as they are)."""
    for spec in specs:
        if _is_path_spec(spec):
            yield from _expand_path(os.fspath(cast("str | os.PathLike[str]", spec)), extensions)
        else:
            yield _entry_for(spec)


async def _threaded_entries(iterator: Generator[_Entry, None, None]) -> AsyncGenerator[_Entry, None]:
    """The entries of a generator run in a worker thread, a batch of them per hop."""
    try:
        while batch := await anyio.to_thread.run_sync(_take, iterator, _ENUMERATION_BATCH):
            for entry in batch:
                yield entry
    finally:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(iterator.close)


async def _entries(sources: object, extensions: frozenset[str]) -> AsyncGenerator[_Entry, None]:
    """Every entry of ``sources``, lazily: nothing is listed ahead of what the run takes.

    The caller's iterable is read on the event loop, up to :data:`_SPEC_BATCH` sources ahead; a batch
    holding paths is expanded (``stat``, folder walks, globs) in one worker thread, not one hop a path.
    """
    if isinstance(sources, str | os.PathLike):
        sources = [cast("object", sources)]
    if isinstance(sources, AsyncIterable):
        async for spec in cast("AsyncIterable[object]", sources):
            async for entry in _batch_entries([spec], extensions):
                yield entry
        return
    if not isinstance(sources, Iterable):
        raise InvalidInputError(
            f"sources must be a path, a glob, a folder or an iterable of them, not {type(sources).__name__}"
        )
    iterator = iter(cast("Iterable[object]", sources))
    while specs := list(itertools.islice(iterator, _SPEC_BATCH)):
        async for entry in _batch_entries(specs, extensions):
            yield entry
        await anyio.lowlevel.checkpoint()


async def _batch_entries(specs: list[object], extensions: frozenset[str]) -> AsyncGenerator[_Entry, None]:
    if not any(_is_path_spec(spec) for spec in specs):
        for spec in specs:
            yield _entry_for(spec)
        return
    async with contextlib.aclosing(_threaded_entries(_expand_specs(specs, extensions))) as entries:
        async for entry in entries:
            yield entry


def _count_paths(specs: list[object], extensions: frozenset[str], stop: threading.Event) -> int | None:
    """In a worker thread: how many entries ``specs`` has (``None`` when told to stop)."""
    count = 0
    for spec in specs:
        if _is_path_spec(spec):
            for _ in _expand_path(os.fspath(cast("str | os.PathLike[str]", spec)), extensions):
                count += 1
                if stop.is_set():
                    return None
        else:
            count += 1
    return count


# --- throttling ----------------------------------------------------------------------------------------


class _Permit:
    __slots__ = ("started",)

    def __init__(self, started: float) -> None:
        self.started = started


class _Throttle:
    """Requests in flight and starts per window, both cut by half on a 429 and won back one by one."""

    def __init__(self, concurrency: int, per_window: int | None, window: float, clock: Callable[[], float]) -> None:
        self._max = concurrency
        self._limit = float(concurrency)
        self._per_window = per_window
        self._rate = float(per_window or 1)
        self._window = window
        self._clock = clock
        self._starts: collections.deque[float] = collections.deque()
        self._until = 0.0
        self._last_cut = -math.inf
        self._pauses = 0
        self._changed: anyio.Event | None = None  # made by a waiter, set (and dropped) by the next change
        self.in_flight = 0

    @property
    def concurrency(self) -> int:
        """The concurrency in effect now."""
        return max(1, int(self._limit))

    def _notify(self) -> None:
        changed = self._changed
        if changed is not None:
            self._changed = None
            changed.set()

    def _wait_for(self, now: float) -> float | None:
        """Seconds to wait before a request may start (``None``: until something changes; 0: now)."""
        if now < self._until:
            return self._until - now
        if self.in_flight >= self.concurrency:
            return None
        if self._per_window is None:
            return 0.0
        starts = self._starts
        while starts and starts[0] <= now - self._window:
            starts.popleft()
        if len(starts) >= max(1, int(self._rate)):
            return starts[0] + self._window - now
        return 0.0

    async def acquire(self) -> _Permit:
        while True:
            now = self._clock()
            wait = self._wait_for(now)
            if wait == 0.0:
                if self._per_window is not None:
                    self._starts.append(now)
                self.in_flight += 1
                return _Permit(now)
            changed = self._changed
            if changed is None:
                changed = self._changed = anyio.Event()
            with anyio.move_on_after(wait if wait is not None else math.inf):
                await changed.wait()

    def release(self) -> None:
        self.in_flight -= 1
        self._notify()

    def succeeded(self) -> None:
        self._pauses = 0
        self._limit = min(float(self._max), self._limit + 1.0 / self._limit)
        if self._per_window is not None:
            self._rate = min(float(self._per_window), self._rate + 1.0 / max(self._rate, 1.0))

    def rate_limited(self, permit: _Permit, retry_after: float | None) -> None:
        now = self._clock()
        if permit.started >= self._last_cut:  # one cut per burst: requests sent before it don't count
            self._last_cut = now
            self._limit = max(1.0, self._limit / 2)
            self._rate = max(1.0, self._rate / 2)
        pause = retry_after
        if pause is None:
            pause = min(_NO_RETRY_AFTER_PAUSE * 2.0**self._pauses, _MAX_PAUSE)
            self._pauses += 1
        self._until = max(self._until, now + pause)
        self._notify()


# --- source audio --------------------------------------------------------------------------------------


class _HashedFile:
    """A file opened when its request starts; the SHA-256 of the last whole pass is read on the way.

    ``transcribe`` sees an async file with ``seek``/``tell``: it measures it, reads its head, then
    reads it from the start once per attempt; a pass from offset 0 to the end hashes the content, so
    the manifest gets the full SHA-256 of what was sent without reading the file a second time.
    """

    def __init__(self, file: io.BufferedReader, size: int, mtime_ns: int, name: str) -> None:
        self._file = file
        self.size = size
        self.mtime_ns = mtime_ns
        self.name = name
        self._pos: int = 0
        self._hash = hashlib.sha256()
        self._hashed = 0
        self.digest: str | None = None

    @classmethod
    def open(cls, path: str) -> _HashedFile:
        """In a worker thread: open ``path`` (a regular file) and take its size and mtime from the descriptor."""
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(path, flags)
        except FileNotFoundError as err:
            raise InvalidAudioError(f"no audio file at {path!r}: check the path") from err
        except OSError as err:
            raise InvalidAudioError(f"the audio file {path!r} cannot be opened: {err.strerror or err}") from err
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise InvalidAudioError(f"the audio {path!r} is not a regular file")
            file = os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise
        return cls(file, info.st_size, info.st_mtime_ns, os.path.basename(path))

    def _read(self, size: int) -> bytes:
        data = self._file.read(size)
        if self._hashed == self._pos:
            self._hash.update(data)
            self._hashed += len(data)
            if not data and self._hashed == self.size:
                self.digest = self._hash.hexdigest()
        self._pos += len(data)
        return data

    async def read(self, size: int = -1, /) -> bytes:
        return await anyio.to_thread.run_sync(self._read, size)

    def _seek(self, offset: int, whence: int) -> int:
        self._pos = int(self._file.seek(offset, whence))
        if self._pos == 0:
            self._hash = hashlib.sha256()
            self._hashed = 0
        return self._pos

    async def seek(self, offset: int, whence: int = io.SEEK_SET, /) -> int:
        return await anyio.to_thread.run_sync(self._seek, offset, whence)

    async def tell(self) -> int:
        return self._pos

    async def aclose(self) -> None:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self._file.close)


def _file_state(path: str) -> tuple[int, int, str]:
    """In a worker thread: size, mtime_ns and SHA-256 of a file (for the check of a rerun)."""
    with open(path, "rb") as file:
        info = os.fstat(file.fileno())
        digest = hashlib.sha256()
        while chunk := file.read(CHUNK_SIZE):
            digest.update(chunk)
    return info.st_size, info.st_mtime_ns, digest.hexdigest()


def _file_stat(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns


# --- the output folder ---------------------------------------------------------------------------------


class _Record(msgspec.Struct, kw_only=True, omit_defaults=True):
    v: int = _MANIFEST_VERSION
    state: Literal["pending", "done"]
    name: str
    size: int | None = None
    mtime_ns: int | None = None
    sha256: str | None = None
    audio_ms: int | None = None
    outputs: dict[str, str] = msgspec.field(default_factory=dict[str, str])
    """Format -> the SHA-256 of the file written."""


_RECORD_DECODER: Final = msgspec.json.Decoder(_Record)


class _Folder:
    """The output folder: its lock, its manifest (read at the start, appended after each result)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.records: dict[str, _Record] = {}
        self._lock_fd: int | None = None
        self._manifest_fd: int | None = None
        self._write_lock = threading.Lock()

    def open(self) -> None:
        """In a worker thread: create the folder, take its lock, read and repair the manifest."""
        root = self.root
        if root.exists() and not root.is_dir():
            raise InvalidOptionsError(f"output_dir {str(root)!r} is not a folder")
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise InvalidOptionsError(f"output_dir {str(root)!r} cannot be created: {err.strerror or err}") from err
        fd = os.open(root / LOCK_FILE, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            _lock(fd, str(root))
        except BaseException:
            os.close(fd)
            raise
        self._lock_fd = fd
        try:
            self._read_manifest()
        except BaseException:
            self.close()
            raise

    def _read_manifest(self) -> None:
        path = self.root / MANIFEST_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0), 0o644)
        self._manifest_fd = fd
        with open(path, "rb") as file:
            data = file.read()
        end = data.rfind(b"\n") + 1
        if end < len(data):  # a torn last line (a crash mid-append): cut it off
            os.ftruncate(fd, end)
            os.fsync(fd)
        for line in data[:end].splitlines():
            try:
                record = _RECORD_DECODER.decode(line)
            except msgspec.DecodeError:
                continue  # written by a newer version, or damaged by hand: that source is redone
            self.records[record.name] = record  # the last record of a name tells its state

    def append(self, record: _Record) -> None:
        """In a worker thread: append one record and ``fsync`` it."""
        line = msgspec.json.encode(record) + b"\n"
        with self._write_lock:
            fd = self._manifest_fd
            assert fd is not None
            os.write(fd, line)
            os.fsync(fd)
        self.records[record.name] = record

    def output_path(self, name: str, fmt: str) -> Path:
        return self.root.joinpath(*name.split("/")).with_name(name.rsplit("/", 1)[-1] + "." + fmt)

    def write_atomically(self, target: Path, data: bytes) -> None:
        """In a worker thread: a temporary file beside ``target``, ``fsync``, then ``os.replace``."""
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            with open(temporary, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        _fsync_folder(target.parent)

    def outputs_intact(self, name: str, record: _Record, formats: tuple[str, ...]) -> tuple[Path, ...] | None:
        """In a worker thread: the output files of ``record`` when all of ``formats`` are there, as recorded."""
        paths: list[Path] = []
        for fmt in formats:
            digest = record.outputs.get(fmt)
            if digest is None:
                return None
            path = self.output_path(name, fmt)
            try:
                if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
                    return None
            except OSError:
                return None
            paths.append(path)
        return tuple(paths)

    def close(self) -> None:
        for attr in ("_manifest_fd", "_lock_fd"):
            fd = getattr(self, attr)
            if fd is not None:
                setattr(self, attr, None)
                os.close(fd)  # closing the lock file's descriptor drops its lock


def _lock(fd: int, shown: str) -> None:
    try:
        if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        raise OutputLockedError(
            f"the output folder {shown!r} is in use by another bulk run (its {LOCK_FILE} is locked); "
            "wait for that run to end, or use another folder"
        ) from err


def _fsync_folder(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _encode_output(result: TranscriptionResult, fmt: str) -> bytes:
    if fmt == "json":
        info = result.response
        return info.body if info is not None else msgspec.json.encode(result)
    from . import captions  # pyright: ignore[reportAttributeAccessIssue,reportUnknownVariableType]

    render: Callable[[TranscriptionResult], str] = {
        "txt": captions.to_text,  # pyright: ignore[reportUnknownMemberType]
        "srt": captions.to_srt,  # pyright: ignore[reportUnknownMemberType]
        "vtt": captions.to_webvtt,  # pyright: ignore[reportUnknownMemberType]
    }[fmt]
    return render(result).encode("utf-8")


# --- the run -------------------------------------------------------------------------------------------


class _Slot:
    __slots__ = ("done", "item")

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.item: BulkItem | None = None


class BulkRun:
    """A running bulk transcription: an async iterator of :class:`BulkItem` and an async context manager.

    ``async with transcribe_many(...) as run: async for item in run: ...`` is the safe form: leaving
    the block (also by ``break`` or an exception) cancels what is in flight, and releases every file and
    the output folder's lock. Plain ``async for`` works too; call :meth:`aclose` when you stop early.

    With ``output_dir``, the folder holds the outputs (``<name>.<format>``, the name's folders created),
    :data:`MANIFEST_FILE` and :data:`LOCK_FILE`. The manifest is append-only JSON lines; a torn last line
    (a crash mid-append) is cut off when the next run opens it. For each result the run appends a
    ``pending`` record (the source's size, ``mtime_ns``, full SHA-256, and the SHA-256 of each output
    about to be written), writes each output atomically, then appends a ``done`` record. The SHA-256 of a
    path source is computed while its bytes are uploaded (no second read). A rerun:

    * skips a source whose ``done`` record matches its size, mtime and content (hashed again: a local
      read, cheaper than a request) and whose outputs are all there: ``item.skipped``, nothing sent;
    * also skips a source whose ``pending`` record matches and whose outputs are all there with the
      recorded digests (a crash came between the last write and the ``done`` record), appending the
      ``done`` record then: the result is never requested nor written twice;
    * redoes a source that changed, one whose outputs are missing or altered (or a format was added),
      and every source that failed (also one whose result could be written in some formats but not in
      all: its ``pending`` record lists only the outputs written).

    Sources that are not paths are matched by name and, for bytes, by their SHA-256; file objects,
    streams and URLs cannot be checked without reading them, and are trusted by name.

    A second run on the same folder, in this process or another, raises :class:`OutputLockedError` when
    it starts (an ``fcntl.flock``, ``msvcrt.locking`` on Windows, which the OS drops if the process dies).
    """

    def __init__(
        self,
        client: SpeechClient,
        sources: object,
        *,
        concurrency: int,
        requests_per_minute: float | None,
        rate_window: float,
        options: TranscriptionOptions,
        output_dir: Path | None,
        formats: tuple[str, ...],
        ordered: bool,
        ordered_window: int,
        progress: ProgressCallback | None,
        extensions: frozenset[str],
        rate_limit_retries: int,
        transcribe_kwargs: dict[str, Any],
    ) -> None:
        self._client = client
        self._sources = sources
        self._concurrency = concurrency
        per_window = None if requests_per_minute is None else max(1, int(requests_per_minute * rate_window / 60.0))
        self._throttle = _Throttle(concurrency, per_window, rate_window, time.monotonic)
        self._options = options
        self._folder = None if output_dir is None else _Folder(output_dir)
        self._formats = formats
        self._ordered = ordered
        self._ordered_window = ordered_window
        self._progress = progress
        self._extensions = extensions
        self._rate_limit_retries = rate_limit_retries
        self._kwargs = transcribe_kwargs
        self._retry = _without_429(client)
        self._send, self._receive = anyio.create_memory_object_stream[BulkItem](concurrency)
        self._task: asyncio.Task[None] | None = None
        self._started = False
        self._closed = False
        self._total: int | None = None
        self._produced = 0
        self._enumerated = False
        self._done = 0
        self._failed = 0
        self._skipped = 0
        self._audio_ms = 0
        self._names: set[str] = set()
        self._stop_count = threading.Event()
        self._ready = 0

    # -- public surface --

    @property
    def summary(self) -> BulkSummary:
        """The counts so far: total (``None`` until known), succeeded, failed, skipped, audio seconds."""
        return BulkSummary(
            total=self._total,
            succeeded=self._done - self._failed - self._skipped,
            failed=self._failed,
            skipped=self._skipped,
            audio_seconds=self._audio_ms / 1000.0,
        )

    @property
    def concurrency(self) -> int:
        """The concurrency in effect now (lower than asked for a while after a 429)."""
        return self._throttle.concurrency

    async def __aenter__(self) -> BulkRun:
        await self._start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> BulkRun:
        return self

    async def __anext__(self) -> BulkItem:
        if not self._started:
            await self._start()
        try:
            # Items that are ready are taken without a trip through the event loop each (finished items
            # come in bursts, one a loop round would fill the stream and block the workers), with a
            # checkpoint every few items so that the reader stays cancellable.
            self._ready += 1
            if self._ready < _READY_BURST:
                with contextlib.suppress(anyio.WouldBlock):
                    return self._receive.receive_nowait()
            self._ready = 0
            return await self._receive.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            await self._finish()
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        """Cancel what is in flight, close every file, release the output folder. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._stop_count.set()
        task = self._task
        try:
            if task is not None and not task.done():
                task.cancel()
                with anyio.CancelScope(shield=True):
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
        finally:
            self._receive.close()
            folder = self._folder
            if folder is not None:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(folder.close)

    # -- running --

    async def _start(self) -> None:
        if self._started:
            return
        if self._closed:
            raise RuntimeError("this bulk run is closed")
        self._started = True
        try:
            if self._folder is not None:
                await anyio.to_thread.run_sync(self._folder.open)
        except BaseException:
            self._closed = True
            self._receive.close()
            self._send.close()
            raise
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _finish(self) -> None:
        task = self._task
        try:
            if task is not None and not task.cancelled():
                try:
                    await task
                except BaseException as err:
                    raise _unwrap(err) from None
        finally:
            await self.aclose()

    async def _run(self) -> None:
        try:
            async with anyio.create_task_group() as group:
                sources = self._sources
                if isinstance(sources, str | os.PathLike):
                    group.start_soon(self._count_total, [cast("object", sources)])
                elif isinstance(sources, list | tuple):
                    group.start_soon(self._count_total, list(cast("Iterable[object]", sources)))
                await self._dispatch()
        finally:
            self._stop_count.set()
            self._send.close()

    async def _count_total(self, specs: list[object]) -> None:
        count = await anyio.to_thread.run_sync(
            _count_paths, specs, self._extensions, self._stop_count, abandon_on_cancel=True
        )
        if count is not None and not self._enumerated:
            self._total = max(count, self._produced)

    async def _dispatch(self) -> None:
        slots = anyio.Semaphore(self._concurrency)
        # The emitter holds the oldest slot while it waits for it: the stream holds the rest of the window.
        order_send, order_receive = anyio.create_memory_object_stream[_Slot](self._ordered_window - 1)
        async with order_send, order_receive, anyio.create_task_group() as workers:
            if self._ordered:
                workers.start_soon(self._emit_in_order, order_receive.clone())
            index = 0
            async with contextlib.aclosing(_entries(self._sources, self._extensions)) as entries:
                async for entry in entries:
                    slot: _Slot | None = None
                    if self._ordered:
                        slot = _Slot()
                        await order_send.send(slot)  # waits while the window is full
                    try:
                        slots.acquire_nowait()  # the dispatcher yields when the slots run out, at the latest
                    except anyio.WouldBlock:
                        await slots.acquire()
                    self._produced += 1
                    workers.start_soon(self._work, index, entry, slot, slots)
                    index += 1
            self._enumerated = True
            self._total = self._produced
            self._stop_count.set()
            order_send.close()

    async def _emit_in_order(self, slots: anyio.abc.ObjectReceiveStream[_Slot]) -> None:
        async with slots:
            async for slot in slots:
                await slot.done.wait()
                assert slot.item is not None
                await self._emit(slot.item)

    async def _work(self, index: int, entry: _Entry, slot: _Slot | None, slots: anyio.Semaphore) -> None:
        # Unordered, the slot is held until the item is handed over, so that a slow reader holds the
        # run back instead of finished items piling up; ordered, the window bounds them.
        try:
            item = await self._item(index, entry)
            if slot is None:
                await self._emit(item)
        finally:
            slots.release()
        if slot is not None:
            slot.item = item
            slot.done.set()

    async def _emit(self, item: BulkItem) -> None:
        self._done += 1
        if item.skipped:
            self._skipped += 1
        elif item.error is not None:
            self._failed += 1
        elif item.result is not None:
            self._audio_ms += item.result.duration_milliseconds
        if self._progress is not None:
            progress = BulkProgress(
                total=self._total,
                done=self._done,
                failed=self._failed,
                skipped=self._skipped,
                in_flight=self._throttle.in_flight,
                audio_seconds=self._audio_ms / 1000.0,
            )
            outcome = self._progress(progress)
            if inspect.isawaitable(outcome):
                await outcome
        await self._send.send(item)

    async def _item(self, index: int, entry: _Entry) -> BulkItem:
        source = entry.source
        if entry.error is not None:
            return BulkItem(source, index, error=entry.error)
        key = source.name.casefold()
        if key in self._names:
            return BulkItem(
                source,
                index,
                error=InvalidInputError(
                    f"two sources have the name {source.name!r} (their outputs would collide); "
                    "give them distinct names (BulkSource(name=..., audio=...))"
                ),
            )
        self._names.add(key)
        try:
            skipped = await self._already_done(source)
            if skipped is not None:
                return BulkItem(source, index, skipped=True, outputs=skipped)
            result, fingerprint = await self._transcribe(source)
        except Exception as err:
            return BulkItem(source, index, error=err)
        try:
            outputs, render_error = await self._write(source, result, fingerprint)
        except Exception as err:
            return BulkItem(source, index, result=result, error=err)
        return BulkItem(source, index, result=result, error=render_error, outputs=outputs)

    async def _transcribe(self, source: BulkSource) -> tuple[TranscriptionResult, _Fingerprint]:
        path = source.path
        rate_limited = 0
        while True:
            permit = await self._throttle.acquire()
            try:
                fingerprint = _Fingerprint()
                if path is not None and self._folder is None:
                    # Nothing to record: the client's own path source opens the file when it sends it.
                    result = await self._client.transcribe(
                        path, options=self._options, filename=os.path.basename(path), retry=self._retry, **self._kwargs
                    )
                elif path is not None:
                    file = await anyio.to_thread.run_sync(_HashedFile.open, path)
                    try:
                        result = await self._client.transcribe(
                            file,
                            options=self._options,
                            filename=file.name,
                            retry=self._retry,
                            **self._kwargs,
                        )
                    finally:
                        await file.aclose()
                    fingerprint = _Fingerprint(file.size, file.mtime_ns, file.digest)
                else:
                    data = _bytes_of(source)
                    if data is not None:
                        fingerprint = _Fingerprint(len(data), None, hashlib.sha256(data).hexdigest())
                    result = await self._client.transcribe(
                        source.audio, options=self._options, retry=self._retry, **self._kwargs
                    )
            except RateLimitError as err:
                rate_limited += 1
                self._throttle.rate_limited(permit, err.retry_after)
                if rate_limited > self._rate_limit_retries:
                    raise
                continue
            finally:
                self._throttle.release()
            self._throttle.succeeded()
            return result, fingerprint

    async def _already_done(self, source: BulkSource) -> tuple[Path, ...] | None:
        folder = self._folder
        if folder is None:
            return None
        record = folder.records.get(source.name)
        if record is None:
            return None
        path = source.path
        if path is not None:
            quick = await anyio.to_thread.run_sync(_file_stat, path)
            if quick is None or quick != (record.size, record.mtime_ns):
                return None
            state = await anyio.to_thread.run_sync(_file_state, path)
            if state != (record.size, record.mtime_ns, record.sha256):
                return None
        elif (data := _bytes_of(source)) is not None and hashlib.sha256(data).hexdigest() != record.sha256:
            return None
        outputs = await anyio.to_thread.run_sync(folder.outputs_intact, source.name, record, self._formats)
        if outputs is None:
            return None
        if record.state == "pending":
            await anyio.to_thread.run_sync(folder.append, msgspec.structs.replace(record, state="done"))
        return outputs

    async def _write(
        self, source: BulkSource, result: TranscriptionResult, fingerprint: _Fingerprint
    ) -> tuple[tuple[Path, ...], Exception | None]:
        """Write the outputs; a format that cannot be made (captions of a result without timings) is the
        item's error, the others are still written, and the source stays unfinished (redone by a rerun)."""
        folder = self._folder
        if folder is None:
            return (), None
        data: dict[str, bytes] = {}
        render_error: Exception | None = None
        for fmt in self._formats:
            try:
                data[fmt] = _encode_output(result, fmt)
            except InvalidInputError as err:  # captions.MissingTimingsError and its kin
                render_error = render_error or err
        record = _Record(
            state="pending",
            name=source.name,
            size=fingerprint.size,
            mtime_ns=fingerprint.mtime_ns,
            sha256=fingerprint.sha256,
            audio_ms=result.duration_milliseconds,
            outputs={fmt: hashlib.sha256(body).hexdigest() for fmt, body in data.items()},
        )

        def write() -> tuple[Path, ...]:
            folder.append(record)
            paths: list[Path] = []
            for fmt, body in data.items():
                target = folder.output_path(source.name, fmt)
                folder.write_atomically(target, body)
                paths.append(target)
            if render_error is None:
                folder.append(msgspec.structs.replace(record, state="done"))
            return tuple(paths)

        # Shielded: once the pending record is out, the outputs and the done record follow it.
        outputs: tuple[Path, ...] = ()
        with anyio.CancelScope(shield=True):
            outputs = await anyio.to_thread.run_sync(write)
        return outputs, render_error


def _bytes_of(source: BulkSource) -> bytes | bytearray | memoryview | None:
    audio: object = source.audio
    if isinstance(audio, bytes | bytearray | memoryview):
        return cast("bytes", audio)
    return None


def _unwrap(err: BaseException) -> BaseException:
    """The one exception inside (nested) single-exception groups, as task groups raise them."""
    while True:
        inner: object = getattr(err, "exceptions", None)
        if not isinstance(inner, tuple) or len(cast("tuple[object, ...]", inner)) != 1:
            return err
        first = cast("tuple[BaseException]", inner)[0]
        err = first


@dataclass(frozen=True, slots=True)
class _Fingerprint:
    size: int | None = None
    mtime_ns: int | None = None
    sha256: str | None = None


def _without_429(client: SpeechClient) -> RetryPolicy:
    """The client's retry policy without 429: bulk handles throttling for the whole run itself."""
    policy = client._ctx.call.retry  # pyright: ignore[reportPrivateUsage]
    return dataclasses.replace(policy, statuses=policy.statuses - {429})


def _check_request(
    client: SpeechClient, options: TranscriptionOptions | Mapping[str, object] | None, kwargs: dict[str, Any]
) -> tuple[TranscriptionOptions, dict[str, Any]]:
    """Everything :meth:`SpeechClient.transcribe` checks locally that is the same for every item, checked once.

    The fast resource's own checks (the api-version, the options as a mapping, every documented rule of
    the definition, ``extra_definition`` as JSON, ``timeout``), so a refused option raises here, at call
    time, instead of failing every item. Returns the options as a struct and the keyword arguments with
    the checked api-version, so the per-item calls take the fast path.
    """
    from ._resources.fast import checked_definition, resolve_options

    try:
        inspect.signature(client.transcribe).bind(None, **kwargs)
    except TypeError as err:
        raise TypeError(f"transcribe_many got an argument SpeechClient.transcribe does not take: {err}") from None
    ctx = client._ctx  # pyright: ignore[reportPrivateUsage]
    checked, version = resolve_options(options, kwargs.get("api_version"), ctx.api_version)
    if checked.audio_url is not None:
        raise InvalidOptionsError(
            "options.audio_url cannot be used with transcribe_many: each source is its own audio "
            "(pass URLs as sources instead)"
        )
    checked_definition(checked, version, ctx.fast_limits, kwargs.get("extra_definition"))
    ctx.call.override(None, kwargs.get("timeout"))  # TypeError/ValueError for a bad timeout, as transcribe raises
    return checked, {**kwargs, "api_version": version}


def transcribe_many(
    client: SpeechClient,
    sources: Sources,
    *,
    concurrency: int = 16,
    requests_per_minute: float | None = 600,
    rate_window: float = 60.0,
    options: TranscriptionOptions | Mapping[str, object] | None = None,
    output_dir: str | os.PathLike[str] | None = None,
    formats: Iterable[str] = ("json",),
    ordered: bool = False,
    ordered_window: int | None = None,
    progress: ProgressCallback | None = None,
    extensions: Iterable[str] | None = None,
    rate_limit_retries: int = _DEFAULT_RATE_LIMIT_RETRIES,
    **transcribe_kwargs: Any,
) -> BulkRun:
    """Transcribe many sources with fast transcription; a :class:`BulkRun` of the items as they finish.

    Args:
        client: The client every request goes through (its retry policy handles every failure but 429).
        sources: A path, a glob (``*``, ``?``, ``[`` and ``**``), a folder (walked recursively for
            :data:`AUDIO_EXTENSIONS`), or an iterable or async iterable of them, of :class:`BulkSource`
            and of ``(name, audio)`` pairs. Taken lazily: a generator of 100,000 paths is never listed.
            A path's name is the path as given (normalised, without its root; ``..`` becomes ``__``), so
            two folders' ``a.wav`` don't collide.
        concurrency: Requests in flight at most (also the most audio files open at once).
        requests_per_minute: Requests started per minute at most (``None``: no bound); 600 is fast
            transcription's documented default quota: set yours.
        rate_window: The sliding window the rate is counted over, in seconds: at most
            ``requests_per_minute * rate_window / 60`` starts in any window. 60 holds the quota exactly;
            a divisor of 60 (6, 1) holds it too and spreads the starts out.
        options: The :class:`TranscriptionOptions` of every request.
        output_dir: Where results are written (and the run is resumable): see :class:`BulkRun`.
        formats: Output formats among :data:`FORMATS`; srt, vtt and txt come from :mod:`speech_async.captions`.
        ordered: Yield the items in input order instead of as they finish. At most ``ordered_window``
            items (default ``4 * concurrency``) are started ahead of the oldest unfinished one, so a
            slow first item holds back the run rather than letting results pile up.
        progress: Called (sync, or awaited if it returns an awaitable) with a :class:`BulkProgress`
            after every item, before it is yielded; an exception from it ends the run.
        extensions: The file extensions a folder yields (``{".wav", ".mp3"}``), instead of
            :data:`AUDIO_EXTENSIONS`.
        rate_limit_retries: How many 429 answers a single item may get before it fails with its
            :class:`~speech_async.RateLimitError`.
        transcribe_kwargs: More arguments of :meth:`SpeechClient.transcribe` (``api_version``,
            ``timeout``, ``extra_definition``...); ``retry`` is not one (bulk sets it).

    Raises:
        InvalidOptionsError: an argument is out of range or unknown, or ``options`` (with ``api_version``
            and ``extra_definition``) breaks a rule :meth:`SpeechClient.transcribe` checks locally: bad
            ``max_speakers``, locale, api-version, phrase list... Raised by this call itself, before
            anything is read or sent (the same checks as ``transcribe``, run once for the whole run).
            ``output_dir`` is not a folder: raised when the run starts (``async with`` or the first ``anext``).
        TypeError: an argument ``transcribe`` does not take, or options of the wrong type (at call time).
        OutputLockedError: another run holds ``output_dir`` (when the run starts).
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise InvalidOptionsError(f"concurrency must be an int of at least 1, got {concurrency!r}")
    if requests_per_minute is not None and (
        isinstance(requests_per_minute, bool)
        or not isinstance(requests_per_minute, int | float)  # pyright: ignore[reportUnnecessaryIsInstance]
        or not 0 < requests_per_minute < math.inf
    ):
        raise InvalidOptionsError(f"requests_per_minute must be a positive number or None, got {requests_per_minute!r}")
    if isinstance(rate_window, bool) or not isinstance(rate_window, int | float) or not 0 < rate_window < math.inf:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise InvalidOptionsError(f"rate_window must be a positive number of seconds, got {rate_window!r}")
    if isinstance(formats, str):
        formats = formats.split(",")
    chosen = tuple(dict.fromkeys(fmt.strip().lower() for fmt in formats))
    unknown = [fmt for fmt in chosen if fmt not in FORMATS]
    if unknown or not chosen:
        raise InvalidOptionsError(f"unknown output format {unknown or chosen!r}: choose among {', '.join(FORMATS)}")
    window = 4 * concurrency if ordered_window is None else ordered_window
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise InvalidOptionsError(f"ordered_window must be an int of at least 1, got {ordered_window!r}")
    if isinstance(rate_limit_retries, bool) or not isinstance(rate_limit_retries, int) or rate_limit_retries < 0:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise InvalidOptionsError(f"rate_limit_retries must be an int of at least 0, got {rate_limit_retries!r}")
    if "retry" in transcribe_kwargs or "filename" in transcribe_kwargs:
        raise InvalidOptionsError("retry and filename are set by transcribe_many for each request")
    if progress is not None and not callable(progress):
        raise InvalidOptionsError("progress must be a callable")
    chosen_extensions = AUDIO_EXTENSIONS
    if extensions is not None:
        if isinstance(extensions, str):
            extensions = [extensions]
        chosen_extensions = frozenset(
            (ext if ext.startswith(".") else "." + ext).lower() for ext in extensions if ext.strip(". ")
        )
        if not chosen_extensions:
            raise InvalidOptionsError("extensions is empty: name at least one, such as '.wav'")
    if isinstance(sources, bytes | bytearray | memoryview) or not isinstance(
        sources,
        str | os.PathLike | Iterable | AsyncIterable,  # pyright: ignore[reportUnnecessaryIsInstance]
    ):
        raise InvalidInputError(
            f"sources must be a path, a glob, a folder or an iterable of them, not {type(sources).__name__}"
        )
    if output_dir is not None and not isinstance(output_dir, str | os.PathLike):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise InvalidOptionsError(f"output_dir must be a path, got {type(output_dir).__name__}")
    checked, transcribe_kwargs = _check_request(client, options, transcribe_kwargs)
    return BulkRun(
        client,
        sources,
        concurrency=concurrency,
        requests_per_minute=requests_per_minute,
        rate_window=float(rate_window),
        options=checked,
        output_dir=None if output_dir is None else Path(output_dir),
        formats=chosen,
        ordered=ordered,
        ordered_window=window,
        progress=progress,
        extensions=chosen_extensions,
        rate_limit_retries=rate_limit_retries,
        transcribe_kwargs=transcribe_kwargs,
    )
