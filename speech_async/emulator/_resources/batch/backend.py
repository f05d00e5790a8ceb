"""Batch transcription jobs: status from :class:`Lifecycle`, processing, result files, SAS URLs, time to live.

A job's status is read off ``EmulatorConfig.clock``. The first read that finds it ``Running`` (or
later) starts one task that fetches every content URL, runs the recognizer and stores the result
files; a read once the timed phases are over waits for that task, so the outcome (``Succeeded``, or
``Failed`` when every input failed) never depends on timing. :meth:`BatchBackend.aclose` cancels and
awaits the tasks, so nothing outlives the application.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import secrets
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, NamedTuple
from urllib.parse import quote, urlsplit

import aiohttp
import anyio.to_thread

from ..._errors import ServiceError
from ..._lifecycle import FAILED, NOT_STARTED, RUNNING, SUCCEEDED, Lifecycle
from ..._media.fetch import fetch_audio
from ..._media.sniff import sniff_file
from ..._media.spool import SpoolSet
from ..._recognizer import RecognitionRequest, RecognizerAudioError, RecognizerLimitation
from .containers import list_container
from .results import report_file, result_file

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..._state import EmulatorState
    from .request import Submission

__all__ = ("BatchBackend", "Job", "ResultFile", "sas_signature")

_log = logging.getLogger("speech_async.emulator")


# unverified: errorKind values and messages of report entries; the messages are the real ones users quote
# (addendum §3.6), the kinds follow the job-level codes the Ingestion Client knows.
class _Failure(NamedTuple):
    """Why one input failed: a report entry's errorKind and errorMessage."""

    kind: str
    message: str


_INVALID_URI: Final = _Failure("InvalidUri", "The recordings URI is invalid.")
_INVALID_DATA: Final = _Failure("InvalidData", "The recordings URI contains invalid data.")


@dataclass
class ResultFile:
    """One file of a finished job: a result file or the report."""

    id: str
    name: str
    kind: str
    data: bytes
    created: float
    duration_ms: int | None = None
    # Where the file was written with destinationContainerUrl (a URL without SAS, as the service answers).
    external_url: str | None = None


@dataclass
class Job:
    """One transcription."""

    id: str
    submission: Submission
    created: float
    lifecycle: Lifecycle
    display_name: str
    description: str | None
    custom_properties: dict[str, str] | None
    project: dict[str, object] | None
    files: list[ResultFile] = field(default_factory=list[ResultFile])
    task: asyncio.Task[None] | None = None
    # Set when processing is over: the job's outcome and, for Failed, its error.
    outcome: str | None = None
    error: tuple[str, str] | None = None
    duration_ms: int = 0
    # How long the timed phases last (NotStarted + Running).
    phases_seconds: float = 0.0
    # Whether TranscriptionCompletion has been announced to the web hooks.
    completion_notified: bool = False

    @property
    def timed_end(self) -> float:
        """When the timed phases are over: the job's end, from which its time to live counts."""
        return self.lifecycle.started_at + self.phases_seconds


def sas_signature(secret: bytes, path: str, expiry: str) -> str:
    """The ``sig`` of a result-file URL: base64 HMAC-SHA256 over its path and expiry."""
    digest = hmac.new(secret, f"{path}\n{expiry}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class BatchBackend:
    """The transcriptions of one application instance, oldest first."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self.jobs: dict[str, Job] = {}
        # Signs the SAS of result-file URLs; a fresh one per instance, so old URLs stop working.
        self.sas_secret = secrets.token_bytes(32)
        # Every processing task still running, deleted jobs' included, for aclose() to await.
        self._tasks: set[asyncio.Task[None]] = set()
        # Told of every transcription event (web hooks): called with the PascalCase event kind and the job.
        self.notify: Callable[[str, Job], None] | None = None

    def _notify(self, kind: str, job: Job) -> None:
        if self.notify is not None:
            self.notify(kind, job)

    def create(self, submission: Submission) -> Job:
        """A new job, ``NotStarted`` now."""
        config = self._state.config
        now = config.clock()
        batch = config.batch
        lifecycle = Lifecycle.job(
            config.clock, not_started=batch.not_started_seconds, running=batch.running_seconds, started_at=now
        )
        job = Job(
            id=str(uuid.uuid4()),
            submission=submission,
            created=now,
            lifecycle=lifecycle,
            display_name=submission.display_name,
            description=submission.description,
            custom_properties=submission.custom_properties,
            project=submission.project,
            phases_seconds=batch.not_started_seconds + batch.running_seconds,
        )
        self.jobs[job.id] = job
        self._notify("TranscriptionCreation", job)
        return job

    def _expired(self, job: Job) -> bool:
        ttl = job.submission.ttl_seconds
        return ttl is not None and job.outcome is not None and self._state.config.clock() >= job.timed_end + ttl

    def _drop(self, job: Job) -> None:
        self.jobs.pop(job.id, None)
        if job.task is not None and not job.task.done():
            job.task.cancel()

    def purge(self) -> None:
        """Forget every job whose time to live is over (addendum §3.3: then it and its files are deleted)."""
        for job in list(self.jobs.values()):
            if self._expired(job):
                self._drop(job)

    async def settle(self, job: Job) -> None:
        """Start processing once the job is Running; wait for it once the timed phases are over."""
        status = job.lifecycle.status
        if status == NOT_STARTED:
            return
        if job.task is None:
            job.task = asyncio.get_running_loop().create_task(self._process(job), name=f"batch job {job.id}")
            self._tasks.add(job.task)
            job.task.add_done_callback(self._tasks.discard)
            self._notify("TranscriptionProcessing", job)
        if job.lifecycle.done and not job.task.done():
            # Shielded: a client that hangs up must not cancel the job's own work.
            await asyncio.shield(job.task)
        if job.lifecycle.done and job.outcome is not None and not job.completion_notified and job.id in self.jobs:
            job.completion_notified = True
            self._notify("TranscriptionCompletion", job)

    def status(self, job: Job) -> str:
        """``NotStarted``, ``Running``, or the outcome once the phases are over and the work is done."""
        status = job.lifecycle.status
        if status in (NOT_STARTED, RUNNING):
            return status
        if job.outcome is None:
            # The phases are over but the work is not (a read that did not settle): still Running.
            return RUNNING
        return job.outcome

    async def get(self, job_id: str) -> Job | None:
        """The job, settled; ``None`` when unknown, deleted or expired."""
        self.purge()
        job = self.jobs.get(job_id)
        if job is None:
            return None
        await self.settle(job)
        if self._expired(job):
            self._drop(job)
            return None
        return job

    async def all(self) -> list[Job]:
        """Every live job, settled, oldest first."""
        self.purge()
        jobs = list(self.jobs.values())
        for job in jobs:
            await self.settle(job)
        self.purge()
        return [job for job in jobs if job.id in self.jobs]

    def delete(self, job_id: str) -> None:
        """Forget the job and stop its work (nothing when it does not exist)."""
        job = self.jobs.get(job_id)
        if job is not None:
            self._drop(job)
            self._notify("TranscriptionDeletion", job)

    async def aclose(self) -> None:
        """Cancel and await every job's task."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    # --- processing -------------------------------------------------------------------------------

    async def _inputs(self, submission: Submission) -> tuple[list[tuple[str, str]], _Failure | None]:
        """(source URL, result file name) of every input; a container that cannot be listed is an error."""
        if submission.container_url is None:
            return [(url, f"contenturl_{index}.json") for index, url in enumerate(submission.content_urls)], None
        try:
            blobs = await list_container(self._state.http_session(), submission.container_url)
        except ValueError:
            return [], _INVALID_URI
        base = submission.container_url.split("?", 1)
        prefix, query = base[0].rstrip("/"), (base[1] if len(base) > 1 else "")
        inputs: list[tuple[str, str]] = []
        for name in blobs:
            url = f"{prefix}/{quote(name, safe='/')}" + (f"?{query}" if query else "")
            inputs.append((url, f"{name}.json"))
        return inputs, None

    async def _process(self, job: Job) -> None:
        try:
            await self._run(job)
        except Exception:
            # A bug or an unexpected recognizer error must not leave the job Running for ever.
            _log.exception("speech_async emulator: batch job %s failed unexpectedly", job.id)
            job.outcome = FAILED
            # "Internal" is one of the documented job-level codes (addendum §3.6).
            job.error = ("Internal", "An unexpected error occurred while the transcription was processed.")

    async def _run(self, job: Job) -> None:
        submission = job.submission
        details: list[dict[str, str]] = []
        files: list[ResultFile] = []
        total_ms = 0
        inputs, container_error = await self._inputs(submission)
        for source, name in inputs:
            outcome = await self._transcribe_one(submission, source)
            if isinstance(outcome, _Failure):
                kind, message = outcome
                details.append({"source": source, "status": FAILED, "errorKind": kind, "errorMessage": message})
                continue
            recognition_ms, data = outcome
            total_ms += recognition_ms
            now = self._state.config.clock()
            files.append(ResultFile(str(uuid.uuid4()), name, "Transcription", data, now, duration_ms=recognition_ms))
            details.append({"source": source, "status": SUCCEEDED})
        now = self._state.config.clock()
        files.append(ResultFile(str(uuid.uuid4()), "report.json", "TranscriptionReport", report_file(details), now))
        if submission.destination_url is not None and container_error is None:
            write_error = await self._write_out(job, files, submission.destination_url)
            if write_error is not None:
                container_error = write_error
        job.files = files
        job.duration_ms = total_ms
        failures = [entry for entry in details if entry["status"] == FAILED]
        if container_error is not None or (details and len(failures) == len(details)) or not details:
            job.outcome = FAILED
            first = container_error or (
                (failures[0]["errorKind"], failures[0]["errorMessage"]) if failures else _INVALID_URI
            )
            # Documented job-level codes: InvalidUri, Internal, Timeout, Transient (addendum §3.6).
            # unverified: which one an all-inputs failure gets; InvalidUri, with the first input's message.
            job.error = ("InvalidUri", first[1])
        else:
            job.outcome = SUCCEEDED

    async def _write_out(self, job: Job, files: list[ResultFile], destination: str) -> _Failure | None:
        """Put every file into the destination container (Put Blob); the first failure, if any."""
        base, _, query = destination.partition("?")
        for file in files:
            # unverified: the blob layout ("no control over blob layout", #1483); "<job id>/<file name>" here.
            blob_url = f"{base.rstrip('/')}/{job.id}/{quote(file.name, safe='/')}"
            headers = {"x-ms-blob-type": "BlockBlob", "Content-Type": "application/json"}
            try:
                async with self._state.http_session().put(
                    f"{blob_url}?{query}", data=file.data, headers=headers
                ) as response:
                    if response.status != 201:
                        return _Failure(
                            "InvalidUri", f"Writing to destinationContainerUrl answered HTTP {response.status}."
                        )
            except (aiohttp.ClientError, TimeoutError):
                return _Failure("InvalidUri", "The destinationContainerUrl cannot be reached.")
            file.external_url = blob_url
        return None

    async def _transcribe_one(self, submission: Submission, source: str) -> tuple[int, bytes] | _Failure:
        """(duration ms, result file) of one input, or (errorKind, errorMessage)."""
        parts = urlsplit(source)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return _INVALID_URI
        spools = SpoolSet()
        try:
            try:
                audio = await fetch_audio(
                    self._state.http_session(),
                    source,
                    spools=spools,
                    max_bytes=self._state.config.batch.max_audio_bytes,
                )
            except ServiceError:
                return _INVALID_URI
            info = await anyio.to_thread.run_sync(sniff_file, audio.path)
            if info is None or audio.size == 0:
                return _INVALID_DATA
            request = RecognitionRequest(
                audio_path=audio.path,
                audio_sha256=audio.sha256,
                audio_format=info.format,
                audio_size=audio.size,
                audio_channels=info.channels,
                audio_duration_ms=info.duration_ms,
                locales=(submission.locale,),
                diarization=submission.diarization,
                channels=submission.channels,
                profanity_filter_mode=submission.profanity_filter_mode,
            )
            try:
                recognition = await self._state.recognizer.recognize(request)
            except RecognizerAudioError:
                return _INVALID_DATA
            except RecognizerLimitation as exc:
                return _Failure("EmulatorLimitation", f"speech_async emulator: {exc}")
            data = result_file(
                recognition,
                submission,
                source=source,
                timestamp=self._state.config.clock(),
                milliseconds=submission.version not in ("v3.1", "v3.2"),
            )
            return recognition.duration_ms, data
        finally:
            await spools.aclose()
