"""A real Azurite blob service for the tests of speech_async.blob, started once per session.

``make test`` installs Azurite from npm into ``.azurite/`` (see the Makefile). The fixture runs it on
127.0.0.1 at a free port, in memory, with telemetry off (it would otherwise reach Application Insights),
and with ``--skipApiVersionCheck``: azure-storage-blob 12.31 sends ``x-ms-version: 2026-10-06``, newer than
any version Azurite 3.35 knows. Missing Node or Azurite fails the tests, it never skips them.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AZURITE_BLOB = ROOT / ".azurite" / "node_modules" / ".bin" / "azurite-blob"
# The well-known development account, published in Azurite's README and Microsoft's docs.
DEV_ACCOUNT = "devstoreaccount1"
DEV_ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
STARTUP_TIMEOUT = 30.0
_LISTENS = re.compile(r"Blob service successfully listens on (http://127\.0\.0\.1:\d+)")


@dataclass(frozen=True)
class Azurite:
    """A running Azurite: its account URL (path-style) and the development account."""

    url: str
    """``http://127.0.0.1:<port>``."""
    account_name: str = DEV_ACCOUNT
    account_key: str = DEV_ACCOUNT_KEY

    @property
    def account_url(self) -> str:
        return f"{self.url}/{self.account_name}"

    def container_url(self, container: str) -> str:
        return f"{self.account_url}/{container}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={self.account_name};AccountKey={self.account_key};"
            f"BlobEndpoint={self.account_url};"
        )

    def __repr__(self) -> str:
        return f"Azurite(url={self.url!r})"


def _missing_tools() -> str | None:
    if shutil.which("node") is None:
        return "node is not on PATH: install Node.js 20 or later (with npm), then run `make azurite`"
    if not AZURITE_BLOB.exists():
        return f"Azurite is not installed at {AZURITE_BLOB.parent.parent.parent}: run `make azurite` (needs npm)"
    return None


@contextlib.contextmanager
def run_azurite(log: Path) -> Iterator[Azurite]:
    """Run ``azurite-blob`` until the block ends; its output goes to ``log``."""
    problem = _missing_tools()
    if problem:
        pytest.fail(f"the Azurite tests need Azurite: {problem}", pytrace=False)
    command = [
        str(AZURITE_BLOB),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        "0",
        "--inMemoryPersistence",
        "--extentMemoryLimit",
        "512",
        "--disableTelemetry",
        "--skipApiVersionCheck",
    ]
    with log.open("wb") as out:
        # Its own process group, so stopping it stops whatever it started too.
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield Azurite(_wait_for_url(process, log))
    finally:
        _stop(process)


def _wait_for_url(process: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if found := _LISTENS.search(text):
            return found.group(1)
        if process.poll() is not None:
            pytest.fail(f"Azurite exited with {process.returncode} before listening:\n{text}", pytrace=False)
        time.sleep(0.05)
    pytest.fail(f"Azurite did not listen within {STARTUP_TIMEOUT} s:\n{log.read_text(errors='replace')}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """Azurite's blob service on loopback for the whole session (sync: started outside any event loop)."""
    with run_azurite(tmp_path_factory.mktemp("azurite") / "azurite.log") as server:
        yield server
