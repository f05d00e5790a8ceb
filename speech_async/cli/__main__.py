"""``python -m speech_async.cli``: the ``speech-async`` command."""

import sys

from speech_async.cli import main


def run() -> None:
    """Run the command line with ``sys.argv`` and exit with its status."""
    sys.exit(main())


if __name__ == "__main__":
    run()
