"""What the management API's areas share (batch transcription, web hooks, custom speech next): the
list query (``filter``, ``skip``, ``top``) and the ``customProperties`` rules."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from .._exceptions import InvalidOptionsError

__all__ = [
    "MAX_CUSTOM_PROPERTIES",
    "MAX_PROPERTY_KEY",
    "MAX_PROPERTY_VALUE",
    "check_custom_properties",
    "check_text",
    "list_query",
]

MAX_CUSTOM_PROPERTIES: Final = 10
MAX_PROPERTY_KEY: Final = 64
MAX_PROPERTY_VALUE: Final = 256


def check_custom_properties(value: object, most: int) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise InvalidOptionsError(f"custom_properties must be a mapping of text to text, not {type(value).__name__}")
    pairs: dict[str, str] = {}
    for key, item in value.items():  # pyright: ignore[reportUnknownVariableType]
        if not isinstance(key, str) or not isinstance(item, str):
            raise InvalidOptionsError(f"custom_properties must map text to text; {key!r}: {item!r} does not")
        if not key or len(key) > MAX_PROPERTY_KEY:
            raise InvalidOptionsError(
                f"custom_properties key {key[:70]!r} must have 1 to {MAX_PROPERTY_KEY} characters"
            )
        if len(item) > MAX_PROPERTY_VALUE:
            raise InvalidOptionsError(
                f"custom_properties[{key!r}] has {len(item)} characters, more than {MAX_PROPERTY_VALUE}"
            )
        pairs[key] = item
    if len(pairs) > most:
        raise InvalidOptionsError(f"custom_properties has {len(pairs)} entries, more than the service's {most}")
    return pairs


def list_query(filter: str | None, skip: int | None, top: int | None) -> dict[str, str]:
    query: dict[str, str] = {}
    if filter is not None:
        if not isinstance(filter, str) or not filter.strip():  # pyright: ignore[reportUnnecessaryIsInstance]
            raise InvalidOptionsError(f"filter must be a non-empty filter expression, not {filter!r}")
        query["filter"] = filter
    for name, value in (("skip", skip), ("top", top)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < (1 if name == "top" else 0):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise InvalidOptionsError(
                f"{name} must be a whole number of at least {1 if name == 'top' else 0}, not {value!r}"
            )
        query[name] = str(value)
    return query


def check_text(value: object, name: str, *, empty: bool = False) -> str:
    """``value`` if it is text (not blank, unless ``empty``), else an :class:`InvalidOptionsError` naming ``name``."""
    if not isinstance(value, str):
        raise InvalidOptionsError(f"{name} must be text, not {type(value).__name__}")
    if not empty and not value.strip():
        raise InvalidOptionsError(f"{name} must not be empty")
    return value
