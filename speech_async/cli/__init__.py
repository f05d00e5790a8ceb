"""The ``speech-async`` command.

``speech-async emulator ...`` runs the local service emulator; ``speech-async demo`` transcribes the
bundled samples through it. Both work without the optional ``cli`` extra.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]

_USAGE = """usage: speech-async COMMAND [ARGS]

commands:
  emulator   run the local speech service emulator (speech-async emulator --help)
  demo       transcribe the bundled samples through an embedded emulator
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(_USAGE, end="")
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "emulator":
        from speech_async.emulator import main as emulator_main

        return emulator_main(rest)
    if command == "demo":
        from speech_async.demo import main as demo_main

        return demo_main(rest)
    print(f"speech-async: unknown command {command!r}\n\n{_USAGE}", end="", file=sys.stderr)
    return 2
