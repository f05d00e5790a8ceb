"""The ``speech-async`` command: sub-commands, ``--version``, usage errors, and what it imports.

Each test runs the real command in a subprocess, as ``python -m speech_async ...``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import speech_async
import speech_async.cli
from speech_async.cli import _COMMAND_MODULES, _commands

ROOT = Path(__file__).resolve().parents[2]
# Wide enough that argparse never wraps a command's line of help.
ENV = {**os.environ, "COLUMNS": "200"}
COMMANDS = _commands()

# Runs the CLI with rich unimportable, the way it is without the ``cli`` extra.
WITHOUT_RICH = """
import sys

class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "rich":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Blocker())
from speech_async.cli import main
sys.exit(main(sys.argv[1:]))
"""


def run(*argv: str, module: str = "speech_async") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
        env=ENV,
    )


@pytest.mark.parametrize("module", ["speech_async", "speech_async.cli"])
def test_version_prints_the_package_version(module: str) -> None:
    result = run("--version", module=module)
    assert (result.returncode, result.stdout, result.stderr) == (0, f"speech-async {speech_async.__version__}\n", "")


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_help_lists_every_registered_command(flag: str) -> None:
    result = run(flag)
    assert result.returncode == 0
    assert result.stderr == ""
    assert result.stdout.startswith("usage: speech-async ")
    assert "--version" in result.stdout
    for command in COMMANDS:
        assert re.search(rf"^\s+{re.escape(command.name)}\s+{re.escape(command.help)}$", result.stdout, re.M), command


def test_no_command_prints_the_help_and_fails() -> None:
    result = run()
    assert result.returncode == 2
    assert result.stdout == run("--help").stdout


def test_unknown_command_is_a_usage_error_on_stderr() -> None:
    result = run("transcribbe", "x.wav")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("usage: speech-async ")
    assert "error: argument COMMAND: invalid choice: 'transcribbe'" in result.stderr
    for command in COMMANDS:
        assert repr(command.name) in result.stderr


def test_emulator_help_is_the_emulators_own() -> None:
    result = run("emulator", "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: speech-async emulator ")
    assert "--recognizer" in result.stdout
    assert result.stdout == run("--help", module="speech_async.emulator").stdout


def test_emulator_arguments_reach_its_parser_verbatim() -> None:
    result = run("emulator", "--port", "--", "-h")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "speech-async emulator: error: argument --port: expected one argument" in result.stderr


def test_demo_help_is_the_demos_own() -> None:
    result = run("demo", "--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: speech-async demo ")
    assert "--live" in result.stdout


def test_every_command_module_is_registered() -> None:
    # A command module left out of the registry would silently be no command at all.
    modules = {
        path.stem for path in Path(speech_async.cli.__file__).parent.glob("*.py") if not path.stem.startswith("_")
    }
    assert modules == set(_COMMAND_MODULES)
    assert len({command.name for command in COMMANDS}) == len(COMMANDS)


@pytest.mark.parametrize("argv", [["--version"], ["--help"]], ids=" ".join)
def test_works_without_rich(argv: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_RICH, *argv], capture_output=True, text=True, timeout=60, check=False, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("speech-async " if argv == ["--version"] else "usage: speech-async ")


def _importtime(*argv: str) -> list[tuple[int, str]]:
    """``python -X importtime -m speech_async ARGV``: (nesting depth, module), in the order imports finish."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "speech_async", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    lines = [line.rpartition("|")[2] for line in result.stderr.splitlines()[1:] if line.startswith("import time:")]
    return [((len(line) - len(line.lstrip())) // 2, line.strip()) for line in lines]


def _imported(*argv: str) -> set[str]:
    return {name for _, name in _importtime(*argv)}


@pytest.mark.parametrize("argv", [["--version"], ["--help"]], ids=" ".join)
def test_the_cli_imports_no_command_until_one_runs(argv: list[str]) -> None:
    # Beyond the package itself, only the CLI's own modules and the standard library load.
    package = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import speech_async"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=ROOT,
    )
    baseline = {line.rpartition("|")[2].strip() for line in package.stderr.splitlines()}
    extra = {
        name
        for name in _imported(*argv) - baseline
        if name not in ("speech_async.cli", "speech_async.__main__")
        and not name.startswith("speech_async.cli.")
        and name.partition(".")[0] not in sys.stdlib_module_names
    }
    assert extra == set()


@pytest.mark.parametrize("command", ["transcribe", "recognize", "batch"])
def test_service_commands_without_rich_say_what_to_install_in_one_line(command: str) -> None:
    argv = {"transcribe": ["transcribe"], "recognize": ["recognize"], "batch": ["batch", "status"]}[command]
    hello = str(ROOT / "speech_async" / "demo" / "samples" / "hello.wav")
    args = [*argv, "00000000-0000-0000-0000-000000000000" if command == "batch" else hello, "--emulator"]
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_RICH, *args], capture_output=True, text=True, timeout=60, check=False, cwd=ROOT
    )
    assert (result.returncode, result.stdout) == (1, "")
    prog = f"speech-async {command}"
    assert result.stderr == f"{prog}: error: this command needs rich: pip install 'speech-async[cli]'\n"


@pytest.mark.parametrize("command", ["transcribe", "recognize", "batch"])
def test_service_commands_help_works_without_rich(command: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_RICH, command, "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: speech-async {command} ")
