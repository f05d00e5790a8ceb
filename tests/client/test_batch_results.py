"""Batch results: the result and report files decoded from the published samples, inputs matched to their
files, and downloads from SAS URLs over real loopback HTTP (a server of the tests' own stands in for blob
storage, and records what reached it).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import msgspec
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from speech_async import BearerToken, KeyCredential, NotFoundError, ResponseDecodeError, SpeechClient
from speech_async._http import Response
from speech_async._models._batch_results import (
    BatchItem,
    TranscriptionReport,
    TranscriptionResultFile,
)
from speech_async._resources.batch.results import (
    BatchItemError,
    decode_report_file,
    decode_result_file,
    download_report,
    download_result,
    iter_results,
    match_inputs,
)
from tests.client.test_fuzz import mutated_json
from tests.support.http import serve_on_loopback
from tests.support.management import FakeManagement

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "spec-examples"
RESULT_RAW = (EXAMPLES / "batch-result-file.json").read_bytes()
REPORT_RAW = (EXAMPLES / "batch-report-file.json").read_bytes()
RESULT_SAMPLE: dict[str, Any] = json.loads(RESULT_RAW)
REPORT_SAMPLE: dict[str, Any] = json.loads(REPORT_RAW)
KEY = "s3cr3t-key-never-shown"
SAS = "?st=2018-02-09T18%3A07%3A00Z&se=2018-02-10T18%3A07%3A00Z&sp=rl&sv=2017-04-17&sr=b&sig=c2lnbmF0dXJl%2B"


def _result_for(source: str, *, display: str = "Hello world.") -> dict[str, Any]:
    """The published result file, as the transcript of ``source``."""
    document = copy.deepcopy(RESULT_SAMPLE)
    document["source"] = source
    document["combinedRecognizedPhrases"][0]["display"] = display
    return document


def _schema_2024(document: dict[str, Any]) -> dict[str, Any]:
    """A result file in the 2024-11-15 schema's shape: millisecond fields on phrases and words, int ticks."""
    document = copy.deepcopy(document)
    for phrase in document["recognizedPhrases"]:
        phrase["offsetMilliseconds"] = int(phrase["offsetInTicks"]) // 10_000
        phrase["durationMilliseconds"] = int(phrase["durationInTicks"]) // 10_000
        phrase["offsetInTicks"] = int(phrase["offsetInTicks"])
        phrase["speaker"] = 1
        phrase["locale"] = "en-US"
        best = phrase["nBest"][0]
        best["words"] = [
            {
                "word": "hello",
                "offset": "PT0.76S",
                "duration": "PT0.48S",
                "offsetInTicks": 7600000,
                "durationInTicks": 4800000,
                "offsetMilliseconds": 760,
                "durationMilliseconds": 480,
                "confidence": 0.9,
            }
        ]
    return document


def _response(content: bytes) -> Response:
    return Response(status=200, reason="OK", headers={}, content=content, request_id="rid")


# --- decoding the published samples --------------------------------------------------------------


def test_the_published_result_file_decodes_field_by_field() -> None:
    result = msgspec.json.decode(RESULT_RAW, type=TranscriptionResultFile)
    assert result.source == "..."
    assert result.timestamp == datetime(2025, 5, 24, 13, 37, 5, tzinfo=timezone.utc)
    assert result.duration_ticks == 25800000
    assert type(result.duration_ticks) is int
    assert result.duration_milliseconds == 2580
    assert result.duration_text == "PT2.58S"
    assert result.duration == timedelta(seconds=2.58)
    (combined,) = result.combined_recognized_phrases
    assert (combined.channel, combined.lexical, combined.itn, combined.masked_itn, combined.display) == (
        0,
        "hello world",
        "hello world",
        "hello world",
        "Hello world.",
    )
    assert result.text == "Hello world."
    (phrase,) = result.recognized_phrases
    assert phrase.recognition_status == "Success"
    assert phrase.succeeded
    assert phrase.channel == 0
    assert phrase.speaker is None
    assert phrase.locale is None
    assert (phrase.offset_text, phrase.duration_text) == ("PT0.76S", "PT1.32S")
    assert phrase.offset_ticks == 7600000.0
    assert type(phrase.offset_ticks) is float
    assert phrase.duration_ticks == 13200000.0
    assert phrase.offset_milliseconds is None  # absent from the published sample
    assert phrase.duration_milliseconds is None
    assert phrase.offset == timedelta(seconds=0.76)
    assert phrase.duration == timedelta(seconds=1.32)
    assert [(alt.confidence, alt.lexical, alt.itn, alt.masked_itn, alt.display) for alt in phrase.nbest] == [
        (0.5643338, "hello world", "hello world", "hello world", "Hello world."),
        (0.1769063, "helloworld", "helloworld", "helloworld", "helloworld"),
        (0.49964225, "hello worlds", "hello worlds", "hello worlds", "hello worlds"),
        (0.4995761, "hello worm", "hello worm", "hello worm", "hello worm"),
        (0.49418187, "hello word", "hello word", "hello word", "hello word"),
    ]
    assert phrase.best is phrase.nbest[0]
    assert phrase.text == "Hello world."
    best = phrase.nbest[0]
    assert best.words == []
    assert [
        (w.display_text, w.offset_text, w.duration_text, w.offset_ticks, w.duration_ticks, w.offset, w.duration)
        for w in best.display_words
    ] == [
        ("Hello", "PT0.76S", "PT0.76S", 7600000.0, 7600000.0, timedelta(seconds=0.76), timedelta(seconds=0.76)),
        ("world.", "PT1.52S", "PT0.56S", 15200000.0, 5600000.0, timedelta(seconds=1.52), timedelta(seconds=0.56)),
    ]
    assert all(alt.display_words == [] for alt in phrase.nbest[1:])
    # Nothing is lost or added: the sample's JSON comes back.
    assert json.loads(msgspec.json.encode(result)) == RESULT_SAMPLE


def test_the_published_report_file_decodes_field_by_field() -> None:
    report = msgspec.json.decode(REPORT_RAW, type=TranscriptionReport)
    assert (report.successful_transcriptions_count, report.failed_transcriptions_count) == (2, 0)
    assert (report.successful_count, report.failed_count) == (2, 0)
    assert [(d.source, d.source_url, d.status, d.error_kind, d.error_message) for d in report.details] == [
        ("https://crbn.us/hello.wav", None, "Succeeded", None, None),
        ("https://crbn.us/whatstheweatherlike.wav", None, "Succeeded", None, None),
    ]
    assert all(detail.succeeded for detail in report.details)
    assert json.loads(msgspec.json.encode(report)) == REPORT_SAMPLE


def test_the_2024_11_15_schema_shape_decodes_with_milliseconds_words_speaker_and_locale() -> None:
    result = decode_result_file(_response(json.dumps(_schema_2024(RESULT_SAMPLE)).encode()))
    (phrase,) = result.recognized_phrases
    assert (phrase.offset_milliseconds, phrase.duration_milliseconds) == (760, 1320)
    assert type(phrase.offset_ticks) is int
    assert (phrase.speaker, phrase.locale) == (1, "en-US")
    (word,) = phrase.nbest[0].words
    assert (word.word, word.confidence, word.offset_milliseconds, word.duration_milliseconds) == (
        "hello",
        0.9,
        760,
        480,
    )
    assert (word.offset, word.duration) == (timedelta(seconds=0.76), timedelta(seconds=0.48))


@pytest.mark.parametrize(
    ("timing", "offset"),
    [
        ({"offsetInTicks": 7600000}, timedelta(seconds=0.76)),
        ({"offsetInTicks": 7600000.0}, timedelta(seconds=0.76)),
        ({"offsetInTicks": 7600001}, timedelta(microseconds=760000.1)),
        ({"offsetMilliseconds": 760}, timedelta(seconds=0.76)),
        ({"offset": "PT0.76S"}, timedelta(seconds=0.76)),
        ({"offset": "PT1H2M3.5S"}, timedelta(hours=1, minutes=2, seconds=3.5)),
        ({"offset": "P1DT2H"}, timedelta(days=1, hours=2)),
        ({"offset": "PT0S"}, timedelta(0)),
        ({"offset": "P1Y"}, timedelta(0)),  # no fixed length: not read
        ({}, timedelta(0)),
        ({"offsetInTicks": 10_000_000, "offsetMilliseconds": 2, "offset": "PT3S"}, timedelta(seconds=1)),
        ({"offsetMilliseconds": 2000, "offset": "PT3S"}, timedelta(seconds=2)),
    ],
    ids=["int-ticks", "float-ticks", "odd-ticks", "ms", "iso", "iso-hms", "iso-days", "iso-zero", "iso-years",
         "none", "ticks-first", "ms-before-iso"],
)  # fmt: skip
def test_an_offset_is_read_from_whichever_form_came(timing: dict[str, Any], offset: timedelta) -> None:
    phrase = {"recognitionStatus": "Success", "nBest": [], **timing}
    body = {"combinedRecognizedPhrases": [], "recognizedPhrases": [phrase]}
    result = decode_result_file(_response(json.dumps(body).encode()))
    assert result.recognized_phrases[0].offset == offset


def test_ticks_out_of_any_sane_range_are_a_decode_error() -> None:
    body = {"combinedRecognizedPhrases": [], "recognizedPhrases": [{"offsetInTicks": 1e300}]}
    with pytest.raises(ResponseDecodeError):
        decode_result_file(_response(json.dumps(body).encode()))


def test_a_report_file_is_not_a_result_file() -> None:
    with pytest.raises(ResponseDecodeError) as caught:
        decode_result_file(_response(REPORT_RAW))
    assert caught.value.body == REPORT_RAW


@pytest.mark.parametrize(
    ("counts", "expected"),
    [(("2", "1"), (2, 1)), ((" 3 ", "0"), (3, 0)), (("many", ""), (None, None)), (("²", "-1"), (None, None))],
    ids=["strings", "padded", "not-numbers", "odd-digits"],
)
def test_report_counts_may_be_strings(counts: tuple[str, str], expected: tuple[int | None, int | None]) -> None:
    body = {"successfulTranscriptionsCount": counts[0], "failedTranscriptionsCount": counts[1], "details": []}
    report = decode_report_file(_response(json.dumps(body).encode()))
    assert (report.successful_transcriptions_count, report.failed_transcriptions_count) == counts
    assert (report.successful_count, report.failed_count) == expected


def test_source_url_is_an_alias_of_source() -> None:
    body = {
        "details": [
            {
                "sourceUrl": "https://a.example/x.wav",
                "status": "Failed",
                "errorKind": "InvalidData",
                "errorMessage": "m",
            },
            {"source": "https://a.example/y.wav", "sourceUrl": "https://a.example/z.wav", "status": "Succeeded"},
        ]
    }
    report = decode_report_file(_response(json.dumps(body).encode()))
    first, second = report.details
    assert (first.source, first.source_url, first.input_url) == (
        None,
        "https://a.example/x.wav",
        "https://a.example/x.wav",
    )
    assert (first.error_kind, first.error_message, first.succeeded) == ("InvalidData", "m", False)
    assert second.input_url == "https://a.example/y.wav"
    assert (report.successful_count, report.failed_count) == (None, None)


# --- matching inputs to their files ---------------------------------------------------------------


@dataclass(frozen=True)
class File:
    """A job's file as the matcher reads it (part of what ``TranscriptionFile`` holds)."""

    name: str | None
    kind: str | None
    content_url: str | None


def _results_at(base: str, *names: str) -> list[File]:
    return [File(name, "Transcription", f"{base}/{name}{SAS}") for name in names]


REPORT_FILE = File("report.json", "TranscriptionReport", f"https://store.example/r/report.json{SAS}")


def test_a_three_url_job_with_one_failure_maps_every_input() -> None:
    inputs = [f"https://audio.example/{name}.wav{SAS}" for name in ("one", "two", "three")]
    files = [REPORT_FILE, *_results_at("https://store.example/r", "contenturl_2.json", "contenturl_0.json")]
    report = TranscriptionReport(
        successful_transcriptions_count="2",
        failed_transcriptions_count="1",
        details=msgspec.convert(
            [
                {"source": "https://audio.example/one.wav", "status": "Succeeded"},
                {
                    "source": "https://AUDIO.example/two.wav?other=sas",
                    "status": "Failed",
                    "errorKind": "InvalidData",
                    "errorMessage": "The recordings URI contains invalid data.",
                },
                {"sourceUrl": "https://audio.example/three.wav", "status": "Succeeded"},
            ],
            list[Any],
        ),
    )
    report = msgspec.convert(msgspec.to_builtins(report), TranscriptionReport)
    one, two, three = match_inputs(inputs, files, report)
    assert (one.input, one.result_name, one.failure) == (inputs[0], "contenturl_0.json", None)
    assert one.result_file_url == f"https://store.example/r/contenturl_0.json{SAS}"
    assert one.succeeded
    assert (two.input, two.result_file_url, two.result_name) == (inputs[1], None, None)
    assert two.failure is not None
    assert (two.failure.status, two.failure.error_kind, two.failure.missing) == ("Failed", "InvalidData", False)
    assert two.failure.error_message == "The recordings URI contains invalid data."
    assert not two.succeeded
    assert (three.input, three.result_name, three.failure) == (inputs[2], "contenturl_2.json", None)
    # SAS signatures stay out of the repr.
    assert "sig=" not in repr([one, two, three])


def test_an_input_with_neither_result_nor_report_entry_is_missing_not_dropped() -> None:
    inputs = ["https://audio.example/a.wav", "https://audio.example/b.wav"]
    items = match_inputs(inputs, _results_at("https://store.example/r", "contenturl_0.json"), None)
    assert [item.input for item in items] == inputs
    assert items[0].succeeded
    assert items[1].failure is not None
    assert items[1].failure.missing
    assert items[1].failure.status is None
    assert "no result file" in str(items[1].failure)


def test_a_file_under_an_unexpected_name_and_an_unmatched_report_entry_are_kept() -> None:
    report = msgspec.convert(
        {"details": [{"source": "https://elsewhere.example/c.wav", "status": "Failed", "errorKind": "K"}]},
        TranscriptionReport,
    )
    items = match_inputs(
        ["https://audio.example/a.wav"], _results_at("https://store.example/r", "contenturl_7.json"), report
    )
    assert [(item.input, item.result_name) for item in items] == [
        ("https://audio.example/a.wav", None),
        ("contenturl_7", "contenturl_7.json"),
        ("https://elsewhere.example/c.wav", None),
    ]
    assert items[0].failure is not None
    assert items[0].failure.missing
    assert items[2].failure is not None
    assert items[2].failure.error_kind == "K"


def test_a_container_job_maps_blobs_by_name_and_report_source() -> None:
    container = "https://acct.blob.core.windows.net/audio-in"
    files = [REPORT_FILE, *_results_at("https://store.example/r", "call-1.wav.json", "dir/Réunion fictive.wav.json")]
    report = msgspec.convert(
        {
            "successfulTranscriptionsCount": 2,
            "failedTranscriptionsCount": 1,
            "details": [
                {"source": f"{container}/dir/R%C3%A9union%20fictive.wav{SAS}", "status": "Succeeded"},
                {"source": f"{container}/call-1.wav", "status": "Succeeded"},
                {"source": f"{container}/stereo.wav", "status": "Failed", "errorKind": "InvalidData"},
            ],
        },
        TranscriptionReport,
    )
    first, second, failed = match_inputs(None, files, report, container_url=f"{container}{SAS}")
    assert (first.input, first.result_name, first.failure) == ("call-1.wav", "call-1.wav.json", None)
    blob = "dir/Réunion fictive.wav"
    assert (second.input, second.result_name, second.failure) == (blob, f"{blob}.json", None)
    assert (failed.input, failed.result_file_url) == ("stereo.wav", None)
    assert failed.failure is not None
    assert (failed.failure.status, failed.failure.error_kind) == ("Failed", "InvalidData")
    # Without the container's URL, a blob only the report names is given by its URL (no query).
    *_, by_url = match_inputs(None, files, report)
    assert by_url.input == f"{container}/stereo.wav"


def test_a_report_that_says_succeeded_without_a_result_file_is_missing() -> None:
    report = msgspec.convert(
        {"details": [{"source": "https://a.example/x.wav", "status": "Succeeded"}]}, TranscriptionReport
    )
    (item,) = match_inputs(["https://a.example/x.wav"], [REPORT_FILE], report)
    assert item.failure is not None
    assert (item.failure.missing, item.failure.status) == (True, "Succeeded")


# --- downloads from SAS URLs ------------------------------------------------------------------------


@dataclass
class Storage:
    """A stand-in for blob storage: serves JSON bodies by name and records every request's headers."""

    bodies: dict[str, bytes] = field(default_factory=dict[str, bytes])
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list[tuple[str, dict[str, str]]])
    in_flight: int = 0
    most_in_flight: int = 0
    gate: asyncio.Event | None = None
    url: str = ""
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def until(self, count: int) -> None:
        """Wait until ``count`` requests have arrived."""
        while len(self.seen) < count:
            self.arrived.clear()
            await self.arrived.wait()

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.seen.append((request.path_qs, dict(request.headers)))
        self.arrived.set()
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.gate is not None and name != "report.json":  # the gate holds result files only
                await self.gate.wait()
            body = self.bodies.get(name)
            if body is None:
                return web.Response(status=404, text="<Error><Code>BlobNotFound</Code></Error>")
            return web.Response(body=body, content_type="application/json")
        finally:
            self.in_flight -= 1

    def put(self, name: str, document: Any) -> str:
        self.bodies[name] = json.dumps(document).encode()
        return f"{self.url}/artifacts/{name}{SAS}"


@pytest.fixture
async def storage() -> AsyncIterator[Storage]:
    store = Storage()
    app = web.Application()
    app.router.add_get("/artifacts/{name}", store.handle)
    async with serve_on_loopback(app) as url:
        store.url = url
        yield store
        if store.gate is not None:
            store.gate.set()  # the server's shutdown waits for its handlers, and a test may leave them waiting


@contextlib.asynccontextmanager
async def _client(endpoint: str, credential: object) -> AsyncIterator[SpeechClient]:
    async with SpeechClient(endpoint, credential) as client:  # pyright: ignore[reportArgumentType]
        yield client


@pytest.mark.parametrize("credential", [KeyCredential(KEY), BearerToken(KEY)], ids=["key", "token"])
async def test_a_result_download_sends_no_key_or_token_to_the_sas_url(storage: Storage, credential: object) -> None:
    url = storage.put("contenturl_0.json", RESULT_SAMPLE)
    # The SAS URL is on the configured host itself: even there, no credential goes with it.
    async with _client(storage.url, credential) as client:
        result = await download_result(client._ctx, url, call=client._ctx.call)
    assert result.text == "Hello world."
    ((path_qs, headers),) = storage.seen
    assert path_qs == f"/artifacts/contenturl_0.json{SAS}"  # the signature arrives byte for byte
    lowered = {name.lower(): value for name, value in headers.items()}
    assert "ocp-apim-subscription-key" not in lowered
    assert "authorization" not in lowered
    assert KEY not in json.dumps(headers)


async def test_a_report_download_decodes_and_sends_no_key(storage: Storage) -> None:
    url = storage.put("report.json", REPORT_SAMPLE)
    async with _client(storage.url, KeyCredential(KEY)) as client:
        report = await download_report(client._ctx, url, call=client._ctx.call)
    assert report.successful_count == 2
    assert "ocp-apim-subscription-key" not in {name.lower() for name in storage.seen[0][1]}


@pytest.mark.parametrize(
    "url",
    [
        "http://store.example/artifacts/x.json?sig=s",
        "ftp://store.example/x.json",
        "https:///x.json",
        "https://u:p@s.example/x",
    ],
    ids=["plain-http-remote", "ftp", "no-host", "user-info"],
)
async def test_only_https_or_loopback_urls_are_fetched(storage: Storage, url: str) -> None:
    from speech_async import InvalidInputError

    async with _client(storage.url, KeyCredential(KEY)) as client:
        with pytest.raises(InvalidInputError) as caught:
            await download_result(client._ctx, url, call=client._ctx.call)
    assert "sig=" not in str(caught.value)
    assert "u:p" not in str(caught.value)
    assert storage.seen == []


async def test_iter_results_yields_results_failures_and_mismatches(storage: Storage) -> None:
    inputs = [f"https://audio.example/{n}.wav{SAS}" for n in range(4)]
    storage.put("contenturl_0.json", _result_for("https://audio.example/0.wav"))
    storage.put("contenturl_1.json", _result_for("https://audio.example/somewhere-else.wav"))
    # contenturl_2.json is listed but gone from storage (404); input 3 failed.
    files = _results_at(f"{storage.url}/artifacts", "contenturl_0.json", "contenturl_1.json", "contenturl_2.json")
    report = msgspec.convert(
        {"details": [{"source": "https://audio.example/3.wav", "status": "Failed", "errorKind": "InvalidData"}]},
        TranscriptionReport,
    )
    items = match_inputs(inputs, files, report)
    async with _client(storage.url, KeyCredential(KEY)) as client:
        outcomes = {
            item.input: outcome async for item, outcome in iter_results(client._ctx, items, call=client._ctx.call)
        }
    assert sorted(outcomes) == sorted(inputs)
    first = outcomes[inputs[0]]
    assert isinstance(first, TranscriptionResultFile)
    assert first.source == "https://audio.example/0.wav"
    mismatch = outcomes[inputs[1]]
    assert isinstance(mismatch, BatchItemError)
    assert isinstance(mismatch.result, TranscriptionResultFile)
    assert "somewhere-else" in str(mismatch)
    assert isinstance(outcomes[inputs[2]], NotFoundError)
    failed = outcomes[inputs[3]]
    assert isinstance(failed, BatchItemError)
    assert failed.item.failure is not None
    assert "InvalidData" in str(failed)
    assert all("sig=" not in str(outcome) for outcome in outcomes.values())


async def test_iter_results_downloads_a_bounded_number_at_a_time(storage: Storage) -> None:
    inputs = [f"https://audio.example/{n}.wav" for n in range(10)]
    for n, url in enumerate(inputs):
        storage.put(f"contenturl_{n}.json", _result_for(url))
    items = match_inputs(
        inputs, _results_at(f"{storage.url}/artifacts", *(f"contenturl_{n}.json" for n in range(10))), None
    )
    storage.gate = asyncio.Event()
    async with _client(storage.url, KeyCredential(KEY)) as client:
        results = iter_results(client._ctx, items, call=client._ctx.call, concurrency=3)
        async with contextlib.aclosing(results):  # type: ignore[type-var]
            first = asyncio.ensure_future(anext(results))
            await storage.until(3)
            await asyncio.sleep(0.1)
            assert len(storage.seen) == 3  # the rest wait for a free slot
            storage.gate.set()
            item, outcome = await first
            assert isinstance(outcome, TranscriptionResultFile)
            # While the consumer holds a result, nothing more starts: memory stays flat.
            await asyncio.sleep(0.1)
            assert len(storage.seen) == 3
            rest = [pair async for pair in results]
    assert storage.most_in_flight == 3
    assert len(rest) == 9
    assert sorted([item.input] + [i.input for i, _ in rest]) == sorted(inputs)
    assert all(isinstance(outcome, TranscriptionResultFile) for _, outcome in rest)


def _downloads_running() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if not t.done() and getattr(t.get_coro(), "__qualname__", "") == "_fetch"]


async def test_cancelling_the_iteration_cancels_and_awaits_the_downloads(storage: Storage) -> None:
    inputs = [f"https://audio.example/{n}.wav" for n in range(6)]
    items = match_inputs(
        inputs, _results_at(f"{storage.url}/artifacts", *(f"contenturl_{n}.json" for n in range(6))), None
    )
    storage.gate = asyncio.Event()  # never set: every download hangs
    async with _client(storage.url, KeyCredential(KEY)) as client:

        async def consume() -> None:
            async for _ in iter_results(client._ctx, items, call=client._ctx.call, concurrency=2):
                pass

        consumer = asyncio.ensure_future(consume())
        await storage.until(2)
        assert len(_downloads_running()) == 2
        consumer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await consumer
        # Checked before the client closes: the iteration itself ended its downloads.
        assert _downloads_running() == []
    assert len(storage.seen) == 2


async def test_closing_the_iteration_early_ends_the_downloads(storage: Storage) -> None:
    inputs = [f"https://audio.example/{n}.wav" for n in range(6)]
    for n, url in enumerate(inputs[:1]):
        storage.put(f"contenturl_{n}.json", _result_for(url))
    items = match_inputs(
        inputs, _results_at(f"{storage.url}/artifacts", *(f"contenturl_{n}.json" for n in range(6))), None
    )
    async with _client(storage.url, KeyCredential(KEY)) as client:
        results = iter_results(client._ctx, items, call=client._ctx.call, concurrency=4)
        storage.gate = None
        async with contextlib.aclosing(results):  # type: ignore[type-var]
            async for _ in results:
                break
        assert _downloads_running() == []


@pytest.mark.parametrize("concurrency", [0, -1, True, 2.5])
def test_a_bad_concurrency_is_refused_at_once(concurrency: Any) -> None:
    with pytest.raises((TypeError, ValueError)):
        iter_results(None, [], call=None, concurrency=concurrency)  # type: ignore[arg-type]


# --- a URL job read by its id alone: results matched by their source ----------------------------------

JOB = "6e0d1b3a-0000-4000-8000-000000000001"


@dataclass
class FakeJobs(FakeManagement):
    """A management service of the tests' own with one finished job (that does not return its
    ``contentUrls``, as the service does not) and its files, whose content URLs point at :class:`Storage`."""

    files: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])
    job: dict[str, Any] = field(default_factory=dict[str, Any])

    async def route(self, request: web.Request, version: str, parts: list[str], body: Any) -> web.StreamResponse | None:
        if parts == ["transcriptions", JOB]:
            return web.json_response({"self": self.url(f"transcriptions/{JOB}", version), **self.job})
        if parts == ["transcriptions", JOB, "files"]:
            return web.json_response({"values": self.files})
        return None

    def add(self, name: str, url: str | None, kind: str = "Transcription") -> None:
        self.files.append({"name": name, "kind": kind, "links": {} if url is None else {"contentUrl": url}})


@pytest.fixture
async def jobs(storage: Storage) -> AsyncIterator[tuple[FakeJobs, SpeechClient]]:
    service = FakeJobs(job={"status": "Succeeded", "locale": "en-US", "displayName": "urls"})
    async with serve_on_loopback(service.app()) as base:
        service.base = base
        async with SpeechClient(base, KeyCredential(KEY)) as client:
            yield service, client


async def _outcomes(
    client: SpeechClient, job: Any, **options: Any
) -> list[tuple[BatchItem, TranscriptionResultFile | Exception]]:
    async with contextlib.aclosing(client.batch.iter_results(job, **options)) as results:
        return [pair async for pair in results]


def _url_job(storage: Storage, service: FakeJobs, inputs: list[str], details: list[dict[str, Any]]) -> None:
    """A job on ``inputs`` whose n-th result file is the transcript of ``inputs[n]``."""
    for n, url in enumerate(inputs):
        service.add(f"contenturl_{n}.json", storage.put(f"contenturl_{n}.json", _result_for(url, display=f"#{n}")))
    service.add("report.json", storage.put("report.json", {"details": details}), "TranscriptionReport")


async def test_a_url_job_by_its_id_alone_gives_every_input_once_by_its_source(
    storage: Storage, jobs: tuple[FakeJobs, SpeechClient]
) -> None:
    service, client = jobs
    good = [f"https://audio.example/one.wav{SAS}", "https://audio.example/two.wav"]
    bad, silent = f"https://audio.example/bad.wav{SAS}", "https://audio.example/silent.wav"
    # The service lists the results in its own order, and the report in the inputs' order.
    _url_job(storage, service, good, [])
    service.files.reverse()
    storage.put(
        "report.json",
        {
            "details": [
                {"source": good[0], "status": "Succeeded"},
                {"source": bad, "status": "Failed", "errorKind": "InvalidData", "errorMessage": "not audio"},
                {"source": good[1], "status": "Succeeded"},
                {"source": silent, "status": "Succeeded"},  # said to succeed, yet no result file
            ]
        },
    )
    outcomes = await _outcomes(client, JOB, concurrency=2)

    inputs = [item.input for item, _ in outcomes]
    assert sorted(inputs) == sorted([*good, bad, silent])  # each once; no "contenturl_<n>" item
    by_input = {item.input: (item, outcome) for item, outcome in outcomes}
    for n, url in enumerate(good):
        item, outcome = by_input[url]
        assert isinstance(outcome, TranscriptionResultFile), outcome
        assert outcome.text == f"#{n}"
        assert (item.result_name, item.failure) == (f"contenturl_{n}.json", None)
        assert item.succeeded
    item, failed = by_input[bad]
    assert isinstance(failed, BatchItemError)
    assert failed.item.failure is not None
    assert (failed.item.failure.error_kind, failed.item.failure.error_message) == ("InvalidData", "not audio")
    assert "InvalidData" in str(failed)
    item, missing = by_input[silent]
    assert isinstance(missing, BatchItemError)
    assert missing.item.failure is not None
    assert (missing.item.failure.missing, missing.item.failure.status) == (True, "Succeeded")
    # The report's leftovers come after every download.
    assert inputs[2:] == [bad, silent]
    # The SAS stays out of reprs and messages.
    assert all("sig=" not in repr(item) and "sig=" not in str(outcome) for item, outcome in outcomes)


async def test_a_transcription_without_content_urls_is_matched_by_source_too(
    storage: Storage, jobs: tuple[FakeJobs, SpeechClient]
) -> None:
    service, client = jobs
    inputs = ["https://audio.example/a.wav", "https://audio.example/b.wav"]
    _url_job(storage, service, inputs, [{"source": url, "status": "Succeeded"} for url in inputs])
    job = await client.batch.get_transcription(JOB)
    assert job.content_urls is None
    outcomes = await _outcomes(client, job)
    assert [(item.input, type(outcome)) for item, outcome in outcomes] == [
        (url, TranscriptionResultFile) for url in inputs
    ]


async def test_a_result_the_report_calls_failed_keeps_its_failure(
    storage: Storage, jobs: tuple[FakeJobs, SpeechClient]
) -> None:
    service, client = jobs
    url = "https://audio.example/a.wav"
    _url_job(storage, service, [url], [{"source": url, "status": "Failed", "errorKind": "Partial"}])
    ((item, outcome),) = await _outcomes(client, JOB)
    assert isinstance(outcome, TranscriptionResultFile)
    assert item.input == url
    assert item.failure is not None
    assert item.failure.error_kind == "Partial"


async def test_a_result_without_a_source_keeps_its_name_and_says_so(
    storage: Storage, jobs: tuple[FakeJobs, SpeechClient]
) -> None:
    service, client = jobs
    url = "https://audio.example/a.wav"
    _url_job(storage, service, [url], [{"source": url, "status": "Succeeded"}])
    document = _result_for(url)
    del document["source"]
    storage.put("contenturl_0.json", document)
    (named, unnamed), (leftover, missing) = await _outcomes(client, JOB)
    assert (named.input, named.result_name) == ("contenturl_0.json", "contenturl_0.json")
    assert isinstance(unnamed, BatchItemError)
    assert "names no source" in str(unnamed)
    assert isinstance(unnamed.result, TranscriptionResultFile)
    assert unnamed.result.text == "Hello world."
    # Nothing ties the file to the report's entry: that comes on its own, as the report gives it.
    assert leftover.input == url
    assert isinstance(missing, BatchItemError)


async def test_two_results_of_one_url_each_take_one_report_entry(
    storage: Storage, jobs: tuple[FakeJobs, SpeechClient]
) -> None:
    service, client = jobs
    inputs = [f"https://audio.example/a.wav{SAS}", "https://audio.example/a.wav"]
    _url_job(storage, service, inputs, [{"source": url, "status": "Succeeded"} for url in inputs])
    outcomes = await _outcomes(client, JOB)
    assert sorted(item.input for item, _ in outcomes) == sorted(inputs)
    assert all(isinstance(outcome, TranscriptionResultFile) and item.succeeded for item, outcome in outcomes)


async def test_matching_by_source_still_holds_at_most_concurrency_results(
    storage: Storage, jobs: tuple[FakeJobs, SpeechClient]
) -> None:
    service, client = jobs
    inputs = [f"https://audio.example/{n}.wav" for n in range(8)]
    details = [{"source": url, "status": "Succeeded"} for url in inputs]
    details.append({"source": "https://audio.example/failed.wav", "status": "Failed", "errorKind": "K"})
    _url_job(storage, service, inputs, details)
    storage.gate = gate = asyncio.Event()
    async with contextlib.aclosing(client.batch.iter_results(JOB, concurrency=3)) as results:
        first = asyncio.ensure_future(anext(results))
        try:
            await storage.until(4)  # report.json, then three results
            await asyncio.sleep(0.1)
            assert len(storage.seen) == 4
            gate.set()
            item, outcome = await first
            assert isinstance(outcome, TranscriptionResultFile)
            await asyncio.sleep(0.1)
            assert len(storage.seen) == 4  # held by the consumer: nothing more starts
            rest = [pair async for pair in results]
        finally:
            gate.set()
            first.cancel()
    assert storage.most_in_flight == 3
    assert [i.input for i, _ in rest][-1] == "https://audio.example/failed.wav"
    assert sorted(i.input for i, _ in [(item, outcome), *rest[:-1]]) == sorted(inputs)


async def test_a_url_job_with_its_content_urls_is_checked_against_them_as_before(
    storage: Storage, jobs: tuple[FakeJobs, SpeechClient]
) -> None:
    service, client = jobs
    inputs = ["https://audio.example/a.wav", "https://audio.example/b.wav"]
    _url_job(storage, service, list(reversed(inputs)), [])
    outcomes = dict(await _outcomes(client, JOB, content_urls=inputs))
    # Given the list, contenturl_0.json is inputs[0]'s: its source names another input.
    assert [item.input for item in outcomes] == inputs
    assert all(
        isinstance(outcome, BatchItemError) and "is the transcript of" in str(outcome) for outcome in outcomes.values()
    )


async def test_a_container_job_by_its_id_is_matched_by_blob_name_as_before(
    storage: Storage, jobs: tuple[FakeJobs, SpeechClient]
) -> None:
    service, client = jobs
    container = "https://acct.blob.core.windows.net/audio-in"
    service.add("call-1.wav.json", storage.put("call-1.wav.json", _result_for(f"{container}/call-1.wav")))
    details = [
        {"source": f"{container}/call-1.wav", "status": "Succeeded"},
        {"source": f"{container}/stereo.wav{SAS}", "status": "Failed", "errorKind": "InvalidData"},
    ]
    service.add("report.json", storage.put("report.json", {"details": details}), "TranscriptionReport")
    outcomes = sorted(await _outcomes(client, JOB), key=lambda pair: pair[0].result_name is None)
    (blob, result), (failed, error) = outcomes
    assert (blob.input, blob.result_name) == ("call-1.wav", "call-1.wav.json")
    assert isinstance(result, TranscriptionResultFile)
    assert failed.input == f"{container}/stereo.wav"  # only the report names it: its URL, without the SAS
    assert isinstance(error, BatchItemError)


# --- fuzzing ---------------------------------------------------------------------------------------

RESULT_SEEDS: list[Any] = [RESULT_SAMPLE, _schema_2024(RESULT_SAMPLE)]
REPORT_SEEDS: list[Any] = [
    REPORT_SAMPLE,
    {
        "successfulTranscriptionsCount": "1",
        "failedTranscriptionsCount": "1",
        "details": [
            {"sourceUrl": "https://a.example/x.wav", "status": "Failed", "errorKind": "K", "errorMessage": "M"},
            {"source": "https://a.example/y.wav", "status": "Succeeded"},
        ],
    },
]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _exercise_result(result: TranscriptionResultFile) -> None:
    assert isinstance(result.text, str)
    assert isinstance(result.duration, timedelta)
    repr(result)
    for phrase in result.recognized_phrases:
        assert isinstance(phrase.offset + phrase.duration, timedelta)
        assert isinstance(phrase.text, str)
        for alternative in phrase.nbest:
            for word in [*alternative.words, *alternative.display_words]:
                assert isinstance(word.offset + word.duration, timedelta)


def _exercise_report(report: TranscriptionReport) -> None:
    assert report.successful_count is None or report.successful_count >= 0
    assert report.failed_count is None or report.failed_count >= 0
    repr(report)
    match_inputs(["https://a.example/x.wav"], [REPORT_FILE], report)
    match_inputs(None, [REPORT_FILE], report, container_url="https://a.example/c")


def _mutate_bytes(raw: bytes, data: st.DataObject) -> bytes:
    mutated = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 6))):
        action = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        at = data.draw(st.integers(0, max(len(mutated) - 1, 0)))
        if action == "flip" and mutated:
            mutated[at] ^= data.draw(st.integers(1, 255))
        elif action == "cut":
            del mutated[at:]
        else:
            mutated[at:at] = data.draw(st.binary(min_size=1, max_size=4))
    return bytes(mutated)


def _decoded_or_decode_error(content: bytes, decode: Any, exercise: Any) -> None:
    caught: ResponseDecodeError | None = None
    decoded: Any = None
    try:
        decoded = decode(_response(content))
    except ResponseDecodeError as err:
        caught = err
    if caught is not None:
        assert caught.body == content
        assert caught.request_id == "rid"
    else:
        exercise(decoded)


@FUZZ
@given(mutated_json(RESULT_SEEDS))
def test_structurally_mutated_result_files_decode_or_raise_a_decode_error(document: Any) -> None:
    _decoded_or_decode_error(json.dumps(document).encode(), decode_result_file, _exercise_result)


@FUZZ
@given(st.sampled_from(RESULT_SEEDS), st.data())
def test_byte_mutated_result_files_decode_or_raise_a_decode_error(seed: Any, data: st.DataObject) -> None:
    raw = _mutate_bytes(json.dumps(seed, ensure_ascii=False).encode(), data)
    _decoded_or_decode_error(raw, decode_result_file, _exercise_result)


@FUZZ
@given(mutated_json(REPORT_SEEDS))
def test_structurally_mutated_reports_decode_or_raise_a_decode_error(document: Any) -> None:
    _decoded_or_decode_error(json.dumps(document).encode(), decode_report_file, _exercise_report)


@FUZZ
@given(st.sampled_from(REPORT_SEEDS), st.data())
def test_byte_mutated_reports_decode_or_raise_a_decode_error(seed: Any, data: st.DataObject) -> None:
    raw = _mutate_bytes(json.dumps(seed, ensure_ascii=False).encode(), data)
    _decoded_or_decode_error(raw, decode_report_file, _exercise_report)


@FUZZ
@given(st.text(max_size=40))
def test_any_text_as_an_iso_duration_reads_or_falls_back(text: str) -> None:
    result = TranscriptionResultFile(combined_recognized_phrases=[], recognized_phrases=[], duration_text=text)
    assert isinstance(result.duration, timedelta)


def test_batch_item_is_constructible_by_keyword() -> None:
    item = BatchItem(input="https://a.example/x.wav?sig=secret")
    assert not item.succeeded
    assert "secret" not in repr(item)
