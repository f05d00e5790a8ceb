"""pytest fixtures that run the speech emulator for your own test suite.

Enable the plugin and anyio's in ``conftest.py`` (aiohttp needs the asyncio backend)::

    pytest_plugins = ["speech_async.emulator.pytest_plugin"]

    @pytest.fixture
    def anyio_backend() -> str:
        return "asyncio"

and run pytest with ``-p anyio`` (or ``anyio_mode = "auto"``), or mark tests ``@pytest.mark.anyio``.
Then::

    async def test_transcribe(speech_emulator: Emulator, speech_emulator_key: str) -> None:
        digest = speech_emulator.scripted.register(
            audio, ScriptedTranscript(phrases=(ScriptedPhrase(text="Hello.", offset_ms=40, duration_ms=480),))
        )
        # point your client at speech_emulator.url with speech_emulator_key ...
        assert speech_emulator.requests[-1].status == 200

Make it misbehave with faults, then check every attempt's upload from the records::

    speech_emulator.faults.add(Fault(status=429, retry_after=1, count=2))
    ...  # your client retries twice, then succeeds
    attempts = [r for r in speech_emulator.requests if r.client_request_id == request_id]
    assert [r.status for r in attempts] == [429, 429, 200]
    assert len({r.attempt_body_sha256 for r in attempts}) == 1

Exercise a client's Microsoft Entra ID path without the internet, and count token exchanges::

    async with EmulatorTokenCredential(speech_emulator.url) as credential:
        ...  # your client, built with credential, calls speech_emulator.url
    assert speech_emulator.counters["entra_token"] == 1

To expire tokens without waiting, start your own :class:`Emulator` with
``EmulatorConfig(clock=...)`` (your test's fake clock) instead of using this fixture.

``speech_emulator`` is function-scoped: every test gets a fresh emulator (port 0, the scripted
recognizer, key :data:`SPEECH_EMULATOR_KEY`), closed when the test ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import pytest

from ._config import EmulatorConfig
from ._server import Emulator

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

__all__ = ("SPEECH_EMULATOR_KEY", "speech_emulator", "speech_emulator_key")

SPEECH_EMULATOR_KEY: Final = "emulator-test-key"


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``whisper`` marker for tests that need the real recognizer."""
    config.addinivalue_line("markers", "whisper: needs the real recognizer (the asr extra)")


@pytest.fixture
def speech_emulator_key() -> str:
    """The subscription key the ``speech_emulator`` fixture accepts."""
    return SPEECH_EMULATOR_KEY


@pytest.fixture
async def speech_emulator(speech_emulator_key: str) -> AsyncIterator[Emulator]:
    """A started emulator with the scripted recognizer, closed after the test."""
    config = EmulatorConfig(key=speech_emulator_key, recognizer="scripted")
    async with Emulator(config) as emulator:
        yield emulator
