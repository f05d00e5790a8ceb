"""The wheel and the sdist, built from this tree, and what they hold.

Built once per module with ``python -m build --no-isolation`` (hatchling and build come with the
``dev`` extra), so it needs no network.
"""

from __future__ import annotations

import email.parser
import hashlib
import subprocess
import sys
import tarfile
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

import pytest

pytest.importorskip("build", reason="building needs the dev extra")
pytest.importorskip("hatchling", reason="building needs the dev extra")

ROOT = Path(__file__).resolve().parent.parent
PYTHONS = ("3.10", "3.11", "3.12", "3.13")


@dataclass(frozen=True)
class Archive:
    """An archive's files (path -> bytes) and its core metadata."""

    files: dict[str, bytes]
    metadata: Message


@dataclass(frozen=True)
class Dists:
    wheel: Archive
    sdist: Archive


def read_wheel(path: Path) -> Archive:
    with zipfile.ZipFile(path) as wheel:
        files = {name: wheel.read(name) for name in wheel.namelist() if not name.endswith("/")}
    [metadata] = [name for name in files if name.endswith(".dist-info/METADATA")]
    return Archive(files, email.parser.BytesParser().parsebytes(files[metadata]))


def read_sdist(path: Path) -> Archive:
    files: dict[str, bytes] = {}
    with tarfile.open(path) as sdist:
        for member in sdist.getmembers():
            extracted = sdist.extractfile(member) if member.isfile() else None
            if extracted is not None:
                # Without the top directory (speech_async-VERSION/).
                files[member.name.split("/", 1)[1]] = extracted.read()
    return Archive(files, email.parser.BytesParser().parsebytes(files["PKG-INFO"]))


@pytest.fixture(scope="module")
def dists(tmp_path_factory: pytest.TempPathFactory) -> Dists:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--sdist", "--wheel", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    [wheel] = out.glob("*.whl")
    [sdist] = out.glob("*.tar.gz")
    return Dists(wheel=read_wheel(wheel), sdist=read_sdist(sdist))


def duplicates(files: dict[str, bytes]) -> list[list[str]]:
    """Groups of files with identical content (check-wheel-contents W002); empty files do not count."""
    by_digest: dict[str, list[str]] = defaultdict(list)
    for name, content in files.items():
        if content.strip():
            by_digest[hashlib.sha256(content).hexdigest()].append(name)
    return sorted(sorted(names) for names in by_digest.values() if len(names) > 1)


def test_duplicate_check_finds_identical_files() -> None:
    files = {"a/__main__.py": b"main()\n", "b/__main__.py": b"main()\n", "a/__init__.py": b"", "b/__init__.py": b""}
    assert duplicates(files) == [["a/__main__.py", "b/__main__.py"]]


def test_wheel_has_the_license_and_py_typed(dists: Dists) -> None:
    files = dists.wheel.files
    [license_file] = [name for name in files if name.endswith(".dist-info/licenses/LICENSE")]
    assert files[license_file] == (ROOT / "LICENSE").read_bytes()
    assert b"MIT License" in files[license_file]
    assert "speech_async/py.typed" in files
    assert "speech_async/emulator/pytest_plugin.py" in files


def test_wheel_has_no_duplicate_files(dists: Dists) -> None:
    assert duplicates(dists.wheel.files) == []


def test_sdist_has_the_license_and_the_docs(dists: Dists) -> None:
    files = dists.sdist.files
    assert files["LICENSE"] == (ROOT / "LICENSE").read_bytes()
    docs = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "docs").rglob("*") if path.is_file())
    assert docs
    assert sorted(name for name in files if name.startswith("docs/")) == docs
    assert "speech_async/py.typed" in files
    assert "tests/test_packaging.py" in files


@pytest.mark.parametrize("kind", ["wheel", "sdist"])
def test_metadata_has_license_and_python_classifiers(dists: Dists, kind: str) -> None:
    metadata: Message = getattr(dists, kind).metadata
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]
    classifiers = metadata.get_all("Classifier") or []
    for version in PYTHONS:
        assert f"Programming Language :: Python :: {version}" in classifiers
    assert metadata["Requires-Python"] == ">=3.10"
