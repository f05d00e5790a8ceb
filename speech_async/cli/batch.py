"""``speech-async batch``: batch transcription jobs: submit, status, wait, results, list, delete.

``submit`` prints the new job's id on stdout (``--wait`` then waits for it, status lines on stderr);
``wait`` takes an id or the poller's continuation token that ``submit`` shows on stderr; ``results``
writes each input's result into ``--out DIR`` in every ``--format``, or prints them on stdout (one
format, with a ``==> input <==`` line before each when there are several). Exit status: 0 on success,
1 when a job or an input failed or a request did, 2 for usage errors, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote, urlsplit

from ._command import Command

if TYPE_CHECKING:
    from rich.console import Console

    from speech_async import SpeechClient, Transcription

__all__ = ("COMMAND",)

PROG: Final = "speech-async batch"
_TOKEN_PREFIX: Final = "speech_async.batch:"
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9._-]+")


def _interval(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not (0 < value <= 3600):
        raise argparse.ArgumentTypeError(f"must be between 0 and 3600 seconds: {text!r}")
    return value


def _parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    from ._config import add_connection_arguments

    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Batch transcription jobs: audio the service fetches from URLs or a blob container.",
        epilog="Exit status: 0 on success, 1 when a job, an input or a request failed, 2 for usage errors.",
        allow_abbrev=False,
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    subs: dict[str, argparse.ArgumentParser] = {}

    def action(name: str, help: str) -> argparse.ArgumentParser:
        sub = subs[name] = actions.add_parser(name, help=help, description=help, allow_abbrev=False)
        add_connection_arguments(sub, batch=True)
        sub.add_argument("--quiet", "-q", action="store_true", help="nothing on stderr but errors")
        return sub

    submit = action("submit", "submit a job; prints its id")
    submit.add_argument("urls", nargs="*", metavar="URL", help="audio URLs the service can read")
    submit.add_argument("--container", metavar="SAS_URL", help="a blob container SAS URL (read and list)")
    submit.add_argument("--locale", default="en-US", help="the audio's locale (default %(default)s)")
    submit.add_argument("--name", default="speech-async batch", help="the job's display name")
    submit.add_argument("--diarization", action="store_true", help="label speakers")
    submit.add_argument("--channels", metavar="0,1", help="channels to transcribe")
    submit.add_argument("--wait", action="store_true", help="wait until the job ends")
    submit.add_argument("--poll", type=_interval, default=1.0, metavar="SECONDS", help="poll interval (1)")
    submit.add_argument("--out", type=Path, metavar="DIR", help="with --wait: then write the results as results does")
    submit.add_argument("--format", default="txt", metavar="LIST", help="with --out: json, txt, srt, vtt (txt)")

    status = action("status", "show a job")
    status.add_argument("id", metavar="ID")
    status.add_argument("--json", action="store_true", help="the service's JSON on stdout")

    wait = action("wait", "wait until a job ends")
    wait.add_argument("id", metavar="ID|TOKEN", help="the job's id, or the continuation token submit showed")
    wait.add_argument("--poll", type=_interval, default=1.0, metavar="SECONDS", help="poll interval (1)")
    wait.add_argument("--timeout-after", type=_interval, metavar="SECONDS", help="give up after this long")

    results = action("results", "download a finished job's results")
    results.add_argument("id", metavar="ID")
    results.add_argument("--out", type=Path, metavar="DIR", help="write DIR/<input>.<ext> per format")
    results.add_argument("--format", default="txt", metavar="LIST", help="json, txt, srt, vtt (default txt)")
    results.add_argument(
        "--content-url",
        action="append",
        metavar="URL",
        help="optional, for a job on content URLs: give them again, in the order submitted, to check each result "
        "against its input (without them, each result is named by the source its file names)",
    )

    listing = action("list", "list the jobs")
    listing.add_argument("--top", type=int, metavar="N", help="at most N jobs")
    listing.add_argument("--json", action="store_true", help="one JSON object per job on stdout")

    delete = action("delete", "delete a job and its files")
    delete.add_argument("id", metavar="ID")
    return parser, subs


def _run(argv: Sequence[str]) -> int:
    from ._config import UsageError, require_rich, resolve_settings
    from ._output import parse_formats

    parser, subs = _parser()
    try:
        args = parser.parse_args(list(argv))
        sub = subs[args.action]
        formats: tuple[str, ...] = ()
        if args.action == "submit" and bool(args.urls) == (args.container is not None):
            sub.error("give audio URLs or --container SAS_URL (one of them)")
        if args.action == "submit" and args.out is not None and not args.wait:
            sub.error("--out needs --wait (results exist once the job has succeeded)")
        if args.action in ("results", "submit"):
            try:
                formats = parse_formats(args.format)
            except ValueError as err:
                sub.error(f"--format: {err}")
            if args.out is None and len(formats) != 1 and args.action == "results":
                sub.error("stdout takes one --format; use --out DIR for several")
            if args.out is not None and args.out.exists() and not args.out.is_dir():
                sub.error(f"--out {args.out}: is a file, not a folder")
        if not require_rich(PROG):
            return 1
        try:
            settings = resolve_settings(args)
        except UsageError as err:
            sub.error(str(err))
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
    return _execute(sub, args, settings, formats)


def _execute(parser: argparse.ArgumentParser, args: argparse.Namespace, settings: Any, formats: tuple[str, ...]) -> int:
    from speech_async import InvalidOptionsError, SpeechError

    from ._config import Interrupted, UsageError, open_client, run_async
    from ._output import describe, stderr_console

    console = stderr_console(quiet=args.quiet)
    prog = f"{PROG} {args.action}"

    def say(line: str) -> None:
        console.print(f"{prog}: {line}", markup=False)

    handlers: dict[str, Callable[[SpeechClient], Awaitable[int]]] = {
        "submit": lambda client: _submit(client, args, say, formats, prog),
        "status": lambda client: _status(client, args),
        "wait": lambda client: _wait(client, args, say),
        "results": lambda client: _results(client, args, formats, prog),
        "list": lambda client: _list(client, args),
        "delete": lambda client: _delete(client, args, say),
    }

    async def execute() -> int:
        async with open_client(settings, prog=prog, say=say, batch=True) as client:
            return await handlers[args.action](client)

    try:
        return run_async(execute)
    except Interrupted:
        print(f"{prog}: interrupted", file=sys.stderr, flush=True)
        return 130
    except (UsageError, InvalidOptionsError) as err:
        parser.print_usage(sys.stderr)
        print(f"{prog}: error: {err}", file=sys.stderr, flush=True)
        return 2
    except (SpeechError, OSError, RuntimeError) as err:
        print(f"{prog}: FAILED: {describe(err)}", file=sys.stderr, flush=True)
        return 1


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _error_of(job: Transcription) -> str:
    error = job.properties.error
    if error is None:
        return ""
    return " ".join(part for part in (error.code, error.message) if part)


async def _submit(
    client: SpeechClient, args: argparse.Namespace, say: Callable[[str], None], formats: tuple[str, ...], prog: str
) -> int:
    from speech_async import PollInterval

    channels = None
    if args.channels:
        try:
            channels = [int(part) for part in args.channels.split(",") if part.strip()]
        except ValueError:
            from ._config import UsageError

            raise UsageError(f"--channels: numbers such as 0,1, not {args.channels!r}") from None
    poller = await client.batch.begin_transcription(
        content_urls=list(args.urls) or None,
        content_container_url=args.container,
        locale=args.locale,
        display_name=args.name,
        diarization=True if args.diarization else None,
        channels=channels,
        poll_interval=PollInterval(initial=args.poll, factor=1.0, maximum=args.poll),
    )
    _out(poller.id or "")
    say(f"job {poller.id}: {poller.status}; continuation token: {poller.continuation_token}")
    if not args.wait:
        return 0
    started = time.monotonic()
    while not poller.done():
        await poller.wait(timeout=args.poll)
        say(f"[{time.monotonic() - started:5.1f} s] {poller.status}")
    job = poller.transcription
    if job.status != "Succeeded":
        say(f"job {job.id} {job.status}: {_error_of(job)}")
        return 1
    if args.out is None:
        return 0
    return await _write_results(client, job, list(args.urls) or None, args.out, formats, prog)


async def _status(client: SpeechClient, args: argparse.Namespace) -> int:
    job = await client.batch.get_transcription(args.id)
    if args.json:
        import msgspec

        _out(msgspec.json.encode(job).decode())
    else:
        _job_table([job])
    return 1 if job.status == "Failed" else 0


async def _wait(client: SpeechClient, args: argparse.Namespace, say: Callable[[str], None]) -> int:
    from speech_async import PollInterval

    started = time.monotonic()
    limit = None if args.timeout_after is None else started + args.timeout_after
    if args.id.startswith(_TOKEN_PREFIX):
        poller = await client.batch.begin_transcription(
            continuation_token=args.id, poll_interval=PollInterval(initial=args.poll, factor=1.0, maximum=args.poll)
        )
        while not poller.done():
            if limit is not None and time.monotonic() >= limit:
                break
            await poller.wait(timeout=args.poll)
            say(f"[{time.monotonic() - started:5.1f} s] {poller.status}")
        job = poller.transcription
    else:
        job = await client.batch.get_transcription(args.id)
        while not job.done:
            if limit is not None and time.monotonic() >= limit:
                break
            await asyncio.sleep(args.poll)
            job = await client.batch.get_transcription(args.id)
            say(f"[{time.monotonic() - started:5.1f} s] {job.status}")
    _out(f"{job.id} {job.status}")
    if not job.done:
        say(f"job {job.id} still {job.status} after {args.timeout_after:g} s")
        return 1
    if job.status != "Succeeded":
        say(f"job {job.id} {job.status}: {_error_of(job)}")
        return 1
    return 0


def _file_stem(name: str) -> str:
    """A safe file name for an input: the last part of a URL's path (or a blob's name), decoded."""
    path = urlsplit(name).path if "://" in name else name
    stem = unquote(path.rstrip("/").rpartition("/")[2]) or "input"
    return _UNSAFE.sub("_", stem).strip("._") or "input"


async def _results(client: SpeechClient, args: argparse.Namespace, formats: tuple[str, ...], prog: str) -> int:
    urls: list[str] | None = args.content_url
    if args.out is None:
        return await _print_results(client, args.id, urls, formats[0], prog)
    return await _write_results(client, args.id, urls, args.out, formats, prog)


async def _print_results(client: SpeechClient, job: str, urls: list[str] | None, fmt: str, prog: str) -> int:
    from speech_async import TranscriptionResultFile

    from ._output import describe, render

    failures = 0
    seen: list[tuple[str, bytes]] = []
    async with contextlib.aclosing(client.batch.iter_results(job, content_urls=urls)) as results:
        async for item, outcome in results:
            if isinstance(outcome, TranscriptionResultFile):
                seen.append((item.input, render(outcome, fmt)))
            else:
                failures += 1
                print(f"{prog}: FAILED {_file_stem(item.input)}: {describe(outcome)}", file=sys.stderr, flush=True)
    for name, data in seen:
        if len(seen) > 1:
            _out(f"==> {_file_stem(name)} <==")
        sys.stdout.write(data.decode())
    sys.stdout.flush()
    return 1 if failures else 0


async def _write_results(
    client: SpeechClient,
    job: Transcription | str,
    urls: Sequence[str] | None,
    out: Path,
    formats: tuple[str, ...],
    prog: str,
) -> int:
    import anyio

    from speech_async import TranscriptionResultFile

    from ._output import describe, render

    failures = 0
    used: set[str] = set()
    await anyio.Path(out).mkdir(parents=True, exist_ok=True)
    async with contextlib.aclosing(client.batch.iter_results(job, content_urls=urls)) as results:
        async for item, outcome in results:
            if not isinstance(outcome, TranscriptionResultFile):
                failures += 1
                print(f"{prog}: FAILED {_file_stem(item.input)}: {describe(outcome)}", file=sys.stderr, flush=True)
                continue
            stem = _file_stem(item.input)
            unique, number = stem, 2
            while unique in used:
                unique, number = f"{stem}-{number}", number + 1
            used.add(unique)
            for fmt in formats:
                # Whole or not at all: written beside, then renamed into place.
                target = anyio.Path(out / f"{unique}.{fmt}")
                partial = anyio.Path(out / f".{unique}.{fmt}.partial")
                await partial.write_bytes(render(outcome, fmt))
                await partial.replace(target)
    return 1 if failures else 0


def _job_table(jobs: Sequence[Transcription]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table()
    for column in ("id", "status", "name", "locale", "created", "error"):
        table.add_column(column)
    for job in jobs:
        created = "" if job.created_date_time is None else job.created_date_time.isoformat(timespec="seconds")
        table.add_row(
            Text(job.id or ""),
            Text(job.status or ""),
            Text(job.display_name or ""),
            Text(job.locale or ""),
            Text(created),
            Text(_error_of(job)),
        )
    console: Console = Console(file=sys.stdout, highlight=False, width=200)
    console.print(table)


async def _list(client: SpeechClient, args: argparse.Namespace) -> int:
    jobs: list[Transcription] = []
    async for job in client.batch.list_transcriptions(top=args.top):
        jobs.append(job)
        if args.top is not None and len(jobs) >= args.top:
            break
    if args.json:
        import msgspec

        for job in jobs:
            _out(msgspec.json.encode(job).decode())
    else:
        _job_table(jobs)
    return 0


async def _delete(client: SpeechClient, args: argparse.Namespace, say: Callable[[str], None]) -> int:
    await client.batch.delete_transcription(args.id)
    say(f"deleted {args.id}")
    return 0


COMMAND = Command(
    name="batch",
    help="batch transcription jobs: submit, status, wait, results, list, delete",
    run=_run,
)
