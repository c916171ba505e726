"""What a column holds, independent of the dialect, and how a property's JSON Schema picks it.

Each destination maps a kind to its SQL types (``destinations/<dialect>/types.py``;
the README's type table is tested against them). Kinds only ever widen,
``integer -> number -> string``, so a column never loses a value it holds.
"""

from __future__ import annotations

import decimal
import enum
import typing as t

from target_sequenced.core.schemas import Draft, SchemaDoc, Unsupported


class Kind(enum.Enum):
    """What a column holds."""

    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    STRING = "string"
    TIMESTAMP = "date-time"
    DATE = "date"
    JSON = "json"


_SCALAR_KINDS = {
    "integer": Kind.INTEGER,
    "number": Kind.NUMBER,
    "boolean": Kind.BOOLEAN,
    "object": Kind.JSON,
    "array": Kind.JSON,
}
STRING_FORMATS = {"date-time": Kind.TIMESTAMP, "date": Kind.DATE, "singer.decimal": Kind.NUMBER}
"""String formats that change the column: instants, dates, and decimals sent as strings."""


def widen(a: Kind, b: Kind) -> Kind:
    """Return the narrowest kind that holds every value of both kinds."""
    if a is b:
        return a
    if {a, b} == {Kind.INTEGER, Kind.NUMBER}:
        return Kind.NUMBER
    return Kind.STRING


def _fold(kinds: t.Iterable[Kind]) -> Kind | None:
    result: Kind | None = None
    for kind in kinds:
        result = kind if result is None else widen(result, kind)
    return result


def _kind_of_value(value: object) -> Kind | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return Kind.BOOLEAN
    if isinstance(value, int):
        return Kind.INTEGER
    if isinstance(value, (float, decimal.Decimal)):
        return Kind.NUMBER
    if isinstance(value, str):
        return Kind.STRING
    return Kind.JSON


def _kinds(schema: object, doc: SchemaDoc) -> Kind | None:
    """The kind a schema's values need, or None when it only allows null."""
    try:
        resolved = doc.resolve(schema)
    except Unsupported:
        return Kind.JSON
    for combinator in ("anyOf", "oneOf", "allOf"):
        branches = resolved.get(combinator)
        if isinstance(branches, list) and branches:
            found = [_kinds(branch, doc) for branch in branches]
            return _fold(kind for kind in found if kind is not None)
    declared = resolved.get("type")
    if declared is None:
        members = resolved.get("enum") if "const" not in resolved else [resolved["const"]]
        if isinstance(members, list) and members:
            return _fold(k for k in map(_kind_of_value, members) if k is not None)
        return Kind.JSON
    names = [declared] if isinstance(declared, str) else list(declared)
    kinds = []
    for name in names:
        if name == "null":
            continue
        if name == "string":
            kinds.append(STRING_FORMATS.get(resolved.get("format", ""), Kind.STRING))
        else:
            kinds.append(_SCALAR_KINDS.get(name, Kind.JSON))
    return _fold(kinds)


def kind_of(schema: t.Mapping[str, t.Any], doc: SchemaDoc | None = None) -> Kind:
    """Map one property's JSON Schema to a kind.

    Type lists and ``anyOf``/``oneOf``/``allOf`` branches widen together;
    ``null`` is ignored (every column is nullable); a schema that names no type
    (and no ``enum`` or ``const`` to tell one) holds any JSON value.
    """
    found = _kinds(schema, doc or SchemaDoc(schema, Draft.DRAFT7))
    return Kind.JSON if found is None else found
