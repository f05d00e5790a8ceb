"""``speech-async bench``: latency, throughput, real-time factor and WER of a speech endpoint.

The corpus is a folder (its audio files, walked recursively, each with an optional reference transcript
in a sidecar ``<stem>.txt`` next to it), a JSON Lines manifest (``.jsonl``: one object a line,
``{"audio": PATH, "reference": TEXT}``, ``reference`` optional or ``null``) or a CSV manifest (``.csv``:
a header row naming an ``audio`` column and optionally a ``reference`` column). Manifest paths are
relative to the manifest's folder. Requests cycle through the corpus: ``--requests N`` in all and/or
for ``--duration SECONDS`` (whichever ends first; by default one pass), ``--concurrency N`` at a time,
after ``--warmup N`` requests that are not counted.

Every figure comes from the requests measured (warm-up excluded):

* latency: of each successful request's final attempt, split into upload (to the last body byte
  written), service (from there to the answer's headers) and download (to the whole body read), from
  :class:`~speech_async.ResponseInfo`; the time of every attempt and retry wait is reported apart as
  ``elapsed``. p50/p90/p99 interpolate linearly between the closest ranks.
* throughput: successful requests, and seconds of their audio, per second of the measured run's wall
  time (from its first request started to its last one finished).
* real-time factor: per request, the final attempt's latency divided by the audio's duration (below 1
  is faster than real time); in aggregate, the sum of latencies over the sum of audio durations.
* errors: failed requests by kind (``"429 RateLimitError"``, ``"SpeechTimeoutError"``...), and the
  requests that needed more than one attempt.
* WER/CER (with jiwer): errors over reference words (characters, spaces included), summed over every
  successful request with a non-empty reference, after :func:`normalize` on both texts.

The table goes to stderr; stdout holds only the JSON of ``--json`` (``--json PATH`` writes a file).
Exit status: 0 when every measured request succeeded, 1 when any failed (the report is printed all the
same), 2 for usage errors, 130 on Ctrl-C (after a report of what was measured).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import re
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from ._command import Command

if TYPE_CHECKING:
    from rich.console import Console

    from speech_async import SpeechClient

__all__ = ("COMMAND", "CorpusError", "CorpusItem", "load_corpus", "normalize", "percentile")

PROG: Final = "speech-async bench"
SCHEMA: Final = "speech-async-bench/1"
_APIS: Final = ("fast", "short")
_DEFAULT_LANGUAGE: Final = "en-US"
_MANIFEST_SUFFIXES: Final = (".jsonl", ".csv")
_PHASES: Final = ("upload_seconds", "service_seconds", "download_seconds")
_APOSTROPHES: Final = frozenset("'\u2019\u02bc")
_SPACES: Final = re.compile(r"\s+")
_PERCENTILES: Final = (50, 90, 99)
_MAX_ERROR_ROWS: Final = 20
_INSTALL: Final = "pip install 'speech-async[bench]'"
_PLAIN_WIDTH: Final = 132


# --- text normalization and statistics ---------------------------------------------------------------


def normalize(text: str) -> str:
    """The form both transcripts are compared in, the same on every machine.

    In this order: Unicode NFKC; lower case (:meth:`str.lower`); the apostrophes U+0027, U+2019 and
    U+02BC removed (``"don't"`` -> ``"dont"``); every other character of a Unicode punctuation category
    (``P*``) replaced by a space; runs of white space collapsed to one space, and the ends trimmed.
    Numbers, symbols (``$``, ``%``) and spellings are left alone: ``"4"`` against ``"four"`` is an error.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    chars = [
        "" if char in _APOSTROPHES else " " if unicodedata.category(char).startswith("P") else char for char in text
    ]
    return _SPACES.sub(" ", "".join(chars)).strip()


def _collapse(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0-100) of ``values``, interpolated linearly between the closest ranks.

    The rule of numpy's default: rank ``p / 100 * (n - 1)`` in the sorted values. ``values`` must not be empty.
    """
    ordered = sorted(values)
    rank = p / 100 * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _stats(values: Sequence[float]) -> dict[str, float | int | None]:
    if not values:
        return {"count": 0, "mean": None, "min": None, "p50": None, "p90": None, "p99": None, "max": None}
    stats: dict[str, float | int | None] = {"count": len(values), "mean": sum(values) / len(values)}
    stats["min"] = min(values)
    for p in _PERCENTILES:
        stats[f"p{p}"] = percentile(values, p)
    stats["max"] = max(values)
    return stats


# --- the corpus ----------------------------------------------------------------------------------------


class CorpusError(Exception):
    """A corpus that cannot be benchmarked: the message names the file (and line)."""


@dataclass(frozen=True)
class CorpusItem:
    """One audio file of the corpus."""

    name: str
    """How the report names it: its path below the folder, or as the manifest wrote it."""
    path: Path
    reference: str | None
    """The reference transcript, or ``None``."""
    audio_seconds: float | None
    """The duration read from the file's header (WAV, Ogg/Opus), or ``None``: then the service's is used."""


def load_corpus(source: Path) -> list[CorpusItem]:
    """The items of a folder, a ``.jsonl`` or ``.csv`` manifest, or a single audio file.

    Raises:
        CorpusError: no such path, an empty corpus, a manifest line that is not an entry (named by its
            line number), an audio file a manifest names that does not exist, a reference file or
            manifest that is not UTF-8.
    """
    from speech_async.bulk import AUDIO_EXTENSIONS

    if source.is_dir():
        items = _folder(source, AUDIO_EXTENSIONS)
        if not items:
            raise CorpusError(f"{source}: the folder holds no audio files ({', '.join(sorted(AUDIO_EXTENSIONS))})")
        return items
    if not source.exists():
        raise CorpusError(f"{source}: no such file or folder")
    suffix = source.suffix.lower()
    if suffix in _MANIFEST_SUFFIXES:
        text = _read_text(source)
        items = _jsonl(source, text) if suffix == ".jsonl" else _csv(source, text)
        if not items:
            raise CorpusError(f"{source}: the manifest has no entries")
        return items
    if suffix in AUDIO_EXTENSIONS:
        return [CorpusItem(source.name, source, _sidecar(source), _probe_seconds(source))]
    raise CorpusError(f"{source}: not a folder, a .jsonl or .csv manifest, or an audio file")


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise CorpusError(f"{path}: cannot be read ({err.strerror or type(err).__name__})") from None
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise CorpusError(f"{path}: not UTF-8 text") from None


def _folder(folder: Path, extensions: frozenset[str]) -> list[CorpusItem]:
    items: list[CorpusItem] = []
    for top, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = Path(top, name)
            if path.suffix.lower() in extensions:
                items.append(
                    CorpusItem(path.relative_to(folder).as_posix(), path, _sidecar(path), _probe_seconds(path))
                )
    return items


def _sidecar(audio: Path) -> str | None:
    reference = audio.with_suffix(".txt")
    return _read_text(reference) if reference.is_file() else None


def _entry(manifest: Path, line: int, audio: object, reference: object) -> CorpusItem:
    where = f"{manifest} line {line}"
    if not isinstance(audio, str) or not audio.strip():
        raise CorpusError(f'{where}: "audio" must be a non-empty path (relative to the manifest\'s folder)')
    if reference is not None and not isinstance(reference, str):
        raise CorpusError(f'{where}: "reference" must be text or null')
    path = manifest.parent / audio
    if not path.is_file():
        raise CorpusError(f"{where}: {audio}: no such audio file")
    return CorpusItem(audio, path, reference, _probe_seconds(path))


def _jsonl(manifest: Path, text: str) -> list[CorpusItem]:
    items: list[CorpusItem] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            entry: object = json.loads(raw)
        except ValueError:
            raise CorpusError(f"{manifest} line {number}: not JSON") from None
        if not isinstance(entry, dict) or "audio" not in entry:
            raise CorpusError(f'{manifest} line {number}: expected an object with an "audio" path')
        fields: dict[str, object] = entry  # pyright: ignore[reportUnknownVariableType]
        items.append(_entry(manifest, number, fields["audio"], fields.get("reference")))
    return items


def _csv(manifest: Path, text: str) -> list[CorpusItem]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    items: list[CorpusItem] = []
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in row]
                if "audio" not in header:
                    raise CorpusError(
                        f'{manifest} line {reader.line_num}: the header row must name an "audio" column '
                        '(and optionally "reference")'
                    )
                continue
            if len(row) != len(header):
                raise CorpusError(f"{manifest} line {reader.line_num}: {len(row)} cells, the header has {len(header)}")
            cells = dict(zip(header, row, strict=True))
            reference = cells.get("reference")
            items.append(_entry(manifest, reader.line_num, cells["audio"], reference or None))
    except csv.Error as err:
        raise CorpusError(f"{manifest} line {reader.line_num}: {err}") from None
    return items


def _probe_seconds(path: Path) -> float | None:
    """The duration in a WAV's or an Ogg/Opus file's header; ``None`` for other formats or odd files."""
    try:
        with path.open("rb") as file:
            head = file.read(65536)
            if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
                return _wav_seconds(head, path.stat().st_size)
            if head[:4] == b"OggS" and b"OpusHead" in head[:128]:
                start = head.index(b"OpusHead")
                pre_skip = int.from_bytes(head[start + 10 : start + 12], "little")
                size = path.stat().st_size
                file.seek(max(size - 65536, 0))
                tail = file.read()
                last = tail.rfind(b"OggS")
                if last < 0 or last + 14 > len(tail):
                    return None
                granule = int.from_bytes(tail[last + 6 : last + 14], "little")
                return max(granule - pre_skip, 0) / 48000
    except OSError:
        return None
    return None


def _wav_seconds(head: bytes, size: int) -> float | None:
    offset = 12
    byte_rate = 0
    while offset + 8 <= len(head):
        chunk, length = head[offset : offset + 4], int.from_bytes(head[offset + 4 : offset + 8], "little")
        if chunk == b"fmt " and offset + 16 <= len(head):
            byte_rate = int.from_bytes(head[offset + 16 : offset + 20], "little")
        elif chunk == b"data":
            if byte_rate <= 0:
                return None
            data = min(length, size - offset - 8)
            return max(data, 0) / byte_rate
        offset += 8 + length + (length & 1)
    return None


# --- one request ----------------------------------------------------------------------------------------


@dataclass
class _Record:
    """One measured request."""

    index: int
    item: CorpusItem
    ok: bool
    elapsed: float
    attempts: int = 1
    upload: float | None = None
    service: float | None = None
    download: float | None = None
    latency: float | None = None
    audio_seconds: float | None = None
    hypothesis: str | None = None
    recognition_status: str | None = None
    error: str | None = None
    error_kind: str | None = None
    status_code: int | None = None
    scores: dict[str, float | int] | None = None

    @property
    def rtf(self) -> float | None:
        if self.latency is None or not self.audio_seconds:
            return None
        return self.latency / self.audio_seconds

    @property
    def service_rtf(self) -> float | None:
        if self.service is None or not self.audio_seconds:
            return None
        return self.service / self.audio_seconds


def _phase(info: object, name: str) -> float | None:
    value = getattr(info, name, None)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class _Plan:
    api: str
    language: str | None
    options: Any


async def _request(client: SpeechClient, plan: _Plan, item: CorpusItem, index: int) -> _Record:
    from speech_async import InvalidOptionsError, SpeechError, SpeechStatusError

    from ._output import describe

    started = time.perf_counter()
    try:
        if plan.api == "fast":
            result: Any = await client.transcribe(item.path, options=plan.options)
            service_audio: float | None = result.duration_milliseconds / 1000
            status = None
        else:
            result = await client.recognize(item.path, language=plan.language or _DEFAULT_LANGUAGE)
            service_audio = None
            status = result.recognition_status
    except InvalidOptionsError:
        raise  # the same for every request: a usage error, said once
    except (SpeechError, OSError) as err:
        elapsed = time.perf_counter() - started
        code = err.status_code if isinstance(err, SpeechStatusError) else None
        kind = type(err).__name__ if code is None else f"{code} {type(err).__name__}"
        return _Record(
            index,
            item,
            ok=False,
            elapsed=elapsed,
            attempts=getattr(err, "attempts", 1) or 1,
            error=describe(err),
            error_kind=kind,
            status_code=code,
        )
    elapsed = time.perf_counter() - started
    info = result.response
    attempts: int = getattr(info, "attempts", 1) or 1
    phases = [_phase(info, name) for name in _PHASES]
    upload, service, download = phases
    if upload is not None and service is not None and download is not None:
        latency: float | None = upload + service + download
    else:
        # Without the phase timings (an older client): the call's own time, when it made one attempt only.
        latency = elapsed if attempts == 1 else None
    return _Record(
        index,
        item,
        ok=True,
        elapsed=elapsed,
        attempts=attempts,
        upload=upload,
        service=service,
        download=download,
        latency=latency,
        audio_seconds=item.audio_seconds if item.audio_seconds is not None else service_audio,
        hypothesis=result.text,
        recognition_status=status,
    )


# --- the run --------------------------------------------------------------------------------------------


@dataclass
class _Run:
    """What the run has measured so far (also after Ctrl-C)."""

    planned: int | None
    records: list[_Record] = field(default_factory=list[_Record])
    warmup: list[_Record] = field(default_factory=list[_Record])
    started: float | None = None
    ended: float | None = None
    interrupted: bool = False

    @property
    def wall(self) -> float:
        if self.started is None:
            return 0.0
        return (self.ended if self.ended is not None else time.perf_counter()) - self.started


async def _drive(
    concurrency: int,
    count: int | None,
    deadline: float | None,
    work: Callable[[int], Any],
) -> None:
    import anyio

    from speech_async import InvalidOptionsError

    taken = 0
    refused: list[InvalidOptionsError] = []

    async def worker() -> None:
        nonlocal taken
        while (count is None or taken < count) and (deadline is None or time.monotonic() < deadline):
            index = taken
            taken += 1
            try:
                await work(index)
            except InvalidOptionsError as err:
                # The same for every request: stop them all, and raise it bare (not in an exception group).
                refused.append(err)
                group.cancel_scope.cancel()
                return

    async with anyio.create_task_group() as group:
        for _ in range(concurrency if count is None else max(min(concurrency, count), 0)):
            group.start_soon(worker)
    if refused:
        raise refused[0]


async def _bench(
    args: argparse.Namespace,
    settings: Any,
    plan: _Plan,
    corpus: list[CorpusItem],
    run: _Run,
    console: Console,
) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ._config import open_client

    def say(line: str) -> None:
        console.print(f"{PROG}: {line}", markup=False)

    live = console.is_terminal and not args.quiet
    async with open_client(settings, prog=PROG, say=say) as client:
        if args.warmup:

            async def warm(index: int) -> None:
                run.warmup.append(await _request(client, plan, corpus[index % len(corpus)], index))

            await _drive(args.concurrency, args.warmup, None, warm)
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            TextColumn("[red]{task.fields[failed]} failed[/red]"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not live,
        )
        task = progress.add_task("benchmarking", total=run.planned, failed=0)
        failed = 0

        async def measure(index: int) -> None:
            nonlocal failed
            record = await _request(client, plan, corpus[index % len(corpus)], index)
            run.records.append(record)
            run.ended = time.perf_counter()
            failed += not record.ok
            progress.update(task, advance=1, failed=failed)

        with progress:
            run.started = time.perf_counter()
            deadline = None if args.duration is None else time.monotonic() + args.duration
            await _drive(args.concurrency, run.planned, deadline, measure)


# --- the report -----------------------------------------------------------------------------------------


def _score(records: Sequence[_Record], normalized: bool) -> tuple[dict[str, Any] | None, str | None]:
    """The accuracy section, and a note when it cannot be computed."""
    with_reference = [record for record in records if record.ok and record.item.reference is not None]
    if not with_reference:
        return None, None
    try:
        import jiwer
    except ImportError:
        return None, f"WER and CER need jiwer: {_INSTALL}"
    prepare = normalize if normalized else _collapse
    totals = Counter[str]()
    empty = 0
    for record in with_reference:
        assert record.item.reference is not None
        reference = prepare(record.item.reference)
        hypothesis = prepare(record.hypothesis or "")
        if not reference:
            empty += 1
            continue
        words = jiwer.process_words(reference, hypothesis)
        chars = jiwer.process_characters(reference, hypothesis)
        scores: dict[str, float | int] = {
            "substitutions": words.substitutions,
            "deletions": words.deletions,
            "insertions": words.insertions,
            "hits": words.hits,
            "char_substitutions": chars.substitutions,
            "char_deletions": chars.deletions,
            "char_insertions": chars.insertions,
            "char_hits": chars.hits,
        }
        totals.update({name: int(value) for name, value in scores.items()})
        words_n = words.substitutions + words.deletions + words.hits
        chars_n = chars.substitutions + chars.deletions + chars.hits
        scores["wer"] = (words.substitutions + words.deletions + words.insertions) / words_n
        scores["cer"] = (chars.substitutions + chars.deletions + chars.insertions) / chars_n
        record.scores = scores
    scored = len(with_reference) - empty
    reference_words = totals["substitutions"] + totals["deletions"] + totals["hits"]
    reference_chars = totals["char_substitutions"] + totals["char_deletions"] + totals["char_hits"]
    word_errors = totals["substitutions"] + totals["deletions"] + totals["insertions"]
    char_errors = totals["char_substitutions"] + totals["char_deletions"] + totals["char_insertions"]
    return {
        "normalized": normalized,
        "requests": scored,
        "empty_references": empty,
        "wer": word_errors / reference_words if reference_words else None,
        "cer": char_errors / reference_chars if reference_chars else None,
        "reference_words": reference_words,
        "substitutions": totals["substitutions"],
        "deletions": totals["deletions"],
        "insertions": totals["insertions"],
        "reference_chars": reference_chars,
        "char_errors": char_errors,
    }, None


def _report(args: argparse.Namespace, settings: Any, corpus: list[CorpusItem], run: _Run) -> dict[str, Any]:
    from .._version import __version__

    records = sorted(run.records, key=lambda record: record.index)
    ok = [record for record in records if record.ok]
    failed = [record for record in records if not record.ok]
    wall = run.wall
    audio = sum(record.audio_seconds or 0.0 for record in ok)
    timed = [record for record in ok if record.latency is not None and record.audio_seconds]
    timed_audio = sum(record.audio_seconds or 0.0 for record in timed)
    serviced = [record for record in timed if record.service is not None]
    serviced_audio = sum(record.audio_seconds or 0.0 for record in serviced)
    notes: list[str] = []
    if ok and all(record.upload is None for record in ok):
        notes.append("this client does not time upload and service apart: latency is the whole call's")
    accuracy, note = _score(records, normalized=not args.no_normalize)
    if note is not None:
        notes.append(note)
    errors = Counter(record.error_kind for record in failed if record.error_kind is not None)

    def values(get: Callable[[_Record], float | None]) -> list[float]:
        return [value for record in ok if (value := get(record)) is not None]

    report: dict[str, Any] = {
        "schema": SCHEMA,
        "version": __version__,
        "api": args.api,
        "endpoint": "emulator" if settings.emulator else settings.endpoint,
        "locale": args.locale,
        "concurrency": args.concurrency,
        "limits": {"requests": run.planned, "duration_seconds": args.duration, "warmup": args.warmup},
        "interrupted": run.interrupted,
        "corpus": {
            "source": str(args.corpus),
            "items": len(corpus),
            "with_reference": sum(item.reference is not None for item in corpus),
        },
        "requests": {
            "measured": len(records),
            "succeeded": len(ok),
            "failed": len(failed),
            "retried": sum(record.attempts > 1 for record in records),
            "retries": sum(record.attempts - 1 for record in records),
            "throttled": sum(record.status_code == 429 for record in failed),
            "warmup": len(run.warmup),
            "warmup_failed": sum(not record.ok for record in run.warmup),
        },
        "wall_seconds": wall,
        "throughput": {
            "requests_per_second": len(ok) / wall if wall > 0 else None,
            "audio_seconds_per_second": audio / wall if wall > 0 else None,
        },
        "audio_seconds": audio,
        "latency_seconds": {
            "latency": _stats(values(lambda record: record.latency)),
            "upload": _stats(values(lambda record: record.upload)),
            "service": _stats(values(lambda record: record.service)),
            "download": _stats(values(lambda record: record.download)),
            "elapsed": _stats(values(lambda record: record.elapsed)),
        },
        "rtf": {
            "aggregate": sum(record.latency or 0.0 for record in timed) / timed_audio if timed_audio else None,
            "service_aggregate": (
                sum(record.service or 0.0 for record in serviced) / serviced_audio if serviced_audio else None
            ),
            "per_request": _stats(values(lambda record: record.rtf)),
        },
        "errors": dict(sorted(errors.items())),
        "recognition_statuses": dict(
            sorted(Counter(record.recognition_status for record in ok if record.recognition_status).items())
        ),
        "accuracy": accuracy,
        "notes": notes,
        "results": [_row(record) for record in records],
    }
    return report


def _row(record: _Record) -> dict[str, Any]:
    row: dict[str, Any] = {
        "index": record.index,
        "name": record.item.name,
        "ok": record.ok,
        "attempts": record.attempts,
        "elapsed": record.elapsed,
        "latency": record.latency,
        "upload": record.upload,
        "service": record.service,
        "download": record.download,
        "audio_seconds": record.audio_seconds,
        "rtf": record.rtf,
    }
    if record.ok:
        row["hypothesis"] = record.hypothesis
        if record.recognition_status is not None:
            row["recognition_status"] = record.recognition_status
        if record.scores is not None:
            row["wer"] = record.scores["wer"]
            row["cer"] = record.scores["cer"]
    else:
        row["error"] = record.error
        row["error_kind"] = record.error_kind
        row["status_code"] = record.status_code
    return row


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f} ms"


def _number(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _factor(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def _table(console: Console, report: dict[str, Any]) -> None:
    from rich.table import Table
    from rich.text import Text

    requests = report["requests"]
    title = f"{PROG}: {report['api']} API, {requests['measured']} requests at concurrency {report['concurrency']}" + (
        " (interrupted)" if report["interrupted"] else ""
    )
    latency = Table(title=title, title_justify="left")
    latency.add_column("per request")
    for column in ("count", "mean", "p50", "p90", "p99", "max"):
        latency.add_column(column, justify="right")
    rows = (
        ("latency (final attempt)", "latency"),
        ("  upload", "upload"),
        ("  service", "service"),
        ("  download", "download"),
        ("elapsed (all attempts)", "elapsed"),
    )
    for label, key in rows:
        stats = report["latency_seconds"][key]
        latency.add_row(
            label, str(stats["count"]), *(_ms(stats[name]) for name in ("mean", "p50", "p90", "p99", "max"))
        )
    rtf = report["rtf"]["per_request"]
    latency.add_row(
        "real-time factor", str(rtf["count"]), *(_factor(rtf[name]) for name in ("mean", "p50", "p90", "p99", "max"))
    )
    console.print(latency)

    summary = Table(show_header=True)
    columns = ["ok", "failed", "429", "retried", "wall", "req/s", "audio s/s", "RTF"]
    accuracy = report["accuracy"]
    if accuracy is not None:
        columns += ["WER", "CER"]
    for column in columns:
        summary.add_column(column, justify="right")
    throughput = report["throughput"]
    cells = [
        str(requests["succeeded"]),
        str(requests["failed"]),
        str(requests["throttled"]),
        str(requests["retried"]),
        f"{report['wall_seconds']:.2f} s",
        _number(throughput["requests_per_second"], 2),
        _number(throughput["audio_seconds_per_second"], 1),
        _factor(report["rtf"]["aggregate"]),
    ]
    if accuracy is not None:
        cells += [_percent(accuracy["wer"]), _percent(accuracy["cer"])]
    summary.add_row(*cells)
    console.print(summary)
    if report["errors"]:
        errors = Table(title="errors by kind", title_justify="left")
        errors.add_column("kind")
        errors.add_column("count", justify="right")
        for kind, count in list(report["errors"].items())[:_MAX_ERROR_ROWS]:
            errors.add_row(Text(kind), str(count))
        console.print(errors)
    for note in report["notes"]:
        console.print(Text(f"{PROG}: note: {note}"))


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.2f} %"


def _plot(path: Path, run: _Run, report: dict[str, Any]) -> None:
    from matplotlib.figure import Figure

    ok = [record for record in run.records if record.ok]
    # matplotlib's annotations leave **kwargs untyped: the figure is handled as Any.
    figure: Any = Figure(figsize=(8, 4.5), dpi=100)
    axes: Any = figure.add_subplot()
    series = (
        ("latency (final attempt)", [r.latency for r in ok]),
        ("upload", [r.upload for r in ok]),
        ("service", [r.service for r in ok]),
    )
    for label, values in series:
        shown = [value * 1000 for value in values if value is not None]
        if shown:
            axes.hist(shown, bins=min(40, max(len(shown), 1)), histtype="step", linewidth=1.5, label=label)
    latency = report["latency_seconds"]["latency"]
    for name, style in (("p50", "-"), ("p90", "--"), ("p99", ":")):
        if latency[name] is not None:
            axes.axvline(latency[name] * 1000, color="grey", linestyle=style, linewidth=1, label=f"{name} latency")
    axes.set_xlabel("milliseconds")
    axes.set_ylabel("requests")
    axes.set_title(f"{PROG}: {report['api']} API, {len(ok)} requests at concurrency {report['concurrency']}")
    if ok:
        axes.legend(loc="upper right", fontsize="small")
    figure.tight_layout()
    figure.savefig(path, format="png")


# --- the command ----------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    from ._config import add_connection_arguments
    from ._config import count_argument as count
    from ._config import positive_int_argument as positive
    from ._config import seconds_argument as seconds

    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Benchmark a speech endpoint with a corpus: latency (upload and service apart), percentiles, "
            "throughput, real-time factor, errors by kind, and WER/CER against reference transcripts."
        ),
        epilog=(
            "CORPUS: a folder of audio (references in <stem>.txt next to each file), a .jsonl manifest "
            '({"audio": PATH, "reference": TEXT} a line) or a .csv manifest (columns audio and reference), '
            "paths relative to the manifest. The table goes to stderr, --json to stdout. Exit status: 0 when "
            "every request succeeded, 1 when any failed, 2 for usage errors, 130 on Ctrl-C."
        ),
        allow_abbrev=False,
    )
    parser.add_argument("corpus", type=Path, metavar="CORPUS", help="a folder, a .jsonl or .csv manifest, or a file")
    parser.add_argument("--api", choices=_APIS, default="fast", help="fast transcription or short audio (fast)")
    parser.add_argument("--concurrency", type=positive, default=4, metavar="N", help="requests in flight (4)")
    parser.add_argument(
        "--requests", type=positive, metavar="N", help="requests in all, cycling the corpus (default: one pass)"
    )
    parser.add_argument(
        "--duration", type=seconds, metavar="SECONDS", help="start requests for this long (with --requests: first)"
    )
    parser.add_argument("--warmup", type=count, default=0, metavar="N", help="requests sent first, not counted (0)")
    parser.add_argument(
        "--locale",
        metavar="LOCALE",
        help=f"the spoken locale, such as en-US (fast: a candidate locale; short: the language, {_DEFAULT_LANGUAGE})",
    )
    parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="PATH",
        help="write the report as JSON to PATH, or to stdout with - (or nothing, after CORPUS)",
    )
    parser.add_argument("--plot", type=Path, metavar="PATH", help="draw a latency histogram into a PNG (matplotlib)")
    parser.add_argument(
        "--no-normalize",
        action="store_true",
        help="compare transcripts as they are (white space collapsed only), not lower-cased without punctuation",
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no table and no progress on stderr")
    add_connection_arguments(parser)
    return parser


def _check_output(parser: argparse.ArgumentParser, flag: str, path: Path) -> None:
    if path.is_dir():
        parser.error(f"{flag} {path}: is a folder, not a file")
    parent = path.parent
    if not parent.is_dir():
        parser.error(f"{flag} {path}: the folder {parent} does not exist")


def _missing(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):
        return True


def _plan(args: argparse.Namespace) -> _Plan:
    if args.api == "short":
        return _Plan("short", args.locale or _DEFAULT_LANGUAGE, None)
    from speech_async import TranscriptionOptions

    return _Plan("fast", args.locale, TranscriptionOptions(locales=[args.locale] if args.locale else None))


def _run(argv: Sequence[str]) -> int:
    from ._config import UsageError, resolve_settings

    parser = _parser()
    try:
        args = parser.parse_args(list(argv))
        if args.json not in (None, "-"):
            _check_output(parser, "--json", Path(args.json))
        if args.plot is not None:
            _check_output(parser, "--plot", args.plot)
        try:
            corpus = load_corpus(args.corpus)
        except CorpusError as err:
            parser.error(str(err))
        if _missing("rich"):
            print(f"{PROG}: error: this command needs rich: {_INSTALL}", file=sys.stderr, flush=True)
            return 1
        if args.plot is not None and _missing("matplotlib"):
            print(f"{PROG}: error: --plot needs matplotlib: {_INSTALL}", file=sys.stderr, flush=True)
            return 1
        try:
            settings = resolve_settings(args)
            plan = _plan(args)
        except (UsageError, ValueError) as err:  # ValueError: InvalidOptionsError of the options' own checks
            parser.error(str(err))
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
    return _execute(parser, args, settings, plan, corpus)


def _execute(
    parser: argparse.ArgumentParser, args: argparse.Namespace, settings: Any, plan: _Plan, corpus: list[CorpusItem]
) -> int:
    from rich.console import Console

    from speech_async import InvalidOptionsError, SpeechError

    from ._config import Interrupted, UsageError, run_async
    from ._output import describe

    # Not a terminal (a log, a CI job): wide enough that the tables never wrap.
    console = Console(file=sys.stderr, quiet=args.quiet, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console.width = _PLAIN_WIDTH
    planned = args.requests if args.requests is not None else (None if args.duration is not None else len(corpus))
    run = _Run(planned=planned)
    try:
        run_async(lambda: _bench(args, settings, plan, corpus, run, console))
    except Interrupted:
        run.interrupted = True
    except (UsageError, InvalidOptionsError) as err:
        parser.print_usage(sys.stderr)
        print(f"{PROG}: error: {err}", file=sys.stderr, flush=True)
        return 2
    except (SpeechError, OSError) as err:  # the client could not start
        print(f"{PROG}: error: {describe(err)}", file=sys.stderr, flush=True)
        return 1
    report = _report(args, settings, corpus, run)
    if not args.quiet:
        _table(console, report)
    status = 0
    if args.json is not None:
        text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
        if args.json == "-":
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            try:
                Path(args.json).write_text(text, encoding="utf-8")
            except OSError as err:
                print(f"{PROG}: error: --json {args.json}: {err.strerror or describe(err)}", file=sys.stderr)
                status = 1
    if args.plot is not None:
        try:
            _plot(args.plot, run, report)
        except OSError as err:
            print(f"{PROG}: error: --plot {args.plot}: {err.strerror or describe(err)}", file=sys.stderr)
            status = 1
    if run.interrupted:
        requests = report["requests"]
        print(
            f"{PROG}: interrupted: {requests['measured']} requests measured "
            f"({requests['succeeded']} succeeded, {requests['failed']} failed)",
            file=sys.stderr,
            flush=True,
        )
        return 130
    return 1 if report["requests"]["failed"] or status else 0


COMMAND = Command(
    name="bench",
    help="benchmark an endpoint: latency percentiles, throughput, real-time factor, errors and WER",
    run=_run,
)
