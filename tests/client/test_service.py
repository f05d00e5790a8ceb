"""The service-wide operations (supported locales, health status), per-area API versions, per-area limits,
and ``with_options`` views: through the public client, over real loopback HTTP.

Odd answers come from a server of the tests' own (``serve_on_loopback``); the ordinary ones from the
emulator. The emulator serves the v3.x locales and the health status (settable with ``Emulator.set_health``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
import pytest
from aiohttp import web

from speech_async import (
    ApiVersion,
    FastLimits,
    HealthComponent,
    HealthState,
    HealthStatus,
    InvalidAudioError,
    InvalidOptionsError,
    IssueTokenCredential,
    KeyCredential,
    Limits,
    ResponseDecodeError,
    RetryPolicy,
    ServiceError,
    ShortAudioLimits,
    SpeechClient,
    SpeechTimeoutError,
    SupportedLocales,
    UploadLimits,
    WrongEventLoopError,
)
from speech_async.emulator import Emulator, ServiceHealth
from speech_async.emulator import HealthComponent as EmulatedComponent

from ..support.audio import make_wav
from ..support.http import serve_on_loopback
from ..support.samples import HELLO_TRANSCRIPT

KEY = "service-test-key"
QUICK = RetryPolicy(max_attempts=3, backoff_base=0.0, backoff_max=0.0)
DATED_LOCALES = {"Transcribe": ["en-US", "de-DE"], "Submit": ["en-US", "de-DE", "es-ES"]}
V3_LOCALES = ["en-US", "de-DE", "fr-FR"]
HEALTHY = {
    "status": "Healthy",
    "components": [{"name": "Database", "type": "SpeechServicesDbContext", "status": "Healthy"}],
}
UNHEALTHY = {
    "status": "Unhealthy",
    "message": "The service is unavailable.",
    "components": [
        {"name": "Database", "type": "SpeechServicesDbContext", "status": "Unhealthy", "message": "No connection."}
    ],
}


# --- a server of the tests' own ---------------------------------------------------------------------


@dataclass
class Seen:
    """A request the loopback server received."""

    path: str
    query: dict[str, str]
    key: str | None


@dataclass
class Script:
    """What the loopback server answers, one reply per request in order (the last one repeats)."""

    replies: list[Callable[[], Awaitable[web.StreamResponse]]]
    seen: list[Seen] = field(default_factory=list[Seen])

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(Seen(request.path, dict(request.query), request.headers.get("Ocp-Apim-Subscription-Key")))
        reply = self.replies[min(len(self.seen), len(self.replies)) - 1]
        return await reply()


def answer(
    status: int, body: object, *, raw: bytes | None = None, headers: dict[str, str] | None = None
) -> Callable[[], Awaitable[web.StreamResponse]]:
    async def reply() -> web.StreamResponse:
        data = raw if raw is not None else json.dumps(body).encode()
        return web.Response(status=status, body=data, content_type="application/json", headers=headers)

    return reply


def slow(seconds: float, body: object) -> Callable[[], Awaitable[web.StreamResponse]]:
    async def reply() -> web.StreamResponse:
        await asyncio.sleep(seconds)
        return await answer(200, body)()

    return reply


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[tuple[SpeechClient, Script]]]]:
    """``await serve(reply, ..., **client_options)``: a loopback server answering every GET, and a client of it."""
    async with contextlib.AsyncExitStack() as stack:

        async def start(
            *replies: Callable[[], Awaitable[web.StreamResponse]], **options: Any
        ) -> tuple[SpeechClient, Script]:
            script = Script(list(replies))
            app = web.Application()
            app.router.add_get("/{tail:.*}", script.handle)
            url = await stack.enter_async_context(serve_on_loopback(app))
            client = await stack.enter_async_context(SpeechClient(url, KeyCredential(KEY), **options))
            return client, script

        yield start


# --- supported locales --------------------------------------------------------------------------------


async def test_locales_of_a_dated_version_come_from_the_api_version_query(serve: Any) -> None:
    client, script = await serve(answer(200, DATED_LOCALES))

    locales = await client.get_supported_locales()

    assert locales == SupportedLocales(transcribe=("en-US", "de-DE"), submit=("en-US", "de-DE", "es-ES"))
    (seen,) = script.seen
    assert seen.path == "/speechtotext/transcriptions/locales"
    assert seen.query == {"api-version": "2025-10-15"}
    assert seen.key == KEY
    assert locales.response is not None
    assert locales.response.status_code == 200


@pytest.mark.parametrize("version", [ApiVersion.V3_1, "v3.2"], ids=["v3.1-enum", "v3.2-str"])
async def test_locales_of_a_v3_version_are_a_path_version_and_a_list(serve: Any, version: ApiVersion | str) -> None:
    client, script = await serve(answer(200, V3_LOCALES))

    locales = await client.get_supported_locales(api_version=version)

    # v3.x lists the batch locales only: the fast-transcription ones are unknown, not empty.
    assert locales.transcribe is None
    assert locales.submit == tuple(V3_LOCALES)
    (seen,) = script.seen
    assert seen.path == f"/speechtotext/{version}/transcriptions/locales"
    assert seen.query == {}


async def test_the_clients_management_api_version_is_the_default(serve: Any) -> None:
    client, script = await serve(answer(200, V3_LOCALES), management_api_version="v3.2")
    assert client.management_api_version == "v3.2"
    assert client.api_version == "2025-10-15"  # fast transcription keeps its own default

    await client.get_supported_locales()
    await client.get_supported_locales(api_version="2024-11-15")

    assert [(s.path, s.query) for s in script.seen] == [
        ("/speechtotext/v3.2/transcriptions/locales", {}),
        ("/speechtotext/transcriptions/locales", {"api-version": "2024-11-15"}),
    ]


async def test_a_later_dated_management_version_is_passed_on(serve: Any) -> None:
    client, script = await serve(answer(200, DATED_LOCALES), management_api_version="2026-05-01-preview")

    await client.get_supported_locales()

    assert script.seen[0].query == {"api-version": "2026-05-01-preview"}


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("v3.0", r"'v3\.0' is retired: the management API takes 2025-10-15, 2024-11-15, v3\.2, v3\.1"),
        ("v3.3", "is not a version of the management API"),
        ("2023-01-01", "is not a version of the management API"),
        ("latest", "is not a version of the management API"),
    ],
    ids=["retired-v3.0", "unknown-v3.3", "older-than-dated", "garbage"],
)
async def test_versions_the_management_api_does_not_take_are_refused_before_sending(
    serve: Any, version: str, message: str
) -> None:
    client, script = await serve(answer(200, DATED_LOCALES))

    with pytest.raises(InvalidOptionsError, match=message):
        await client.get_supported_locales(api_version=version)
    with pytest.raises(InvalidOptionsError, match=message.replace("'v3\\.0'", "management_api_version 'v3\\.0'")):
        SpeechClient("https://eastus.api.cognitive.microsoft.com", KeyCredential(KEY), management_api_version=version)
    assert script.seen == []


async def test_a_429_then_200_is_retried_into_a_result(serve: Any) -> None:
    client, script = await serve(
        answer(429, {"error": {"code": "429", "message": "slow down"}}, headers={"Retry-After": "0"}),
        answer(200, DATED_LOCALES),
    )

    locales = await client.get_supported_locales()

    assert locales.submit == ("en-US", "de-DE", "es-ES")
    assert len(script.seen) == 2
    assert locales.response is not None
    assert locales.response.attempts == 2


async def test_a_200_that_is_not_json_is_a_decode_error_after_the_retries(serve: Any) -> None:
    client, script = await serve(answer(200, None, raw=b"<html>maintenance</html>"), retry=QUICK)

    with pytest.raises(ResponseDecodeError, match="the supported locales do not have the documented shape") as caught:
        await client.get_supported_locales()

    assert caught.value.body == b"<html>maintenance</html>"
    assert caught.value.attempts == 3 == len(script.seen)


async def test_the_dated_locales_of_the_emulator(client: SpeechClient, emulator: Emulator) -> None:
    locales = await client.get_supported_locales(api_version="2024-11-15")

    assert locales.transcribe is not None
    assert "en-US" in locales.transcribe
    assert "en-US" in locales.submit
    (request,) = emulator.requests
    assert (request.method, request.path, dict(request.query)) == (
        "GET",
        "/speechtotext/transcriptions/locales",
        {"api-version": "2024-11-15"},
    )


# --- health status ------------------------------------------------------------------------------------


async def test_health_status_is_read_from_v3_1(serve: Any) -> None:
    # Whatever the client's management version: only v3.1 declares ServiceHealth_Get.
    client, script = await serve(answer(200, HEALTHY), management_api_version="2025-10-15")

    health = await client.get_health_status()

    assert health == HealthStatus(
        status="Healthy",
        components=(HealthComponent(name="Database", type="SpeechServicesDbContext", status="Healthy"),),
    )
    assert health.healthy
    assert health.status == HealthState.HEALTHY
    (seen,) = script.seen
    assert (seen.path, seen.query, seen.key) == ("/speechtotext/v3.1/healthstatus", {}, KEY)


async def test_an_unknown_health_state_is_kept_as_text(serve: Any) -> None:
    client, _ = await serve(answer(200, {"status": "Maintenance", "message": "back soon", "extra": 1}))

    health = await client.get_health_status(api_version=ApiVersion.V3_1)

    assert (health.status, health.message, health.components, health.healthy) == (
        "Maintenance",
        "back soon",
        (),
        False,
    )


async def test_a_503_with_the_unhealthy_body_is_an_answer_and_is_not_retried(serve: Any) -> None:
    client, script = await serve(answer(503, UNHEALTHY), retry=QUICK)

    health = await client.get_health_status()

    assert health.status == "Unhealthy"
    assert not health.healthy
    assert health.message == "The service is unavailable."
    assert health.components[0].message == "No connection."
    assert health.response is not None
    assert health.response.status_code == 503
    assert len(script.seen) == 1


async def test_a_503_without_the_health_body_is_a_service_error_and_is_retried(serve: Any) -> None:
    gateway = {"error": {"code": "ServiceUnavailable", "message": "try later"}}
    client, script = await serve(answer(503, gateway), answer(503, gateway), answer(200, HEALTHY), retry=QUICK)

    health = await client.get_health_status()

    assert health.healthy
    assert len(script.seen) == 3


async def test_a_503_that_stays_without_the_health_body_ends_as_a_service_error(serve: Any) -> None:
    client, script = await serve(
        answer(503, {"error": {"code": "ServiceUnavailable", "message": "try later"}}), retry=QUICK
    )

    with pytest.raises(ServiceError, match="ServiceUnavailable") as caught:
        await client.get_health_status()

    assert caught.value.attempts == 3 == len(script.seen)


@pytest.mark.parametrize(
    ("version", "message"),
    [
        (
            "v3.2",
            r"get_health_status needs api_version v3\.1: the health status \(ServiceHealth_Get\) is not part of v3\.2",
        ),
        (ApiVersion.V2025_10_15, "is not part of 2025-10-15"),
        ("2024-11-15", "is not part of 2024-11-15"),
        ("v3.0", "is retired"),
    ],
    ids=["v3.2", "2025-10-15", "2024-11-15", "v3.0"],
)
async def test_a_version_without_the_health_status_is_refused_before_sending(
    serve: Any, version: ApiVersion | str, message: str
) -> None:
    client, script = await serve(answer(200, HEALTHY))

    with pytest.raises(InvalidOptionsError, match=message):
        await client.get_health_status(api_version=version)

    assert script.seen == []


# --- against the emulator ------------------------------------------------------------------------------


async def test_the_v3_locales_of_the_emulator_are_a_list(client: SpeechClient, emulator: Emulator) -> None:
    for version in ("v3.1", "v3.2"):
        locales = await client.get_supported_locales(api_version=version)
        assert locales.transcribe is None
        assert "en-US" in locales.submit
    assert [(r.path, dict(r.query)) for r in emulator.requests] == [
        ("/speechtotext/v3.1/transcriptions/locales", {}),
        ("/speechtotext/v3.2/transcriptions/locales", {}),
    ]


async def test_the_health_of_the_emulator(client: SpeechClient, emulator: Emulator) -> None:
    health = await client.get_health_status()

    assert health.healthy
    assert health.components == (HealthComponent(name="Database", type="SpeechServicesDbContext", status="Healthy"),)
    assert health.response is not None
    assert health.response.status_code == 200
    assert [r.path for r in emulator.requests] == ["/speechtotext/v3.1/healthstatus"]


async def test_an_unhealthy_emulator_answers_a_health_status_not_an_error(
    client: SpeechClient, emulator: Emulator
) -> None:
    emulator.set_health(
        ServiceHealth(
            status="Unhealthy",
            message="down for the test",
            components=(
                EmulatedComponent(name="Database", type="SpeechServicesDbContext", status="Unhealthy", message="gone"),
            ),
        )
    )

    health = await client.get_health_status()

    assert (health.status, health.message) == ("Unhealthy", "down for the test")
    assert health.components[0].message == "gone"
    assert health.response is not None
    assert health.response.status_code == 503
    assert len(emulator.requests) == 1, "an unhealthy answer is not retried"


# --- with_options: a view sharing the client's pool and token cache ----------------------------------


async def test_a_view_shares_the_token_cache_one_exchange_for_both(
    emulator: Emulator, speech_emulator_key: str
) -> None:
    async with SpeechClient(emulator.url, IssueTokenCredential(speech_emulator_key)) as client:
        view = client.with_options(retry=1, timeout=30)

        await client.get_supported_locales()
        await view.get_supported_locales()
        await client.with_options(retry=0).get_supported_locales()

        stats = client.token_stats
        assert stats is not None
        assert stats.exchanges == 1
        assert view.token_stats == stats
    exchanges = [r for r in emulator.requests if r.path.endswith("issueToken")]
    assert len(exchanges) == 1
    locale_calls = [r for r in emulator.requests if r.path.endswith("/locales")]
    assert len(locale_calls) == 3
    assert {r.auth for r in locale_calls} == {"bearer"}


async def test_a_views_retry_policy_applies_to_its_calls_only(serve: Any) -> None:
    gateway = {"error": {"code": "ServiceUnavailable"}}
    client, script = await serve(answer(503, gateway), retry=QUICK)
    view = client.with_options(retry=0)

    with pytest.raises(ServiceError):
        await view.get_supported_locales()
    assert len(script.seen) == 1

    with pytest.raises(ServiceError):
        await client.get_supported_locales()
    assert len(script.seen) == 1 + 3

    # An int counts retries on top of the view's policy, as it does on the client's.
    with pytest.raises(ServiceError):
        await view.get_supported_locales(retry=1)
    assert len(script.seen) == 4 + 2


async def test_a_views_timeout_applies_to_its_calls_only(serve: Any) -> None:
    client, _ = await serve(slow(0.6, DATED_LOCALES), timeout=10)

    with pytest.raises(SpeechTimeoutError):
        await client.with_options(timeout=0.2, retry=0).get_supported_locales()

    locales = await client.get_supported_locales()
    assert locales.submit == ("en-US", "de-DE", "es-ES")


async def test_closing_a_view_closes_nothing(serve: Any) -> None:
    client, script = await serve(answer(200, DATED_LOCALES))

    async with client.with_options(retry=0) as view:
        await view.get_supported_locales()
    await view.close()

    assert not client.closed
    assert not view.closed
    await client.get_supported_locales()
    await view.get_supported_locales()  # the view is still usable: it lives as long as its client
    assert len(script.seen) == 3
    assert "view" in repr(view)
    assert "view" not in repr(client)


async def test_a_view_of_a_closed_client_fails_as_the_client_does(serve: Any) -> None:
    client, script = await serve(answer(200, DATED_LOCALES))
    view = client.with_options(timeout=5)
    await view.get_supported_locales()

    await client.close()

    assert view.closed
    for closed in (client, view):
        with pytest.raises(RuntimeError, match="this SpeechClient is closed; create a new one"):
            await closed.get_supported_locales()
        with pytest.raises(RuntimeError, match="this SpeechClient is closed"):
            await closed.transcribe(b"RIFF")
    assert len(script.seen) == 1


async def test_a_view_made_before_first_use_opens_the_clients_connections(serve: Any) -> None:
    client, script = await serve(answer(200, HEALTHY))
    fresh = SpeechClient(client.endpoint, KeyCredential(KEY))
    view = fresh.with_options(retry=0)

    await view.get_health_status()  # opens the client's pool, which the client then owns

    assert not fresh.closed
    await view.close()
    assert not fresh.closed
    await fresh.close()
    assert view.closed
    assert len(script.seen) == 1


async def test_a_view_used_from_another_running_loop_is_refused_like_its_client(
    client: SpeechClient, emulator: Emulator
) -> None:
    await client.get_supported_locales()
    view = client.with_options(retry=0)

    def elsewhere() -> None:
        asyncio.run(view.get_supported_locales())

    with pytest.raises(WrongEventLoopError, match="is used from another one"):
        await anyio.to_thread.run_sync(elsewhere)
    assert len(emulator.requests) == 1
    await view.get_supported_locales()  # still fine on the client's own loop


def test_bad_view_options_are_refused_like_the_constructors() -> None:
    client = SpeechClient("https://eastus.api.cognitive.microsoft.com", KeyCredential(KEY))
    with pytest.raises(TypeError, match="timeout must be a Timeouts"):
        client.with_options(timeout="30")  # pyright: ignore[reportArgumentType]
    with pytest.raises(ValueError, match="retry must be a number of retries of at least 0"):
        client.with_options(retry=-1)


# --- per-area API versions ----------------------------------------------------------------------------


@pytest.mark.parametrize("version", [ApiVersion.V3_2, "v3.1"], ids=["v3.2", "v3.1"])
async def test_transcribe_refuses_a_management_version_before_sending(
    client: SpeechClient, emulator: Emulator, version: ApiVersion | str
) -> None:
    with pytest.raises(InvalidOptionsError, match="fast transcription, which needs 2024-11-15 or later"):
        await client.transcribe(make_wav(seconds=0.2), api_version=version)
    with pytest.raises(InvalidOptionsError, match="fast transcription, which needs 2024-11-15 or later"):
        await client.translate(make_wav(seconds=0.2), target_language="de", api_version=version)

    assert emulator.requests == []


def test_the_client_refuses_a_management_version_for_fast_transcription() -> None:
    with pytest.raises(InvalidOptionsError, match="is not an api-version of fast transcription"):
        SpeechClient("https://eastus.api.cognitive.microsoft.com", KeyCredential(KEY), api_version=ApiVersion.V3_2)


def test_the_default_versions_are_the_newest_dated_ones() -> None:
    client = SpeechClient("https://eastus.api.cognitive.microsoft.com", KeyCredential(KEY))
    assert (client.api_version, client.management_api_version) == ("2025-10-15", "2025-10-15")


# --- per-area limits ----------------------------------------------------------------------------------


def test_each_area_has_its_own_frozen_view_of_the_limits() -> None:
    limits = Limits(
        max_audio_bytes=1000,
        max_audio_seconds=5.0,
        check_audio_format=False,
        max_phrases=7,
        max_short_audio_seconds=20.0,
        max_assessment_seconds=10.0,
    )

    assert limits.upload == UploadLimits(max_audio_bytes=1000)
    assert limits.short_audio == ShortAudioLimits(
        max_seconds=20.0, max_assessment_seconds=10.0, check_audio_format=False
    )
    fast = limits.fast
    assert isinstance(fast, FastLimits)
    assert (fast.max_audio_seconds, fast.check_audio_format, fast.max_phrases) == (5.0, False, 7)
    assert not hasattr(fast, "max_short_audio_seconds")
    assert not hasattr(limits.short_audio, "max_phrases")
    with pytest.raises(AttributeError):
        fast.max_phrases = 8  # pyright: ignore[reportAttributeAccessIssue]


async def test_fast_transcriptions_duration_limit_does_not_bind_short_audio(
    emulator: Emulator, speech_emulator_key: str
) -> None:
    audio = make_wav(seconds=1.0)
    emulator.scripted.register(audio, HELLO_TRANSCRIPT)
    limits = Limits(max_audio_seconds=0.5)
    async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key), limits=limits) as client:
        with pytest.raises(InvalidAudioError, match=r"over the limit of 0\.5 s"):
            await client.transcribe(audio)
        assert emulator.requests == []

        result = await client.recognize(audio, language="en-US")

    assert result.succeeded
    assert [r.path for r in emulator.requests] == ["/speech/recognition/conversation/cognitiveservices/v1"]


async def test_the_upload_limit_binds_every_area(emulator: Emulator, speech_emulator_key: str) -> None:
    audio = make_wav(seconds=1.0)
    limits = Limits(max_audio_bytes=1000)
    async with SpeechClient(emulator.url, KeyCredential(speech_emulator_key), limits=limits) as client:
        with pytest.raises(InvalidAudioError, match=r"over the limit of 0\.0 MiB: .* raise Limits\.max_audio_bytes"):
            await client.transcribe(audio)
        with pytest.raises(InvalidAudioError, match=r"over the limit of 0\.0 MiB: .* raise Limits\.max_audio_bytes"):
            await client.recognize(audio, language="en-US")

    assert emulator.requests == []
