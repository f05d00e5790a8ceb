"""Blob containers for batch transcription: upload the audio, make and check SAS URLs, fetch the results.

Needs the ``blob`` extra (``pip install 'speech-async[blob]'``, which brings azure-storage-blob and its
aio client): only users who installed it import this module.

* :func:`upload_files` sends local files to a container in blocks of ``block_size`` bytes (4 MiB), so
  memory stays near ``concurrency * block_size`` whatever the file sizes; a file that fails is reported
  in the :class:`UploadReport` and the others go on.
* :func:`container_sas_url` makes a container SAS URL: ``"rl"`` (read and list) for a transcription's
  ``contentContainerUrl``, ``"w"`` (or ``"racwl"``) for a ``destinationContainerUrl``.
* :func:`check_sas_lifetime` refuses a SAS that would expire while the job may still be queued (the most
  reported batch failure) or that lacks a permission.
* :func:`download_blobs` yields ``(name, bytes)`` for each blob; :func:`download_blobs_to` streams them
  into a directory.

The container is a URL (with its SAS, or with ``credential=``) or an
``azure.storage.blob.aio.ContainerClient``; a client passed in is used as it is and left open, one made
from a URL is closed before the call returns. SAS signatures and account keys never appear in what this
module returns, logs or raises: blob URLs are given without their query.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import AsyncGenerator, Iterable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from os import PathLike
from pathlib import Path, PurePosixPath
from typing import Any, Final
from urllib.parse import parse_qs, quote, urlsplit

import anyio

try:
    from azure.storage.blob import BlobBlock, ContainerSasPermissions, generate_container_sas
    from azure.storage.blob.aio import BlobClient, ContainerClient
except ImportError as err:  # pragma: no cover - the dev install has the extra
    raise ImportError(
        "speech_async.blob needs azure-storage-blob: install the 'blob' extra (pip install 'speech-async[blob]')"
    ) from err

from ._exceptions import InvalidOptionsError
from ._headers import redact_url

__all__ = (
    "BLOCK_SIZE",
    "FailedUpload",
    "SasInfo",
    "UploadReport",
    "UploadedBlob",
    "check_sas_lifetime",
    "container_sas_url",
    "download_blobs",
    "download_blobs_to",
    "upload_files",
)

_log = logging.getLogger("speech_async.blob")

BLOCK_SIZE: Final = 4 * 1024 * 1024
"""The default block size: the SDK's own defaults would send a file under 64 MiB as one request held in memory."""

# Larger bodies go as blocks, each wrapped in BytesIO: aiohttp warns about (and sends on the loop) raw
# bytes bodies above 1 MiB, which the suite's filterwarnings=error turns into failures.
_SINGLE_PUT_MAX: Final = 1024 * 1024
# Put Block takes at most 4000 MiB and a blob at most 50,000 blocks (Blob service limits).
_MAX_BLOCK_SIZE: Final = 4000 * 1024 * 1024
_MAX_BLOCKS: Final = 50_000
# The SDK's canonical order of container SAS permissions.
_PERMISSIONS: Final = "racwdxyltfmei"
# 3-63 characters; lower-case letters, digits and single hyphens, starting and ending with a letter or digit.
_CONTAINER_NAME = re.compile(r"^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")
# SAS times: a date, or a UTC date-time with optional seconds and fraction.
_SAS_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?Z)?$")


@dataclass(frozen=True)
class UploadedBlob:
    """One file that is now a blob."""

    path: Path
    name: str
    url: str
    """The blob's URL without its query (no SAS): add the container's SAS to hand it to the service."""
    size: int
    blocks: int
    """How many blocks were committed; 0 for a small file (up to 1 MiB) sent as one Put Blob."""


@dataclass(frozen=True)
class FailedUpload:
    """One file that could not be uploaded, and why."""

    path: Path
    name: str
    error: Exception


@dataclass(frozen=True)
class UploadReport:
    """What :func:`upload_files` did, in the order the paths were given."""

    uploaded: tuple[UploadedBlob, ...]
    failed: tuple[FailedUpload, ...]

    @property
    def ok(self) -> bool:
        """Whether every file was uploaded."""
        return not self.failed

    @property
    def names(self) -> tuple[str, ...]:
        """The names of the uploaded blobs."""
        return tuple(blob.name for blob in self.uploaded)


@dataclass(frozen=True)
class SasInfo:
    """What a SAS URL's query says: validity window, permissions (``sp``) and resource (``sr``)."""

    expiry: datetime
    start: datetime | None
    permissions: str
    resource: str | None


def _check_int(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not low <= value <= high:
        raise InvalidOptionsError(f"{name} must be between {low} and {high}, not {value}")
    return value


def _container_client(container: str | ContainerClient, credential: Any, stack: AsyncExitStack) -> ContainerClient:
    """The client for ``container``; one made here is closed by ``stack``."""
    if isinstance(container, ContainerClient):
        return container
    if not isinstance(container, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"container must be a URL or a ContainerClient, not {type(container).__name__}")
    if urlsplit(container).scheme not in ("http", "https"):
        raise InvalidOptionsError(f"the container URL must be http or https: {redact_url(container)}")
    client = ContainerClient.from_container_url(
        container,
        credential=credential,
        # Flat memory: without these the SDK sends files up to 64 MiB (and reads blobs up to 32 MiB) whole.
        max_single_put_size=BLOCK_SIZE,
        max_block_size=BLOCK_SIZE,
        max_single_get_size=BLOCK_SIZE,
        max_chunk_get_size=BLOCK_SIZE,
    )
    stack.push_async_callback(client.close)
    return client


def _describe(error: Exception) -> str:
    # The SDK's messages carry the service's code and text, never the URL; keep it to the code when there is one.
    code = getattr(error, "error_code", None)
    return f"{type(error).__name__} ({code})" if code else type(error).__name__


async def upload_files(
    container: str | ContainerClient,
    paths: Iterable[str | PathLike[str]],
    *,
    concurrency: int = 4,
    block_size: int = BLOCK_SIZE,
    prefix: str = "",
    credential: Any = None,
) -> UploadReport:
    """Upload each file of ``paths`` to ``container`` as the block blob ``prefix + file name``.

    A file larger than ``block_size`` goes as staged blocks plus one commit, so at most one block per
    file in flight is in memory; up to ``concurrency`` files go at once. Files are read off the event
    loop. A file that cannot be read or sent is reported in :attr:`UploadReport.failed` (and logged at
    WARNING, without URLs) while the rest are uploaded; an existing blob of the same name is replaced.

    ``container`` is a container URL with a SAS carrying ``w`` (and ``c`` for new blobs), a URL plus
    ``credential`` (anything azure-storage-blob accepts), or a ``ContainerClient``.
    """
    _check_int("concurrency", concurrency, 1, 64)
    _check_int("block_size", block_size, 1, _MAX_BLOCK_SIZE)
    files = [Path(path) for path in paths]
    names = [prefix + path.name for path in files]
    if len(set(names)) != len(names):
        raise InvalidOptionsError("two of the files would get the same blob name")
    outcomes: list[UploadedBlob | FailedUpload | None] = [None] * len(files)
    limiter = anyio.Semaphore(concurrency)

    async def one(index: int, client: ContainerClient) -> None:
        async with limiter:
            path, name = files[index], names[index]
            try:
                outcomes[index] = await _upload_one(client.get_blob_client(name), path, name, block_size)
            except Exception as error:  # one file's failure must not stop the others
                _log.warning("upload of %s as blob %r failed: %s", path, name, _describe(error))
                outcomes[index] = FailedUpload(path, name, error)

    async with AsyncExitStack() as stack:
        client = _container_client(container, credential, stack)
        async with anyio.create_task_group() as group:
            for index in range(len(files)):
                group.start_soon(one, index, client)
    done = [outcome for outcome in outcomes if outcome is not None]
    return UploadReport(
        uploaded=tuple(o for o in done if isinstance(o, UploadedBlob)),
        failed=tuple(o for o in done if isinstance(o, FailedUpload)),
    )


async def _upload_one(blob: BlobClient, path: Path, name: str, block_size: int) -> UploadedBlob:
    async with await anyio.open_file(path, "rb") as file:
        size = (await anyio.Path(path).stat()).st_size
        url = redact_url(blob.url)
        if size <= min(block_size, _SINGLE_PUT_MAX):
            data = await file.read()
            await blob.upload_blob(data, length=len(data), overwrite=True)
            return UploadedBlob(path, name, url, len(data), 0)
        count = -(-size // block_size)
        if count > _MAX_BLOCKS:
            raise InvalidOptionsError(f"{path} needs {count} blocks of {block_size} bytes; a blob holds {_MAX_BLOCKS}")
        blocks: list[BlobBlock] = []
        sent = 0
        while chunk := await file.read(block_size):
            # Ids must all have the same length within a blob; the SDK base64-encodes them.
            block_id = f"{len(blocks):06d}"
            await blob.stage_block(block_id, io.BytesIO(chunk), length=len(chunk))
            blocks.append(BlobBlock(block_id))
            sent += len(chunk)
        await blob.commit_block_list(blocks)
        return UploadedBlob(path, name, url, sent, len(blocks))


def container_sas_url(
    account_name: str,
    account_key: str,
    container: str,
    *,
    permissions: str = "rl",
    expires_in: timedelta | None = None,
    expiry: datetime | None = None,
    start: datetime | None = None,
    account_url: str | None = None,
) -> str:
    """A container URL with a service SAS signed by the account key.

    ``permissions`` letters: ``"rl"`` (read, list) for ``contentContainerUrl``; ``"w"`` plus what the
    caller needs (``"racwl"``) for ``destinationContainerUrl``. Give exactly one of ``expires_in`` (from
    now) and ``expiry`` (a timezone-aware time); ``start`` (aware) defaults to none, valid at once.
    ``account_url`` defaults to ``https://<account>.blob.core.windows.net``; for Azurite it is the
    path-style ``http://127.0.0.1:<port>/devstoreaccount1``.
    """
    if not _CONTAINER_NAME.match(container):
        raise InvalidOptionsError(f"{container!r} is not a valid container name")
    unknown = sorted(set(permissions) - set(_PERMISSIONS))
    if not permissions or unknown:
        raise InvalidOptionsError(f"permissions must be letters of {_PERMISSIONS!r}, not {permissions!r}")
    if (expires_in is None) == (expiry is None):
        raise InvalidOptionsError("give exactly one of expires_in and expiry")
    if expires_in is not None:
        if expires_in <= timedelta(0):
            raise InvalidOptionsError(f"expires_in must be positive, not {expires_in}")
        expiry = datetime.now(timezone.utc) + expires_in
    assert expiry is not None
    for label, when in (("expiry", expiry), ("start", start)):
        if when is not None and when.utcoffset() is None:
            raise InvalidOptionsError(f"{label} must be timezone-aware")
    if start is not None and start >= expiry:
        raise InvalidOptionsError("start must come before expiry")
    sas = generate_container_sas(
        account_name,
        container,
        account_key=account_key,
        permission=ContainerSasPermissions.from_string(permissions),
        expiry=expiry,
        start=start,
    )
    base = (account_url or f"https://{account_name}.blob.core.windows.net").rstrip("/")
    return f"{base}/{quote(container)}?{sas}"


def _parse_sas_time(field: str, value: str) -> datetime:
    match = _SAS_TIME.match(value)
    if match is None:
        raise InvalidOptionsError(f"the SAS {field!r} time {value!r} is not an ISO 8601 UTC time")
    parts = [int(part) if part else 0 for part in match.groups()]
    try:
        return datetime(*parts, tzinfo=timezone.utc)  # pyright: ignore[reportArgumentType]
    except ValueError as err:
        raise InvalidOptionsError(f"the SAS {field!r} time {value!r} is not a valid time") from err


def check_sas_lifetime(url: str, *, needed: timedelta, permissions: str = "", now: datetime | None = None) -> SasInfo:
    """Refuse a SAS URL that expires within ``needed`` from now, or lacks one of ``permissions``.

    ``needed`` is how long the service may take to read (or write) the container: the queueing time
    plus the processing time; a transcription can stay queued for a long time at peak. Raises
    :class:`~speech_async.InvalidOptionsError` (the message has no signature) and returns what the SAS
    says otherwise. Only the URL's query is read: nothing is sent.
    """
    if not isinstance(needed, timedelta):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"needed must be a timedelta, not {type(needed).__name__}")
    if needed < timedelta(0):
        raise InvalidOptionsError(f"needed must not be negative, not {needed}")
    shown = redact_url(url)
    query = parse_qs(urlsplit(url).query)

    def one(field: str) -> str | None:
        values = query.get(field)
        return values[-1] if values else None

    if one("sig") is None:
        raise InvalidOptionsError(f"{shown} has no SAS (no 'sig' in its query)")
    expiry_text = one("se")
    if expiry_text is None:
        # An expiry held in a stored access policy (si=) cannot be read from the URL.
        raise InvalidOptionsError(
            f"the SAS of {shown} has no 'se' expiry in the URL, so its lifetime cannot be checked"
        )
    expiry = _parse_sas_time("se", expiry_text)
    start_text = one("st")
    start = _parse_sas_time("st", start_text) if start_text else None
    granted = one("sp") or ""
    missing = "".join(letter for letter in permissions if letter not in granted)
    if missing:
        raise InvalidOptionsError(f"the SAS of {shown} grants {granted!r}, without {missing!r}")
    current = now or datetime.now(timezone.utc)
    if expiry < current + needed:
        raise InvalidOptionsError(
            f"the SAS of {shown} expires at {expiry.isoformat()}, sooner than the {needed} needed "
            f"(until {(current + needed).isoformat()}): make one that lasts longer"
        )
    return SasInfo(expiry=expiry, start=start, permissions=granted, resource=one("sr"))


def _safe_relative(name: str) -> PurePosixPath:
    """``name`` as a relative path that cannot leave the target directory."""
    relative = PurePosixPath(name)
    if relative.is_absolute() or not relative.parts or any(part in ("..", ".") for part in relative.parts):
        raise InvalidOptionsError(f"blob name {name!r} cannot be used as a file path")
    return relative


async def download_blobs(
    container: str | ContainerClient, *, prefix: str | None = None, credential: Any = None
) -> AsyncGenerator[tuple[str, bytes], None]:
    """Yield ``(name, content)`` for each blob of ``container`` whose name starts with ``prefix``.

    Each blob is read whole (in 4 MiB requests): meant for result and report files. For large blobs use
    :func:`download_blobs_to`. Leaving the loop early? Wrap the call in ``contextlib.aclosing`` so the
    client made from a URL is closed at once.
    """
    async with AsyncExitStack() as stack:
        client = _container_client(container, credential, stack)
        async for properties in client.list_blobs(name_starts_with=prefix):
            downloader = await client.download_blob(properties.name)
            yield properties.name, await downloader.readall()


async def download_blobs_to(
    container: str | ContainerClient,
    directory: str | PathLike[str],
    *,
    prefix: str | None = None,
    credential: Any = None,
) -> list[Path]:
    """Stream each blob whose name starts with ``prefix`` into ``directory`` (``/`` in names make folders).

    Chunks of 4 MiB are written as they arrive, off the event loop; returns the files written. A blob
    name that would escape ``directory`` (``..``, absolute) raises ``InvalidOptionsError``.
    """
    root = Path(directory)
    written: list[Path] = []
    async with AsyncExitStack() as stack:
        client = _container_client(container, credential, stack)
        async for properties in client.list_blobs(name_starts_with=prefix):
            target = root.joinpath(*_safe_relative(properties.name).parts)
            await anyio.Path(target.parent).mkdir(parents=True, exist_ok=True)
            downloader = await client.download_blob(properties.name)
            async with await anyio.open_file(target, "wb") as file:
                async for chunk in downloader.chunks():
                    await file.write(chunk)
            written.append(target)
    return written
