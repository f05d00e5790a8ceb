"""The aiohttp application: routes, the service middleware, and the admin API."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import socket
import struct
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Protocol

import aiohttp
import anyio.to_thread
import msgspec
from aiohttp import web

from ._auth import Caller, authenticate, credential_kind
from ._body import BodyTap
from ._config import SUPPORTED_API_VERSIONS, EmulatorConfig
from ._definition import check_channel_layout, decode_definition, parse_definition
from ._errors import (
    INVALID_TOKEN_MESSAGE,
    RESOURCE_NOT_FOUND_MESSAGE,
    GatewayError,
    ServiceError,
    emulator_error,
    invalid_argument,
    invalid_request,
)
from ._faults import (
    FAULT_ROUTES,
    ISSUE_TOKEN_ROUTE,
    LOCALES_ROUTE,
    MALFORMED_BODY,
    SHORT_AUDIO_ROUTE,
    TRANSCRIBE_ROUTE,
    Fault,
    FaultPlan,
    decode_fault,
    decode_random_faults,
    encode_applied,
    fault_error,
    retry_headers,
    truncate_json,
)
from ._fetch import FETCH_TIMEOUT, fetch_audio
from ._locales import SUBMIT_LOCALES, TRANSCRIBE_LOCALES
from ._multipart import read_form
from ._recognizer import (
    RecognitionRequest,
    Recognizer,
    RecognizerAudioError,
    RecognizerLimitation,
)
from ._recording import RecordedPart, RecordedRequest, encode_requests, redact_headers, redact_query
from ._scripted import ScriptedRecognizer, decode_transcript, is_sha256_hex
from ._shaping import billing_usage, shape
from ._short_audio import SHORT_AUDIO_PATH, recognize_short_audio
from ._sniff import sniff_file
from ._spool import SpoolSet
from ._tokens import STS_SCOPE, TokenAuthority
from ._whisper import WhisperRecognizer
from ._wire import LocalesBody, encode

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from ._definition import Definition
    from ._recording import AuthKind
    from ._sniff import AudioInfo
    from ._spool import SpooledAudio

    _Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

__all__ = (
    "ADMIN_PREFIX",
    "CLIENT_REQUEST_ID_HEADER",
    "COUNTED_ROUTES",
    "ENTRA_TOKEN_ROUTE",
    "Authenticator",
    "EmulatorState",
    "create_app",
    "emulator_state",
)

ADMIN_PREFIX: Final = "/_emulator/"
TRANSCRIBE_PATH: Final = "/speechtotext/transcriptions:transcribe"
LOCALES_PATH: Final = "/speechtotext/transcriptions/locales"
# The same path serves the regional host and the custom domain; one emulator host plays both.
ISSUE_TOKEN_PATH: Final = "/sts/v1.0/issueToken"
ENTRA_TOKEN_ROUTE: Final = "entra_token"
# Requests are counted per route name on arrival, before authentication.
COUNTED_ROUTES: Final = (ENTRA_TOKEN_ROUTE, ISSUE_TOKEN_ROUTE, LOCALES_ROUTE, SHORT_AUDIO_ROUTE, TRANSCRIBE_ROUTE)
# Entra-style tokens from the admin route live this long unless the request says otherwise.
DEFAULT_ENTRA_LIFETIME: Final = 3600.0
CLIENT_REQUEST_ID_HEADER: Final = "x-ms-client-request-id"
_ADMIN_MAX_BODY: Final = 64 * 1024 * 1024
_STRICT_TRANSPORT_SECURITY: Final = "max-age=31536000; includeSubDomains; preload"
# How long the rest of an upload is read (and dropped) after an early answer; aiohttp's lingering default.
_DRAIN_SECONDS: Final = 10.0
# How long a drop_mid_response fault waits for the first half of the answer to leave the process.
_FLUSH_SECONDS: Final = 5.0

_log = logging.getLogger("speech_async.emulator")


class Authenticator(Protocol):
    """The shape of :func:`authenticate`: who calls ``route``, or a :class:`GatewayError`."""

    def __call__(
        self, headers: Mapping[str, str], *, route: str | None, config: EmulatorConfig, tokens: TokenAuthority
    ) -> Caller: ...


class EmulatorState:
    """Everything one application instance shares between requests."""

    def __init__(self, config: EmulatorConfig, faults: FaultPlan | None = None) -> None:
        self.config = config
        self.faults = FaultPlan() if faults is None else faults
        self.scripted = ScriptedRecognizer()
        recognizer = config.recognizer
        self.recognizer: Recognizer
        if isinstance(recognizer, str):
            scripted = recognizer == "scripted"
            self.recognizer = self.scripted if scripted else WhisperRecognizer()
        else:
            self.recognizer = recognizer
        self.requests: list[RecordedRequest] = []
        self.tokens = TokenAuthority(region=config.region, clock=config.clock)
        # Fixed keys, so reading a copy from another thread never sees the dict change size.
        self.counters: dict[str, int] = dict.fromkeys(COUNTED_ROUTES, 0)
        # Replaceable: the whole authentication policy is this one function.
        self.authenticate: Authenticator = authenticate
        self._session: aiohttp.ClientSession | None = None

    def clear_counters(self) -> None:
        """Set every request counter back to zero."""
        for name in self.counters:
            self.counters[name] = 0

    def http_session(self) -> aiohttp.ClientSession:
        """The client session used to download ``audioUrl`` (created on first use)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=FETCH_TIMEOUT, trust_env=False)
        return self._session

    async def aclose(self) -> None:
        """Release the client session."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()


_STATE: Final = web.AppKey("speech_async_emulator_state", EmulatorState)


def emulator_state(app: web.Application) -> EmulatorState:
    """The state of an application made by :func:`create_app`."""
    return app[_STATE]


@dataclass
class _Exchange:
    request_id: str
    auth: AuthKind
    body: BodyTap
    client_request_id: str | None
    parts: list[RecordedPart] = field(default_factory=list[RecordedPart])
    definition: dict[str, object] | None = None
    fault: Fault | None = None
    caller: Caller | None = None


class _Dropped(Exception):
    """A drop fault closed the connection: nobody is left to answer."""


_EXCHANGE: Final = web.RequestKey("speech_async_emulator_exchange", _Exchange)


def _json_response(
    status: int,
    body: bytes,
    *,
    headers: Mapping[str, str] | None = None,
    close_connection: bool = False,
) -> web.Response:
    response = web.Response(status=status, body=body, content_type="application/json", charset="utf-8", headers=headers)
    # The real service streams its JSON answers (Transfer-Encoding: chunked), errors included.
    response.enable_chunked_encoding()
    if close_connection:
        response.force_close()
    return response


def _service_error_response(error: ServiceError, headers: Mapping[str, str] | None = None) -> web.Response:
    return _json_response(error.status, error.body(), headers=headers, close_connection=error.close_connection)


def _gateway_error_response(error: GatewayError, headers: Mapping[str, str] | None = None) -> web.Response:
    # unverified: the gateway's content type and framing (a fixed Content-Length is assumed).
    return web.Response(status=error.status, body=error.body(), content_type="application/json", headers=headers)


def _record(request: web.Request, exchange: _Exchange, status: int) -> RecordedRequest:
    raw_headers = ((name.decode("latin-1"), value.decode("latin-1")) for name, value in request.raw_headers)
    transfer_encoding = request.headers.get("Transfer-Encoding", "")
    body = exchange.body
    return RecordedRequest(
        method=request.method,
        path=request.path,
        query=redact_query(request.query.items()),
        headers=redact_headers(raw_headers),
        auth=exchange.auth,
        content_type=request.headers.get("Content-Type"),
        chunked="chunked" in transfer_encoding.lower(),
        content_length=request.content_length,
        body_bytes=request.content.total_bytes,
        parts=tuple(exchange.parts),
        definition=exchange.definition,
        status=status,
        request_id=exchange.request_id,
        attempt_body_sha256=body.sha256(),
        body_complete=body.complete,
        client_request_id=exchange.client_request_id,
        fault=None if exchange.fault is None else exchange.fault.kind,
        route=_route_name(request),
        expect_continue=request.headers.get("Expect", "").strip().lower() == "100-continue",
    )


def _update_body(state: EmulatorState, request: web.Request, old: RecordedRequest, body: BodyTap) -> None:
    """Replace ``old`` by a copy with what is known about the body now (after a late drain)."""
    new = dataclasses.replace(
        old,
        body_bytes=request.content.total_bytes,
        attempt_body_sha256=body.sha256(),
        body_complete=body.complete,
    )
    _replace_record(state, old, new)


def _replace_record(state: EmulatorState, old: RecordedRequest, new: RecordedRequest) -> None:
    requests = state.requests
    for index in range(len(requests) - 1, -1, -1):
        if requests[index] is old:
            requests[index] = new
            return


def _route_name(request: web.Request) -> str | None:
    name = request.match_info.route.name
    return name if name in FAULT_ROUTES else None


def _abort(request: web.Request, *, reset: bool) -> None:
    """Close the connection now, discarding unsent data; ``reset`` sends a TCP RST instead of FIN."""
    transport = request.transport
    if transport is None:
        return
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def _flushed(request: web.Request) -> None:
    """Wait until what was written so far has left the process (or the connection is gone)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _FLUSH_SECONDS
    transport = request.transport
    while transport is not None and not transport.is_closing() and transport.get_write_buffer_size():
        if loop.time() > deadline:
            return
        await asyncio.sleep(0.005)


def _expire_token(state: EmulatorState, exchange: _Exchange) -> GatewayError:
    """Revoke the request's token for good; the 401 that an expired token gets."""
    token = None if exchange.caller is None else exchange.caller.token
    if token is not None:
        state.tokens.revoke(token)
    _log.debug("speech_async emulator: bearer token refused (expired early by a fault)")
    return GatewayError(401, INVALID_TOKEN_MESSAGE)


def _fault_status_response(fault: Fault) -> web.Response:
    error = fault_error(fault)
    headers = retry_headers(fault, time.time())
    if isinstance(error, GatewayError):
        return _gateway_error_response(error, headers)
    return _service_error_response(error, headers)


async def _apply_request_fault(
    request: web.Request, state: EmulatorState, exchange: _Exchange, fault: Fault
) -> web.StreamResponse | None:
    """Act on the faults that decide before the handler runs; an answer, or ``None`` to go on."""
    if fault.expire_token:
        raise _expire_token(state, exchange)
    if fault.status is not None:
        if fault.read_body_first:
            await exchange.body.drain()
        return _fault_status_response(fault)
    if fault.drop_after_request_bytes is not None:
        await exchange.body.skip(fault.drop_after_request_bytes)
        _abort(request, reset=True)
        raise _Dropped
    if fault.stall_request:
        exchange.body.stall(fault.stall_request)
    return None


async def _answer(
    request: web.Request, handler: _Handler, state: EmulatorState, exchange: _Exchange
) -> web.StreamResponse:
    try:
        # Authentication comes first: before the api-version, before reading any body, before faults.
        route = _route_name(request)
        exchange.caller = state.authenticate(request.headers, route=route, config=state.config, tokens=state.tokens)
        if route is not None:
            exchange.fault = state.faults.take(
                route,
                request_id=exchange.request_id,
                client_request_id=exchange.client_request_id,
                bearer=exchange.caller.kind == "bearer",
            )
        if exchange.fault is not None:
            answer = await _apply_request_fault(request, state, exchange, exchange.fault)
            if answer is not None:
                return answer
        return await handler(request)
    except ServiceError as exc:
        return _service_error_response(exc)
    except GatewayError as exc:
        return _gateway_error_response(exc)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
        return _gateway_error_response(GatewayError(404, RESOURCE_NOT_FOUND_MESSAGE))
    except web.HTTPException as exc:
        return _service_error_response(ServiceError(exc.status, "InvalidRequest", exc.reason))
    except (asyncio.CancelledError, ConnectionError, _Dropped):
        raise
    except Exception:
        _log.exception("speech_async emulator: unexpected error in %s", request.path)
        return _service_error_response(ServiceError(500, "InternalServerError", "An unexpected error occurred."))


async def _send_then_drain(request: web.Request, response: web.StreamResponse, body: BodyTap) -> None:
    """Send an early answer now, then read and drop the rest of the upload.

    The client sees the answer while it is still uploading, and a client that reads only after
    sending everything can finish sending instead of hitting a reset connection. aiohttp's own
    lingering close would do the draining too, but it does not notice a client that hangs up,
    would then hold the server's shutdown for its whole timeout, and would not hash the rest.
    """
    response.force_close()
    await response.prepare(request)
    await response.write_eof()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(body.drain(), _DRAIN_SECONDS)


def _entity_headers(response: web.StreamResponse, *, content_type: bool) -> dict[str, str]:
    skipped = (
        {"content-length", "transfer-encoding"}
        if content_type
        else {"content-length", "transfer-encoding", "content-type"}
    )
    return {name: value for name, value in response.headers.items() if name.lower() not in skipped}


def _response_body(response: web.StreamResponse) -> bytes:
    body = response.body if isinstance(response, web.Response) else None
    return body if isinstance(body, bytes) else b""


def _garble(response: web.StreamResponse, fault: Fault | None) -> web.StreamResponse:
    """The 200 with an undecodable body that a malformed_json / truncated_json fault sends.

    A JSON answer stays a chunked JSON answer; another one (issueToken's token) keeps its own
    content type and framing.
    """
    if fault is None or not (fault.malformed_json or fault.truncated_json):
        return response
    body = MALFORMED_BODY if fault.malformed_json else truncate_json(_response_body(response))
    if response.content_type == "application/json":
        return _json_response(200, body, headers=_entity_headers(response, content_type=False))
    return web.Response(status=200, body=body, headers=_entity_headers(response, content_type=True))


async def _send_in_halves(request: web.Request, response: web.StreamResponse, fault: Fault) -> web.StreamResponse:
    """Send the headers and half the body, then pause (delay_body) or hang up (drop_mid_response)."""
    body = _response_body(response)
    half = len(body) // 2
    stream = web.StreamResponse(
        status=response.status, reason=response.reason, headers=_entity_headers(response, content_type=True)
    )
    stream.enable_chunked_encoding()
    if response.keep_alive is False:
        stream.force_close()
    try:
        await stream.prepare(request)
        await stream.write(body[:half])
        if fault.drop_mid_response:
            await _flushed(request)
            _abort(request, reset=False)
            return stream
        await asyncio.sleep(fault.delay_body)
        await stream.write(body[half:])
        await stream.write_eof()
    except ConnectionError:
        # The client went away meanwhile; aiohttp notices too and sends nothing more.
        pass
    return stream


def _count(state: EmulatorState, request: web.Request) -> None:
    name = request.match_info.route.name
    if name is not None and name in state.counters:
        state.counters[name] += 1


@web.middleware
async def _service_middleware(request: web.Request, handler: _Handler) -> web.StreamResponse:
    state = request.app[_STATE]
    _count(state, request)
    if request.path.startswith(ADMIN_PREFIX):
        return await handler(request)
    exchange = _Exchange(
        request_id=str(uuid.uuid4()),
        auth=credential_kind(request.headers),
        body=BodyTap(request.content),
        client_request_id=request.headers.get(CLIENT_REQUEST_ID_HEADER),
    )
    request[_EXCHANGE] = exchange
    try:
        response = await _answer(request, handler, state, exchange)
    except _Dropped:
        state.requests.append(_record(request, exchange, 0))
        # Never sent: the connection is already closed, which aiohttp handles quietly.
        return web.Response(status=500)
    except ConnectionError:
        # The client went away mid-request: nobody to answer, nothing worth an error log.
        state.requests.append(_record(request, exchange, 0))
        return web.Response(status=400)
    except BaseException:
        state.requests.append(_record(request, exchange, 0))
        raise
    fault = exchange.fault
    response = _garble(response, fault)
    # A body that has completely arrived but was not read to its end (an early answer) is hashed now.
    exchange.body.settle()
    record = _record(request, exchange, response.status)
    state.requests.append(record)
    if fault is not None and fault.delay_headers:
        await asyncio.sleep(fault.delay_headers)
    if request.transport is None or request.transport.is_closing():
        # The client hung up before the answer could be sent: nothing was answered.
        _replace_record(state, record, dataclasses.replace(record, status=0))
        return response
    if fault is not None and (fault.delay_body or fault.drop_mid_response):
        return await _send_in_halves(request, response, fault)
    if not request.content.is_eof():
        await _send_then_drain(request, response, exchange.body)
        _update_body(state, request, record, exchange.body)
    return response


async def _add_service_headers(request: web.BaseRequest, response: web.StreamResponse) -> None:
    exchange = request.get(_EXCHANGE)
    if not isinstance(exchange, _Exchange) or not isinstance(request, web.Request):
        return
    response.headers["apim-request-id"] = exchange.request_id
    response.headers["Strict-Transport-Security"] = _STRICT_TRANSPORT_SECURITY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["x-ms-region"] = request.app[_STATE].config.region


def _api_version(request: web.Request) -> str:
    version = request.query.get("api-version")
    if version in SUPPORTED_API_VERSIONS:
        return version
    supported = ", ".join(SUPPORTED_API_VERSIONS)
    # unverified: status and codes for a missing or unsupported api-version.
    if version is None:
        message = f"The api-version query parameter is required. Supported versions: {supported}."
    else:
        message = f"The api-version '{version}' is not supported. Supported versions: {supported}."
    raise invalid_request("InvalidParameterValue", message)


def _require_multipart(request: web.Request) -> None:
    if request.content_type != "multipart/form-data":
        sent = request.headers.get("Content-Type", "")
        # unverified: the service's answer to a body that is not multipart/form-data.
        raise ServiceError(
            415,
            "UnsupportedMediaType",
            f"The content type '{sent}' is not supported. Use multipart/form-data.",
        )


def _no_audio() -> ServiceError:
    # unverified: the codes when neither an audio part nor definition.audioUrl is given.
    return invalid_request("EmptyRequest", "No audio was provided: send an audio part or audioUrl.")


def _check_length(duration_ms: int | None, config: EmulatorConfig) -> None:
    if duration_ms is not None and duration_ms > config.max_audio_seconds * 1000:
        raise invalid_argument(
            "AudioLengthLimitExceeded",
            f"The audio is longer than the maximum of {config.max_audio_seconds:g} seconds.",
        )


async def _resolve_audio(
    state: EmulatorState,
    audio: SpooledAudio | None,
    definition: Definition,
    spools: SpoolSet,
) -> SpooledAudio:
    # The audio part wins over audioUrl (documented).
    if audio is None and definition.audio_url is not None:
        audio = await fetch_audio(
            state.http_session(),
            definition.audio_url,
            spools=spools,
            max_bytes=state.config.max_audio_bytes,
        )
    if audio is None:
        raise _no_audio()
    if audio.size == 0:
        raise invalid_argument("EmptyAudioFile", "The audio file is empty.")
    return audio


async def _inspect(audio: SpooledAudio, config: EmulatorConfig) -> AudioInfo:
    info = await anyio.to_thread.run_sync(sniff_file, audio.path)
    if info is None:
        raise invalid_argument(
            "InvalidAudioFormat",
            "The audio format is not supported. Supported formats are WAV, MP3, OPUS/OGG, FLAC, WMA, "
            "AAC, ALAW and MULAW in WAV, AMR, WebM and SPEEX.",
        )
    _check_length(info.duration_ms, config)
    return info


def _recognition_request(audio: SpooledAudio, info: AudioInfo, definition: Definition) -> RecognitionRequest:
    return RecognitionRequest(
        audio_path=audio.path,
        audio_sha256=audio.sha256,
        audio_format=info.format,
        audio_size=audio.size,
        audio_channels=info.channels,
        audio_duration_ms=info.duration_ms,
        locales=definition.locales,
        diarization=definition.diarization,
        max_speakers=definition.max_speakers,
        channels=definition.channels,
        task=definition.task,
        target_language=definition.target_language,
        prompts=definition.prompts,
        phrases=definition.phrases,
        profanity_filter_mode=definition.profanity_filter_mode,
    )


async def _transcribe(request: web.Request) -> web.StreamResponse:
    state = request.app[_STATE]
    config = state.config
    exchange = request[_EXCHANGE]
    api_version = _api_version(request)
    _require_multipart(request)
    spools = SpoolSet()
    try:
        form = await read_form(
            request.headers,
            exchange.body,
            spools=spools,
            max_audio_bytes=config.max_audio_bytes,
            recorded=exchange.parts,
        )
        if form.definition is None:
            # Errata E7: the OpenAPI definition requires only `audio`; a missing definition part
            # behaves as {} (unrecorded). The record keeps `definition` None: none was sent.
            document: dict[str, object] = {}
        else:
            document = decode_definition(form.definition)
            exchange.definition = document
        definition = parse_definition(
            document, api_version=api_version, config=config, has_audio=form.audio is not None
        )
        audio = await _resolve_audio(state, form.audio, definition, spools)
        info = await _inspect(audio, config)
        check_channel_layout(definition, info.channels)
        try:
            recognition = await state.recognizer.recognize(_recognition_request(audio, info, definition))
        except RecognizerLimitation as exc:
            raise emulator_error(exc.code, str(exc)) from None
        except RecognizerAudioError as exc:
            raise invalid_argument("InvalidAudioFormat", f"The audio is not valid: {exc}") from None
        _check_length(recognition.duration_ms, config)
        body = encode(shape(recognition, definition, info.channels))
        headers = {"CSP-Billing-Usage": billing_usage(definition, recognition.duration_ms)}
        return _json_response(200, body, headers=headers)
    finally:
        await spools.aclose()


async def _short_audio(request: web.Request) -> web.StreamResponse:
    """Both path forms of the short-audio API (see :mod:`._short_audio`).

    aiohttp answers ``Expect: 100-continue`` with ``100 Continue`` as soon as it routes the
    request, before the service middleware authenticates it (unverified: whether the service
    checks credentials before it lets the body come).
    """
    state = request.app[_STATE]
    body = await recognize_short_audio(
        mode=request.match_info["mode"],
        query=request.query,
        headers=request.headers,
        content_length=request.content_length,
        body=request[_EXCHANGE].body,
        config=state.config,
        recognizer=state.recognizer,
    )
    # unverified: the content type and framing (chunked, like the service's other JSON answers).
    return _json_response(200, body)


async def _locales(request: web.Request) -> web.StreamResponse:
    _api_version(request)
    body = LocalesBody(transcribe=list(TRANSCRIBE_LOCALES), submit=list(SUBMIT_LOCALES))
    return _json_response(200, encode(body))


async def _issue_token(request: web.Request) -> web.StreamResponse:
    """``POST /sts/v1.0/issueToken``: the key (already checked) exchanged for a token, as plain text.

    The body is expected empty and is not read (whatever comes is drained and hashed after the
    answer). Any ``Content-Type`` is accepted: the docs' samples send
    ``application/x-www-form-urlencoded``, the Python sample none.
    """
    state = request.app[_STATE]
    # An empty scope is taken as no scope (unverified).
    scope = request.query.get("scope") or STS_SCOPE
    token = state.tokens.issue_sts(lifetime=state.config.token_lifetime, scope=scope)
    # unverified: content type (a third-party mock's) and framing (a fixed Content-Length).
    return web.Response(status=200, text=token, content_type="application/jwt", charset="us-ascii")


def _admin_error(status: int, message: str) -> web.Response:
    body = ServiceError(status, "InvalidRequest", f"speech_async emulator admin API: {message}")
    return web.Response(status=status, body=body.body(), content_type="application/json")


async def _admin_put_scripted(request: web.Request) -> web.StreamResponse:
    digest = request.match_info["sha256"]
    if not is_sha256_hex(digest):
        return _admin_error(400, f"'{digest}' is not a hex SHA-256 digest")
    try:
        transcript = decode_transcript(await request.read())
    except (ValueError, TypeError) as exc:
        return _admin_error(400, f"invalid scripted transcript: {exc}")
    request.app[_STATE].scripted.register_digest(digest, transcript)
    return web.Response(status=204)


async def _admin_clear_scripted(request: web.Request) -> web.StreamResponse:
    request.app[_STATE].scripted.clear()
    return web.Response(status=204)


async def _admin_get_requests(request: web.Request) -> web.StreamResponse:
    body = encode_requests(request.app[_STATE].requests)
    return web.Response(body=body, content_type="application/json", charset="utf-8")


async def _admin_clear_requests(request: web.Request) -> web.StreamResponse:
    request.app[_STATE].requests.clear()
    return web.Response(status=204)


async def _admin_add_fault(request: web.Request) -> web.StreamResponse:
    try:
        fault = decode_fault(await request.read())
    except ValueError as exc:
        return _admin_error(400, f"invalid fault: {exc}")
    request.app[_STATE].faults.add(fault)
    return web.Response(status=204)


async def _admin_random_faults(request: web.Request) -> web.StreamResponse:
    try:
        settings = decode_random_faults(await request.read())
        request.app[_STATE].faults.random(
            rate=settings.rate, faults=settings.faults, seed=settings.seed, route=settings.route
        )
    except ValueError as exc:
        return _admin_error(400, f"invalid random faults: {exc}")
    return web.Response(status=204)


async def _admin_clear_faults(request: web.Request) -> web.StreamResponse:
    request.app[_STATE].faults.clear()
    return web.Response(status=204)


async def _admin_get_applied(request: web.Request) -> web.StreamResponse:
    body = encode_applied(request.app[_STATE].faults)
    return web.Response(body=body, content_type="application/json", charset="utf-8")


async def _admin_clear_applied(request: web.Request) -> web.StreamResponse:
    request.app[_STATE].faults.clear_applied()
    return web.Response(status=204)


class _EntraTokenRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    scopes: list[str]
    lifetime: float = DEFAULT_ENTRA_LIFETIME


class _EntraTokenAnswer(msgspec.Struct, kw_only=True):
    access_token: str
    expires_on: int


async def _admin_entra_token(request: web.Request) -> web.StreamResponse:
    try:
        wanted = msgspec.json.decode(await request.read(), type=_EntraTokenRequest)
    except msgspec.DecodeError as exc:
        return _admin_error(400, f"invalid token request: {exc}")
    if not wanted.scopes or not all(scope.strip() for scope in wanted.scopes):
        return _admin_error(400, "invalid token request: scopes must be a non-empty list of non-empty strings")
    if not (math.isfinite(wanted.lifetime) and wanted.lifetime > 0):
        return _admin_error(400, "invalid token request: lifetime must be a positive number of seconds")
    token, expires_on = request.app[_STATE].tokens.issue_entra(scopes=wanted.scopes, lifetime=wanted.lifetime)
    body = encode(_EntraTokenAnswer(access_token=token, expires_on=expires_on))
    return web.Response(body=body, content_type="application/json", charset="utf-8")


async def _admin_get_counters(request: web.Request) -> web.StreamResponse:
    body = msgspec.json.encode(dict(request.app[_STATE].counters))
    return web.Response(body=body, content_type="application/json", charset="utf-8")


async def _admin_clear_counters(request: web.Request) -> web.StreamResponse:
    request.app[_STATE].clear_counters()
    return web.Response(status=204)


async def _on_startup(app: web.Application) -> None:
    recognizer = app[_STATE].recognizer
    if isinstance(recognizer, WhisperRecognizer):
        await recognizer.check_installed()


async def _on_cleanup(app: web.Application) -> None:
    await app[_STATE].aclose()


def create_app(config: EmulatorConfig | None = None, *, faults: FaultPlan | None = None) -> web.Application:
    """A new emulator application, for running under your own ``aiohttp`` runner.

    Routes: ``POST /speechtotext/transcriptions:transcribe`` (route name ``"transcribe"``),
    ``GET /speechtotext/transcriptions/locales`` (``"locales"``), ``POST /sts/v1.0/issueToken``
    (``"issue_token"``), ``POST /speech/recognition/{mode}/cognitiveservices/v1`` and ``POST
    /stt/speech/recognition/{mode}/cognitiveservices/v1`` (short audio, both ``"short_audio"``;
    ``mode`` is ``conversation``, ``interactive`` or ``dictation``), and the admin API under
    ``/_emulator/`` (no key needed): ``PUT /_emulator/scripted/{sha256}``, ``DELETE
    /_emulator/scripted``, ``GET`` and ``DELETE /_emulator/requests``, ``POST /_emulator/faults``
    (a :class:`Fault` as JSON), ``POST /_emulator/faults/random`` (``{"rate", "seed", "route"}``,
    optionally ``"faults"``; default :data:`ALL_FAULT_KINDS`), ``DELETE /_emulator/faults``,
    ``GET`` / ``DELETE /_emulator/faults/applied``, ``POST /_emulator/entra/token``
    (``{"scopes": [...], "lifetime": seconds}`` -> ``{"access_token", "expires_on"}``, route name
    ``"entra_token"``), and ``GET`` / ``DELETE /_emulator/counters`` (requests received per route
    name).

    Pass ``faults`` to keep a handle on the :class:`FaultPlan` the application uses.
    """
    state = EmulatorState(config or EmulatorConfig(), faults)
    app = web.Application(middlewares=[_service_middleware], client_max_size=_ADMIN_MAX_BODY)
    app[_STATE] = state
    app.router.add_post(TRANSCRIBE_PATH, _transcribe, name=TRANSCRIBE_ROUTE)
    app.router.add_get(LOCALES_PATH, _locales, allow_head=False, name=LOCALES_ROUTE)
    app.router.add_post(ISSUE_TOKEN_PATH, _issue_token, name=ISSUE_TOKEN_ROUTE)
    app.router.add_post(SHORT_AUDIO_PATH, _short_audio, name=SHORT_AUDIO_ROUTE)
    app.router.add_put(ADMIN_PREFIX + "scripted/{sha256}", _admin_put_scripted)
    app.router.add_delete(ADMIN_PREFIX + "scripted", _admin_clear_scripted)
    app.router.add_get(ADMIN_PREFIX + "requests", _admin_get_requests, allow_head=False)
    app.router.add_delete(ADMIN_PREFIX + "requests", _admin_clear_requests)
    app.router.add_post(ADMIN_PREFIX + "faults", _admin_add_fault)
    app.router.add_post(ADMIN_PREFIX + "faults/random", _admin_random_faults)
    app.router.add_delete(ADMIN_PREFIX + "faults", _admin_clear_faults)
    app.router.add_get(ADMIN_PREFIX + "faults/applied", _admin_get_applied, allow_head=False)
    app.router.add_delete(ADMIN_PREFIX + "faults/applied", _admin_clear_applied)
    app.router.add_post(ADMIN_PREFIX + "entra/token", _admin_entra_token, name=ENTRA_TOKEN_ROUTE)
    app.router.add_get(ADMIN_PREFIX + "counters", _admin_get_counters, allow_head=False)
    app.router.add_delete(ADMIN_PREFIX + "counters", _admin_clear_counters)
    app.on_startup.append(_on_startup)
    app.on_cleanup.append(_on_cleanup)
    app.on_response_prepare.append(_add_service_headers)
    return app
