"""speech_async.blob against a real Azurite: uploads in blocks, SAS URLs read with plain HTTP, downloads."""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import aiohttp
import anyio
import pytest
from azure.storage.blob.aio import ContainerClient

from speech_async import InvalidOptionsError
from speech_async.blob import (
    BLOCK_SIZE,
    check_sas_lifetime,
    container_sas_url,
    download_blobs,
    download_blobs_to,
    upload_files,
)
from tests.support.azurite import Azurite, run_azurite

MiB = 1024 * 1024


@dataclass
class Container:
    name: str
    client: ContainerClient
    azurite: Azurite

    def sas_url(self, permissions: str, expires_in: timedelta = timedelta(hours=2)) -> str:
        return container_sas_url(
            self.azurite.account_name,
            self.azurite.account_key,
            self.name,
            permissions=permissions,
            expires_in=expires_in,
            account_url=self.azurite.account_url,
        )


@pytest.fixture
async def container(azurite: Azurite) -> AsyncIterator[Container]:
    """A fresh container, deleted afterwards, and a key-authenticated client for checking it."""
    name = f"t-{uuid.uuid4().hex[:12]}"
    async with ContainerClient.from_connection_string(azurite.connection_string, name) as client:
        await client.create_container()
        try:
            yield Container(name, client, azurite)
        finally:
            await client.delete_container()


@dataclass(frozen=True)
class LocalFiles:
    small: Path
    big: Path
    accented: Path
    missing: Path
    content: dict[str, bytes]
    """Each existing file's bytes, by file name (read here, so tests need not read files on the loop)."""


@pytest.fixture
def local_files(tmp_path: Path) -> LocalFiles:
    # Written here, outside the event loop: 20 MiB of random bytes, so each block differs.
    content = {
        "call-1.wav": b"RIFF" + os.urandom(1000),
        "long-call.wav": os.urandom(20 * MiB + 123),
        "Réunion fictive.wav": b"RIFF" + os.urandom(10),
    }
    for name, data in content.items():
        (tmp_path / name).write_bytes(data)
    return LocalFiles(
        small=tmp_path / "call-1.wav",
        big=tmp_path / "long-call.wav",
        accented=tmp_path / "Réunion fictive.wav",
        missing=tmp_path / "not-there.wav",
        content=content,
    )


def sig_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["sig"][0]


async def test_upload_sends_big_files_in_blocks_and_reports_a_missing_file(
    container: Container, local_files: LocalFiles, caplog: pytest.LogCaptureFixture
) -> None:
    sas = container.sas_url("cw")
    paths = [local_files.small, local_files.missing, local_files.big]

    report = await upload_files(sas, paths, concurrency=2)

    assert report.names == ("call-1.wav", "long-call.wav")
    assert not report.ok
    [failed] = report.failed
    assert failed.path == local_files.missing
    assert isinstance(failed.error, FileNotFoundError)
    small, big = report.uploaded
    assert (small.blocks, small.size) == (0, 1004)
    assert (big.blocks, big.size) == (6, 20 * MiB + 123)
    assert big.url == f"{container.azurite.account_url}/{container.name}/long-call.wav"
    # What the service holds: six committed 4 MiB blocks (the last one short), with the file's bytes.
    blocks = (await container.client.get_blob_client("long-call.wav").get_block_list("committed"))[0]
    assert [block.size for block in blocks] == [BLOCK_SIZE] * 5 + [123]
    downloader = await container.client.download_blob("long-call.wav")
    content = await downloader.readall()
    assert hashlib.sha256(content).digest() == hashlib.sha256(local_files.content["long-call.wav"]).digest()
    # The failure is logged, and neither the report nor the log shows the SAS signature.
    assert "not-there.wav" in caplog.text
    assert sig_of(sas) not in caplog.text
    assert sig_of(sas) not in repr(report)
    assert "sig=" not in repr(report)


async def test_upload_with_a_client_and_a_prefix_keeps_the_name_verbatim(
    container: Container, local_files: LocalFiles
) -> None:
    report = await upload_files(container.client, [local_files.accented, local_files.small], prefix="calls/")

    assert report.ok
    assert report.names == ("calls/Réunion fictive.wav", "calls/call-1.wav")
    listed = [blob.name async for blob in container.client.list_blobs()]
    assert sorted(listed) == ["calls/Réunion fictive.wav", "calls/call-1.wav"]


async def test_read_list_sas_works_with_plain_http_and_a_read_only_one_cannot_list(
    container: Container, local_files: LocalFiles, session: aiohttp.ClientSession
) -> None:
    await upload_files(container.client, [local_files.small, local_files.accented], prefix="in/")
    read_list = container.sas_url("rl")
    check_sas_lifetime(read_list, needed=timedelta(hours=1), permissions="rl")

    # What the Speech service does with a contentContainerUrl: list, then GET each blob, with the SAS only.
    async with session.get(f"{read_list}&restype=container&comp=list") as response:
        assert response.status == 200
        listing = ET.fromstring(await response.read())
    names = [element.text for element in listing.iter("Name")]
    assert names == ["in/Réunion fictive.wav", "in/call-1.wav"]
    base, _, query = read_list.partition("?")
    async with session.get(f"{base}/{quote('in/call-1.wav')}?{query}") as response:
        assert response.status == 200
        assert await response.read() == local_files.content["call-1.wav"]

    read_only = container.sas_url("r")
    async with session.get(f"{read_only}&restype=container&comp=list") as response:
        assert response.status == 403


async def test_write_sas_puts_a_blob_and_a_read_list_sas_cannot(
    container: Container, session: aiohttp.ClientSession
) -> None:
    write = container.sas_url("racwl")
    check_sas_lifetime(write, needed=timedelta(hours=1), permissions="w")
    base, _, query = write.partition("?")
    headers = {"x-ms-blob-type": "BlockBlob"}

    async with session.put(f"{base}/abc/contenturl_0.json?{query}", data=b"{}", headers=headers) as response:
        assert response.status == 201
    read_base, _, read_query = container.sas_url("rl").partition("?")
    async with session.put(f"{read_base}/abc/x.json?{read_query}", data=b"{}", headers=headers) as response:
        assert response.status == 403

    assert [blob.name async for blob in container.client.list_blobs()] == ["abc/contenturl_0.json"]


async def test_a_sas_that_expires_before_the_job_can_run_is_refused(container: Container) -> None:
    short = container.sas_url("rl", expires_in=timedelta(minutes=10))

    with pytest.raises(InvalidOptionsError, match="sooner than the 1:00:00 needed") as caught:
        check_sas_lifetime(short, needed=timedelta(hours=1))
    assert sig_of(short) not in str(caught.value)
    info = check_sas_lifetime(short, needed=timedelta(minutes=5))
    assert info.permissions == "rl"
    assert info.resource == "c"
    assert timedelta(minutes=9) < info.expiry - datetime.now(timezone.utc) <= timedelta(minutes=10)
    with pytest.raises(InvalidOptionsError, match="without 'w'"):
        check_sas_lifetime(short, needed=timedelta(0), permissions="w")


async def test_download_blobs_yields_each_blob_and_streams_to_a_directory(
    container: Container, local_files: LocalFiles, tmp_path: Path
) -> None:
    await upload_files(container.client, [local_files.small, local_files.accented], prefix="results/")
    await upload_files(container.client, [local_files.big])
    read_list = container.sas_url("rl")

    got = {name: data async for name, data in download_blobs(read_list, prefix="results/")}
    assert got == {
        "results/call-1.wav": local_files.content["call-1.wav"],
        "results/Réunion fictive.wav": local_files.content["Réunion fictive.wav"],
    }

    out = tmp_path / "out"
    written = await download_blobs_to(read_list, out)
    assert sorted(path.relative_to(out).as_posix() for path in written) == [
        "long-call.wav",
        "results/Réunion fictive.wav",
        "results/call-1.wav",
    ]
    assert (await anyio.Path(out / "long-call.wav").read_bytes()) == local_files.content["long-call.wav"]


async def test_leaving_the_download_loop_early_closes_the_client(container: Container, local_files: LocalFiles) -> None:
    await upload_files(container.client, [local_files.small, local_files.accented])

    async with contextlib.aclosing(download_blobs(container.sas_url("rl"))) as blobs:
        async for name, _ in blobs:
            assert name == "Réunion fictive.wav"  # listings come in code-point order
            break
    # The no_leaks gate fails this test if the client's connections were left open.


async def test_a_wrong_sas_fails_every_file_without_stopping(container: Container, local_files: LocalFiles) -> None:
    sas = container.sas_url("rl")  # no write permission

    report = await upload_files(sas, [local_files.small, local_files.accented])

    assert report.uploaded == ()
    assert [failed.name for failed in report.failed] == ["call-1.wav", "Réunion fictive.wav"]
    assert all(getattr(failed.error, "status_code", None) == 403 for failed in report.failed)
    assert sig_of(sas) not in repr(report)


async def test_a_cancelled_upload_closes_its_file_and_its_client(container: Container, local_files: LocalFiles) -> None:
    # 20 MiB takes several requests: cancelled well before the commit, so no blob appears.
    with anyio.move_on_after(0.02) as scope:
        await upload_files(container.sas_url("cw"), [local_files.big])
    assert scope.cancelled_caught
    assert [blob.name async for blob in container.client.list_blobs()] == []
    # The no_leaks gate fails this test if the file or a connection was left open.


# --- no Azurite needed: local refusals ------------------------------------------------------------

NOW = datetime(2026, 12, 2, 1, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("query", "needed", "message"),
    [
        ("sp=rl&se=2026-12-02T01:30:00Z", timedelta(0), "no SAS"),
        ("sp=rl&si=policy&sig=abc", timedelta(0), "no 'se' expiry"),
        ("sp=rl&se=tomorrow&sig=abc", timedelta(0), "not an ISO 8601"),
        ("sp=rl&se=2026-12-02T01:30:00Z&sig=abc", timedelta(hours=1), "sooner than"),
        ("sp=rl&se=2026-12-02&sig=abc", timedelta(hours=1), "sooner than"),
    ],
    ids=["no-sig", "policy-only", "bad-time", "too-short", "date-only"],
)
def test_check_sas_lifetime_refusals(query: str, needed: timedelta, message: str) -> None:
    with pytest.raises(InvalidOptionsError, match=message) as caught:
        check_sas_lifetime(f"https://acct.blob.core.windows.net/audio?{query}", needed=needed, now=NOW)
    assert "sig=" not in str(caught.value)


def test_check_sas_lifetime_reads_the_window() -> None:
    url = "https://a.blob.core.windows.net/c?st=2026-12-02T00:00:00Z&se=2026-12-03T00:00:00.1234567Z&sp=rl&sr=c&sig=x"

    info = check_sas_lifetime(url, needed=timedelta(hours=23), permissions="lr", now=NOW)

    assert info.start == datetime(2026, 12, 2, tzinfo=timezone.utc)
    assert info.expiry == datetime(2026, 12, 3, tzinfo=timezone.utc)
    assert (info.permissions, info.resource) == ("rl", "c")


@pytest.mark.parametrize(
    ("container_name", "kwargs", "message"),
    [
        ("Audio", {"expires_in": timedelta(hours=1)}, "not a valid container name"),
        ("audio", {"expires_in": timedelta(hours=1), "permissions": "rz"}, "permissions must be"),
        ("audio", {}, "exactly one of"),
        ("audio", {"expires_in": timedelta(hours=1), "expiry": NOW}, "exactly one of"),
        ("audio", {"expires_in": timedelta(0)}, "must be positive"),
        ("audio", {"expiry": datetime(2027, 1, 1)}, "timezone-aware"),
        ("audio", {"expiry": NOW, "start": NOW}, "before expiry"),
    ],
    ids=["upper-case", "unknown-letter", "no-expiry", "both", "zero", "naive", "start-after"],
)
def test_container_sas_url_refusals(container_name: str, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidOptionsError, match=message):
        container_sas_url("acct", "a2V5", container_name, **kwargs)  # type: ignore[arg-type]


def test_container_sas_url_default_host_and_fields() -> None:
    url = container_sas_url("acct", "a2V5", "audio-in", expiry=datetime(2027, 1, 1, tzinfo=timezone.utc))

    assert url.startswith("https://acct.blob.core.windows.net/audio-in?")
    query = parse_qs(urlsplit(url).query)
    assert (query["sp"], query["sr"], query["se"]) == (["rl"], ["c"], ["2027-01-01T00:00:00Z"])
    assert "st" not in query


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"concurrency": 0}, InvalidOptionsError),
        ({"block_size": 0}, InvalidOptionsError),
        ({"concurrency": 1.5}, TypeError),
    ],
    ids=["no-concurrency", "no-block", "float"],
)
async def test_upload_options_are_checked_before_anything_is_sent(
    kwargs: dict[str, object], error: type[Exception]
) -> None:
    with pytest.raises(error):
        # Port 9 on loopback: nothing is listening, so getting past the checks would fail differently.
        await upload_files("http://127.0.0.1:9/devstoreaccount1/c", [], **kwargs)  # type: ignore[arg-type]


async def test_duplicate_blob_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidOptionsError, match="same blob name"):
        await upload_files("http://127.0.0.1:9/devstoreaccount1/c", [tmp_path / "a" / "x.wav", tmp_path / "x.wav"])


def test_without_node_the_azurite_fixture_fails_and_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(pytest.fail.Exception, match=r"install Node\.js 20"), run_azurite(tmp_path / "log"):
        pass
