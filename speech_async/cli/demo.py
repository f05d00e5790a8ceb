"""``speech-async demo``: transcribe the bundled samples through an embedded emulator."""

from __future__ import annotations

from collections.abc import Sequence

from ._command import Command

__all__ = ("COMMAND",)


def _run(argv: Sequence[str]) -> int:
    # Imported on use: the demo brings the client and the emulator, which the other commands don't need.
    from speech_async.demo import main

    return main(argv)


COMMAND = Command(
    name="demo",
    help="transcribe the bundled samples through an embedded emulator",
    run=_run,
)
