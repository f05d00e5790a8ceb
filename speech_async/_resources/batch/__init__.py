"""Batch transcription (``client.batch``): jobs, their files and their pollers, over every management version."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Sequence
from typing import TYPE_CHECKING

from ..._exceptions import InvalidOptionsError
from ..._models._batch import Transcription
from .results import REPORT_KIND, download_report, iter_results, match_job
from .transcriptions import TranscriptionOperations

if TYPE_CHECKING:
    from ..._config import ApiVersion, RetryPolicy, Timeouts
    from ..._exceptions import SpeechError
    from ..._models._batch_results import BatchItem, TranscriptionReport, TranscriptionResultFile

__all__ = ["BatchOperations"]


class BatchOperations(TranscriptionOperations):
    """Batch transcription, as ``client.batch``: submit jobs, await them, list and read their files.

    Every method takes ``api_version=`` (the client's ``management_api_version`` by default:
    2025-10-15, 2024-11-15, v3.2 or v3.1) and the same arguments whatever the version.
    """

    async def iter_results(
        self,
        transcription: Transcription | str,
        *,
        content_urls: Sequence[str] | None = None,
        concurrency: int = 4,
        api_version: ApiVersion | str | None = None,
        retry: RetryPolicy | int | None = None,
        timeout: Timeouts | float | None = None,
    ) -> AsyncGenerator[tuple[BatchItem, TranscriptionResultFile | SpeechError], None]:
        """Every input of a finished job with its result, or with what stands in its way, as they download.

        The job's files are listed, its ``report.json`` read, and each input matched to its result file
        (``contenturl_<n>.json`` for the n-th of ``content_urls``; ``<blob name>.json`` for a container):
        an input comes back exactly once, with a :class:`TranscriptionResultFile`, or with the
        :class:`SpeechError` that explains why not (:class:`BatchItemError` with the report's
        ``errorKind``/``errorMessage`` for a failed input, a download's error otherwise). At most
        ``concurrency`` result files are downloaded and held at a time; they come from their content URLs
        (storage SAS URLs), which get no key or token. Use it with ``contextlib.aclosing`` to stop early::

            async with contextlib.aclosing(client.batch.iter_results(job, content_urls=urls)) as results:
                async for item, outcome in results:
                    ...

        Without ``content_urls`` (the service does not return a job's ``contentUrls``), a job with
        ``contenturl_<n>.json`` result files is matched by what the files say: each file, once downloaded,
        comes back with ``item.input`` set to its ``source`` (the URL as the service read it, SAS
        included; reprs and messages leave the query out), and the report's entry for that URL is taken
        for it (a failure there stays on ``item.failure``). Once every download has ended, the report's
        entries that no file claimed come last, each as a :class:`BatchItemError` (its failure, or
        ``failure.missing`` if the report says it succeeded): each input still comes back once. A file
        that names no ``source``, or whose download fails, comes back under its result name
        (``contenturl_0.json``), the file held by a :class:`BatchItemError` in the first case; its input's
        report entry then comes back on its own at the end, since nothing ties the two. With
        ``content_urls``, each file is instead checked against its input: one whose ``source`` names
        another input is a :class:`BatchItemError`.

        Args:
            transcription: The finished job, or its id.
            content_urls: The job's ``contentUrls`` as submitted, in order; defaults to the ones
                ``transcription`` holds, if any. Optional: without them results are matched by their
                ``source`` (above). Leave it out for a job on a container.

        Raises:
            InvalidOptionsError: ``transcription`` has no id (nothing was sent).
        """
        if isinstance(transcription, Transcription):
            job_id = transcription.id
            if content_urls is None:
                content_urls = transcription.content_urls
            container_url = transcription.content_container_url
        else:
            job_id, container_url = transcription, None
        if not job_id:
            raise InvalidOptionsError("the transcription has no id: pass a Transcription from the service, or its id")
        call = self._call_options(retry, timeout)
        files = [file async for file in self.list_files(job_id, api_version=api_version, retry=retry, timeout=timeout)]
        report: TranscriptionReport | None = None
        for file in files:
            if file.kind == REPORT_KIND and file.content_url:
                report = await download_report(self._ctx, file.content_url, call=call)
                break
        items, by_source = match_job(content_urls, files, report, container_url=container_url)
        results = iter_results(self._ctx, items, call=call, concurrency=concurrency, by_source=by_source)
        async with contextlib.aclosing(results):
            async for outcome in results:
                yield outcome
