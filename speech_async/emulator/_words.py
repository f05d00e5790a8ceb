"""Word timings for a phrase that came without them: its words spread evenly over its span."""

from __future__ import annotations

from ._recognizer import RecognizedWord

__all__ = ("spread_words",)


def spread_words(text: str, offset_ms: int, duration_ms: int) -> tuple[RecognizedWord, ...]:
    """The white-space separated words of ``text``, each given an equal share of the span (integer ms)."""
    tokens = text.split()
    count = len(tokens)
    words: list[RecognizedWord] = []
    for index, token in enumerate(tokens):
        start = offset_ms + duration_ms * index // count
        end = offset_ms + duration_ms * (index + 1) // count
        words.append(RecognizedWord(text=token, offset_ms=start, duration_ms=end - start))
    return tuple(words)
