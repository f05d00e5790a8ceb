"""Retry arithmetic: Retry-After parsing, backoff bounds, and which failures are retried."""

from __future__ import annotations

import email.utils

import pytest

from speech_async import (
    AudioSourceError,
    BadRequestError,
    InvalidAudioError,
    RateLimitError,
    ResponseDecodeError,
    RetryPolicy,
    ServiceError,
    SpeechConnectionError,
    SpeechError,
    SpeechStatusError,
    SpeechTimeoutError,
)
from speech_async._headers import parse_retry_after
from speech_async._retry import Cooldown, backoff, retry_delay

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"retry-after": "2.5"}, 2.5),
        ({"retry-after-ms": "250"}, 0.25),
        ({"x-ms-retry-after-ms": "1500"}, 1.5),
        ({"retry-after-ms": "100", "Retry-After": "9"}, 0.1),
        ({"Retry-After": email.utils.formatdate(NOW + 30, usegmt=True)}, 30.0),
        ({"Retry-After": email.utils.formatdate(NOW - 30, usegmt=True)}, None),
        ({"Retry-After": "-4"}, None),
        ({"retry-after-ms": "-5000", "Retry-After": "3"}, 3.0),
        ({"Retry-After": "50000"}, 120.0),
        ({"Retry-After": "100000"}, None),
        ({"Retry-After": "inf"}, None),
        ({"Retry-After": "1e400"}, None),
        ({"Retry-After": "soon"}, None),
        ({"retry-after-ms": "nan"}, None),
        ({"Retry-After": "NaN"}, None),
        ({}, None),
    ],
    ids=[
        "seconds",
        "fractional-seconds",
        "ms",
        "x-ms-ms",
        "ms-wins",
        "http-date",
        "past-date",
        "negative",
        "negative-ms-falls-through",
        "capped",
        "absurd",
        "infinite",
        "overflow",
        "garbage",
        "nan-ms",
        "nan",
        "absent",
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers, now=NOW) == expected


def test_parse_retry_after_without_cap() -> None:
    assert parse_retry_after({"Retry-After": "50000"}, cap=None) == 50000.0


@pytest.mark.parametrize("value", ["-5", "nan", "inf", "-inf", "999999999", "soon", ""])
def test_a_broken_retry_after_falls_back_to_the_backoff(value: str) -> None:
    """A broken Retry-After never makes a zero-delay burst: the policy's own backoff applies."""
    policy = RetryPolicy(backoff_base=0.5, backoff_max=10.0)
    error = _status(ServiceError, 503, {"Retry-After": value})
    assert retry_delay(error, 1, policy, idempotent=True, rng=lambda: 1.0) == 0.5
    assert retry_delay(error, 3, policy, idempotent=True, rng=lambda: 1.0) == 2.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 2.5},
        {"max_attempts": True},
        {"max_attempts": "3"},
        {"max_attempts": 0},
        {"backoff_base": float("nan")},
        {"backoff_max": float("inf")},
        {"max_retry_after": -1.0},
        {"budget": float("nan")},
        {"budget": float("inf")},
        {"budget": 0},
        {"statuses": {503}},
    ],
    ids=repr,
)
def test_retry_policy_refuses_nonsense(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="RetryPolicy"):
        RetryPolicy(**kwargs)  # pyright: ignore[reportArgumentType]


def test_the_default_policy_allows_ten_attempts_within_its_budget() -> None:
    assert RetryPolicy().max_attempts == 10
    assert RetryPolicy().budget == 600.0


@pytest.mark.parametrize("attempt", [1, 2, 3, 8, 40])
def test_backoff_is_full_jitter_within_the_exponential_ceiling(attempt: int) -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_max=10.0)
    ceiling = min(10.0, 0.5 * 2 ** (attempt - 1))
    assert backoff(attempt, policy, rng=lambda: 0.0) == 0.0
    assert backoff(attempt, policy, rng=lambda: 1.0) == pytest.approx(ceiling)
    assert 0 <= backoff(attempt, policy) <= ceiling


def _status(cls: type[SpeechStatusError], status: int, headers: dict[str, str] | None = None) -> SpeechStatusError:
    return cls(status_code=status, reason="", request_id=None, headers=headers or {}, body=b"", error=None)


POLICY = RetryPolicy(max_attempts=3, backoff_base=1.0)
HALF = lambda: 0.5  # noqa: E731 - a fixed "random" draw


@pytest.mark.parametrize(
    ("error", "idempotent", "expected"),
    [
        (_status(ServiceError, 503), True, 0.5),
        (_status(ServiceError, 500), False, 0.5),
        (_status(SpeechStatusError, 408), True, 0.5),
        (_status(RateLimitError, 429, {"Retry-After": "3"}), True, 3.0),
        (_status(RateLimitError, 429, {"Retry-After": "500"}), True, None),
        (_status(ServiceError, 501), True, None),
        (_status(BadRequestError, 400), True, None),
        (SpeechConnectionError("reset"), True, 0.5),
        (SpeechConnectionError("reset"), False, None),
        (SpeechConnectionError("refused", request_sent=False), False, 0.5),
        (SpeechTimeoutError("slow"), True, 0.5),
        (ResponseDecodeError("bad", body=b"{"), True, 0.5),
        (ResponseDecodeError("bad", body=b"{"), False, None),
        (AudioSourceError("shrank"), True, None),
        (InvalidAudioError("empty"), True, None),
    ],
    ids=[
        "503",
        "500-not-idempotent",
        "408",
        "429-retry-after",
        "429-retry-after-too-long",
        "501",
        "400",
        "connection-idempotent",
        "connection-not-idempotent",
        "connect-refused-not-idempotent",
        "timeout",
        "decode-idempotent",
        "decode-not-idempotent",
        "audio-source",
        "invalid-audio",
    ],
)
def test_retry_decisions(error: SpeechError, idempotent: bool, expected: float | None) -> None:
    assert retry_delay(error, 1, POLICY, idempotent=idempotent, rng=HALF) == expected


def test_no_retry_after_the_last_attempt() -> None:
    error = _status(ServiceError, 503)
    assert retry_delay(error, 2, POLICY, idempotent=True, rng=HALF) == 1.0
    assert retry_delay(error, 3, POLICY, idempotent=True, rng=HALF) is None


def test_decode_errors_can_be_excluded() -> None:
    policy = RetryPolicy(retry_decode_errors=False)
    assert retry_delay(ResponseDecodeError("bad", body=b""), 1, policy, idempotent=True) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_attempts": 0}, "at least 1"),
        ({"backoff_base": -1}, "at least 0"),
        ({"budget": 0}, "budget must be a positive number"),
    ],
)
def test_policy_validation(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_cooldown_only_moves_forward() -> None:
    now = [100.0]
    cooldown = Cooldown(clock=lambda: now[0])
    assert cooldown.remaining == 0
    cooldown.extend(5)
    cooldown.extend(2)
    assert cooldown.remaining == 5
    now[0] = 103.0
    assert cooldown.remaining == 2
    now[0] = 106.0
    assert cooldown.remaining == 0


async def test_cooldown_wait_returns_at_once_without_a_cooldown() -> None:
    await Cooldown().wait()
