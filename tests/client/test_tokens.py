"""Credentials and the token cache, against the emulator's issueToken, bearer checks and Entra-style tokens.

The client's token cache and the emulator share one fake clock, so tests move time for both: tokens
expire in the emulator exactly when the client believes they do.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from azure.core.credentials import AzureKeyCredential

from speech_async import (
    AuthenticationError,
    BearerToken,
    ClientClosedError,
    CredentialError,
    IssueTokenCredential,
    KeyCredential,
    RetryPolicy,
    ServiceError,
    SpeechClient,
    SpeechError,
)
from speech_async.emulator import Emulator, EmulatorConfig, EmulatorTokenCredential, Fault

from ..support.audio import make_wav
from ..support.clock import FakeClock
from ..support.samples import HELLO_TRANSCRIPT

KEY = "token-test-key"
AUDIO = make_wav(seconds=0.2)
NO_RETRY = RetryPolicy(max_attempts=1)


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, Any]]:
    # asyncio's debug mode costs about 10x on the thousand-caller tests; the other modules keep it on.
    return ("asyncio", {"debug": False})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_800_000_000.0)


@pytest.fixture
async def emu(clock: FakeClock) -> AsyncIterator[Emulator]:
    async with Emulator(EmulatorConfig(key=KEY, recognizer="scripted", clock=clock)) as emulator:
        emulator.scripted.register(AUDIO, HELLO_TRANSCRIPT)
        yield emulator


def client_for(emulator: Emulator, credential: object, clock: FakeClock, **kwargs: Any) -> SpeechClient:
    return SpeechClient(emulator.url, credential, clock=clock, **kwargs)


async def transcribe_many(client: SpeechClient, count: int) -> None:
    results = await asyncio.gather(*(client.transcribe(AUDIO) for _ in range(count)))
    assert all(r.text.startswith("Hello") for r in results)


async def settle(client: SpeechClient) -> None:
    """Wait until a background refresh, started by the callers just served, has finished."""
    for _ in range(1000):
        stats = client.token_stats
        if stats is None or not stats.refreshing:
            return
        await asyncio.sleep(0.001)
    raise AssertionError("a token refresh did not finish")


async def raw_issue_token(emulator: Emulator) -> str:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{emulator.url}/sts/v1.0/issueToken", headers={"Ocp-Apim-Subscription-Key": KEY}) as response,
    ):
        assert response.status == 200
        return await response.text()


# --- issueToken -------------------------------------------------------------------------------------------


async def test_issue_token_credential_exchanges_once_and_sends_bearer_tokens(emu: Emulator, clock: FakeClock) -> None:
    async with client_for(emu, IssueTokenCredential(KEY), clock) as client:
        await transcribe_many(client, 5)
        await client.transcribe(AUDIO)
        assert client.token_stats is not None
        # The five first callers all waited for the first token, together; nobody waited after that.
        assert (client.token_stats.exchanges, client.token_stats.waits) == (1, 5)
    assert emu.counters["issue_token"] == 1
    assert {r.auth for r in emu.requests if r.route == "transcribe"} == {"bearer"}
    assert [r.auth for r in emu.requests if r.route == "issue_token"] == ["key"]


async def test_a_thousand_callers_when_no_token_is_valid_cause_one_exchange(emu: Emulator, clock: FakeClock) -> None:
    async with client_for(emu, IssueTokenCredential(KEY), clock, connection_limit=200) as client:
        await client.transcribe(AUDIO)
        clock.advance(600)  # the token has expired, and nobody refreshed it ahead
        await transcribe_many(client, 1000)
        assert client.token_stats is not None
        assert client.token_stats.exchanges == 2
    assert emu.counters["issue_token"] == 2


async def test_a_thousand_callers_at_refresh_time_start_one_background_exchange_and_none_waits(
    emu: Emulator, clock: FakeClock
) -> None:
    async with client_for(emu, IssueTokenCredential(KEY), clock, connection_limit=200) as client:
        await client.transcribe(AUDIO)
        clock.advance(545)  # past the nine minutes, the token still valid
        await transcribe_many(client, 1000)
        await settle(client)
        stats = client.token_stats
        assert stats is not None
        assert (stats.exchanges, stats.waits) == (2, 1), "only the very first caller ever waited"
    assert emu.counters["issue_token"] == 2


async def test_two_simulated_hours_cost_fourteen_exchanges_and_no_wait_after_the_first(
    emu: Emulator, clock: FakeClock
) -> None:
    async with client_for(emu, IssueTokenCredential(KEY), clock) as client:
        for _minute in range(120):
            await transcribe_many(client, 4)
            await settle(client)
            clock.advance(60)
        stats = client.token_stats
        assert stats is not None
        assert stats.exchanges == 14, "tokens fetched at 0, 9, 18, ... 117 minutes"
        assert stats.waits == 4, "only the four callers of the very first minute waited, for the first token"
        assert stats.failures == 0
    assert emu.counters["issue_token"] == 14
    assert emu.counters["transcribe"] == 480


async def test_clients_sharing_a_credential_share_its_tokens(emu: Emulator, clock: FakeClock) -> None:
    credential = IssueTokenCredential(KEY)
    async with client_for(emu, credential, clock) as first, client_for(emu, credential, clock) as second:
        await first.transcribe(AUDIO)
        await second.transcribe(AUDIO)
    assert emu.counters["issue_token"] == 1


async def until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"timed out waiting until {what}")


def issue_token_requests(emulator: Emulator) -> int:
    return sum(1 for r in emulator.requests if r.route == "issue_token")


async def test_closing_the_client_whose_exchange_others_wait_for_does_not_fail_them(
    emu: Emulator, clock: FakeClock
) -> None:
    credential = IssueTokenCredential(KEY)
    emu.faults.add(Fault(route="issue_token", delay_headers=0.3))  # only the first exchange is slow
    first = client_for(emu, credential, clock, retry=NO_RETRY)
    async with client_for(emu, credential, clock, retry=NO_RETRY) as second:
        started = asyncio.ensure_future(first.transcribe(AUDIO))  # the first client starts the exchange
        await until(lambda: issue_token_requests(emu) == 1, "the first exchange reached the service")
        waiting = [asyncio.ensure_future(second.transcribe(AUDIO)) for _ in range(2)]
        await until(lambda: second.token_stats is not None and second.token_stats.waits == 3, "both calls wait")
        await first.close()  # mid-exchange
        results = await asyncio.gather(*waiting)
        assert all(r.text.startswith("Hello") for r in results)
        with pytest.raises(ClientClosedError):
            await started  # the closed client's own call
        stats = second.token_stats
        assert stats is not None
        assert (stats.exchanges, stats.failures, stats.waits) == (2, 0, 3), "one exchange restarted for both calls"
        await second.transcribe(AUDIO)  # no back-off either
    assert emu.counters["issue_token"] == 2
    assert emu.counters["transcribe"] == 3


async def test_a_background_refresh_orphaned_by_its_clients_close_costs_no_back_off(
    emu: Emulator, clock: FakeClock
) -> None:
    credential = IssueTokenCredential(KEY)
    first = client_for(emu, credential, clock, retry=NO_RETRY)
    async with client_for(emu, credential, clock, retry=NO_RETRY) as second:
        await first.transcribe(AUDIO)
        emu.faults.add(Fault(route="issue_token", delay_headers=0.3))
        clock.advance(545)  # refresh due, the token still valid
        await first.transcribe(AUDIO)  # starts the refresh in the background, on the first client's connections
        await until(lambda: issue_token_requests(emu) == 2, "the refresh reached the service")
        await first.close()
        await settle(second)
        stats = second.token_stats
        assert stats is not None
        assert (stats.exchanges, stats.failures) == (2, 0)
        await second.transcribe(AUDIO)  # the refresh is still due: it starts again at once, with no back-off
        await settle(second)
        stats = second.token_stats
        assert stats is not None
        assert (stats.exchanges, stats.failures, stats.waits) == (3, 0, 1)
    assert emu.counters["issue_token"] == 3


async def test_closing_the_last_client_while_it_waits_for_a_token_is_a_client_closed_error(
    emu: Emulator, clock: FakeClock
) -> None:
    emu.faults.add(Fault(route="issue_token", delay_headers=0.3))
    client = client_for(emu, IssueTokenCredential(KEY), clock, retry=NO_RETRY)
    call = asyncio.ensure_future(client.transcribe(AUDIO))
    await until(lambda: issue_token_requests(emu) == 1, "the exchange reached the service")
    await client.close()
    with pytest.raises(ClientClosedError, match="closed while it waited for a issueToken token"):
        await call
    assert emu.counters["transcribe"] == 0


@pytest.mark.parametrize("how", ["directly", "as-the-cause"])
async def test_an_exchange_that_failed_with_client_closed_is_restarted_for_the_other_clients_callers(
    emu: Emulator, clock: FakeClock, how: str
) -> None:
    # A provider shared by two clients stands in for an exchange whose connections were closed under it.
    release = asyncio.Event()
    calls = 0

    async def provider() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            await release.wait()
            closed = ClientClosedError("the client was closed while the request was under way")
            if how == "directly":
                raise closed
            raise RuntimeError("the token request failed") from closed
        return await raw_issue_token(emu)

    async with client_for(emu, provider, clock) as first, client_for(emu, provider, clock) as second:
        started = asyncio.ensure_future(first.transcribe(AUDIO))
        await until(lambda: calls == 1, "the first exchange started")
        waiting = [asyncio.ensure_future(second.transcribe(AUDIO)) for _ in range(2)]
        await until(lambda: second.token_stats is not None and second.token_stats.waits == 3, "both calls wait")
        release.set()
        results = await asyncio.gather(*waiting)
        assert all(r.text.startswith("Hello") for r in results)
        with pytest.raises(ClientClosedError):
            await started  # its exchange is the one whose client "closed"
        stats = second.token_stats
        assert stats is not None
        assert (stats.exchanges, stats.failures) == (2, 0)
        assert calls == 2, "one restarted exchange for both waiting calls"
        await first.transcribe(AUDIO)  # nobody is locked out, the first client included


async def test_a_failed_refresh_keeps_the_old_token_and_is_retried_promptly(emu: Emulator, clock: FakeClock) -> None:
    async with client_for(emu, IssueTokenCredential(KEY), clock, retry=NO_RETRY) as client:
        await client.transcribe(AUDIO)
        emu.faults.add(Fault(route="issue_token", status=503))
        clock.advance(545)
        await transcribe_many(client, 10)  # served with the old token while its refresh fails
        await settle(client)
        stats = client.token_stats
        assert stats is not None
        assert (stats.exchanges, stats.failures) == (2, 1)
        clock.advance(2)  # the retry comes after a second or two, not after nine minutes
        await transcribe_many(client, 10)
        await settle(client)
        assert client.token_stats is not None
        assert (client.token_stats.exchanges, client.token_stats.failures, client.token_stats.waits) == (3, 1, 1)
    assert emu.counters["issue_token"] == 3


async def test_with_no_valid_token_callers_get_a_credential_error_then_recover(emu: Emulator, clock: FakeClock) -> None:
    async with client_for(emu, IssueTokenCredential(KEY), clock, retry=NO_RETRY) as client:
        await client.transcribe(AUDIO)
        emu.faults.add(Fault(route="issue_token", status=503, count=1))
        clock.advance(700)
        outcomes = await asyncio.gather(*(client.transcribe(AUDIO) for _ in range(20)), return_exceptions=True)
        for outcome in outcomes:
            assert isinstance(outcome, CredentialError), outcome
            assert isinstance(outcome.__cause__, ServiceError)
        assert emu.counters["issue_token"] == 2, "twenty callers, one failed exchange: no stampede on the token service"
        with pytest.raises(CredentialError, match="the next attempt is in"):
            await client.transcribe(AUDIO)  # fails fast during the back-off, without another exchange
        assert emu.counters["issue_token"] == 2
        clock.advance(5)
        await transcribe_many(client, 5)
    assert emu.counters["issue_token"] == 3


async def test_a_wrong_key_fails_the_exchange_with_a_typed_error(emu: Emulator, clock: FakeClock) -> None:
    async with client_for(emu, IssueTokenCredential("not-the-key"), clock) as client:
        with pytest.raises(CredentialError) as caught:
            await client.transcribe(AUDIO)
    assert isinstance(caught.value.__cause__, AuthenticationError)
    assert "not-the-key" not in str(caught.value)
    assert emu.counters["transcribe"] == 0


async def test_issue_token_key_rotation(emu: Emulator, clock: FakeClock) -> None:
    credential = IssueTokenCredential(AzureKeyCredential("old"))
    async with client_for(emu, credential, clock, retry=NO_RETRY) as client:
        with pytest.raises(CredentialError):
            await client.transcribe(AUDIO)
        credential.update(KEY)
        clock.advance(60)  # past the failed exchange's back-off
        assert (await client.transcribe(AUDIO)).text.startswith("Hello")


# --- a 401 mid-run: the token is replaced and the request replayed once -----------------------------------------


async def test_a_token_revoked_mid_run_is_replaced_with_no_failed_request(emu: Emulator, clock: FakeClock) -> None:
    async with client_for(emu, IssueTokenCredential(KEY), clock) as client:
        await client.transcribe(AUDIO)
        emu.faults.add(Fault(route="transcribe", expire_token=True))
        await transcribe_many(client, 20)
        assert client.token_stats is not None
        assert client.token_stats.exchanges == 2, "one new token for all twenty callers"
    statuses = [r.status for r in emu.requests if r.route == "transcribe"]
    assert statuses.count(401) >= 1
    assert statuses.count(200) == 21


async def test_every_token_revoked_at_once_is_recovered(emu: Emulator, clock: FakeClock) -> None:
    async with client_for(emu, IssueTokenCredential(KEY), clock) as client:
        await client.transcribe(AUDIO)
        emu.revoke_tokens()
        await transcribe_many(client, 10)
    assert emu.counters["issue_token"] == 2


async def test_a_refused_key_is_not_replayed(emu: Emulator, clock: FakeClock) -> None:
    async with client_for(emu, KeyCredential("wrong"), clock) as client:
        with pytest.raises(AuthenticationError):
            await client.transcribe(AUDIO)
    assert emu.counters["transcribe"] == 1


# --- Microsoft Entra ID -----------------------------------------------------------------------------------------


async def test_entra_credential_tokens_are_cached_and_the_credential_closed_with_the_client(
    emu: Emulator, clock: FakeClock
) -> None:
    credential = EmulatorTokenCredential(emu.url)
    async with client_for(emu, credential, clock) as client:
        await transcribe_many(client, 10)
        assert credential.calls == 1
    assert credential.closed, "closed with the (last) client that used it"
    assert {r.auth for r in emu.requests if r.route == "transcribe"} == {"bearer"}


async def test_a_shared_entra_credential_is_closed_with_the_last_client(emu: Emulator, clock: FakeClock) -> None:
    credential = EmulatorTokenCredential(emu.url)
    first = client_for(emu, credential, clock)
    async with client_for(emu, credential, clock) as second:
        async with first:
            await first.transcribe(AUDIO)
        assert not credential.closed
        await second.transcribe(AUDIO)
    assert credential.closed
    assert credential.calls == 1


async def test_entra_refresh_respects_the_tokens_own_expiry(emu: Emulator, clock: FakeClock) -> None:
    credential = EmulatorTokenCredential(emu.url, lifetime=400)  # shorter-lived than the nine-minute cycle
    async with client_for(emu, credential, clock) as client:
        await client.transcribe(AUDIO)
        clock.advance(150)  # 250 s before it expires: inside the refresh lead of five minutes
        await client.transcribe(AUDIO)
        await settle(client)
        assert credential.calls == 2
        assert client.token_stats is not None
        assert client.token_stats.waits == 1


def test_a_synchronous_token_credential_is_refused() -> None:
    from azure.identity import DefaultAzureCredential

    with pytest.raises(TypeError, match=r"azure\.identity\.aio"):
        SpeechClient("https://my-res.cognitiveservices.azure.com", DefaultAzureCredential())


# --- tokens you bring --------------------------------------------------------------------------------------------


async def test_a_static_bearer_token_is_used_as_is(emu: Emulator, clock: FakeClock) -> None:
    token = await raw_issue_token(emu)
    credential = BearerToken(token)
    async with client_for(emu, credential, clock) as client:
        await client.transcribe(AUDIO)
        emu.revoke_tokens()
        with pytest.raises(AuthenticationError):
            await client.transcribe(AUDIO)
        credential.update(await raw_issue_token(emu))
        await client.transcribe(AUDIO)
    assert client.token_stats is None


async def test_an_async_token_provider_is_called_through_the_cache(emu: Emulator, clock: FakeClock) -> None:
    calls = 0

    async def provider() -> str:
        nonlocal calls
        calls += 1
        return await raw_issue_token(emu)

    async with client_for(emu, provider, clock) as client:
        await transcribe_many(client, 5)
        clock.advance(545)
        await client.transcribe(AUDIO)
        await settle(client)
    assert calls == 2


# --- secrets ---------------------------------------------------------------------------------------------------


async def test_tokens_never_reach_logs_reprs_or_errors(
    emu: Emulator, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="speech_async")
    issued: list[str] = []

    async def provider() -> str:
        issued.append(await raw_issue_token(emu))
        return issued[-1]

    errors: list[SpeechError] = []
    credential = BearerToken("static-token-value-123")
    async with client_for(emu, provider, clock, retry=NO_RETRY) as client, client_for(emu, credential, clock) as other:
        await client.transcribe(AUDIO)
        emu.faults.add(Fault(route="transcribe", expire_token=True))
        await client.transcribe(AUDIO)
        try:
            await other.transcribe(AUDIO)
        except SpeechError as err:
            errors.append(err)
        texts = [repr(client), repr(other), repr(credential), repr(client.token_stats), caplog.text]
        texts += [str(e) for e in errors] + [repr(e) for e in errors]
    assert issued
    assert errors, "the static token was refused"
    for secret in [*issued, "static-token-value-123"]:
        for text in texts:
            assert secret not in text
