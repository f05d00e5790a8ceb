"""Fault injection: the emulated service misbehaves on purpose, per route, on demand.

A :class:`FaultPlan` (one per emulator, :attr:`Emulator.faults`) holds queued :class:`Fault` objects
and, optionally, a random mode. A fault targets a route by its name in the route registry
(``docs/emulator-routes.md``), or ``"*"``. Every authenticated request to a service route asks the
plan for a fault; authentication always comes first, so a wrong key is answered 401 whatever is
queued.

The kinds of misbehaviour, one per :class:`Fault`:

* ``status``: an error answer with the body the service or its gateway would send;
* ``delay_headers`` / ``delay_body``: a slow answer (before the headers / in the middle of the body);
* ``stall_request``: the emulator stops reading the upload for a while;
* ``drop_after_request_bytes`` / ``drop_mid_response``: the connection is closed mid-request or
  mid-answer;
* ``malformed_json`` / ``truncated_json``: a 200 whose body does not decode;
* ``expire_token``: the bearer token of the request stops being valid early (revoked for good).

Which body goes with which status is not documented for this API; every choice below is unverified.
"""

from __future__ import annotations

import email.utils
import math
import random as _random
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import msgspec

from ._errors import INVALID_KEY_MESSAGE, GatewayError, ServiceError
from ._routes import ANY_ROUTE, fault_routes
from ._strict import decode_strict

__all__ = (
    "ALL_FAULT_KINDS",
    "ANY_ROUTE",
    "MALFORMED_BODY",
    "AppliedFault",
    "Fault",
    "FaultPlan",
    "RandomFaults",
    "decode_fault",
    "decode_random_faults",
    "encode_applied",
    "fault_error",
    "retry_headers",
    "truncate_json",
)

# issueToken takes only a key, so a fault that expires a bearer token cannot target it.
_KEY_ONLY_ROUTE: Final = "issue_token"

# unverified: what a broken intermediary might put in a 200; deliberately not JSON at all.
MALFORMED_BODY: Final = (
    b"<!DOCTYPE html>\n<html><head><title>speech_async emulator</title></head>"
    b"<body>Injected fault: this 200 answer is not JSON.</body></html>\n"
)


def _check_route(route: str) -> None:
    routes = fault_routes()
    if route != ANY_ROUTE and route not in routes:
        known = ", ".join(repr(name) for name in (*routes, ANY_ROUTE))
        raise ValueError(f"unknown route {route!r}; faults can target {known}")


def _check_seconds(name: str, value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number of seconds >= 0, not {value!r}")


@dataclass(frozen=True, kw_only=True)
class Fault:
    """One misbehaviour, applied to the next ``count`` matching requests.

    Exactly one kind of misbehaviour is set per fault (``status``, ``delay_headers``,
    ``delay_body``, ``stall_request``, ``drop_after_request_bytes``, ``drop_mid_response``,
    ``malformed_json``, ``truncated_json`` or ``expire_token``); anything else raises
    ``ValueError``. A fault is applied after authentication and routing, before the request is
    handled.

    Attributes:
        route: A service route name (``"transcribe"``, ``"locales"``, ``"issue_token"``,
            ``"short_audio"``, ... every name in ``docs/emulator-routes.md``), or ``"*"`` for any
            service route.
        count: How many matching requests the fault applies to (at least 1).
        status: Answer this status (400-599) with the body the service or its gateway would send
            (unverified bodies: 429 and 504 in the gateway's ``{"error": {...}}`` shape, 408 as
            ``{"error": {"code": "Timeout", ...}}``, the rest in the service's ``Error`` shape).
        retry_after: With ``status``: send ``Retry-After`` with this many seconds, rounded up.
        retry_after_ms: With ``status``: send ``retry-after-ms`` with this value.
        retry_after_http_date: With ``status`` and ``retry_after``: send ``Retry-After`` as an
            HTTP date (now + ``retry_after``, rounded up to a whole second) instead.
        read_body_first: With ``status``: read (and record) the whole upload before answering.
            ``False`` answers at once and reads the rest of the upload afterwards.
        delay_headers: Handle the request normally, then wait this many seconds before sending
            the answer's headers.
        delay_body: Handle the request normally, send the headers and the first half of the
            body, wait this many seconds, then send the rest.
        stall_request: Stop reading the upload for this many seconds once 64 KiB of it were
            read (the client's socket buffers fill up and its upload stalls), then go on
            normally.
        drop_after_request_bytes: Close the connection abruptly (TCP reset, no answer) once this
            many body bytes were read, or when the body ends if it is shorter.
        drop_mid_response: Handle the request normally, send the headers and part of the body,
            then close the connection.
        malformed_json: Handle the request normally, then answer 200 with a body that is not
            JSON at all (the ``Content-Type`` still says JSON).
        truncated_json: Handle the request normally, then answer 200 with the first half of the
            real JSON body, in a cleanly ended HTTP message.
        expire_token: The token of the request stops being valid early: it is revoked for good
            (every later use is refused) and this request gets the 401 of an expired token. Only
            requests authenticated with a bearer token use it up; key-authenticated requests pass
            it by, so it is not in :data:`ALL_FAULT_KINDS`. Cannot target ``"issue_token"``,
            which takes only a key.
    """

    route: str = "transcribe"
    count: int = 1
    status: int | None = None
    retry_after: float | None = None
    retry_after_ms: int | None = None
    retry_after_http_date: bool = False
    read_body_first: bool = True
    delay_headers: float = 0.0
    delay_body: float = 0.0
    stall_request: float = 0.0
    drop_after_request_bytes: int | None = None
    drop_mid_response: bool = False
    malformed_json: bool = False
    truncated_json: bool = False
    expire_token: bool = False

    def __post_init__(self) -> None:
        _check_route(self.route)
        if self.count < 1:
            raise ValueError(f"count must be at least 1, not {self.count!r}")
        kinds = self._kinds()
        if len(kinds) != 1:
            found = ", ".join(kinds) if kinds else "none"
            raise ValueError(
                "a Fault needs exactly one misbehaviour (status, delay_headers, delay_body, stall_request, "
                "drop_after_request_bytes, drop_mid_response, malformed_json, truncated_json or "
                f"expire_token); got {found}"
            )
        if self.expire_token and self.route == _KEY_ONLY_ROUTE:
            raise ValueError("expire_token cannot target 'issue_token', which takes only a key")
        for name in ("delay_headers", "delay_body", "stall_request"):
            _check_seconds(name, getattr(self, name))
        self._check_status_options()
        if self.drop_after_request_bytes is not None and self.drop_after_request_bytes < 0:
            raise ValueError(f"drop_after_request_bytes must be >= 0, not {self.drop_after_request_bytes!r}")

    def _check_status_options(self) -> None:
        if self.status is None:
            if self.retry_after is not None or self.retry_after_ms is not None or self.retry_after_http_date:
                raise ValueError("retry_after, retry_after_ms and retry_after_http_date only go with status")
            if not self.read_body_first:
                raise ValueError("read_body_first only goes with status")
            return
        if not 400 <= self.status <= 599:
            raise ValueError(f"status must be an error status (400-599), not {self.status!r}")
        if self.retry_after is not None:
            _check_seconds("retry_after", self.retry_after)
        elif self.retry_after_http_date:
            raise ValueError("retry_after_http_date needs retry_after (the delay the date expresses)")
        if self.retry_after_ms is not None and self.retry_after_ms < 0:
            raise ValueError(f"retry_after_ms must be >= 0, not {self.retry_after_ms!r}")

    def _kinds(self) -> list[str]:
        flags = (
            (self.delay_headers > 0, "delay-headers"),
            (self.delay_body > 0, "delay-body"),
            (self.stall_request > 0, "stall-request"),
            (self.drop_after_request_bytes is not None, "drop-after-request-bytes"),
            (self.drop_mid_response, "drop-mid-response"),
            (self.malformed_json, "malformed-json"),
            (self.truncated_json, "truncated-json"),
            (self.expire_token, "expire-token"),
        )
        kinds = [] if self.status is None else [f"status-{self.status}"]
        return kinds + [name for present, name in flags if present]

    @property
    def kind(self) -> str:
        """A short name for the misbehaviour: ``"status-429"``, ``"drop-mid-response"``, ..."""
        return self._kinds()[0]


# Representative faults of every kind, for random injection (``--fault-rate``). expire_token is left
# out: key-authenticated runs would never use it up.
ALL_FAULT_KINDS: Final[tuple[Fault, ...]] = (
    Fault(status=408),
    Fault(status=429, retry_after=1),
    Fault(status=429, retry_after_ms=250),
    Fault(status=429, retry_after=1, retry_after_http_date=True),
    Fault(status=429),
    Fault(status=500),
    Fault(status=502),
    Fault(status=503, retry_after=1),
    Fault(status=504),
    Fault(delay_headers=0.2),
    Fault(delay_body=0.2),
    Fault(stall_request=0.2),
    Fault(drop_after_request_bytes=4096),
    Fault(drop_mid_response=True),
    Fault(malformed_json=True),
    Fault(truncated_json=True),
)


@dataclass(frozen=True, kw_only=True)
class AppliedFault:
    """A fault the emulator injected into one request.

    Attributes:
        request_id: The ``apim-request-id`` of the request (as in :class:`RecordedRequest`).
        client_request_id: The request's ``x-ms-client-request-id`` header, if any.
        route: The route name the request was for (``"transcribe"``, ``"locales"``, ...).
        kind: :attr:`Fault.kind` of the fault.
        fault: The fault itself.
    """

    request_id: str
    client_request_id: str | None
    route: str
    kind: str
    fault: Fault


@dataclass(frozen=True, kw_only=True)
class RandomFaults:
    """The random mode of a :class:`FaultPlan` (see :meth:`FaultPlan.random`).

    Attributes:
        rate: Probability that a matching request gets a fault.
        faults: The faults drawn from, uniformly.
        seed: The seed of the draws (``None``: seeded from the system).
        route: The route name the mode applies to, or ``"*"``.
    """

    rate: float
    faults: tuple[Fault, ...]
    seed: int | None
    route: str


@dataclass
class _Queued:
    fault: Fault
    remaining: int


def _matches(target: str, route: str) -> bool:
    return target in (ANY_ROUTE, route)


def _applies(fault: Fault, route: str, bearer: bool) -> bool:
    return _matches(fault.route, route) and (bearer or not fault.expire_token)


class FaultPlan:
    """The faults an emulator injects: a queue, plus an optional random mode.

    Queued faults come first: the first one (in the order added) whose route matches and that has
    uses left applies. Only when none does, the random mode (if on) may pick one. Every injected
    fault is remembered in :attr:`applied`. Safe to use from any thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Queued] = []
        self._random: RandomFaults | None = None
        self._rng = _random.Random()
        self._applied: list[AppliedFault] = []

    def add(self, fault: Fault) -> None:
        """Queue ``fault`` for its next ``fault.count`` matching requests."""
        if not isinstance(fault, Fault):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"expected a Fault, not {type(fault).__name__}")
        with self._lock:
            self._queue.append(_Queued(fault, fault.count))

    def clear(self) -> None:
        """Drop every queued fault and turn the random mode off (:attr:`applied` is kept)."""
        with self._lock:
            self._queue.clear()
            self._random = None

    def random(
        self,
        *,
        rate: float,
        faults: Sequence[Fault],
        seed: int | None = None,
        route: str = "transcribe",
    ) -> None:
        """From now on, give each request on ``route`` a random fault with probability ``rate``.

        The fault is drawn uniformly from ``faults``; their ``count`` and ``route`` are ignored.
        For each matching request without a queued fault, in the order requests arrive, the plan
        draws ``rng.random() < rate`` and, on a hit, ``rng.choice(faults)`` from a
        ``random.Random(seed)`` created here: the same seed and the same arrival order give the
        same faults. An ``expire_token`` fault drawn for a key-authenticated request is not
        applied (the request is handled normally). ``rate`` 0 turns the random mode off.
        """
        if not (math.isfinite(rate) and 0.0 <= rate <= 1.0):
            raise ValueError(f"rate must be between 0 and 1, not {rate!r}")
        _check_route(route)
        chosen = tuple(faults)
        if any(not isinstance(fault, Fault) for fault in chosen):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError("faults must be Fault objects")
        with self._lock:
            if rate == 0.0:
                self._random = None
                return
            if not chosen:
                raise ValueError("random faults need at least one Fault to draw from")
            self._random = RandomFaults(rate=rate, faults=chosen, seed=seed, route=route)
            self._rng = _random.Random(seed)

    @property
    def random_mode(self) -> RandomFaults | None:
        """The current random mode, or ``None`` when it is off."""
        return self._random

    @property
    def pending(self) -> tuple[tuple[Fault, int], ...]:
        """The queued faults with their remaining uses, in order."""
        with self._lock:
            return tuple((queued.fault, queued.remaining) for queued in self._queue)

    @property
    def applied(self) -> tuple[AppliedFault, ...]:
        """Every fault injected so far, oldest first."""
        with self._lock:
            return tuple(self._applied)

    def counts(self) -> dict[str, int]:
        """How many faults of each kind were injected so far."""
        with self._lock:
            return dict(sorted(Counter(applied.kind for applied in self._applied).items()))

    def clear_applied(self) -> None:
        """Forget :attr:`applied`."""
        with self._lock:
            self._applied.clear()

    def take(
        self, route: str, *, request_id: str, client_request_id: str | None = None, bearer: bool = False
    ) -> Fault | None:
        """The fault for one request on ``route``, using it up; ``None`` for normal handling.

        The emulator calls this once per authenticated request to a service route. ``bearer``
        says whether the request was authenticated with a bearer token: only then can an
        ``expire_token`` fault apply.
        """
        with self._lock:
            fault = self._take_queued(route, bearer)
            if fault is None:
                fault = self._draw(route, bearer)
            if fault is not None:
                self._applied.append(
                    AppliedFault(
                        request_id=request_id,
                        client_request_id=client_request_id,
                        route=route,
                        kind=fault.kind,
                        fault=fault,
                    )
                )
            return fault

    def _take_queued(self, route: str, bearer: bool) -> Fault | None:
        for index, queued in enumerate(self._queue):
            if _applies(queued.fault, route, bearer):
                queued.remaining -= 1
                if queued.remaining <= 0:
                    del self._queue[index]
                return queued.fault
        return None

    def _draw(self, route: str, bearer: bool) -> Fault | None:
        mode = self._random
        if mode is None or not _matches(mode.route, route):
            return None
        if self._rng.random() >= mode.rate:
            return None
        fault = self._rng.choice(mode.faults)
        return None if fault.expire_token and not bearer else fault


# --- answers of status faults ----------------------------------------------------------------------

# unverified, all of them: the service's bodies for these statuses are not documented or recorded.
# The codes are ErrorCode values from the API definition.
_SERVICE_ERRORS: Final[dict[int, tuple[str, str]]] = {
    400: ("InvalidRequest", "The request is invalid."),
    403: ("Forbidden", "The request is not allowed for this resource."),
    404: ("NotFound", "The requested resource was not found."),
    409: ("Conflict", "The request conflicts with the current state of the resource."),
    413: ("InvalidRequest", "The request body is too large."),
    415: ("UnsupportedMediaType", "The content type is not supported."),
    422: ("UnprocessableEntity", "The request could not be processed."),
    500: ("InternalServerError", "An unexpected error occurred."),
    502: ("InternalCommunicationFailed", "An internal component could not be reached. Please try again later."),
    503: ("ServiceUnavailable", "The service is temporarily unavailable. Please try again later."),
}


def _rate_limit_message(fault: Fault) -> str:
    if fault.retry_after is not None:
        seconds = math.ceil(fault.retry_after)
    elif fault.retry_after_ms is not None:
        seconds = math.ceil(fault.retry_after_ms / 1000)
    else:
        # unverified: the gateway's wording when it gives no delay.
        return "Rate limit is exceeded. Try again later."
    return f"Rate limit is exceeded. Try again in {seconds} seconds."


def fault_error(fault: Fault) -> ServiceError | GatewayError:
    """The error answer of a status fault (``fault.status`` must be set)."""
    status = fault.status
    if status is None:
        raise ValueError("not a status fault")
    if status == 429:
        # The Cognitive Services gateway's rate-limit shape (commonly seen; unverified here).
        return GatewayError(429, _rate_limit_message(fault))
    if status == 401:
        return GatewayError(401, INVALID_KEY_MESSAGE)
    if status == 408:
        # unverified: the one 408 body reported (MAI-Transcribe, third party) wraps this object.
        return GatewayError(408, "The operation was timeout.", code="Timeout")
    if status == 504:
        # unverified: a timeout between the gateway and the service, in the gateway's shape.
        return GatewayError(504, "The gateway did not receive a response from the service in time.")
    code, message = _SERVICE_ERRORS.get(
        status,
        ("InternalServerError", "An unexpected error occurred.")
        if status >= 500
        else ("InvalidRequest", "The request is invalid."),
    )
    return ServiceError(status, code, message)


def retry_headers(fault: Fault, now: float) -> dict[str, str]:
    """The ``Retry-After`` / ``retry-after-ms`` headers of a status fault; ``now`` is epoch seconds."""
    headers: dict[str, str] = {}
    if fault.retry_after is not None:
        if fault.retry_after_http_date:
            headers["Retry-After"] = email.utils.formatdate(math.ceil(now + fault.retry_after), usegmt=True)
        else:
            headers["Retry-After"] = str(math.ceil(fault.retry_after))
    if fault.retry_after_ms is not None:
        headers["retry-after-ms"] = str(fault.retry_after_ms)
    return headers


def truncate_json(body: bytes) -> bytes:
    """The first half of a JSON body (never the whole of it, so it never decodes)."""
    if len(body) < 2:
        return b'{"'
    return body[: len(body) // 2]


# --- JSON forms (command line and admin API) --------------------------------------------------------


def _fault_from_object(value: object) -> Fault:
    return decode_strict(value, Fault, what="a fault")


def decode_fault(data: bytes | str) -> Fault:
    """A :class:`Fault` from a JSON object with its field names; ``ValueError`` if invalid."""
    return decode_strict(data, Fault, what="a fault")


class _RandomRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    rate: float
    seed: int | None = None
    route: str = "transcribe"
    faults: list[object] | None = None


def decode_random_faults(data: bytes | str) -> RandomFaults:
    """``{"rate", "seed", "route", "faults"}`` (``faults`` defaults to :data:`ALL_FAULT_KINDS`)."""
    request = decode_strict(data, _RandomRequest)
    faults = ALL_FAULT_KINDS if request.faults is None else tuple(_fault_from_object(f) for f in request.faults)
    return RandomFaults(rate=request.rate, faults=faults, seed=request.seed, route=request.route)


_ENCODER: Final = msgspec.json.Encoder()


def encode_applied(plan: FaultPlan) -> bytes:
    """``{"counts": {kind: n}, "applied": [AppliedFault, ...]}`` as JSON."""
    return _ENCODER.encode({"counts": plan.counts(), "applied": list(plan.applied)})
