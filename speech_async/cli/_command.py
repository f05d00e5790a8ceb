"""What a ``speech-async`` sub-command declares: see :mod:`speech_async.cli` for how to add one."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ("Command",)


@dataclass(frozen=True)
class Command:
    """One sub-command: ``speech-async NAME ARGS...`` calls ``run(ARGS)`` and exits with what it returns."""

    name: str
    """The word after ``speech-async``."""
    help: str
    """One line for ``speech-async --help``."""
    run: Callable[[Sequence[str]], int]
    """Runs the command with the arguments after its name, verbatim; returns the exit status."""
