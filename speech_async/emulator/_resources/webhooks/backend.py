"""Web hooks: registrations, the validation challenge, and signed deliveries to ``webUrl`` (addendum §1.3, §3.7).

A new hook (or one PATCHed with a ``webUrl``) is ``NotStarted`` until the challenge: a POST to
``webUrl?validationToken=<token>`` with ``X-MicrosoftSpeechServices-Event: Challenge`` (and, with a
secret, the signature over the token). A 200 whose body is the token makes it ``Succeeded``;
anything else ``Failed``. Only ``Succeeded`` hooks get events: a POST per registered event kind,
``{"self": <entity URL>, "invocationId": <uuid>}`` signed over the raw body, retried with backoff
(:class:`WebHookConfig`) with the same invocation id; when every attempt fails the hook is set ``Failed``.

Every POST runs in a task this backend owns; :meth:`WebHookBackend.aclose` cancels and awaits them
and closes the client session. While a ``Succeeded`` hook wants transcription progress events, one
ticker task moves unfinished jobs along (batch jobs otherwise advance only when read).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp
import msgspec

from ..._lifecycle import FAILED, NOT_STARTED, SUCCEEDED
from .signing import EVENT_HEADER, SIGNATURE_HEADER, sign
from .wire import entity_url, hook_body

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from ..._state import EmulatorState
    from ..batch.backend import Job
    from .request import HookFields

__all__ = ("WebHook", "WebHookBackend", "WebHookDelivery")

_log = logging.getLogger("speech_async.emulator")

# How much of a receiver's answer is read: enough for a validation token.
_MAX_ANSWER: Final = 64 * 1024
# The error of a hook whose challenge failed: the text a user quotes (volcengine.com, addendum §3.7).
# unverified: the code, and what "actual" shows for an answer that is not a 200.
CHALLENGE_FAILED: Final = "ChallengeFailed"
_CHALLENGE_MESSAGE: Final = (
    "Challenge response payload doesn't match validation token. Expected: {token}, actual: {actual}"
)
# unverified: the code and message of a hook disabled after failed deliveries (maintainers only say "Failed").
DELIVERY_FAILED: Final = "DeliveryFailed"
_DELIVERY_MESSAGE: Final = "The web hook was disabled after {attempts} failed deliveries of {kind} to its webUrl."
_PROGRESS_EVENTS: Final = ("transcriptionProcessing", "transcriptionCompletion")


@dataclass(frozen=True, kw_only=True)
class WebHookDelivery:
    """One POST the emulator made to a web hook's ``webUrl`` (``Emulator.webhook_deliveries``).

    Attributes:
        hook_id: The web hook's id.
        kind: The ``X-MicrosoftSpeechServices-Event`` value: ``Challenge``, ``Ping``, ``TranscriptionCompletion`` ...
        url: Where it went (a challenge's carries ``validationToken``).
        invocation_id: The body's ``invocationId`` (the same on every retry); ``None`` for a challenge or a ping.
        attempt: 1 for the first try, 2 for the first retry ...
        status: The receiver's HTTP status; ``None`` when no answer came (refused, reset, timed out).
        signed: Whether ``X-MicrosoftSpeechServices-Signature`` was sent.
    """

    hook_id: str
    kind: str
    url: str
    invocation_id: str | None
    attempt: int
    status: int | None
    signed: bool


@dataclass(kw_only=True)
class WebHook:
    """One registration."""

    id: str
    # The API version it was created with: properties.apiVersion, the shape of its payloads.
    version: str
    # scheme://host of the request that created it, for the URLs in its callbacks.
    origin: str
    display_name: str
    description: str | None
    custom_properties: dict[str, str] | None
    web_url: str
    events: dict[str, bool]
    secret: str | None = field(repr=False)
    created: float
    last_action: float
    status: str = NOT_STARTED
    error: tuple[str, str] | None = None
    # Bumped by every challenge, so that an older challenge's answer cannot change the hook.
    generation: int = 0

    def wants(self, event: str) -> bool:
        """Whether the hook registered ``event`` (a camelCase ``events`` key)."""
        return self.events.get(event, False)


def _pascal_to_key(kind: str) -> str:
    return kind[0].lower() + kind[1:]


def _with_token(url: str, token: str) -> str:
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), ("validationToken", token)]
    return urlunsplit(parts._replace(query=urlencode(query)))


class WebHookBackend:
    """The web hooks of one application instance, oldest first, and their deliveries."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state
        self.hooks: dict[str, WebHook] = {}
        # Every POST to a webUrl, oldest first.
        self.deliveries: list[WebHookDelivery] = []
        # The last transcription of each event kind, for :test.
        self._last: dict[str, tuple[str, Job]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._ticker: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    # --- registrations -----------------------------------------------------------------------------

    def create(self, fields: HookFields, *, version: str, origin: str) -> WebHook:
        """A new hook, ``NotStarted``, with its challenge under way."""
        now = self._state.config.clock()
        hook = WebHook(
            id=str(uuid.uuid4()),
            version=version,
            origin=origin,
            display_name=fields.display_name,
            description=fields.description,
            custom_properties=fields.custom_properties,
            web_url=fields.web_url,
            events=fields.events,
            secret=fields.secret,
            created=now,
            last_action=now,
        )
        self.hooks[hook.id] = hook
        self.challenge(hook)
        return hook

    def touch(self, hook: WebHook) -> None:
        """Record an action on ``hook`` now (lastActionDateTime)."""
        hook.last_action = self._state.config.clock()

    def challenge(self, hook: WebHook) -> None:
        """Back to ``NotStarted`` and validate ``webUrl`` again (create; PATCH with a ``webUrl``)."""
        hook.generation += 1
        hook.status = NOT_STARTED
        hook.error = None
        self.touch(hook)
        self._spawn(self._challenge(hook, hook.generation), f"web hook {hook.id} challenge")

    def delete(self, hook_id: str) -> bool:
        """Forget the hook; ``False`` when it does not exist."""
        return self.hooks.pop(hook_id, None) is not None

    # --- actions -----------------------------------------------------------------------------------

    def ping(self, hook: WebHook) -> None:
        """POST the hook itself (as GET shows it in its version, without the secret), event ``Ping``."""
        body = msgspec.json.encode(hook_body(hook, version=hook.version, origin=hook.origin, with_secret=False))
        self._spawn(self._deliver(hook, "Ping", body, None, disable=False), f"web hook {hook.id} ping")

    def test(self, hook: WebHook) -> bool:
        """Resend the last entity of each registered event kind; ``False`` when there is none."""
        sent = False
        for kind, (entity_id, _) in self._last.items():
            if hook.wants(_pascal_to_key(kind)):
                self._event(hook, kind, entity_id)
                sent = True
        return sent

    def on_transcription(self, kind: str, job: Job) -> None:
        """The batch backend's notification: ``kind`` happened to ``job``."""
        self._last[kind] = (job.id, job)
        for hook in list(self.hooks.values()):
            if hook.status == SUCCEEDED and hook.wants(_pascal_to_key(kind)):
                self._event(hook, kind, job.id)
        if kind == "TranscriptionCreation":
            self._ensure_ticker()

    def _event(self, hook: WebHook, kind: str, entity_id: str) -> None:
        invocation_id = str(uuid.uuid4())
        # unverified: the entity URL in the hook's API version (the version "defines the shape of the payload").
        url = entity_url(hook.origin, hook.version, f"transcriptions/{entity_id}")
        body = msgspec.json.encode({"self": url, "invocationId": invocation_id})
        self._spawn(self._deliver(hook, kind, body, invocation_id, disable=True), f"web hook {hook.id} {kind}")

    # --- tasks ---------------------------------------------------------------------------------------

    def _spawn(self, work: Coroutine[object, object, None], name: str) -> asyncio.Task[None] | None:
        if self._closed:
            work.close()
            return None
        task = asyncio.get_running_loop().create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=self._state.config.webhooks.timeout_seconds)
            self._session = aiohttp.ClientSession(timeout=timeout, trust_env=False)
        return self._session

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, bytes]:
        try:
            async with self._client().post(url, data=body, headers=headers, allow_redirects=False) as response:
                chunks: list[bytes] = []
                size = 0
                # read(n) may stop short of the body's end, so read until EOF or the limit.
                while size < _MAX_ANSWER and (chunk := await response.content.read(_MAX_ANSWER - size)):
                    chunks.append(chunk)
                    size += len(chunk)
                return response.status, b"".join(chunks)
        except (aiohttp.ClientError, OSError, TimeoutError):
            return None, b""

    def _record(self, delivery: WebHookDelivery) -> None:
        self.deliveries.append(delivery)

    async def _challenge(self, hook: WebHook, generation: int) -> None:
        try:
            token = str(uuid.uuid4())
            url = _with_token(hook.web_url, token)
            headers = {EVENT_HEADER: "Challenge"}
            if hook.secret is not None:
                # Signed over the token, not a body (Microsoft's receiver sample, PR #785).
                headers[SIGNATURE_HEADER] = sign(hook.secret, token.encode())
            # unverified: a single attempt, with an empty body.
            status, answer = await self._post(url, b"", headers)
            signed = SIGNATURE_HEADER in headers
            self._record(
                WebHookDelivery(
                    hook_id=hook.id,
                    kind="Challenge",
                    url=url,
                    invocation_id=None,
                    attempt=1,
                    status=status,
                    signed=signed,
                )
            )
            if hook.generation != generation or self.hooks.get(hook.id) is not hook:
                return
            self.touch(hook)
            if status == 200 and answer == token.encode():
                hook.status = SUCCEEDED
                self._ensure_ticker()
                return
            actual = answer[:200].decode("utf-8", "replace")
            hook.status = FAILED
            hook.error = (CHALLENGE_FAILED, _CHALLENGE_MESSAGE.format(token=token, actual=actual))
        except Exception:
            _log.exception("speech_async emulator: the challenge of web hook %s failed unexpectedly", hook.id)

    async def _deliver(
        self, hook: WebHook, kind: str, body: bytes, invocation_id: str | None, *, disable: bool
    ) -> None:
        try:
            config = self._state.config.webhooks
            generation = hook.generation
            headers = {EVENT_HEADER: kind, "Content-Type": "application/json"}
            if hook.secret is not None:
                headers[SIGNATURE_HEADER] = sign(hook.secret, body)
            url = hook.web_url
            attempts = config.retries + 1
            for attempt in range(1, attempts + 1):
                status, _ = await self._post(url, body, headers)
                self._record(
                    WebHookDelivery(
                        hook_id=hook.id,
                        kind=kind,
                        url=url,
                        invocation_id=invocation_id,
                        attempt=attempt,
                        status=status,
                        signed=SIGNATURE_HEADER in headers,
                    )
                )
                if status is not None and 200 <= status < 300:
                    return
                if attempt < attempts:
                    await asyncio.sleep(config.backoff_seconds * 2 ** (attempt - 1))
            if disable and hook.generation == generation and hook.status == SUCCEEDED:
                hook.status = FAILED
                hook.error = (DELIVERY_FAILED, _DELIVERY_MESSAGE.format(attempts=attempts, kind=kind))
                self.touch(hook)
        except Exception:
            _log.exception("speech_async emulator: a delivery of web hook %s failed unexpectedly", hook.id)

    # --- moving jobs along -------------------------------------------------------------------------

    def _wants_progress(self) -> bool:
        return any(
            hook.status == SUCCEEDED and any(hook.wants(event) for event in _PROGRESS_EVENTS)
            for hook in self.hooks.values()
        )

    def _pending(self) -> list[Job]:
        return [job for job in self._state.batch.jobs.values() if not job.completion_notified]

    def _ensure_ticker(self) -> None:
        if self._ticker is None and self._wants_progress() and self._pending():
            self._ticker = self._spawn(self._tick(), "web hooks ticker")

    async def _tick(self) -> None:
        try:
            batch = self._state.batch
            while self._wants_progress() and (pending := self._pending()):
                for job in pending:
                    if job.id not in batch.jobs:
                        continue
                    try:
                        # settle() starts processing once the clock says Running and announces the events.
                        await batch.settle(job)
                    except asyncio.CancelledError:
                        # A job deleted while it was awaited cancels its own task; only aclose() cancels this one.
                        if self._closed:
                            raise
                await asyncio.sleep(self._state.config.webhooks.tick_seconds)
        except Exception:
            _log.exception("speech_async emulator: moving batch jobs along for web hooks failed")
        finally:
            self._ticker = None

    async def aclose(self) -> None:
        """Cancel and await every delivery, then close the client session."""
        self._closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        session, self._session = self._session, None
        if session is not None:
            await session.close()
