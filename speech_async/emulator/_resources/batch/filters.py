"""The ``filter`` query parameter of the list operations: the documented OData-like subset.

Digest §2 / addendum §3.4: ``eq`` and ``ne`` on every supported property, ``gt ge lt le`` on the
date-times, ``and``, ``or``, ``not`` and parentheses; string literals in single quotes (``''`` is a
quote), date-times bare (``createdDateTime ge 2018-01-24T09:54:39Z``). Anything else is
``UnsupportedFilter``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Final

from .errors import unsupported_filter

__all__ = ("Predicate", "parse_filter")

# An entity's filterable values: a string, or epoch seconds for the date-times.
Predicate = Callable[[Mapping[str, "str | float"]], bool]

_TOKEN: Final = re.compile(r"\s*(?:(\()|(\))|'((?:[^']|'')*)'|([^\s()']+))")
_COMPARISONS: Final = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})


def _datetime(text: str) -> float | None:
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.timestamp()


class _Parser:
    def __init__(self, text: str, strings: frozenset[str], dates: frozenset[str]) -> None:
        self._strings = strings
        self._dates = dates
        self._tokens: list[tuple[str, str]] = []
        position = 0
        text = text.rstrip()
        while position < len(text):
            match = _TOKEN.match(text, position)
            if match is None or match.end() == position:
                raise unsupported_filter(f"The filter cannot be parsed near position {position}.")
            position = match.end()
            if match.group(1):
                self._tokens.append(("(", "("))
            elif match.group(2):
                self._tokens.append((")", ")"))
            elif match.group(3) is not None:
                self._tokens.append(("string", match.group(3).replace("''", "'")))
            else:
                self._tokens.append(("word", match.group(4)))
        self._index = 0

    def _peek(self) -> tuple[str, str] | None:
        return self._tokens[self._index] if self._index < len(self._tokens) else None

    def _next(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise unsupported_filter("The filter ends too early.")
        self._index += 1
        return token

    def _keyword(self, word: str) -> bool:
        token = self._peek()
        if token is not None and token[0] == "word" and token[1].lower() == word:
            self._index += 1
            return True
        return False

    def parse(self) -> Predicate:
        predicate = self._or()
        if self._peek() is not None:
            raise unsupported_filter(f"Unexpected '{self._next()[1]}' in the filter.")
        return predicate

    def _or(self) -> Predicate:
        left = self._and()
        while self._keyword("or"):
            right = self._and()
            left = _either(left, right)
        return left

    def _and(self) -> Predicate:
        left = self._not()
        while self._keyword("and"):
            right = self._not()
            left = _both(left, right)
        return left

    def _not(self) -> Predicate:
        if self._keyword("not"):
            inner = self._not()
            return lambda values: not inner(values)
        token = self._peek()
        if token is not None and token[0] == "(":
            self._index += 1
            inner = self._or()
            if self._next()[0] != ")":
                raise unsupported_filter("A parenthesis is not closed in the filter.")
            return inner
        return self._comparison()

    def _comparison(self) -> Predicate:
        kind, name = self._next()
        if kind != "word" or (name not in self._strings and name not in self._dates):
            raise unsupported_filter(f"Filtering on '{name}' is not supported.")
        kind, operator = self._next()
        operator = operator.lower()
        if kind != "word" or operator not in _COMPARISONS:
            raise unsupported_filter(f"The operator '{operator}' is not supported.")
        kind, literal = self._next()
        if name in self._dates:
            when = _datetime(literal) if kind in ("word", "string") else None
            if when is None:
                raise unsupported_filter(f"'{literal}' is not a date-time.")
            return _compare(name, operator, when)
        if operator not in ("eq", "ne"):
            raise unsupported_filter(f"The operator '{operator}' is not supported on '{name}'.")
        if kind != "string":
            raise unsupported_filter(f"'{name}' is compared with a quoted string, not {literal!r}.")
        return _compare(name, operator, literal)


def _either(first: Predicate, second: Predicate) -> Predicate:
    return lambda values: first(values) or second(values)


def _both(first: Predicate, second: Predicate) -> Predicate:
    return lambda values: first(values) and second(values)


def _compare(name: str, operator: str, literal: str | float) -> Predicate:
    def check(values: Mapping[str, str | float]) -> bool:
        value = values.get(name)
        if value is None:
            return operator == "ne"
        if isinstance(literal, str) or isinstance(value, str):
            # unverified: string comparisons are exact (case-sensitive).
            return (value == literal) == (operator == "eq")
        return {
            "eq": value == literal,
            "ne": value != literal,
            "gt": value > literal,
            "ge": value >= literal,
            "lt": value < literal,
            "le": value <= literal,
        }[operator]

    return check


def parse_filter(text: str | None, *, strings: frozenset[str], dates: frozenset[str]) -> Predicate | None:
    """The predicate of ``text`` (``None`` when there is no filter); raises ``UnsupportedFilter``."""
    if text is None or not text.strip():
        return None
    return _Parser(text, strings, dates).parse()
