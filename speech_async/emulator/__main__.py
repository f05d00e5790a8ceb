"""``python -m speech_async.emulator``."""

from ._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
