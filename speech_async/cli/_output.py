"""Output of the service commands: result formats, the stderr console, one-line errors."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ("FORMATS", "describe", "parse_formats", "render", "stderr_console")

FORMATS: Final = ("json", "txt", "srt", "vtt")
"""Output formats: the service's JSON, the plain transcript, SubRip and WebVTT captions."""


def parse_formats(text: str) -> tuple[str, ...]:
    """``"json,srt"`` -> ``("json", "srt")``; raises ``ValueError`` naming the unknown ones."""
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in FORMATS]
    if unknown or not names:
        shown = ", ".join(map(repr, unknown)) or repr(text)
        raise ValueError(f"unknown format {shown}: choose from {', '.join(FORMATS)}")
    return tuple(dict.fromkeys(names))


def render(result: Any, fmt: str) -> bytes:
    """``result`` (a fast, batch or short-audio result) in ``fmt``, as the bytes a file of it holds."""
    if fmt == "json":
        import msgspec

        return msgspec.json.encode(result) + b"\n"
    from speech_async import captions

    if fmt == "txt":
        return captions.to_text(result).encode()
    if fmt == "srt":
        return captions.to_srt(result).encode()
    if fmt == "vtt":
        return captions.to_webvtt(result).encode()
    raise ValueError(f"unknown format {fmt!r}")


def describe(error: BaseException) -> str:
    """One line for a failure: the error's type and message (messages never hold keys)."""
    message = " ".join(str(error).split())
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def stderr_console(*, quiet: bool = False) -> Console:
    """A rich console on stderr (plain text when stderr is not a terminal)."""
    from rich.console import Console

    return Console(file=sys.stderr, quiet=quiet, highlight=False, soft_wrap=True)


def hms(seconds: float) -> str:
    """``3725.4`` -> ``"1:02:05"``."""
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def plural(count: int, word: str, words: Sequence[str] | None = None) -> str:
    """``plural(2, "file")`` -> ``"2 files"``."""
    return f"{count} {word if count == 1 else (words[0] if words else word + 's')}"
