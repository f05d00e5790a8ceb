"""A wall clock that moves only when a test says so, for the client's token cache and the emulator's time."""

from __future__ import annotations

__all__ = ("START", "FakeClock")

START = 1_700_000_000.0
"""Epoch seconds the fake clocks start at unless told (2023-11-14)."""


class FakeClock:
    """Epoch seconds as a callable: ``clock()`` reads ``now``, and counts how often it was read."""

    def __init__(self, now: float = START) -> None:
        self.now = now
        self.calls = 0

    def __call__(self) -> float:
        self.calls += 1
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
