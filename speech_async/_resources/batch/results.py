"""Results of a batch transcription: which result file belongs to which input, and their downloads.

The service names a URL input's result ``contenturl_<n>.json`` after its place in ``contentUrls``, and
a container input's ``<blob name>.json``; only inputs that succeeded get a file, and a failed input
shows only in ``report.json``. :func:`match_inputs` puts the three together, so that every input comes
back exactly once, failed and unaccounted-for ones included. The service does not return a job's
``contentUrls``: without the caller's list, :func:`match_job` leaves a ``contenturl_<n>.json`` file to
a :class:`SourceMatcher`, which names its input after the file's ``source`` once it is downloaded.
:func:`download_result` fetches one file from its content URL, a storage SAS URL that gets **no** key
or token; :func:`iter_results` downloads a job's files a few at a time, yielding each as it arrives.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict, deque
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Final, Protocol, TypeVar
from urllib.parse import unquote

import msgspec
from yarl import URL

from ..._exceptions import InvalidInputError, SpeechError
from ..._headers import redact_url
from ..._http import json_decoder
from ..._models._batch_results import BatchFailure, BatchItem, TranscriptionReport, TranscriptionResultFile
from ..._urls import bad_character, is_loopback

if TYPE_CHECKING:
    from ..._context import CallOptions, ClientContext
    from ..._http import Response
    from ..._models._batch_results import TranscriptionReportDetail

__all__ = [
    "REPORT_KIND",
    "RESULT_KIND",
    "BatchItemError",
    "SourceMatcher",
    "TranscriptionFileLike",
    "decode_report_file",
    "decode_result_file",
    "download_report",
    "download_result",
    "iter_results",
    "match_inputs",
    "match_job",
]

T = TypeVar("T")

RESULT_KIND: Final = "Transcription"
"""The ``kind`` of a result file."""
REPORT_KIND: Final = "TranscriptionReport"
"""The ``kind`` of a job's ``report.json``."""
DEFAULT_CONCURRENCY: Final = 4
_CONTENT_URL_NAME: Final = "contenturl_{}.json"
_CONTENT_URL_RESULT: Final = re.compile(r"contenturl_[0-9]+\.json")
_RESULT_SUFFIX: Final = ".json"
_SUCCEEDED: Final = "Succeeded"

decode_result_file: Final = json_decoder(msgspec.json.Decoder(TranscriptionResultFile), "the transcription result file")
decode_report_file: Final = json_decoder(msgspec.json.Decoder(TranscriptionReport), "the transcription report file")


class TranscriptionFileLike(Protocol):
    """What :func:`match_inputs` reads of a transcription's file (``TranscriptionFile`` has it)."""

    @property
    def name(self) -> str | None: ...
    @property
    def kind(self) -> str | None: ...
    @property
    def content_url(self) -> str | None: ...


class BatchItemError(SpeechError):
    """An input of a batch transcription has no result to give: it failed, it is missing, or its result
    file names another input as its source. ``item`` is the input; ``result`` the file, when one came."""

    def __init__(self, message: str, *, item: BatchItem, result: TranscriptionResultFile | None = None) -> None:
        super().__init__(message)
        self.item = item
        self.result = result


# --- matching ------------------------------------------------------------------------------------


def match_inputs(
    content_urls: Sequence[str] | None,
    files: Iterable[TranscriptionFileLike],
    report: TranscriptionReport | None,
    *,
    container_url: str | None = None,
) -> list[BatchItem]:
    """Every input of a job with its result file, or with why it has none.

    ``content_urls`` is the job's ``contentUrls`` as submitted (the service does not return them), or
    ``None`` for a job on a container (``contentContainerUrl``): its inputs are then the ones the files
    and the report name, and ``container_url`` (optional) lets a blob that only the report names be
    given by its name rather than its URL. ``files`` are the job's files (any kind; the results are
    picked out), ``report`` its decoded ``report.json`` if there is one.

    URL inputs come first, in their order; then container inputs in the order of their files; then what
    the report names that nothing else matched. An input with neither a result file nor a failure in
    the report is kept, as ``failure.missing``. URLs are compared without their query (a SAS).

    A URL job's ``contenturl_<n>.json`` files can only be tied to their inputs by ``content_urls``, or by
    the ``source`` inside each file once downloaded: for a URL job without ``content_urls``, use
    :func:`match_job`, which leaves those files to a :class:`SourceMatcher`.
    """
    results: dict[str, TranscriptionFileLike] = {}
    for file in files:
        name = file.name
        if file.kind == RESULT_KIND and name and name not in results:
            results[name] = file
    details = _Details(report.details if report is not None else ())
    items: list[BatchItem] = []
    if content_urls is not None:
        for index, url in enumerate(content_urls):
            name = _CONTENT_URL_NAME.format(index)
            items.append(_item(url, results.pop(name, None), details.take_url(url), name))
    # A container's results, or a URL job's file under an unexpected name: kept, never dropped.
    for name, file in results.items():
        blob = name.removesuffix(_RESULT_SUFFIX)
        detail = details.take_blob(blob) if content_urls is None else None
        items.append(_item(blob, file, detail, name))
    container_path = _decoded_path(container_url) if container_url else None
    for detail in details.left():
        source = detail.input_url or ""
        items.append(_item(_input_of(source, container_path), None, detail, None))
    return items


def _item(
    input_name: str, file: TranscriptionFileLike | None, detail: TranscriptionReportDetail | None, name: str | None
) -> BatchItem:
    url = file.content_url if file is not None else None
    failure: BatchFailure | None = None
    if detail is not None and _failed(detail):
        failure = BatchFailure(status=detail.status, error_kind=detail.error_kind, error_message=detail.error_message)
    elif url is None:
        failure = BatchFailure(status=detail.status if detail is not None else None, missing=True)
    return BatchItem(input=input_name, result_file_url=url, failure=failure, result_name=name if file else None)


def _failed(detail: TranscriptionReportDetail) -> bool:
    if detail.status is not None:
        return detail.status != _SUCCEEDED
    return bool(detail.error_kind or detail.error_message)


def match_job(
    content_urls: Sequence[str] | None,
    files: Iterable[TranscriptionFileLike],
    report: TranscriptionReport | None,
    *,
    container_url: str | None = None,
) -> tuple[list[BatchItem], SourceMatcher | None]:
    """The items of a job, as :func:`match_inputs`, and the :class:`SourceMatcher` to pass to
    :func:`iter_results` when some can only be matched once downloaded.

    That is a job with ``contenturl_<n>.json`` result files, but neither ``content_urls`` nor
    ``container_url``: a URL job whose ``contentUrls`` the caller did not give again (the service does
    not return them). Its ``contenturl_<n>.json`` files are then items named by their result name until
    the matcher reads their ``source``, and the report's entries are held back for the end. With
    ``content_urls`` or ``container_url``, or without such files, it is :func:`match_inputs` (and ``None``).
    """
    files = list(files)
    if content_urls is not None or container_url is not None or not any(_by_source(file) for file in files):
        return match_inputs(content_urls, files, report, container_url=container_url), None
    matcher = SourceMatcher(report)
    return matcher.plan(files), matcher


def _by_source(file: TranscriptionFileLike) -> bool:
    return file.kind == RESULT_KIND and _CONTENT_URL_RESULT.fullmatch(file.name or "") is not None


class SourceMatcher:
    """A URL job's result files matched to their inputs by the ``source`` each one names.

    For a job on ``contentUrls`` that the caller does not give again: ``contenturl_<n>.json`` is the
    n-th of them, and only the file's own ``source`` says which that is. Made by :func:`match_job`;
    :func:`iter_results` hands it each download (:meth:`match`) and, at the end, yields :meth:`left`.
    Each report entry is handed out once: to the first result file whose ``source`` is its URL.
    """

    def __init__(self, report: TranscriptionReport | None) -> None:
        self._details = _Details(report.details if report is not None else ())
        self._names: set[str] = set()

    def plan(self, files: Iterable[TranscriptionFileLike]) -> list[BatchItem]:
        """The job's result files as items: ``contenturl_<n>.json`` ones named by their result name (to be
        matched once downloaded), any other one as a container's blob (as :func:`match_inputs`)."""
        items: list[BatchItem] = []
        for file in files:
            name = file.name
            if file.kind != RESULT_KIND or not name or name in self._names:
                continue
            self._names.add(name)
            if _CONTENT_URL_RESULT.fullmatch(name):
                # No content URL: nothing to download, and so no source; its report entry comes at the end.
                items.append(_item(name, file, None, name))
            else:
                blob = name.removesuffix(_RESULT_SUFFIX)
                items.append(_item(blob, file, self._details.take_blob(blob), name))
        return items

    def claims(self, item: BatchItem) -> bool:
        """Whether ``item`` is a result file whose input its ``source`` names (no other check applies)."""
        name = item.result_name
        return name is not None and name in self._names and _CONTENT_URL_RESULT.fullmatch(name) is not None

    def match(
        self, item: BatchItem, outcome: TranscriptionResultFile | SpeechError
    ) -> tuple[BatchItem, TranscriptionResultFile | SpeechError]:
        """The item as its downloaded file's ``source`` names it, with that input's report entry.

        The report's failure is kept on the item (a file came, but the report says the input failed).
        A file without a ``source`` stays named by its result name, as a :class:`BatchItemError` that
        holds the file; a failed download stays as it is.
        """
        if not self.claims(item) or not isinstance(outcome, TranscriptionResultFile):
            return item, outcome
        source = outcome.source
        if not source:
            note = (
                f"the result file {item.result_name} names no source, and without the job's content URLs "
                "nothing else says which input it is the transcript of"
            )
            return item, BatchItemError(note, item=item, result=outcome)
        detail = self._details.take_url(source)
        failure = None
        if detail is not None and _failed(detail):
            failure = BatchFailure(
                status=detail.status, error_kind=detail.error_kind, error_message=detail.error_message
            )
        matched = BatchItem(
            input=source, result_file_url=item.result_file_url, failure=failure, result_name=item.result_name
        )
        return matched, outcome

    def left(self) -> Iterator[BatchItem]:
        """The inputs only the report names (no result file's ``source`` claimed them): each failed, or
        ``failure.missing`` when the report says it succeeded. Read once every download has been matched."""
        for detail in self._details.left():
            yield _item(detail.input_url or "", None, detail, None)


class _Details:
    """The report's entries, each handed out once: by URL, or by the blob name a path ends with."""

    def __init__(self, details: Iterable[TranscriptionReportDetail]) -> None:
        self._all = list(details)
        self._taken = [False] * len(self._all)
        self._by_url: defaultdict[tuple[str, ...], deque[int]] = defaultdict(deque)
        self._by_leaf: defaultdict[str, deque[int]] = defaultdict(deque)
        for index, detail in enumerate(self._all):
            source = detail.input_url
            if not source:
                continue
            self._by_url[_url_key(source)].append(index)
            path = _decoded_path(source)
            self._by_leaf[path.rsplit("/", 1)[-1]].append(index)

    def take_url(self, url: str) -> TranscriptionReportDetail | None:
        return self._take(self._by_url.get(_url_key(url)), lambda _: True)

    def take_blob(self, blob: str) -> TranscriptionReportDetail | None:
        # The result is named after the blob; the report gives the blob's URL, which ends with that name.
        suffix = "/" + blob.lstrip("/")
        return self._take(
            self._by_leaf.get(blob.rsplit("/", 1)[-1]),
            lambda index: _decoded_path(self._all[index].input_url or "").endswith(suffix),
        )

    def _take(self, candidates: deque[int] | None, fits: Callable[[int], bool]) -> TranscriptionReportDetail | None:
        for index in candidates or ():
            if not self._taken[index] and fits(index):
                self._taken[index] = True
                return self._all[index]
        return None

    def left(self) -> Iterator[TranscriptionReportDetail]:
        return (detail for detail, taken in zip(self._all, self._taken, strict=True) if not taken)


def _url_key(url: str) -> tuple[str, ...]:
    """What identifies an input URL: scheme, host, port and decoded path; not the query (a SAS)."""
    try:
        parsed = URL(url.strip(), encoded=True)
        return (parsed.scheme.lower(), (parsed.host or "").lower(), str(parsed.port), parsed.path)
    except (TypeError, ValueError):
        return ("", url.split("?", 1)[0].split("#", 1)[0])


def _decoded_path(url: str) -> str:
    try:
        return URL(url.strip(), encoded=True).path
    except (TypeError, ValueError):
        return unquote(url.split("?", 1)[0].split("#", 1)[0])


def _input_of(source: str, container_path: str | None) -> str:
    # A blob the report alone names: its name within the container when that is known, else its URL.
    if container_path is not None:
        prefix = container_path.rstrip("/") + "/"
        path = _decoded_path(source)
        if path.startswith(prefix) and len(path) > len(prefix):
            return path[len(prefix) :]
    return redact_url(source) if source else ""


def _same_input(item: BatchItem, source: str) -> bool:
    """Whether a result file's ``source`` is the item's input (a URL, or a blob name its path ends with)."""
    given = item.input
    if "://" in given:
        return _url_key(given) == _url_key(source)
    return _decoded_path(source).endswith("/" + given.lstrip("/"))


# --- downloads -----------------------------------------------------------------------------------


def _download_url(url: object) -> URL:
    """A result URL that may be fetched: https, or plain http to this machine (an emulator, Azurite)."""
    if not isinstance(url, str):
        raise TypeError(f"a result file URL must be a str, got {type(url).__name__}")
    shown = redact_url(url)
    problem = bad_character(url)
    if problem is not None:
        raise InvalidInputError(f"the result file URL {shown!r} has {problem}")
    try:
        # As given (encoded=True): the SAS signature must reach storage byte for byte.
        parsed = URL(url, encoded=True)
        host = parsed.host
    except ValueError as err:
        raise InvalidInputError(f"the result file URL {shown!r} is not a URL") from None if url in str(err) else err
    if not host or not (parsed.scheme == "https" or (parsed.scheme == "http" and is_loopback(host))):
        raise InvalidInputError(f"the result file URL {shown!r} must be an https URL (plain http only to this machine)")
    if parsed.user or parsed.password:
        raise InvalidInputError(f"the result file URL {shown!r} must not carry user info")
    return parsed


async def _download(ctx: ClientContext, url: object, decode: Callable[[Response], T], call: CallOptions) -> T:
    target = _download_url(url)
    transport = await ctx.life.ensure_open()
    # auth=None: a content URL carries its own SAS, and the resource's key or token must never go there.
    return await transport.request(
        "GET",
        target,
        headers={"Accept": "application/json"},
        decode=decode,
        auth=None,
        idempotent=True,
        retry=call.retry,
        timeouts=call.timeouts,
    )


async def download_result(ctx: ClientContext, url: str, *, call: CallOptions) -> TranscriptionResultFile:
    """Download and decode one result file from its content URL, without the client's credentials.

    Raises:
        InvalidInputError: ``url`` is not https (nor http to this machine), or cannot be sent.
        ResponseDecodeError: the body is not a result file.
        SpeechStatusError, SpeechConnectionError, ResponseTooLargeError: as every request.
    """
    return await _download(ctx, url, decode_result_file, call)


async def download_report(ctx: ClientContext, url: str, *, call: CallOptions) -> TranscriptionReport:
    """Download and decode a job's ``report.json`` from its content URL, as :func:`download_result`."""
    return await _download(ctx, url, decode_report_file, call)


def iter_results(
    ctx: ClientContext,
    items: Iterable[BatchItem],
    *,
    call: CallOptions,
    concurrency: int = DEFAULT_CONCURRENCY,
    by_source: SourceMatcher | None = None,
) -> AsyncGenerator[tuple[BatchItem, TranscriptionResultFile | SpeechError], None]:
    """Download the items' result files, ``concurrency`` at a time, yielding each as it arrives.

    Each item comes back once, with its :class:`TranscriptionResultFile` or the :class:`SpeechError`
    that stands in its way: a failed download, or a :class:`BatchItemError` for an item without a result
    file or whose file names another input as its ``source``. Items are read from ``items`` as slots
    free up, and no more than ``concurrency`` results are held at once. Closing the iterator (leaving an
    ``async with contextlib.aclosing(...)`` block) or cancelling the task that iterates cancels the
    downloads under way and waits for them to end.

    With ``by_source`` (from :func:`match_job`), each of its files is renamed after its ``source`` as it
    arrives (:meth:`SourceMatcher.match`), and once every download has ended, the inputs that only the
    report names come last, each as a :class:`BatchItemError`.

    Raises:
        TypeError, ValueError: ``concurrency`` is not a positive int (raised at once, before any download).
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"concurrency must be an int, got {type(concurrency).__name__}")
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    return _iterate(ctx, iter(items), call, concurrency, by_source)


async def _iterate(
    ctx: ClientContext,
    items: Iterator[BatchItem],
    call: CallOptions,
    concurrency: int,
    by_source: SourceMatcher | None,
) -> AsyncGenerator[tuple[BatchItem, TranscriptionResultFile | SpeechError], None]:
    running: dict[asyncio.Task[TranscriptionResultFile | SpeechError], BatchItem] = {}
    exhausted = False
    try:
        while True:
            while not exhausted and len(running) < concurrency:
                item = next(items, None)
                if item is None:
                    exhausted = True
                elif item.result_file_url is None:
                    yield item, _no_result(item)
                else:
                    check = by_source is None or not by_source.claims(item)
                    running[asyncio.ensure_future(_fetch(ctx, item, call, check=check))] = item
            if not running:
                break
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                item = running.pop(task)
                outcome = task.result()
                yield by_source.match(item, outcome) if by_source is not None else (item, outcome)
        if by_source is not None:
            for item in by_source.left():
                yield item, _no_result(item)
    finally:
        for task in running:
            task.cancel()
        await _settle(set(running))


async def _settle(tasks: set[asyncio.Task[TranscriptionResultFile | SpeechError]]) -> None:
    """Wait for cancelled downloads to end, even through another cancellation (which is then re-raised)."""
    cancelled = False
    while tasks:
        try:
            _, tasks = await asyncio.wait(tasks)
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError


def _no_result(item: BatchItem) -> BatchItemError:
    return BatchItemError(f"{_shown(item)}: {item.failure or 'no result file'}", item=item)


async def _fetch(
    ctx: ClientContext, item: BatchItem, call: CallOptions, *, check: bool = True
) -> TranscriptionResultFile | SpeechError:
    assert item.result_file_url is not None
    try:
        result = await download_result(ctx, item.result_file_url, call=call)
    except SpeechError as err:
        return err
    source = result.source
    # unverified: that ``source`` repeats the input as submitted (the docs call it "the only way to
    # confirm the audio input"); a file without one is taken as it is.
    if check and source and not _same_input(item, source):
        return BatchItemError(
            f"{_shown(item)}: its result file {item.result_name or ''} is the transcript of {redact_url(source)!r}",
            item=item,
            result=result,
        )
    return result


def _shown(item: BatchItem) -> str:
    return f"input {redact_url(item.input)!r}"
