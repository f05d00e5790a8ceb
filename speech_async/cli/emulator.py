"""``speech-async emulator``: run the local speech service emulator until stopped."""

from __future__ import annotations

from collections.abc import Sequence

from ._command import Command

__all__ = ("COMMAND",)


def _run(argv: Sequence[str]) -> int:
    # Imported on use: the emulator brings aiohttp and the recognizers, which the other commands don't need.
    from speech_async.emulator import main

    return main(argv)


COMMAND = Command(
    name="emulator",
    help="run the local speech service emulator",
    run=_run,
)
