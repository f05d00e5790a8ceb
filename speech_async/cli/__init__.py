"""The ``speech-async`` command: ``speech-async COMMAND [ARGS...]``, one module per command.

``speech-async emulator ...`` runs the local service emulator; ``speech-async demo`` transcribes the
bundled samples through it; ``speech-async --version`` prints the version. Everything after the
command's name reaches the command verbatim, so ``speech-async emulator --help`` is the emulator's
own help. The command works without the optional ``cli`` extra.

Adding a command (``transcribe``, say) takes one module and one line:

1. ``speech_async/cli/transcribe.py`` defines ``COMMAND = Command(name=..., help=..., run=...)``
   (:class:`~speech_async.cli._command.Command`): the name after ``speech-async``, one line of help,
   and ``run(argv) -> exit status``, which parses its own arguments. The module imports only the
   standard library and ``._command`` at the top, and what the command needs inside ``run``: every
   module is imported to build ``--help``, so ``speech-async --version`` stays fast.
2. Its module name goes into ``_COMMAND_MODULES`` below, in the order ``--help`` lists commands.
   ``tests/client/test_cli.py`` fails for a command module that is not listed.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from .._version import __version__
from ._command import Command

__all__ = ("main",)

# The registry: one line per command, naming its module in this package, in the order --help lists them.
_COMMAND_MODULES: Final = (
    "transcribe",
    "recognize",
    "batch",
    "bench",
    "emulator",
    "demo",
)

# A sub-parser with no prefix characters a real argv can hold (NUL cannot appear in one) sees every
# argument, --help included, as a plain string, so the command gets them all verbatim.
_NO_OPTIONS: Final = "\0"
_INTERRUPTED: Final = 130


def _commands() -> tuple[Command, ...]:
    commands: list[Command] = []
    for module_name in _COMMAND_MODULES:
        command: object = getattr(importlib.import_module(f"{__name__}.{module_name}"), "COMMAND", None)
        if not isinstance(command, Command):
            raise TypeError(f"{__name__}.{module_name} must define COMMAND = Command(...)")
        commands.append(command)
    return tuple(commands)


def _parser(commands: Sequence[Command]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="speech-async",
        description="The command line of speech_async, the asyncio client for Azure AI Speech speech-to-text.",
        epilog="Each command has its own options: speech-async COMMAND --help.",
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"speech-async {__version__}")
    subparsers = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND")
    for command in commands:
        subparser = subparsers.add_parser(command.name, help=command.help, add_help=False, prefix_chars=_NO_OPTIONS)
        subparser.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line (``sys.argv[1:]`` by default); returns the exit status."""
    commands = _commands()
    parser = _parser(commands)
    try:
        parsed = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    except SystemExit as exit_:
        # --help, --version and usage errors end in argparse's exit (0 or 2): returned, like every outcome.
        return exit_.code if isinstance(exit_.code, int) else 2
    if parsed.command is None:
        parser.print_help()
        return 2
    by_name = {command.name: command for command in commands}
    rest: list[str] = parsed.args
    status = by_name[parsed.command].run(rest)
    if status == _INTERRUPTED and _is_process_main():
        # Ctrl-C: the command has cleaned up and said so; worker threads left in blocking calls must not
        # hold the process at exit, and a second Ctrl-C must not find Python's default handler back.
        from ._config import exit_interrupted

        exit_interrupted(status)
    return status


def _is_process_main() -> bool:
    # The command itself (``speech-async``, ``python -m speech_async``), not main() called by a program.
    main_module = sys.modules.get("__main__")
    spec = getattr(main_module, "__spec__", None)
    name = getattr(spec, "name", None)
    if name in ("speech_async.__main__", "speech_async.cli.__main__"):
        return True
    # The console script: a generated wrapper whose argv[0] is the command.
    return Path(sys.argv[0]).name in ("speech-async", "speech-async.exe")
