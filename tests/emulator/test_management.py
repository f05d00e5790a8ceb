"""The v3.x management routes over real loopback HTTP: supported locales (array form) and health status.

Raw aiohttp requests, so status codes, exact bodies, key order and headers are what is checked.
"""

from __future__ import annotations

import contextlib
import json
import re
import urllib.error
import urllib.request

import aiohttp
import pytest

from speech_async.emulator import (
    Emulator,
    EmulatorConfig,
    EmulatorTokenCredential,
    Fault,
    HealthComponent,
    ServiceHealth,
)

from ..support.bodies import key_orders
from ..support.http import Reply, scripted_cli

KEY = "emulator-test-key"
HEALTH = "/speechtotext/v3.1/healthstatus"
V3_LOCALES = ("/speechtotext/v3.1/transcriptions/locales", "/speechtotext/v3.2/transcriptions/locales")
LOCALES = "/speechtotext/transcriptions/locales?api-version=2025-10-15"
COGNITIVE_SCOPE = "https://cognitiveservices.azure.com/.default"
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
# The published v3.0 health example (addendum §3.8), byte for byte in the emulator's compact form.
HEALTHY_BODY = (
    b'{"status":"Healthy","components":[{"name":"Database","type":"SpeechServicesDbContext","status":"Healthy"}]}'
)
# The management API's published 401/429 bodies (addendum §3.6).
UNAUTHORIZED = {"code": "Unauthorized", "message": "Authentication is required to access the resource."}
TOO_MANY = {
    "code": "TooManyRequests",
    "message": "The rate limit has been reached. The timeout in seconds can be found in the Retry-After header.",
}
FORBIDDEN = {"code": "Forbidden", "message": "No permission to access this resource."}
UNAVAILABLE = "The service is temporarily unavailable. Please try again later."
NOT_FOUND = {"error": {"code": "404", "message": "Resource not found"}}


@pytest.fixture
def emu(speech_emulator: Emulator) -> Emulator:
    return speech_emulator


async def get(
    session: aiohttp.ClientSession, url: str, path: str, headers: dict[str, str] | None = None, *, method: str = "GET"
) -> Reply:
    sent = {"Ocp-Apim-Subscription-Key": KEY} if headers is None else headers
    async with session.request(method, url + path, headers=sent) as response:
        return Reply(response.status, dict(response.headers), await response.read())


async def sts_token(session: aiohttp.ClientSession, url: str, scope: str = "") -> str:
    query = f"?scope={scope}" if scope else ""
    async with session.post(f"{url}/sts/v1.0/issueToken{query}", headers={"Ocp-Apim-Subscription-Key": KEY}) as r:
        assert r.status == 200
        return await r.text()


# --- supported locales, v3.x --------------------------------------------------------------------


@pytest.mark.parametrize("path", V3_LOCALES, ids=["v3.1", "v3.2"])
async def test_v3_locales_is_the_submit_list(emu: Emulator, session: aiohttp.ClientSession, path: str) -> None:
    reply = await get(session, emu.url, path)
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
    assert reply.headers["Transfer-Encoding"] == "chunked"
    assert UUID_RE.match(reply.headers["apim-request-id"])
    assert reply.headers["x-ms-region"] == "East US"
    locales = reply.json()
    assert isinstance(locales, list)
    assert {"en-US", "de-DE", "es-ES"} <= set(locales)
    newer = await get(session, emu.url, LOCALES)
    assert locales == newer.json()["Submit"]
    assert emu.requests[0].route == "locales_v3"
    assert emu.requests[0].query == {}


async def test_v3_locales_needs_no_api_version_and_ignores_one(emu: Emulator, session: aiohttp.ClientSession) -> None:
    plain = await get(session, emu.url, V3_LOCALES[0])
    with_version = await get(session, emu.url, V3_LOCALES[0] + "?api-version=2025-10-15")
    assert (plain.status, with_version.status) == (200, 200)
    assert plain.body == with_version.body


async def test_v3_locales_take_only_get(emu: Emulator, session: aiohttp.ClientSession) -> None:
    for method in ("POST", "HEAD"):
        reply = await get(session, emu.url, V3_LOCALES[1], method=method)
        assert reply.status == 404
    assert emu.counters["locales_v3"] == 0


async def test_unversioned_locales_still_answer_the_object_form(emu: Emulator, session: aiohttp.ClientSession) -> None:
    reply = await get(session, emu.url, LOCALES)
    assert reply.status == 200
    assert key_orders(reply.body)[-1] == ["Transcribe", "Submit"]


# --- health status --------------------------------------------------------------------------------


async def test_health_is_healthy_by_default(emu: Emulator, session: aiohttp.ClientSession) -> None:
    reply = await get(session, emu.url, HEALTH)
    assert reply.status == 200
    assert reply.body == HEALTHY_BODY
    assert key_orders(reply.body) == [["name", "type", "status"], ["status", "components"]]
    assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
    assert UUID_RE.match(reply.headers["apim-request-id"])
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert emu.requests[-1].route == "health_status"
    assert emu.requests[-1].status == 200
    assert emu.health == ServiceHealth()


async def test_set_health_degraded_is_200_with_messages(emu: Emulator, session: aiohttp.ClientSession) -> None:
    emu.set_health(
        ServiceHealth(
            status="Degraded",
            message="Transcriptions are slow.",
            components=(
                HealthComponent(name="Database", type="SpeechServicesDbContext"),
                HealthComponent(name="Queue", type="StorageQueue", status="Degraded", message="Backlog."),
            ),
        )
    )
    reply = await get(session, emu.url, HEALTH)
    assert reply.status == 200
    assert reply.json() == {
        "status": "Degraded",
        "message": "Transcriptions are slow.",
        "components": [
            {"name": "Database", "type": "SpeechServicesDbContext", "status": "Healthy"},
            {"name": "Queue", "type": "StorageQueue", "status": "Degraded", "message": "Backlog."},
        ],
    }
    assert key_orders(reply.body)[-1] == ["status", "message", "components"]
    assert key_orders(reply.body)[1] == ["name", "type", "status", "message"]


async def test_unhealthy_is_503(emu: Emulator, session: aiohttp.ClientSession) -> None:
    database = HealthComponent(
        name="Database", type="SpeechServicesDbContext", status="Unhealthy", message="Cannot connect."
    )
    emu.set_health(ServiceHealth(status="Unhealthy", components=(database,)))
    reply = await get(session, emu.url, HEALTH)
    assert reply.status == 503
    assert reply.json() == {
        "status": "Unhealthy",
        "components": [
            {"name": "Database", "type": "SpeechServicesDbContext", "status": "Unhealthy", "message": "Cannot connect."}
        ],
    }
    assert emu.requests[-1].status == 503
    emu.set_health()  # back to the configured health
    assert (await get(session, emu.url, HEALTH)).body == HEALTHY_BODY


async def test_configured_health_is_the_start_and_the_reset(session: aiohttp.ClientSession) -> None:
    configured = ServiceHealth(status="Degraded", components=())
    async with Emulator(EmulatorConfig(recognizer="scripted", health=configured)) as emulator:
        assert (await get(session, emulator.url, HEALTH)).body == b'{"status":"Degraded","components":[]}'
        emulator.set_health(ServiceHealth())
        assert (await get(session, emulator.url, HEALTH)).body == HEALTHY_BODY
        emulator.set_health(None)
        assert emulator.health is configured


def test_health_values_are_validated() -> None:
    with pytest.raises(ValueError, match="Healthy, Degraded, Unhealthy"):
        ServiceHealth(status="Unknown")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="status must be"):
        HealthComponent(name="a", type="b", status="Fine")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="HealthComponent"):
        ServiceHealth(components=({"name": "a"},))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ServiceHealth"):
        Emulator(EmulatorConfig(recognizer="scripted")).set_health("Healthy")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="health"):
        EmulatorConfig(health="Healthy")  # type: ignore[arg-type]


async def test_admin_health_round_trip(emu: Emulator, session: aiohttp.ClientSession) -> None:
    admin = emu.url + "/_emulator/health"
    wanted = {
        "status": "Unhealthy",
        "message": "Down.",
        "components": [{"name": "Database", "type": "SpeechServicesDbContext", "status": "Unhealthy"}],
    }
    async with session.put(admin, json=wanted) as response:
        assert response.status == 204
    assert emu.health.status == "Unhealthy"
    async with session.get(admin) as response:
        assert response.status == 200
        assert await response.json() == wanted
    reply = await get(session, emu.url, HEALTH)
    assert (reply.status, reply.json()) == (503, wanted)
    async with session.delete(admin) as response:
        assert response.status == 204
    assert (await get(session, emu.url, HEALTH)).body == HEALTHY_BODY
    # Admin calls are neither recorded nor counted.
    assert [r.route for r in emu.requests] == ["health_status", "health_status"]
    assert emu.counters["health_status"] == 2


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"status": "Healthy", "componets": []}, "unknown ServiceHealth fields: componets"),
        ({"components": [{"name": "a", "type": "b", "stauts": "Healthy"}]}, "at $.components[0]: stauts"),
        ({"status": "Unknown"}, "Invalid enum value 'Unknown'"),
        ({"components": [{"name": "a"}]}, "missing required field `type`"),
        (["Healthy"], "must be a JSON object"),
    ],
    ids=["typo", "nested-typo", "bad-status", "missing-field", "not-object"],
)
async def test_admin_health_is_strict(
    emu: Emulator, session: aiohttp.ClientSession, payload: object, message: str
) -> None:
    async with session.put(emu.url + "/_emulator/health", json=payload) as response:
        assert response.status == 400
        body = await response.json()
    assert body["code"] == "InvalidRequest"
    assert body["message"].startswith("speech_async emulator admin API: invalid health: ")
    assert message in body["message"]
    assert emu.health == ServiceHealth()


@pytest.mark.parametrize(
    "path",
    [
        "/speechtotext/v3.2/healthstatus",
        "/speechtotext/healthstatus?api-version=2024-11-15",
        "/speechtotext/healthstatus?api-version=2025-10-15",
        "/speechtotext/v3.0/healthstatus",
    ],
    ids=["v3.2", "2024-11-15", "2025-10-15", "v3.0"],
)
async def test_health_is_not_declared_in_other_versions(
    emu: Emulator, session: aiohttp.ClientSession, path: str
) -> None:
    reply = await get(session, emu.url, path)
    assert (reply.status, reply.json()) == (404, NOT_FOUND)
    assert emu.requests[-1].route is None
    keyless = await get(session, emu.url, path, {})
    assert keyless.status == 401  # as for any unknown path: authentication comes first


# --- authentication -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [HEALTH, V3_LOCALES[0]], ids=["health", "locales-v3"])
@pytest.mark.parametrize(
    "headers",
    [{}, {"Ocp-Apim-Subscription-Key": "wrong"}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic x"}],
    ids=["no-credential", "wrong-key", "forged-token", "other-scheme"],
)
async def test_refusals_use_the_management_error_shape(
    emu: Emulator, session: aiohttp.ClientSession, path: str, headers: dict[str, str]
) -> None:
    reply = await get(session, emu.url, path, headers)
    assert (reply.status, reply.json()) == (401, UNAUTHORIZED)
    assert key_orders(reply.body) == [["code", "message"]]
    assert UUID_RE.match(reply.headers["apim-request-id"])
    assert emu.requests[-1].status == 401
    assert emu.requests[-1].route in ("health_status", "locales_v3")


@pytest.mark.parametrize("scope", ["", "speechservicesmanagement"], ids=["default-scope", "management-scope"])
async def test_issue_token_bearer_tokens_are_taken(emu: Emulator, session: aiohttp.ClientSession, scope: str) -> None:
    token = await sts_token(session, emu.url, scope)
    for path in (HEALTH, *V3_LOCALES):
        reply = await get(session, emu.url, path, {"Authorization": f"Bearer {token}"})
        assert reply.status == 200, reply.body
    assert emu.requests[-1].auth == "bearer"


async def test_entra_tokens_are_taken_but_not_the_aad_form(emu: Emulator, session: aiohttp.ClientSession) -> None:
    async with EmulatorTokenCredential(emu.url) as credential:
        token = (await credential.get_token(COGNITIVE_SCOPE)).token
    assert (await get(session, emu.url, HEALTH, {"Authorization": f"Bearer {token}"})).status == 200
    aad = {"Authorization": f"Bearer aad#{emu.config.resource_id}#{token}"}
    reply = await get(session, emu.url, HEALTH, aad)
    assert (reply.status, reply.json()) == (401, UNAUTHORIZED)


async def test_revoked_tokens_are_refused(emu: Emulator, session: aiohttp.ClientSession) -> None:
    token = await sts_token(session, emu.url)
    emu.revoke_tokens()
    reply = await get(session, emu.url, V3_LOCALES[1], {"Authorization": f"Bearer {token}"})
    assert (reply.status, reply.json()) == (401, UNAUTHORIZED)


# --- faults and counters --------------------------------------------------------------------------


async def test_rate_limit_fault_uses_the_management_body(emu: Emulator, session: aiohttp.ClientSession) -> None:
    emu.faults.add(Fault(route="health_status", status=429, retry_after=3))
    reply = await get(session, emu.url, HEALTH)
    assert (reply.status, reply.json()) == (429, TOO_MANY)
    assert reply.headers["Retry-After"] == "3"
    assert (await get(session, emu.url, HEALTH)).status == 200
    (applied,) = emu.faults.applied
    assert (applied.route, applied.kind) == ("health_status", "status-429")
    assert emu.requests[0].fault == "status-429"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (403, FORBIDDEN),
        (401, UNAUTHORIZED),
        (
            503,
            {
                "code": "ServiceUnavailable",
                "message": "The service is temporarily unavailable. Please try again later.",
            },
        ),
    ],
    ids=["403", "401", "503"],
)
async def test_status_faults_on_v3_locales(
    emu: Emulator, session: aiohttp.ClientSession, status: int, body: dict[str, str]
) -> None:
    emu.faults.add(Fault(route="locales_v3", status=status))
    reply = await get(session, emu.url, V3_LOCALES[0])
    assert (reply.status, reply.json()) == (status, body)


async def test_faults_target_routes_by_name(emu: Emulator, session: aiohttp.ClientSession) -> None:
    emu.faults.add(Fault(route="locales_v3", malformed_json=True))
    emu.faults.add(Fault(route="health_status", truncated_json=True))
    health = await get(session, emu.url, HEALTH)
    locales = await get(session, emu.url, V3_LOCALES[1])
    assert health.status == locales.status == 200
    assert health.body == HEALTHY_BODY[: len(HEALTHY_BODY) // 2]
    with pytest.raises(ValueError):  # noqa: PT011
        json.loads(locales.body)
    assert [a.route for a in emu.faults.applied] == ["health_status", "locales_v3"]
    # Faults on other routes leave these alone.
    emu.faults.add(Fault(route="locales", status=500))
    assert (await get(session, emu.url, HEALTH)).status == 200
    assert emu.faults.pending == ((Fault(route="locales", status=500), 1),)


async def test_counters_count_the_new_routes_on_arrival(emu: Emulator, session: aiohttp.ClientSession) -> None:
    await get(session, emu.url, HEALTH)
    await get(session, emu.url, HEALTH, {})  # refused, still counted
    for path in V3_LOCALES:
        await get(session, emu.url, path)
    await get(session, emu.url, "/speechtotext/v3.2/healthstatus")  # not a route: not counted
    assert (emu.counters["health_status"], emu.counters["locales_v3"]) == (2, 2)
    async with session.get(emu.url + "/_emulator/counters") as response:
        listed = await response.json()
    assert (listed["health_status"], listed["locales_v3"]) == (2, 2)


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Ocp-Apim-Subscription-Key": KEY})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


def test_cli_queues_faults_on_the_new_routes() -> None:
    fault = '{"route": "health_status", "status": 429, "retry_after": 1}'
    with scripted_cli("--key", KEY, "--fault", fault) as (process, url):
        status, headers, body = fetch(url + HEALTH)
        assert (status, headers["Retry-After"], json.loads(body)) == (429, "1", TOO_MANY)
        assert fetch(url + HEALTH)[2] == HEALTHY_BODY
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert stderr == ""


def test_cli_random_faults_on_a_new_route() -> None:
    with scripted_cli("--fault-rate", "1", "--fault-seed", "3", "--fault-route", "locales_v3") as (process, url):
        assert process.stderr is not None
        assert (
            process.stderr.readline() == "speech-async emulator: random faults on route 'locales_v3': rate 1, seed 3\n"
        )
        assert fetch(url + HEALTH)[0] == 200  # another route: no fault
        with contextlib.suppress(OSError, ValueError):  # dropped connections, broken bodies
            fetch(url + V3_LOCALES[0])
        applied = json.loads(fetch(url + "/_emulator/faults/applied")[2])
    assert [entry["route"] for entry in applied["applied"]] == ["locales_v3"]


def test_the_plugins_thread_emulator_takes_set_health(speech_emulator_thread: Emulator) -> None:
    speech_emulator_thread.set_health(ServiceHealth(status="Unhealthy"))
    status, _, body = fetch(speech_emulator_thread.url + HEALTH)
    assert (status, json.loads(body)["status"]) == (503, "Unhealthy")
    speech_emulator_thread.set_health()
    status, _, body = fetch(speech_emulator_thread.url + HEALTH)
    assert (status, body) == (200, HEALTHY_BODY)
