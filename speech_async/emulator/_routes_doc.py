"""``python -m speech_async.emulator._routes_doc [--write | --check]``: the routes document from the registry.

A module of its own, so that running it does not import the module it reads twice.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ._routes import ROUTES_DOC, routes_markdown

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ("main",)


def main(argv: Sequence[str] | None = None) -> int:
    """Print ``docs/emulator-routes.md`` (``--write`` writes it; ``--check`` exits 1 when it is stale)."""
    parser = argparse.ArgumentParser(prog="python -m speech_async.emulator._routes_doc")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--write", action="store_true", help=f"write it to {ROUTES_DOC}")
    action.add_argument("--check", action="store_true", help=f"exit 1 when {ROUTES_DOC} is not current")
    args = parser.parse_args(argv)
    text = routes_markdown()
    if args.write:
        ROUTES_DOC.write_text(text, encoding="utf-8")
    elif args.check:
        current = ROUTES_DOC.read_text(encoding="utf-8") if ROUTES_DOC.exists() else ""
        if current != text:
            print(f"{ROUTES_DOC} is stale: regenerate it with --write", file=sys.stderr)
            return 1
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
