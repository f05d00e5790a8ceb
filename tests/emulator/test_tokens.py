"""Bearer tokens over real loopback HTTP: issueToken, Entra-style tokens, expiry on the emulator's clock.

Requests are sent with raw aiohttp. Time is moved with a fake clock handed to ``EmulatorConfig``,
never waited for.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import re
import time
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Any

import aiohttp
import pytest
from azure.core.credentials import AccessToken
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import ClientAuthenticationError

from speech_async.emulator import (
    ALL_FAULT_KINDS,
    Emulator,
    EmulatorConfig,
    EmulatorTokenCredential,
    Fault,
    FaultPlan,
    ScriptedPhrase,
    ScriptedTranscript,
    TokenConfig,
    main,
)

from ..support.audio import wav_header
from ..support.bodies import INVALID_KEY_BODY, MISSING_KEY_BODY
from ..support.clock import START, FakeClock
from ..support.http import Reply, scripted_cli

KEY = "emulator-test-key"
ISSUE_TOKEN = "/sts/v1.0/issueToken"
TRANSCRIBE = "/speechtotext/transcriptions:transcribe?api-version=2025-10-15"
LOCALES = "/speechtotext/transcriptions/locales?api-version=2025-10-15"
COGNITIVE_SCOPE = "https://cognitiveservices.azure.com/.default"
BOUNDARY = "token-test-boundary-5e2a"
JWT_RE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
TOKEN_MESSAGE = (
    "Unauthorized. Access token is missing, invalid, audience is incorrect "
    "(https://cognitiveservices.azure.com), or have expired."
)
TOKEN_BODY = {"error": {"code": "401", "message": TOKEN_MESSAGE}}


def wav(data_bytes: int = 3200) -> bytes:
    """A silent 16 kHz mono 16-bit WAV with ``data_bytes`` of samples."""
    return wav_header(data_bytes) + bytes(data_bytes)


AUDIO = wav()
BODY = (
    (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="definition"\r\n'
        'Content-Type: application/json\r\n\r\n{"locales": ["en-US"]}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="audio"; filename="a.wav"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    + AUDIO
    + f"\r\n--{BOUNDARY}--\r\n".encode()
)
TRANSCRIPT = ScriptedTranscript(phrases=(ScriptedPhrase(text="Hi.", offset_ms=0, duration_ms=80),))


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def issue(
    session: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str] | None = None,
    *,
    query: str = "",
    form: bool = True,
) -> Reply:
    sent = {"Ocp-Apim-Subscription-Key": KEY} if headers is None else headers
    if form:
        sent = {**sent, "Content-type": "application/x-www-form-urlencoded", "Content-Length": "0"}
    async with session.post(url + ISSUE_TOKEN + query, headers=sent) as response:
        return Reply(response.status, dict(response.headers), await response.read())


async def token_for(session: aiohttp.ClientSession, url: str, query: str = "") -> str:
    reply = await issue(session, url, query=query)
    assert reply.status == 200, reply.body
    return reply.body.decode("ascii")


async def post(session: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> Reply:
    sent = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}", **headers}
    async with session.post(url + TRANSCRIBE, data=BODY, headers=sent) as response:
        return Reply(response.status, dict(response.headers), await response.read())


async def get_locales(session: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> Reply:
    async with session.get(url + LOCALES, headers=headers) as response:
        return Reply(response.status, dict(response.headers), await response.read())


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def emu(clock: FakeClock) -> AsyncIterator[Emulator]:
    config = EmulatorConfig(key=KEY, recognizer="scripted", clock=clock)
    async with Emulator(config) as emulator:
        emulator.scripted.register(AUDIO, TRANSCRIPT)
        yield emulator


# --- issueToken -----------------------------------------------------------------------------------


@pytest.mark.parametrize("form", [True, False], ids=["form-content-type", "key-only"])
async def test_issue_token_answers_a_jwt_as_plain_text(
    emu: Emulator, session: aiohttp.ClientSession, form: bool
) -> None:
    reply = await issue(session, emu.url, form=form)
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/jwt; charset=us-ascii"
    assert reply.headers["Content-Length"] == str(len(reply.body))
    record = emu.requests[-1]
    assert reply.headers["apim-request-id"] == record.request_id
    token = reply.body.decode("ascii")
    assert JWT_RE.fullmatch(token)
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert claims(token) == {
        "region": "eastus",
        "scope": "speechservices",
        "aud": "urn:ms.speechservices.eastus",
        "iss": "urn:ms.cognitiveservices",
        "exp": START + 600,
        "jti": "1",
    }
    assert (record.path, record.route, record.auth, record.status) == (ISSUE_TOKEN, "issue_token", "key", 200)
    assert (record.body_bytes, record.body_complete) == (0, True)
    if form:
        assert record.content_type == "application/x-www-form-urlencoded"


async def test_issue_token_scope_region_and_fresh_tokens(session: aiohttp.ClientSession) -> None:
    config = EmulatorConfig(key=KEY, recognizer="scripted", region="West Europe", clock=FakeClock())
    async with Emulator(config) as emulator:
        management = await token_for(session, emulator.url, "?scope=speechservicesmanagement")
        plain = await token_for(session, emulator.url)
        assert emulator.requests[0].query == {"scope": "speechservicesmanagement"}
        for token in (management, plain):
            # unverified whether the service takes a management-scoped token here; the emulator does.
            assert (await get_locales(session, emulator.url, bearer(token))).status == 200
    assert claims(management)["scope"] == "speechservicesmanagement"
    assert claims(plain)["scope"] == "speechservices"
    assert claims(plain)["region"] == "westeurope"
    assert claims(plain)["aud"] == "urn:ms.speechservices.westeurope"
    assert management != plain  # issued in the same instant, still distinct


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ({}, MISSING_KEY_BODY),
        ({"Ocp-Apim-Subscription-Key": ""}, MISSING_KEY_BODY),
        ({"Ocp-Apim-Subscription-Key": "wrong"}, INVALID_KEY_BODY),
        ({"Ocp-Apim-Subscription-Key": KEY.upper()}, INVALID_KEY_BODY),
    ],
    ids=["missing", "empty", "wrong", "wrong-case"],
)
async def test_issue_token_needs_the_key(
    emu: Emulator, session: aiohttp.ClientSession, headers: dict[str, str], body: dict[str, Any]
) -> None:
    reply = await issue(session, emu.url, headers)
    assert reply.status == 401
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.json() == body
    assert not JWT_RE.fullmatch(reply.body.decode())
    assert emu.requests[-1].auth == ("key" if headers.get("Ocp-Apim-Subscription-Key") else "none")


async def test_issue_token_does_not_take_a_bearer_token(emu: Emulator, session: aiohttp.ClientSession) -> None:
    token = await token_for(session, emu.url)
    reply = await issue(session, emu.url, bearer(token))
    assert (reply.status, reply.json()) == (401, MISSING_KEY_BODY)
    assert emu.requests[-1].auth == "bearer"


async def test_issue_token_takes_faults(emu: Emulator, session: aiohttp.ClientSession) -> None:
    emu.faults.add(Fault(route="issue_token", status=503, retry_after=2))
    emu.faults.add(Fault(route="issue_token", truncated_json=True))
    emu.faults.add(Fault(route="issue_token", malformed_json=True))
    unavailable = await issue(session, emu.url)
    assert (unavailable.status, unavailable.headers["Retry-After"]) == (503, "2")
    assert unavailable.json()["code"] == "ServiceUnavailable"
    truncated = await issue(session, emu.url)
    assert truncated.status == 200
    assert truncated.headers["Content-Type"] == "application/jwt; charset=us-ascii"
    assert not JWT_RE.fullmatch(truncated.body.decode())
    garbled = await issue(session, emu.url)
    assert garbled.status == 200
    assert garbled.body.startswith(b"<!DOCTYPE html>")
    assert (await issue(session, emu.url)).status == 200
    assert [a.route for a in emu.faults.applied] == ["issue_token"] * 3
    # A fault for issueToken leaves the other routes alone, and the reverse.
    emu.faults.add(Fault(route="locales", status=500))
    assert (await issue(session, emu.url)).status == 200


# --- bearer tokens on the service routes ----------------------------------------------------------


async def test_issue_token_token_is_accepted_on_transcribe_and_locales(
    emu: Emulator, session: aiohttp.ClientSession
) -> None:
    token = await token_for(session, emu.url)
    transcribed = await post(session, emu.url, bearer(token))
    assert transcribed.status == 200, transcribed.body
    assert transcribed.json()["combinedPhrases"][0]["text"] == "Hi."
    locales = await get_locales(session, emu.url, bearer(token))
    assert locales.status == 200
    assert "en-US" in locales.json()["Transcribe"]
    assert [(r.route, r.auth, r.status) for r in emu.requests] == [
        ("issue_token", "key", 200),
        ("transcribe", "bearer", 200),
        ("locales", "bearer", 200),
    ]
    assert emu.requests[1].header("Authorization") == "***"
    # The scheme is case-insensitive, as in HTTP.
    assert (await get_locales(session, emu.url, {"Authorization": f"bearer {token}"})).status == 200


@pytest.mark.parametrize("lifetime", [600.0, 30.0], ids=["default", "configured"])
async def test_token_expires_on_the_emulators_clock(session: aiohttp.ClientSession, lifetime: float) -> None:
    clock = FakeClock()
    options: dict[str, Any] = {} if lifetime == 600.0 else {"tokens": TokenConfig(lifetime=lifetime)}
    async with Emulator(EmulatorConfig(key=KEY, recognizer="scripted", clock=clock, **options)) as emulator:
        token = await token_for(session, emulator.url)
        assert claims(token)["exp"] == START + lifetime
        clock.advance(lifetime - 0.001)
        assert (await get_locales(session, emulator.url, bearer(token))).status == 200
        clock.now = START + lifetime  # exactly at exp: expired
        expired = await get_locales(session, emulator.url, bearer(token))
        assert (expired.status, expired.json()) == (401, TOKEN_BODY)
        assert "apim-request-id" in expired.headers
        clock.advance(3600)
        assert (await get_locales(session, emulator.url, bearer(token))).status == 401
        # A fresh exchange on the moved clock works again.
        fresh = await token_for(session, emulator.url)
        assert claims(fresh)["exp"] == START + lifetime + 3600 + lifetime
        assert (await get_locales(session, emulator.url, bearer(fresh))).status == 200


async def test_expiry_rounds_up_to_a_whole_second(
    emu: Emulator, clock: FakeClock, session: aiohttp.ClientSession
) -> None:
    clock.now = START + 0.25
    token = await token_for(session, emu.url)
    assert claims(token)["exp"] == START + 601  # never earlier than issue time + lifetime
    clock.now = START + 600.5
    assert (await get_locales(session, emu.url, bearer(token))).status == 200
    clock.now = START + 601
    assert (await get_locales(session, emu.url, bearer(token))).status == 401


def _tampered(token: str) -> str:
    header, _, signature = token.split(".")
    body = claims(token) | {"exp": 4_000_000_000}
    payload = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    return f"{header}.{payload}.{signature}"


def _resigned(token: str) -> str:
    header, payload, signature = token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return f"{header}.{payload}.{flipped}"


@pytest.mark.parametrize(
    "forge",
    [
        _tampered,
        _resigned,
        lambda token: token.rsplit(".", 1)[0] + ".",
        lambda token: token + ".x",
        lambda token: token[: len(token) // 2],
        lambda token: "abc.def.ghi",
        lambda token: "not-a-jwt",
        lambda token: "é.é.é",
        lambda token: "",
    ],
    ids=[
        "payload-changed",
        "signature-changed",
        "no-signature",
        "four-parts",
        "truncated",
        "made-up",
        "opaque",
        "non-ascii",
        "empty",
    ],
)
async def test_forged_tokens_are_refused(emu: Emulator, session: aiohttp.ClientSession, forge: Any) -> None:
    token = await token_for(session, emu.url)
    reply = await get_locales(session, emu.url, {"Authorization": f"Bearer {forge(token)}".strip()})
    assert (reply.status, reply.json()) == (401, TOKEN_BODY)
    assert emu.requests[-1].auth == "bearer"


async def test_tokens_of_another_emulator_are_refused(
    emu: Emulator, clock: FakeClock, session: aiohttp.ClientSession
) -> None:
    async with Emulator(EmulatorConfig(key=KEY, recognizer="scripted", clock=clock)) as other:
        foreign = await token_for(session, other.url)
    assert claims(foreign)["aud"] == "urn:ms.speechservices.eastus"  # the same claims, another secret
    assert (await get_locales(session, emu.url, bearer(foreign))).status == 401


async def test_other_authorization_schemes_are_refused(emu: Emulator, session: aiohttp.ClientSession) -> None:
    token = await token_for(session, emu.url)
    reply = await get_locales(session, emu.url, {"Authorization": f"Basic {token}"})
    assert (reply.status, reply.json()) == (401, TOKEN_BODY)
    assert emu.requests[-1].auth == "none"


async def test_aad_form_is_refused_on_fast_transcription(emu: Emulator, session: aiohttp.ClientSession) -> None:
    async with EmulatorTokenCredential(emu.url) as credential:
        access = await credential.get_token(COGNITIVE_SCOPE)
    resource = "/subscriptions/s/resourceGroups/g/providers/Microsoft.CognitiveServices/accounts/a"
    aad = {"Authorization": f"Bearer aad#{resource}#{access.token}"}
    for reply in (await post(session, emu.url, aad), await get_locales(session, emu.url, aad)):
        assert (reply.status, reply.json()) == (401, TOKEN_BODY)
    assert (await post(session, emu.url, bearer(access.token))).status == 200


async def test_key_decides_when_both_are_sent(emu: Emulator, session: aiohttp.ClientSession) -> None:
    token = await token_for(session, emu.url)
    good_key_bad_token = {"Ocp-Apim-Subscription-Key": KEY, "Authorization": "Bearer abc.def.ghi"}
    assert (await get_locales(session, emu.url, good_key_bad_token)).status == 200
    bad_key_good_token = {"Ocp-Apim-Subscription-Key": "wrong", **bearer(token)}
    reply = await get_locales(session, emu.url, bad_key_good_token)
    assert (reply.status, reply.json()) == (401, INVALID_KEY_BODY)
    assert [r.auth for r in emu.requests[1:]] == ["key", "key"]


# --- revocation -------------------------------------------------------------------------------------


async def test_expire_token_fault_revokes_the_token_for_good(emu: Emulator, session: aiohttp.ClientSession) -> None:
    first = await token_for(session, emu.url)
    second = await token_for(session, emu.url)
    emu.faults.add(Fault(route="*", expire_token=True))
    # Key-authenticated requests (the exchanges above, and these) pass the fault by.
    assert (await get_locales(session, emu.url, {"Ocp-Apim-Subscription-Key": KEY})).status == 200
    assert (await post(session, emu.url, {"Ocp-Apim-Subscription-Key": KEY})).status == 200
    assert emu.faults.pending == ((Fault(route="*", expire_token=True), 1),)
    reply = await post(session, emu.url, bearer(first))
    assert (reply.status, reply.json()) == (401, TOKEN_BODY)
    record = emu.requests[-1]
    assert (record.auth, record.status, record.fault) == ("bearer", 401, "expire-token")
    assert emu.faults.pending == ()
    assert [(a.route, a.kind) for a in emu.faults.applied] == [("transcribe", "expire-token")]
    # For good: every later use is refused; other tokens, old and new, still work.
    assert (await get_locales(session, emu.url, bearer(first))).status == 401
    assert (await post(session, emu.url, bearer(first))).status == 401
    assert (await get_locales(session, emu.url, bearer(second))).status == 200
    assert (await get_locales(session, emu.url, bearer(await token_for(session, emu.url)))).status == 200


async def test_expire_token_fault_follows_its_route(emu: Emulator, session: aiohttp.ClientSession) -> None:
    token = await token_for(session, emu.url)
    emu.faults.add(Fault(route="locales", expire_token=True))
    assert (await post(session, emu.url, bearer(token))).status == 200
    assert (await get_locales(session, emu.url, bearer(token))).status == 401
    assert (await post(session, emu.url, bearer(token))).status == 401


async def test_revoke_tokens_revokes_everything_issued_so_far(emu: Emulator, session: aiohttp.ClientSession) -> None:
    sts = await token_for(session, emu.url)
    async with EmulatorTokenCredential(emu.url) as credential:
        entra = (await credential.get_token(COGNITIVE_SCOPE)).token
        emu.revoke_tokens()
        later = (await credential.get_token(COGNITIVE_SCOPE)).token
    for token in (sts, entra):
        reply = await get_locales(session, emu.url, bearer(token))
        assert (reply.status, reply.json()) == (401, TOKEN_BODY)
    assert (await get_locales(session, emu.url, bearer(later))).status == 200
    assert (await get_locales(session, emu.url, bearer(await token_for(session, emu.url)))).status == 200
    assert (await get_locales(session, emu.url, {"Ocp-Apim-Subscription-Key": KEY})).status == 200


def test_expire_token_fault_rules() -> None:
    fault = Fault(expire_token=True)
    assert (fault.kind, fault.route, fault.count) == ("expire-token", "transcribe", 1)
    assert all(not f.expire_token for f in ALL_FAULT_KINDS)
    with pytest.raises(ValueError, match="exactly one misbehaviour"):
        Fault(expire_token=True, status=401)
    with pytest.raises(ValueError, match="cannot target 'issue_token'"):
        Fault(route="issue_token", expire_token=True)
    plan = FaultPlan()
    plan.add(Fault(route="*", expire_token=True))
    plan.add(Fault(route="*", status=500))
    # A key request skips the token fault and takes the next one; a bearer request takes it.
    assert plan.take("locales", request_id="1") == Fault(route="*", status=500)
    assert plan.take("locales", request_id="2", bearer=True) == Fault(route="*", expire_token=True)
    plan.random(rate=1.0, faults=[Fault(expire_token=True)], seed=1)
    assert plan.take("transcribe", request_id="3") is None
    assert plan.take("transcribe", request_id="4", bearer=True) == Fault(expire_token=True)


async def test_expire_token_fault_through_the_admin_api(emu: Emulator, session: aiohttp.ClientSession) -> None:
    token = await token_for(session, emu.url)
    async with session.post(f"{emu.url}/_emulator/faults", json={"route": "locales", "expire_token": True}) as response:
        assert response.status == 204
    assert (await get_locales(session, emu.url, bearer(token))).status == 401
    async with session.get(f"{emu.url}/_emulator/faults/applied") as response:
        assert (await response.json())["counts"] == {"expire-token": 1}


# --- Entra-style tokens ---------------------------------------------------------------------------


async def test_credential_tokens_are_accepted(emu: Emulator, clock: FakeClock, session: aiohttp.ClientSession) -> None:
    credential = EmulatorTokenCredential(emu.url, lifetime=1800)
    typed: AsyncTokenCredential = credential  # the azure-core protocol, checked by pyright
    async with typed:
        access = await typed.get_token(COGNITIVE_SCOPE, tenant_id="t", enable_cae=True, claims=None)
        assert isinstance(access, AccessToken)
        assert access.expires_on == START + 1800
        assert JWT_RE.fullmatch(access.token)
        assert claims(access.token)["aud"] == "https://cognitiveservices.azure.com"
        assert (await post(session, emu.url, bearer(access.token))).status == 200
        assert (await get_locales(session, emu.url, bearer(access.token))).status == 200
        again = await credential.get_token(COGNITIVE_SCOPE)
        assert again.token != access.token
        assert credential.calls == 2
        assert not credential.closed
        clock.now = access.expires_on
        assert (await get_locales(session, emu.url, bearer(access.token))).status == 401
    assert credential.closed
    await credential.close()  # idempotent
    assert emu.counters["entra_token"] == 2
    assert [r.auth for r in emu.requests] == ["bearer", "bearer", "bearer"]


@pytest.mark.parametrize(
    "scopes",
    [
        ("https://management.azure.com/.default",),
        ("https://cognitiveservices.azure.com/",),
        (COGNITIVE_SCOPE, "https://storage.azure.com/.default"),
    ],
    ids=["other-resource", "v1-resource-id", "mixed"],
)
async def test_wrong_scope_tokens_are_refused(
    emu: Emulator, session: aiohttp.ClientSession, scopes: tuple[str, ...]
) -> None:
    async with EmulatorTokenCredential(emu.url) as credential:
        access = await credential.get_token(*scopes)
    assert claims(access.token)["aud"] != "https://cognitiveservices.azure.com"
    reply = await post(session, emu.url, bearer(access.token))
    assert (reply.status, reply.json()) == (401, TOKEN_BODY)


async def test_credential_misuse_and_failures(emu: Emulator) -> None:
    with pytest.raises(ValueError, match="lifetime"):
        EmulatorTokenCredential(emu.url, lifetime=0)
    credential = EmulatorTokenCredential(emu.url + "/")
    assert repr(credential) == f"EmulatorTokenCredential({emu.url!r}, lifetime=3600)"
    with pytest.raises(ValueError, match="at least one scope"):
        await credential.get_token()
    await credential.close()
    assert credential.closed
    # Usable again after close, like azure.identity.aio credentials.
    assert (await credential.get_token(COGNITIVE_SCOPE)).token
    assert not credential.closed
    with pytest.raises(ClientAuthenticationError, match=r"refused the token request \(400\)"):
        await credential.get_token(" ")
    await credential.close()
    assert credential.calls == 3


async def test_credential_reports_an_unreachable_emulator() -> None:
    async with Emulator(EmulatorConfig(recognizer="scripted")) as gone:
        url = gone.url
    async with EmulatorTokenCredential(url) as credential:
        with pytest.raises(ClientAuthenticationError, match="could not be reached"):
            await credential.get_token(COGNITIVE_SCOPE)
        assert credential.calls == 1


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "scopes"),
        ({"scopes": []}, "non-empty list"),
        ({"scopes": [""]}, "non-empty list"),
        ({"scopes": "x"}, "Expected `array`"),
        ({"scopes": [COGNITIVE_SCOPE], "lifetime": 0}, "lifetime must be"),
        ({"scopes": [COGNITIVE_SCOPE], "tenant": "x"}, "unknown field"),
    ],
    ids=["no-scopes", "empty-scopes", "empty-scope", "not-a-list", "zero-lifetime", "unknown-field"],
)
async def test_entra_admin_route_rejects_bad_requests(
    emu: Emulator, session: aiohttp.ClientSession, payload: dict[str, Any], message: str
) -> None:
    async with session.post(f"{emu.url}/_emulator/entra/token", json=payload) as response:
        assert response.status == 400
        text = (await response.json())["message"]
    assert "speech_async emulator admin API" in text
    assert message in text


async def test_entra_admin_route_default_lifetime(emu: Emulator, session: aiohttp.ClientSession) -> None:
    async with session.post(f"{emu.url}/_emulator/entra/token", json={"scopes": [COGNITIVE_SCOPE]}) as response:
        answer = await response.json()
    assert sorted(answer) == ["access_token", "expires_on"]
    assert answer["expires_on"] == START + 3600


# --- counters -------------------------------------------------------------------------------------


async def test_counters_count_on_arrival(emu: Emulator, session: aiohttp.ClientSession) -> None:
    batch = {name: 0 for name in emu.counters if name.startswith("transcription")}
    assert len(batch) == 15  # the batch routes: 7 per version family, and the files' content
    hooks = {name: 0 for name in emu.counters if name.startswith("webhooks")}
    assert len(hooks) == 14  # the web-hook routes: 7 per version family
    assert dict(emu.counters) == {
        "entra_token": 0,
        "health_status": 0,
        "issue_token": 0,
        "locales": 0,
        "locales_v3": 0,
        "short_audio": 0,
        "transcribe": 0,
        **batch,
        **hooks,
    }
    token = await token_for(session, emu.url)
    await issue(session, emu.url, {"Ocp-Apim-Subscription-Key": "wrong"})  # refused, still counted
    emu.faults.add(Fault(route="locales", status=503))
    await get_locales(session, emu.url, bearer(token))
    await get_locales(session, emu.url, {})
    await post(session, emu.url, bearer(token))
    async with EmulatorTokenCredential(emu.url) as credential:
        await credential.get_token(COGNITIVE_SCOPE)
    wrong_method = session.get(f"{emu.url}{ISSUE_TOKEN}", headers={"Ocp-Apim-Subscription-Key": KEY})
    async with wrong_method as response:  # not routed, so not counted
        assert response.status == 404
    async with session.get(f"{emu.url}/_emulator/counters") as response:
        listed = await response.json()
    assert listed == {
        "entra_token": 1,
        "health_status": 0,
        "issue_token": 2,
        "locales": 2,
        "locales_v3": 0,
        "short_audio": 0,
        "transcribe": 1,
        **batch,
        **hooks,
    }
    counters = emu.counters
    assert dict(counters) == listed
    with pytest.raises(TypeError):
        counters["issue_token"] = 0  # type: ignore[index]
    emu.clear_counters()
    assert set(emu.counters.values()) == {0}
    await token_for(session, emu.url)
    async with session.delete(f"{emu.url}/_emulator/counters") as response:
        assert response.status == 204
    assert emu.counters["issue_token"] == 0


# --- secrecy --------------------------------------------------------------------------------------


async def test_tokens_are_never_stored_logged_or_echoed(
    emu: Emulator, clock: FakeClock, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sts = await token_for(session, emu.url)
    async with EmulatorTokenCredential(emu.url) as credential:
        entra = (await credential.get_token(COGNITIVE_SCOPE)).token
        wrong = (await credential.get_token("https://management.azure.com/.default")).token
    tokens = (sts, entra, wrong)
    replies = [
        await post(session, emu.url, bearer(sts)),
        await get_locales(session, emu.url, bearer(entra)),
        await get_locales(session, emu.url, bearer(wrong)),
        await get_locales(session, emu.url, bearer(_tampered(sts))),
        await get_locales(session, emu.url, {"Authorization": f"Bearer aad#/subscriptions/x#{entra}"}),
    ]
    emu.faults.add(Fault(route="locales", expire_token=True))
    replies.append(await get_locales(session, emu.url, bearer(sts)))
    clock.advance(7200)
    replies.append(await post(session, emu.url, bearer(entra)))
    assert [r.status for r in replies] == [200, 200, 401, 401, 401, 401, 401]
    async with session.get(f"{emu.url}/_emulator/requests") as response:
        listed = await response.text()
    stored = repr(emu.requests) + repr([asdict(r) for r in emu.requests]) + listed
    logged = "\n".join(f"{r.getMessage()} {r.args!r} {r.exc_text}" for r in caplog.records)
    assert "bearer token refused (expired)" in logged  # the reasons are logged, never the values
    echoed = b"".join(r.body + repr(r.headers).encode() for r in replies).decode()
    for token in tokens:
        for part in token.split("."):
            assert part not in stored
            assert part not in logged
            assert part not in echoed
    assert all(r.header("Authorization") == "***" for r in emu.requests if r.auth == "bearer")


# --- configuration and the command line -----------------------------------------------------------


def test_config_validates_token_settings() -> None:
    with pytest.raises(ValueError, match="lifetime"):
        EmulatorConfig(tokens=TokenConfig(lifetime=0))
    with pytest.raises(ValueError, match="lifetime"):
        EmulatorConfig(tokens=TokenConfig(lifetime=math.nan))
    with pytest.raises(TypeError, match="clock"):
        EmulatorConfig(clock=1.0)  # type: ignore[arg-type]
    config = EmulatorConfig()
    assert (config.clock, config.tokens.lifetime) == (time.time, 600.0)


def test_cli_token_lifetime() -> None:
    with scripted_cli("--key", KEY, "--token-lifetime", "42") as (process, url):
        request = urllib.request.Request(
            url + ISSUE_TOKEN, data=b"", method="POST", headers={"Ocp-Apim-Subscription-Key": KEY}
        )
        before = time.time()
        with urllib.request.urlopen(request, timeout=10) as response:
            token = response.read().decode("ascii")
        after = time.time()
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert before + 42 <= claims(token)["exp"] <= math.ceil(after + 42)
    assert stderr == ""


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "soon"])
def test_cli_rejects_bad_token_lifetimes(capsys: pytest.CaptureFixture[str], value: str) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--token-lifetime", value])
    assert exited.value.code == 2
    assert "--token-lifetime" in capsys.readouterr().err
