"""The one strict decoder of the admin API's JSON: unknown fields are errors, then ``msgspec.convert``.

A typo in a test's fault or transcript (``{"stauts": 429}``) must fail loudly instead of being
ignored, at every nesting level. The target is a dataclass (or a msgspec Struct); its own
``__post_init__`` checks run during the conversion.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar, cast

import msgspec
import msgspec.inspect as mi

if TYPE_CHECKING:
    from msgspec.inspect import Field

__all__ = ("decode_strict",)

_T = TypeVar("_T")


def _fields(info: mi.Type) -> tuple[str, tuple[Field, ...]] | None:
    if isinstance(info, mi.DataclassType):
        return info.cls.__name__, info.fields
    if isinstance(info, mi.StructType) and not info.forbid_unknown_fields:
        return info.cls.__name__, info.fields
    return None


def _check(value: object, info: mi.Type, where: str) -> None:
    """Raise ``ValueError`` for the first object in ``value`` with a member ``info`` does not declare."""
    if isinstance(info, (mi.UnionType, mi.Metadata)):
        for member in info.types if isinstance(info, mi.UnionType) else (info.type,):
            _check(value, member, where)
        return
    if isinstance(value, dict):
        members = cast("dict[object, object]", value)
        if isinstance(info, mi.DictType):
            for name, item in members.items():
                _check(item, info.value_type, f"{where}.{name}")
            return
        described = _fields(info)
        if described is None:
            return
        name, fields = described
        known = {field.encode_name: field for field in fields}
        unknown = sorted(str(key) for key in members if key not in known)
        if unknown:
            at = f" at {where}" if where != "$" else ""
            raise ValueError(f"unknown {name} fields{at}: {', '.join(unknown)}")
        for key, item in members.items():
            _check(item, known[cast("str", key)].type, f"{where}.{key}")
    elif isinstance(value, list) and isinstance(info, (mi.ListType, mi.VarTupleType, mi.SetType, mi.FrozenSetType)):
        for index, item in enumerate(cast("list[object]", value)):
            _check(item, info.item_type, f"{where}[{index}]")


def decode_strict(data: bytes | str | object, target: type[_T], *, what: str | None = None) -> _T:
    """``target`` from JSON text (``bytes``/``str``) or an already decoded value; ``ValueError`` if invalid.

    Every JSON object must use only the field names of its dataclass (or Struct); the error names
    the unknown ones and where they are (``$.phrases[0]``). ``what`` names a non-object value that
    should have been one (``"a fault"``).
    """
    if isinstance(data, (bytes, str)):
        try:
            value: object = msgspec.json.decode(data)
        except msgspec.DecodeError as exc:
            raise ValueError(f"not valid JSON: {exc}") from None
    else:
        value = data
    if what is not None and not isinstance(value, dict):
        raise ValueError(f"{what} must be a JSON object with {target.__name__} field names")
    _check(cast("object", value), mi.type_info(target), "$")
    try:
        return msgspec.convert(value, target)
    except msgspec.ValidationError as exc:
        raise ValueError(str(exc)) from None
