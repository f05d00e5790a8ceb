"""Options given as mappings: ``transcribe(audio, options={"locales": ["en-US"]})``.

Keys are the Python field names (``profanity_filter_mode``) or the wire names (``profanityFilterMode``),
at every level; a mapping given for a nested struct (``{"diarization": {"max_speakers": 3}}``) becomes
that struct. Unknown keys and values of the wrong type raise :class:`InvalidOptionsError`, naming the
key (and the nearest valid one). Values are converted by msgspec, strictly (no ``"3"`` for ``3``).

This runs once per call, and only for a mapping; a ``TranscriptionOptions`` goes through untouched.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping
from typing import Final, TypeVar

import msgspec

from ._exceptions import InvalidOptionsError
from ._models._fast import TranscriptionOptions
from ._models._short_audio import PronunciationAssessment

__all__ = ["as_transcription_options", "struct_from_mapping"]

S = TypeVar("S", bound=msgspec.Struct)

_EXTRA_HINT: Final = "; a field the client does not know yet goes in extra_definition"


def as_transcription_options(options: TranscriptionOptions | Mapping[str, object]) -> TranscriptionOptions:
    """``options`` itself, or the :class:`TranscriptionOptions` a mapping describes."""
    if isinstance(options, TranscriptionOptions):
        return options
    if isinstance(options, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance]
        return struct_from_mapping(TranscriptionOptions, options, unknown_hint=_EXTRA_HINT)
    raise TypeError(f"options must be TranscriptionOptions or a mapping, not {type(options).__name__}")


def struct_from_mapping(cls: type[S], mapping: Mapping[str, object], *, unknown_hint: str = "") -> S:
    """The ``cls`` a mapping describes (keys in Python or wire spelling), or an :class:`InvalidOptionsError`.

    ``cls`` must be one of the structs learned at import (below): ``TranscriptionOptions`` and the
    structs in it, or ``PronunciationAssessment``.
    """
    return _build(cls, mapping, "", unknown_hint)


class _Fields:
    """The fields of one struct, by Python name and by wire name."""

    __slots__ = ("by_key", "python_names", "required", "wire_names")

    def __init__(self, cls: type[msgspec.Struct]) -> None:
        fields = msgspec.structs.fields(cls)
        self.by_key: dict[str, msgspec.structs.FieldInfo] = {}
        for field in fields:
            self.by_key[field.name] = field
            self.by_key[field.encode_name] = field
        self.python_names = [field.name for field in fields]
        self.wire_names = [field.encode_name for field in fields if field.encode_name != field.name]
        self.required = [field.name for field in fields if field.required]


_FIELDS: Final[dict[type[msgspec.Struct], _Fields]] = {}


def _fields(cls: type[msgspec.Struct]) -> _Fields:
    fields = _FIELDS.get(cls)
    if fields is None:
        fields = _FIELDS[cls] = _Fields(cls)
    return fields


def _learn(cls: type[msgspec.Struct]) -> None:
    # The field types are resolved now, at import: the package later names its classes' module
    # "speech_async" (see speech_async/__init__.py), whose namespace cannot resolve their annotations.
    for field in _fields(cls).by_key.values():
        for member in _members(field.type):
            if isinstance(member, type) and issubclass(member, msgspec.Struct) and member not in _FIELDS:
                _learn(member)


def _build(cls: type[S], mapping: Mapping[str, object], path: str, unknown_hint: str) -> S:
    fields = _fields(cls)
    values: dict[str, object] = {}
    spelled: dict[str, str] = {}
    for key, value in mapping.items():
        if not isinstance(key, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise InvalidOptionsError(f"option keys are field names (strings), not {key!r}")
        field = fields.by_key.get(key)
        if field is None:
            raise _unknown(key, path, fields, unknown_hint)
        name = field.name
        if name in values:
            raise InvalidOptionsError(f"option {path + name!r} is given twice, as {spelled[name]!r} and {key!r}")
        spelled[name] = key
        values[name] = _value(field.type, value, path + name, unknown_hint)
    try:
        return cls(**values)
    except TypeError as err:  # a required field is missing
        missing = [name for name in fields.required if name not in values]
        if not missing:
            raise
        where = f"option {path[:-1]!r}" if path else f"{cls.__name__}"
        raise InvalidOptionsError(f"{where} needs {', '.join(repr(path + name) for name in missing)}") from err


def _value(annotation: object, value: object, path: str, unknown_hint: str) -> object:
    if isinstance(value, Mapping):
        struct = _struct_in(annotation)
        if struct is not None:
            return _build(struct, typing.cast("Mapping[str, object]", value), path + ".", "")
    if isinstance(value, str) and _takes_list_not_str(annotation):
        raise InvalidOptionsError(f"option {path!r} must be a list, such as [{value!r}], not a string")
    try:
        return msgspec.convert(value, annotation, strict=True)
    except msgspec.ValidationError as err:
        # msgspec's path inside the value (a list item: "- at `$[1]`") is made the option's own.
        message = str(err).replace("`$", f"`{path}")
        raise InvalidOptionsError(f"option {path!r}: {message}") from err


def _members(annotation: object) -> tuple[object, ...]:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return typing.get_args(annotation)
    return (annotation,)


def _struct_in(annotation: object) -> type[msgspec.Struct] | None:
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, msgspec.Struct):
            return member
    return None


def _takes_list_not_str(annotation: object) -> bool:
    members = _members(annotation)
    return str not in members and any(typing.get_origin(member) is list for member in members)


def _unknown(key: str, path: str, fields: _Fields, hint: str) -> InvalidOptionsError:
    close = difflib.get_close_matches(key, [*fields.python_names, *fields.wire_names], n=1)
    suggestion = f"; did you mean {path + close[0]!r}?" if close else ""
    valid = ", ".join(fields.python_names)
    return InvalidOptionsError(f"unknown option {path + key!r}{suggestion} (valid here: {valid}){hint}")


# Every struct a mapping may describe is learned here (see _learn).
_learn(TranscriptionOptions)
_learn(PronunciationAssessment)
