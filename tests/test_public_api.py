"""The public surface: one import path, sorted and complete ``__all__``, typed package."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

import speech_async
import speech_async.bulk
import speech_async.captions
import speech_async.emulator
import speech_async.webhooks

PUBLIC_MODULES = [speech_async, speech_async.bulk, speech_async.captions, speech_async.emulator, speech_async.webhooks]


@pytest.mark.parametrize("module", PUBLIC_MODULES, ids=lambda m: m.__name__)
def test_all_is_sorted_and_complete(module: object) -> None:
    exported = list(module.__all__)  # type: ignore[attr-defined]
    assert exported == sorted(exported)
    names = vars(module).items()
    if Path(module.__file__).name == "__init__.py":  # type: ignore[attr-defined]
        # A facade that re-exports its private modules: every public name it holds is exported.
        public = {name for name, value in names if not name.startswith("_") and not inspect.ismodule(value)} - {
            "annotations"
        }
    else:
        # A module that defines its API itself: every public class and function it defines is exported.
        public = {
            name
            for name, value in names
            if not name.startswith("_")
            and (inspect.isclass(value) or inspect.isfunction(value))
            and value.__module__ == module.__name__  # type: ignore[attr-defined]
        }
    assert public <= set(exported) | {"__version__"}, public - set(exported)
    for name in exported:
        assert hasattr(module, name), name


@pytest.mark.parametrize("module", PUBLIC_MODULES, ids=lambda m: m.__name__)
def test_public_objects_belong_to_their_public_module(module: object) -> None:
    for name in module.__all__:  # type: ignore[attr-defined]
        obj = getattr(module, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__module__ == module.__name__, name  # type: ignore[attr-defined]


def test_package_is_typed() -> None:
    assert (Path(speech_async.__file__).parent / "py.typed").is_file()


def test_version_matches_the_package_metadata() -> None:
    from importlib.metadata import version

    assert speech_async.__version__ == version("speech-async")


def test_cli_entry_point_dispatches(capsys: pytest.CaptureFixture[str]) -> None:
    cli = importlib.import_module("speech_async.cli")
    assert cli.main([]) == 2
    assert cli.main(["--help"]) == 0
    assert cli.main(["nope"]) == 2
    assert "emulator" in capsys.readouterr().out
