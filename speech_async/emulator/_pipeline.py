"""The service middleware: one function per phase of a request.

count -> open the exchange -> authenticate -> take a fault -> apply it (or go on) -> check the
api-version -> the handler -> garble -> record -> delay / drop / drain. Admin requests
(``/_emulator/``) are only counted. Everything a phase needs about a route comes from its
:class:`RouteSpec` (``state.route_specs``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import socket
import struct
import time
import uuid
from typing import TYPE_CHECKING, Final

from aiohttp import web

from ._auth import authenticate, credential_kind
from ._errors import (
    INVALID_TOKEN_MESSAGE,
    RESOURCE_NOT_FOUND_MESSAGE,
    GatewayError,
    ServiceError,
    invalid_request,
    management_refusal,
)
from ._faults import MALFORMED_BODY, Fault, fault_error, retry_headers, truncate_json
from ._media.body import BodyTap
from ._recording import RecordedRequest, redact_headers, redact_query
from ._replies import gateway_error_response, json_response, service_error_response
from ._routes import ADMIN_PREFIX, AuthPolicy, Refusals
from ._state import EXCHANGE, STATE, EmulatorState, Exchange

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from ._routes import RouteSpec

    _Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

__all__ = ("CLIENT_REQUEST_ID_HEADER", "service_middleware")

CLIENT_REQUEST_ID_HEADER: Final = "x-ms-client-request-id"
# How long the rest of an upload is read (and dropped) after an early answer; aiohttp's lingering default.
_DRAIN_SECONDS: Final = 10.0
# How long a drop_mid_response fault waits for the first half of the answer to leave the process.
_FLUSH_SECONDS: Final = 5.0

_log = logging.getLogger("speech_async.emulator")


class _Dropped(Exception):
    """A drop fault closed the connection: nobody is left to answer."""


def _record(request: web.Request, exchange: Exchange, status: int) -> RecordedRequest:
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
        route=None if exchange.spec is None else exchange.spec.name,
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


def _expire_token(state: EmulatorState, exchange: Exchange) -> GatewayError:
    """Revoke the request's token for good; the 401 that an expired token gets."""
    token = None if exchange.caller is None else exchange.caller.token
    if token is not None:
        state.tokens.revoke(token)
    _log.debug("speech_async emulator: bearer token refused (expired early by a fault)")
    return GatewayError(401, INVALID_TOKEN_MESSAGE)


def _fault_status_response(fault: Fault, spec: RouteSpec | None) -> web.Response:
    return _error_response(fault_error(fault), spec, retry_headers(fault, time.time()))


async def _apply_request_fault(
    request: web.Request, state: EmulatorState, exchange: Exchange, fault: Fault
) -> web.StreamResponse | None:
    """Act on the faults that decide before the handler runs; an answer, or ``None`` to go on."""
    if fault.expire_token:
        raise _expire_token(state, exchange)
    if fault.status is not None:
        if fault.read_body_first:
            await exchange.body.drain()
        return _fault_status_response(fault, exchange.spec)
    if fault.drop_after_request_bytes is not None:
        await exchange.body.skip(fault.drop_after_request_bytes)
        _abort(request, reset=True)
        raise _Dropped
    if fault.stall_request:
        exchange.body.stall(fault.stall_request)
    return None


def _authenticate(state: EmulatorState, request: web.Request, exchange: Exchange) -> None:
    spec = exchange.spec
    # A path no route takes is authenticated like fast transcription: a key-less request to it is a 401.
    policy = AuthPolicy.KEY_OR_TOKEN if spec is None else spec.auth
    exchange.caller = authenticate(request.headers, policy=policy, config=state.config, tokens=state.tokens)


def _take_fault(state: EmulatorState, exchange: Exchange) -> None:
    if exchange.spec is not None and exchange.caller is not None:
        exchange.fault = state.faults.take(
            exchange.spec.name,
            request_id=exchange.request_id,
            client_request_id=exchange.client_request_id,
            bearer=exchange.caller.kind == "bearer",
        )


def _check_api_version(request: web.Request, exchange: Exchange) -> None:
    spec = exchange.spec
    if spec is None or not spec.api_versions:
        # unverified: a route versioned by its path ignores a stray api-version query parameter.
        return
    version = request.query.get("api-version")
    if version in spec.api_versions:
        exchange.api_version = version
        return
    supported = ", ".join(spec.api_versions)
    # unverified: status and codes for a missing or unsupported api-version.
    if version is None:
        message = f"The api-version query parameter is required. Supported versions: {supported}."
    else:
        message = f"The api-version '{version}' is not supported. Supported versions: {supported}."
    raise invalid_request("InvalidParameterValue", message)


def _error_response(
    error: ServiceError | GatewayError, spec: RouteSpec | None, headers: dict[str, str] | None = None
) -> web.Response:
    if spec is not None and spec.refusals is Refusals.MANAGEMENT:
        error = management_refusal(error)
    if isinstance(error, GatewayError):
        return gateway_error_response(error, headers)
    return service_error_response(error, headers)


async def _answer(
    request: web.Request, handler: _Handler, state: EmulatorState, exchange: Exchange
) -> web.StreamResponse:
    try:
        # Authentication comes first: before the api-version, before reading any body, before faults.
        _authenticate(state, request, exchange)
        _take_fault(state, exchange)
        if exchange.fault is not None:
            answer = await _apply_request_fault(request, state, exchange, exchange.fault)
            if answer is not None:
                return answer
        _check_api_version(request, exchange)
        return await handler(request)
    except (ServiceError, GatewayError) as exc:
        return _error_response(exc, exchange.spec)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
        return gateway_error_response(GatewayError(404, RESOURCE_NOT_FOUND_MESSAGE))
    except web.HTTPException as exc:
        return service_error_response(ServiceError(exc.status, "InvalidRequest", exc.reason))
    except (asyncio.CancelledError, ConnectionError, _Dropped):
        raise
    except Exception:
        _log.exception("speech_async emulator: unexpected error in %s", request.path)
        return service_error_response(ServiceError(500, "InternalServerError", "An unexpected error occurred."))


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
        return json_response(200, body, headers=_entity_headers(response, content_type=False))
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


def _count(state: EmulatorState, request: web.Request) -> RouteSpec | None:
    """Count the request on arrival (before authentication); its route's spec, if it has one."""
    route = request.match_info.route
    spec = state.route_specs.get(route)
    name = spec.name if spec is not None else state.counted_admin.get(route)
    if name is not None:
        state.counters[name] += 1
    return spec


def _open_exchange(request: web.Request, spec: RouteSpec | None) -> Exchange:
    exchange = Exchange(
        request_id=str(uuid.uuid4()),
        auth=credential_kind(request.headers),
        body=BodyTap(request.content),
        client_request_id=request.headers.get(CLIENT_REQUEST_ID_HEADER),
        spec=spec,
    )
    request[EXCHANGE] = exchange
    return exchange


async def _deliver(
    request: web.Request, response: web.StreamResponse, state: EmulatorState, exchange: Exchange
) -> web.StreamResponse:
    """Garble, record, then delay / drop / drain as the request's fault says."""
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


@web.middleware
async def service_middleware(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """The service side of every request (admin requests are only counted)."""
    state = request.app[STATE]
    spec = _count(state, request)
    if request.path.startswith(ADMIN_PREFIX):
        return await handler(request)
    if spec is None:
        return await _serve(request, handler, state, spec)
    # In flight from arrival until the answer is delivered, also when it fails or is cancelled.
    state.enter_flight(spec.name)
    try:
        return await _serve(request, handler, state, spec)
    finally:
        state.leave_flight(spec.name)


async def _serve(
    request: web.Request, handler: _Handler, state: EmulatorState, spec: RouteSpec | None
) -> web.StreamResponse:
    exchange = _open_exchange(request, spec)
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
    return await _deliver(request, response, state, exchange)
