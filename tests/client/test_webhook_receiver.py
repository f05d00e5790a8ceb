"""The web-hook receiver (``speech_async.webhooks``), mounted in an aiohttp app on loopback and called by a
raw aiohttp session the way the service calls a hook's ``webUrl``: challenge, signatures, every event kind,
redeliveries, slow and failing handlers, body limits and closing.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import io
import json
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from speech_async import InvalidOptionsError
from speech_async.webhooks import WebHookEvent, WebHookEventKind, WebHookReceiver, sign

from ..support.http import Reply, chunks_of, serve_on_loopback

# One of conftest's KNOWN_SECRETS: the log gate fails any test in which it reaches a log record.
SECRET = "s3cr3t-key-never-shown"
PATH = "/speech-events"
EVENT = "X-MicrosoftSpeechServices-Event"
SIGNATURE = "X-MicrosoftSpeechServices-Signature"
TRANSCRIPTION_URL = "https://westus.api.cognitive.microsoft.com/speechtotext/transcriptions/9f3c?api-version=2025-10-15"
HOOK_URL = (
    "https://westus.api.cognitive.microsoft.com/speechtotext/webhooks/2e856efe-ef53-465a-a632-6a084c1d349d"
    "?api-version=2025-10-15"
)
# A ping's body is the hook, as GET /webhooks/{id} shows it (shared/spec/examples/webhook-get-2025-10-15.json).
PING_BODY = {
    "self": HOOK_URL,
    "displayName": "TranscriptionCompletionWebHook",
    "properties": {"apiVersion": "2025-10-15"},
    "webUrl": "https://contoso.com/call/me/back",
    "events": {"transcriptionCompletion": True},
    "createdDateTime": "2018-11-11T00:00:00Z",
    "lastActionDateTime": "2018-11-28T00:00:00Z",
    "status": "Succeeded",
    "links": {"ping": HOOK_URL, "test": HOOK_URL},
}
ENTITY_KINDS = [
    f"{entity}{stage}"
    for entity in ("Dataset", "Model", "Evaluation", "Transcription", "Endpoint")
    for stage in ("Creation", "Processing", "Completion", "Deletion")
]


class Recorder:
    """A handler that keeps what it was given."""

    def __init__(self) -> None:
        self.events: list[WebHookEvent] = []

    async def __call__(self, event: WebHookEvent) -> None:
        self.events.append(event)


def notification(invocation_id: str = "inv-1", self_url: str = TRANSCRIPTION_URL) -> bytes:
    return json.dumps({"self": self_url, "invocationId": invocation_id}).encode()


@contextlib.asynccontextmanager
async def serving(receiver: WebHookReceiver) -> AsyncIterator[str]:
    """The receiver at PATH of an app on loopback; yields the hook's URL. The server stops before the receiver
    closes, as in an app's shutdown."""
    app = web.Application()
    app.router.add_post(PATH, receiver)
    async with receiver, serve_on_loopback(app) as base:
        yield base + PATH


async def post(
    session: aiohttp.ClientSession,
    url: str,
    kind: str | None,
    body: Any = b"",
    *,
    signature: str | None = None,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Reply:
    sent = dict(headers or {})
    if kind is not None:
        sent[EVENT] = kind
    if signature is not None:
        sent[SIGNATURE] = signature
    async with session.post(url, data=body, headers=sent, params=params) as response:
        return Reply(response.status, dict(response.headers), await response.read())


def expected_signature(secret: str, payload: bytes) -> str:
    # Written out again here rather than calling sign(): the test checks sign() too.
    return base64.b64encode(hmac.new(secret.encode(), payload, hashlib.sha256).digest()).decode()


# --- the challenge ---------------------------------------------------------------------------------


async def test_a_challenge_without_a_secret_answers_the_token(session: aiohttp.ClientSession) -> None:
    recorder = Recorder()
    async with serving(WebHookReceiver(None, recorder)) as url:
        reply = await post(session, url, "Challenge", params={"validationToken": "08d9c888-token"})
    assert reply.status == 200
    assert reply.body == b"08d9c888-token"
    assert reply.headers["Content-Type"].startswith("text/plain")
    assert recorder.events == []


async def test_a_signed_challenge_is_verified_over_the_token(session: aiohttp.ClientSession) -> None:
    recorder = Recorder()
    token = "tok/+=&é 1"
    async with serving(WebHookReceiver(SECRET, recorder)) as url:
        params = {"validationToken": token}
        good = await post(
            session, url, "Challenge", b"{}", signature=expected_signature(SECRET, token.encode()), params=params
        )
        # A signature of the body is the wrong payload for a challenge.
        over_body = await post(
            session, url, "Challenge", b"{}", signature=expected_signature(SECRET, b"{}"), params=params
        )
        missing = await post(session, url, "Challenge", params=params)
        other_key = await post(
            session, url, "Challenge", signature=expected_signature("other", token.encode()), params=params
        )
        no_token = await post(session, url, "Challenge", signature=expected_signature(SECRET, b""))
    assert (good.status, good.body) == (200, token.encode())
    assert [over_body.status, missing.status, other_key.status] == [401, 401, 401]
    assert token.encode() not in over_body.body + missing.body + other_key.body
    assert no_token.status == 400
    assert recorder.events == []


# --- signatures of events ---------------------------------------------------------------------------


async def test_a_signed_event_is_verified_over_the_raw_body(
    session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder()
    receiver = WebHookReceiver(SECRET, recorder)
    # Not the canonical JSON of its content: the signature covers these exact bytes.
    body = b'{ "invocationId": "inv-7",  "self": "' + TRANSCRIPTION_URL.encode() + b'", "extra": [1, 2] }'
    good_signature = expected_signature(SECRET, body)
    async with serving(receiver) as url:
        good = await post(session, url, "TranscriptionCompletion", body, signature=good_signature)
        reencoded = json.dumps(json.loads(body)).encode()
        wrong = await post(session, url, "TranscriptionCompletion", reencoded, signature=good_signature)
        missing = await post(session, url, "TranscriptionCompletion", body)
        garbage = await post(session, url, "TranscriptionCompletion", body, signature="bm90IGl0")
        other_key = await post(session, url, "TranscriptionCompletion", body, signature=expected_signature("x", body))
        await receiver.aclose(grace=5)
    assert good.status == 200
    assert [wrong.status, missing.status, garbage.status, other_key.status] == [401, 401, 401, 401]
    assert recorder.events == [
        WebHookEvent(
            kind=WebHookEventKind.TRANSCRIPTION_COMPLETION,
            self_url=TRANSCRIPTION_URL,
            invocation_id="inv-7",
            body=body,
        )
    ]
    assert recorder.events[0].json()["extra"] == [1, 2]
    refusals = [r for r in caplog.records if r.name == "speech_async.webhooks" and r.levelno == logging.WARNING]
    assert len(refusals) == 4
    assert all(good_signature not in r.getMessage() and "bm90IGl0" not in r.getMessage() for r in refusals)


async def test_without_a_secret_no_signature_is_needed_or_checked(session: aiohttp.ClientSession) -> None:
    recorder = Recorder()
    receiver = WebHookReceiver(None, recorder)
    async with serving(receiver) as url:
        unsigned = await post(session, url, "TranscriptionCompletion", notification("a"))
        signed_anyhow = await post(session, url, "TranscriptionCompletion", notification("b"), signature="junk")
        await receiver.aclose(grace=5)
    assert [unsigned.status, signed_anyhow.status] == [200, 200]
    assert [event.invocation_id for event in recorder.events] == ["a", "b"]


def test_sign_is_base64_of_hmac_sha256() -> None:
    # RFC 4231, test case 2.
    rfc_4231 = base64.b64encode(
        bytes.fromhex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    ).decode()
    assert sign("Jefe", b"what do ya want for nothing?") == rfc_4231
    assert sign("Jefe", "what do ya want for nothing?") == rfc_4231
    assert sign("ké", "é") == expected_signature("ké", "é".encode())
    with pytest.raises(InvalidOptionsError):
        sign("", b"x")
    with pytest.raises(TypeError):
        sign("k", 1)  # type: ignore[arg-type]


async def test_sign_signs_what_the_receiver_accepts(session: aiohttp.ClientSession) -> None:
    recorder = Recorder()
    receiver = WebHookReceiver(SECRET, recorder)
    async with serving(receiver) as url:
        challenge = await post(
            session, url, "Challenge", signature=sign(SECRET, "t0k"), params={"validationToken": "t0k"}
        )
        event = await post(
            session, url, "Ping", json.dumps(PING_BODY).encode(), signature=sign(SECRET, json.dumps(PING_BODY).encode())
        )
        await receiver.aclose(grace=5)
    assert [challenge.status, event.status] == [200, 200]
    assert len(recorder.events) == 1


# --- event kinds and bodies ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ENTITY_KINDS)
async def test_each_entity_event_kind_is_delivered(session: aiohttp.ClientSession, kind: str) -> None:
    recorder = Recorder()
    receiver = WebHookReceiver(SECRET, recorder)
    body = notification(f"inv-{kind}")
    async with serving(receiver) as url:
        reply = await post(session, url, kind, body, signature=sign(SECRET, body))
        await receiver.aclose(grace=5)
    assert reply.status == 200
    assert [(event.kind, event.kind.value, event.self_url) for event in recorder.events] == [
        (WebHookEventKind(kind), kind, TRANSCRIPTION_URL)
    ]


async def test_a_ping_delivers_the_hook(session: aiohttp.ClientSession) -> None:
    recorder = Recorder()
    receiver = WebHookReceiver(None, recorder)
    async with serving(receiver) as url:
        reply = await post(session, url, "Ping", json.dumps(PING_BODY).encode())
        # A second ping has no invocationId to be told apart by: it is delivered too.
        again = await post(session, url, "Ping", json.dumps(PING_BODY).encode())
        await receiver.aclose(grace=5)
    assert [reply.status, again.status] == [200, 200]
    assert [(e.kind, e.self_url, e.invocation_id) for e in recorder.events] == [
        (WebHookEventKind.PING, HOOK_URL, None),
        (WebHookEventKind.PING, HOOK_URL, None),
    ]
    assert recorder.events[0].json()["status"] == "Succeeded"


@pytest.mark.parametrize(
    "kind",
    [
        None,
        "",
        "TranscriptionFinished",
        "transcriptionCompletion",  # the casing of the hook's `events` keys, not of the header
        "TRANSCRIPTIONCOMPLETION",
        "challenge",
        "ping",
        " TranscriptionCompletion x",
    ],
)
async def test_a_missing_or_unknown_kind_is_refused(session: aiohttp.ClientSession, kind: str | None) -> None:
    recorder = Recorder()
    receiver = WebHookReceiver(None, recorder)
    async with serving(receiver) as url:
        reply = await post(session, url, kind, notification(), params={"validationToken": "t"})
        await receiver.aclose(grace=5)
    assert reply.status == 400
    assert reply.body != b"t"  # a challenge token is never echoed for a refused kind
    assert recorder.events == []


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[1, 2]",
        b'"a string"',
        b'{"self": 12, "invocationId": "i"}',
        b'{"self": "https://x/transcriptions/1", "invocationId": 5}',
        b'{"invocationId": "no-self"}',
        b'{"self": "https://x/transcriptions/1", "invocationId": "i"',
    ],
)
async def test_an_event_body_of_the_wrong_shape_is_refused(session: aiohttp.ClientSession, body: bytes) -> None:
    recorder = Recorder()
    receiver = WebHookReceiver(SECRET, recorder)
    async with serving(receiver) as url:
        reply = await post(session, url, "TranscriptionCompletion", body, signature=sign(SECRET, body))
        await receiver.aclose(grace=5)
    assert reply.status == 400
    assert recorder.events == []


async def test_an_event_without_an_invocation_id_is_delivered(session: aiohttp.ClientSession) -> None:
    recorder = Recorder()
    receiver = WebHookReceiver(None, recorder)
    body = json.dumps({"self": TRANSCRIPTION_URL}).encode()
    async with serving(receiver) as url:
        reply = await post(session, url, "TranscriptionCreation", body)
        await receiver.aclose(grace=5)
    assert reply.status == 200
    assert [(e.self_url, e.invocation_id) for e in recorder.events] == [(TRANSCRIPTION_URL, None)]


async def test_only_post_is_served(session: aiohttp.ClientSession) -> None:
    recorder = Recorder()
    receiver = WebHookReceiver(None, recorder)
    app = web.Application()
    app.router.add_route("*", PATH, receiver)
    async with receiver, serve_on_loopback(app) as base:
        async with session.get(base + PATH, params={"validationToken": "t"}, headers={EVENT: "Challenge"}) as got:
            status, allow, body = got.status, got.headers.get("Allow"), await got.read()
        async with session.put(base + PATH, data=notification(), headers={EVENT: "Ping"}) as put:
            put_status = put.status
    assert (status, allow, put_status) == (405, "POST", 405)
    assert body != b"t"
    assert recorder.events == []


# --- redeliveries ------------------------------------------------------------------------------------


async def test_a_redelivered_invocation_reaches_the_handler_once(session: aiohttp.ClientSession) -> None:
    recorder = Recorder()
    receiver = WebHookReceiver(SECRET, recorder)
    first, other = notification("inv-1"), notification("inv-2")
    async with serving(receiver) as url:
        replies = [
            await post(session, url, "TranscriptionCompletion", first, signature=sign(SECRET, first)),
            await post(session, url, "TranscriptionCompletion", first, signature=sign(SECRET, first)),
            await post(session, url, "TranscriptionCompletion", other, signature=sign(SECRET, other)),
            await post(session, url, "TranscriptionCompletion", first, signature=sign(SECRET, first)),
        ]
        await receiver.aclose(grace=5)
    assert [reply.status for reply in replies] == [200, 200, 200, 200]
    assert [event.invocation_id for event in recorder.events] == ["inv-1", "inv-2"]


async def test_a_forged_redelivery_does_not_mark_the_id_as_seen(session: aiohttp.ClientSession) -> None:
    recorder = Recorder()
    receiver = WebHookReceiver(SECRET, recorder)
    body = notification("inv-1")
    async with serving(receiver) as url:
        forged = await post(session, url, "TranscriptionCompletion", body, signature=sign("guess", body))
        real = await post(session, url, "TranscriptionCompletion", body, signature=sign(SECRET, body))
        await receiver.aclose(grace=5)
    assert [forged.status, real.status] == [401, 200]
    assert [event.invocation_id for event in recorder.events] == ["inv-1"]


async def test_the_dedup_window_is_bounded(session: aiohttp.ClientSession) -> None:
    recorder = Recorder()
    receiver = WebHookReceiver(None, recorder, dedup_size=2)
    async with serving(receiver) as url:
        for invocation in ["a", "b", "a", "c", "b", "a"]:
            assert (await post(session, url, "ModelCompletion", notification(invocation))).status == 200
        await receiver.aclose(grace=5)
    # a, b remembered; "a" again is dropped (and refreshed); c pushes out b; b is new again, pushing out a.
    assert [event.invocation_id for event in recorder.events] == ["a", "b", "c", "b", "a"]


# --- handlers: slow, failing, stuck --------------------------------------------------------------------


async def test_the_answer_does_not_wait_for_a_slow_handler(session: aiohttp.ClientSession) -> None:
    release = asyncio.Event()
    started = asyncio.Event()
    finished: list[str] = []

    async def slow(event: WebHookEvent) -> None:
        started.set()
        await release.wait()
        finished.append(event.invocation_id or "")

    receiver = WebHookReceiver(None, slow)
    async with serving(receiver) as url:
        reply = await asyncio.wait_for(post(session, url, "TranscriptionCompletion", notification()), 5)
        await asyncio.wait_for(started.wait(), 5)
        # Answered while the handler is still waiting.
        assert (reply.status, finished, receiver.running) == (200, [], 1)
        release.set()
        await receiver.aclose(grace=5)
    assert finished == ["inv-1"]
    assert receiver.running == 0


async def test_a_failing_handler_is_logged_and_the_answer_stays_200(
    session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    async def failing(event: WebHookEvent) -> None:
        raise RuntimeError(f"boom on {event.invocation_id}")

    receiver = WebHookReceiver(SECRET, failing)
    body = notification("inv-9")
    signature = sign(SECRET, body)
    async with serving(receiver) as url:
        reply = await post(session, url, "TranscriptionCompletion", body, signature=signature)
        second = await post(
            session,
            url,
            "TranscriptionCompletion",
            notification("inv-10"),
            signature=sign(SECRET, notification("inv-10")),
        )
        await receiver.aclose(grace=5)
    assert [reply.status, second.status] == [200, 200]
    failures = [r for r in caplog.records if r.name == "speech_async.webhooks" and r.levelno == logging.ERROR]
    assert len(failures) == 2
    assert "inv-9" in failures[0].getMessage()
    assert failures[0].exc_info is not None
    assert isinstance(failures[0].exc_info[1], RuntimeError)
    assert signature not in caplog.text


async def test_aclose_cancels_a_stuck_handler(session: aiohttp.ClientSession) -> None:
    started = asyncio.Event()
    cancelled: list[str] = []

    async def stuck(event: WebHookEvent) -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(event.invocation_id or "")
            raise

    receiver = WebHookReceiver(None, stuck)
    app = web.Application()
    app.router.add_post(PATH, receiver)
    async with serve_on_loopback(app) as base:
        reply = await post(session, base + PATH, "EndpointCreation", notification())
        await asyncio.wait_for(started.wait(), 5)
        assert receiver.running == 1
        await asyncio.wait_for(receiver.aclose(), 5)
        assert (cancelled, receiver.running, receiver.closed) == (["inv-1"], 0, True)
        # Once closed, the service is told to come back later, and nothing more runs.
        after = await post(session, base + PATH, "EndpointCreation", notification("inv-2"))
        await receiver.aclose()  # a second close is a no-op
    assert (reply.status, after.status) == (200, 503)
    assert cancelled == ["inv-1"]
    with pytest.raises(RuntimeError, match="closed"):
        async with receiver:
            pass


async def test_a_callback_still_being_read_when_closing_starts_runs_no_handler(
    session: aiohttp.ClientSession,
) -> None:
    recorder = Recorder()
    receiver = WebHookReceiver(None, recorder)
    arrived, resume = asyncio.Event(), asyncio.Event()
    body = notification()

    @web.middleware
    async def note_arrival(request: web.Request, handler: Any) -> web.StreamResponse:
        arrived.set()  # the receiver runs on from here to its body read without yielding
        return await handler(request)

    async def half_now_half_later() -> AsyncIterator[bytes]:
        yield body[:10]
        await resume.wait()
        yield body[10:]

    app = web.Application(middlewares=[note_arrival])
    app.router.add_post(PATH, receiver)
    async with serve_on_loopback(app) as base:
        pending = asyncio.create_task(post(session, base + PATH, "TranscriptionCompletion", half_now_half_later()))
        await asyncio.wait_for(arrived.wait(), 5)
        await receiver.aclose()
        resume.set()
        reply = await asyncio.wait_for(pending, 5)
    assert reply.status == 503
    assert (recorder.events, receiver.running) == ([], 0)


async def test_aclose_with_grace_lets_handlers_finish(session: aiohttp.ClientSession) -> None:
    done: list[str] = []

    async def brief(event: WebHookEvent) -> None:
        await asyncio.sleep(0.05)
        done.append(event.invocation_id or "")

    receiver = WebHookReceiver(None, brief)
    async with serving(receiver) as url:
        await post(session, url, "DatasetCompletion", notification("x"))
        await post(session, url, "DatasetCompletion", notification("y"))
        await receiver.aclose(grace=5)
        assert sorted(done) == ["x", "y"]


async def test_async_with_closes_the_receiver(session: aiohttp.ClientSession) -> None:
    async def stuck(event: WebHookEvent) -> None:
        await asyncio.Event().wait()

    receiver = WebHookReceiver(None, stuck)
    async with serving(receiver) as url:
        assert (await post(session, url, "EvaluationProcessing", notification())).status == 200
    assert (receiver.closed, receiver.running) == (True, 0)


# --- body limits ---------------------------------------------------------------------------------------


def padded(size: int) -> bytes:
    """A valid notification of exactly ``size`` bytes."""
    head = notification("big")[:-1] + b', "pad": "'
    return head + b"x" * (size - len(head) - 2) + b'"}'


async def test_an_oversized_body_is_refused(session: aiohttp.ClientSession) -> None:
    recorder = Recorder()
    receiver = WebHookReceiver(None, recorder, max_body_size=4096)
    at_limit, over = padded(4096), padded(4097)
    assert (len(at_limit), len(over)) == (4096, 4097)
    async with serving(receiver) as url:
        declared = await post(session, url, "TranscriptionCompletion", over)
        chunked = await post(session, url, "TranscriptionCompletion", chunks_of(over, 1000))
        fits = await post(session, url, "TranscriptionCompletion", chunks_of(at_limit, 1000))
        await receiver.aclose(grace=5)
    assert [declared.status, chunked.status, fits.status] == [413, 413, 200]
    assert [len(event.body) for event in recorder.events] == [4096]


async def test_the_default_limit_is_one_mebibyte(session: aiohttp.ClientSession) -> None:
    recorder = Recorder()
    receiver = WebHookReceiver(None, recorder)
    async with serving(receiver) as url:
        # BytesIO, not bytes: aiohttp warns about sending a large bytes body in one go.
        over = await post(session, url, "TranscriptionCompletion", io.BytesIO(padded(1024 * 1024 + 1)))
        fits = await post(session, url, "TranscriptionCompletion", io.BytesIO(padded(1024 * 1024)))
        await receiver.aclose(grace=5)
    assert [over.status, fits.status] == [413, 200]
    assert len(recorder.events) == 1


# --- settings --------------------------------------------------------------------------------------------


async def _noop(event: WebHookEvent) -> None:
    pass


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"secret": ""}, InvalidOptionsError),
        ({"secret": b"bytes"}, TypeError),
        ({"handler": "not callable"}, TypeError),
        ({"max_body_size": 0}, InvalidOptionsError),
        ({"max_body_size": 1.5}, TypeError),
        ({"dedup_size": 0}, InvalidOptionsError),
        ({"dedup_size": True}, TypeError),
    ],
)
def test_bad_settings_are_refused(arguments: dict[str, Any], error: type[Exception]) -> None:
    settings: dict[str, Any] = {"secret": SECRET, "handler": _noop, **arguments}
    with pytest.raises(error) as raised:
        WebHookReceiver(**settings)
    assert SECRET not in str(raised.value)


@pytest.mark.parametrize(
    ("grace", "error"), [(-1, InvalidOptionsError), (float("inf"), InvalidOptionsError), ("1", TypeError)]
)
async def test_bad_grace_is_refused(grace: Any, error: type[Exception]) -> None:
    receiver = WebHookReceiver(None, _noop)
    with pytest.raises(error):
        await receiver.aclose(grace=grace)
    assert not receiver.closed


def test_the_repr_hides_the_secret() -> None:
    receiver = WebHookReceiver(SECRET, _noop)
    assert SECRET not in repr(receiver)
    assert repr(receiver).startswith("<WebHookReceiver signed ")
    assert repr(WebHookReceiver(None, _noop)).startswith("<WebHookReceiver unsigned ")
    event = WebHookEvent(kind=WebHookEventKind.PING, self_url=HOOK_URL, invocation_id=None, body=b"x" * 10_000)
    assert "xxxx" not in repr(event)
    assert str(WebHookEventKind.TRANSCRIPTION_COMPLETION) == "TranscriptionCompletion"
