"""pytest fixtures that run the speech emulator for your own test suite.

Enable the plugin in ``conftest.py``::

    pytest_plugins = ["speech_async.emulator.pytest_plugin"]

It works with whatever runs your tests: pytest-asyncio (strict mode with
``@pytest.mark.asyncio``, or ``asyncio_mode = "auto"``), anyio's plugin (``@pytest.mark.anyio`` or
``anyio_mode = "auto"``), and plain synchronous tests. Then::

    async def test_transcribe(speech_emulator: Emulator, speech_emulator_key: str) -> None:
        digest = speech_emulator.scripted.register(
            audio, ScriptedTranscript(phrases=(ScriptedPhrase(text="Hello.", offset_ms=40, duration_ms=480),))
        )
        # point your client at speech_emulator.url with speech_emulator_key ...
        assert speech_emulator.requests[-1].status == 200

The fixtures:

``speech_emulator``
    A started :class:`Emulator` (port 0, the scripted recognizer, key :data:`SPEECH_EMULATOR_KEY`),
    fresh for every test and closed when it ends. It is a synchronous fixture, so any test can use
    it. Under anyio's plugin on asyncio the emulator serves on the test's own event loop; everywhere
    else (pytest-asyncio, synchronous tests, anyio on trio) it serves on an event loop of its own in
    a background thread, exactly like ``speech_emulator_thread``.
``speech_emulator_thread``
    The same, always on its own event loop in a background thread (:func:`serve_in_thread`): for
    synchronous code under test, such as the Azure SDK's ``TranscriptionClient``, or to keep the
    emulator off your test's event loop.
``speech_emulator_url``
    ``speech_emulator.url``, the ``http://127.0.0.1:PORT`` to point a client at.
``speech_emulator_key``
    The subscription key the emulator accepts.

What tests call on the emulator is safe from any thread: ``scripted.register``, ``faults.add`` and
the rest of :class:`FaultPlan`, ``set_health`` (what ``GET /speechtotext/v3.1/healthstatus``
answers), ``requests`` (a list the emulator appends to) and ``counters`` (a snapshot). With the
emulator in a thread, a request is recorded before its answer is sent, except for a connection the
emulator drops on purpose: its record may land a moment after your client sees the error.

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
``EmulatorConfig(clock=...)`` (your test's fake clock) instead of using these fixtures.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, cast

import pytest

from ._config import EmulatorConfig
from ._server import Emulator, serve_in_thread

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

__all__ = (
    "SPEECH_EMULATOR_KEY",
    "speech_emulator",
    "speech_emulator_key",
    "speech_emulator_thread",
    "speech_emulator_url",
)

SPEECH_EMULATOR_KEY: Final = "emulator-test-key"
_ANYIO_BACKEND: Final = "anyio_backend"


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``whisper`` marker for tests that need the real recognizer."""
    config.addinivalue_line("markers", "whisper: needs the real recognizer (the asr extra)")


def _config(key: str) -> EmulatorConfig:
    return EmulatorConfig(key=key, recognizer="scripted")


@pytest.fixture
def speech_emulator_key() -> str:
    """The subscription key the emulator fixtures accept."""
    return SPEECH_EMULATOR_KEY


@pytest.fixture
def speech_emulator_thread(speech_emulator_key: str) -> Iterator[Emulator]:
    """A started emulator on its own event loop in a background thread, closed after the test."""
    with serve_in_thread(_config(speech_emulator_key)) as emulator:
        yield emulator


@pytest.fixture
async def _speech_emulator_on_test_loop(speech_emulator_key: str) -> AsyncIterator[Emulator]:
    """The emulator on the test's event loop; only requested for tests anyio runs on asyncio."""
    async with Emulator(_config(speech_emulator_key)) as emulator:
        yield emulator


def _runs_on_anyio_asyncio(request: pytest.FixtureRequest) -> bool:
    if _ANYIO_BACKEND not in request.fixturenames:
        return False
    # anyio_backend is a name, or a (name, options) pair.
    backend: object = request.getfixturevalue(_ANYIO_BACKEND)
    name: object = cast("tuple[object, ...]", backend)[0] if isinstance(backend, tuple) else backend
    return name == "asyncio"


@pytest.fixture
def speech_emulator(request: pytest.FixtureRequest, speech_emulator_key: str) -> Iterator[Emulator]:
    """A started emulator with the scripted recognizer, closed after the test.

    On the test's event loop when anyio runs the test on asyncio (async fixtures need the test
    runner's loop, which only anyio shares with a synchronous fixture); in a thread otherwise.
    """
    if _runs_on_anyio_asyncio(request):
        emulator: Emulator = request.getfixturevalue("_speech_emulator_on_test_loop")
        yield emulator
        return
    with serve_in_thread(_config(speech_emulator_key)) as emulator:
        yield emulator


@pytest.fixture
def speech_emulator_url(speech_emulator: Emulator) -> str:
    """The base URL of ``speech_emulator`` (``http://127.0.0.1:PORT``)."""
    return speech_emulator.url
