"""JSON Schema properties as typed columns, and values as column values.

A property's JSON Schema becomes one :class:`Kind`; each dialect module maps a
kind to its SQL type (the README's type table is tested against those maps).
Kinds only ever widen, ``integer -> number -> string``, so a column never loses
a value it already holds.
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import re
import typing as t
from dataclasses import dataclass

from target_sequenced.exceptions import InputError, truncate

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

# System columns the dialects' statements name (contract section 6).
DELETED_AT = "_sdc_deleted_at"
TABLE_VERSION = "_sdc_table_version"
BATCHED_AT = "_sdc_batched_at"


class Kind(enum.Enum):
    """What a column holds, independent of the dialect."""

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
_STRING_FORMATS = {"date-time": Kind.TIMESTAMP, "date": Kind.DATE}


def widen(a: Kind, b: Kind) -> Kind:
    """Return the narrowest kind that holds every value of both kinds."""
    if a is b:
        return a
    if {a, b} == {Kind.INTEGER, Kind.NUMBER}:
        return Kind.NUMBER
    return Kind.STRING


def kind_of(schema: t.Mapping[str, t.Any]) -> Kind:
    """Map one property's JSON Schema to a kind.

    ``anyOf``/``oneOf`` branches and type lists widen together; ``null`` is
    ignored (every column is nullable); a schema that names no type holds any
    JSON value and is kept as JSON.
    """
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        kinds = [kind_of(branch) for branch in branches if not _is_null_only(branch)]
        return _fold(kinds)
    declared = schema.get("type")
    if declared is None:
        return Kind.JSON
    types = [declared] if isinstance(declared, str) else list(declared)
    kinds = [_kind_of_type(name, schema) for name in types if name != "null"]
    return _fold(kinds)


def _is_null_only(schema: t.Mapping[str, t.Any]) -> bool:
    declared = schema.get("type")
    return declared in ("null", ["null"])


def _fold(kinds: list[Kind]) -> Kind:
    if not kinds:
        return Kind.JSON
    result = kinds[0]
    for kind in kinds[1:]:
        result = widen(result, kind)
    return result


def _kind_of_type(name: str, schema: t.Mapping[str, t.Any]) -> Kind:
    if name == "string":
        return _STRING_FORMATS.get(schema.get("format", ""), Kind.STRING)
    return _SCALAR_KINDS.get(name, Kind.JSON)


@dataclass(frozen=True)
class Column:
    """One destination column: the record property it comes from and its kind."""

    name: str
    kind: Kind
    prop: str


def _json_default(value: object) -> object:
    if isinstance(value, decimal.Decimal):
        # The SDK parses JSON numbers with a fraction or exponent as Decimal;
        # float() gives the same double the JSON text denotes.
        return float(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    msg = f"cannot encode {type(value).__name__} as JSON"
    raise TypeError(msg)


def to_json_text(value: object) -> str:
    """Encode a value as compact JSON text, numbers without rounding."""
    return json.dumps(value, default=_json_default, ensure_ascii=False, separators=(",", ":"))


def _to_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, decimal.Decimal, float)):
        return to_json_text(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    return to_json_text(value)


def _to_integer(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, decimal.Decimal, float)):
        raise TypeError("expected an integer")
    number = int(value)
    if number != value:
        raise TypeError("expected an integer")
    if not INT64_MIN <= number <= INT64_MAX:
        raise TypeError("integer outside the signed 64-bit range")
    return number


def _to_number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, decimal.Decimal, float)):
        raise TypeError("expected a number")
    return float(value)


def _to_boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError("expected a boolean")
    return value


_BASIC_OFFSET = re.compile(r"([+-]\d{2})(\d{2})$")


def parse_datetime(text: str) -> dt.datetime:
    """Parse an ISO 8601 date-time, ``Z`` and ``+hhmm`` offsets included, on any Python 3.10+."""
    text = _BASIC_OFFSET.sub(r"\1:\2", text.replace("Z", "+00:00"))
    return dt.datetime.fromisoformat(text)


def _to_timestamp(value: object) -> dt.datetime:
    if isinstance(value, str):
        value = parse_datetime(value)
    if not isinstance(value, dt.datetime):
        raise TypeError("expected a date-time")
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value


def _to_date(value: object) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        return dt.date.fromisoformat(value[:10])
    if not isinstance(value, dt.date):
        raise TypeError("expected a date")
    return value


CONVERTERS: dict[Kind, t.Callable[[t.Any], t.Any]] = {
    Kind.INTEGER: _to_integer,
    Kind.NUMBER: _to_number,
    Kind.BOOLEAN: _to_boolean,
    Kind.STRING: _to_text,
    Kind.TIMESTAMP: _to_timestamp,
    Kind.DATE: _to_date,
    Kind.JSON: to_json_text,
}


def row_converter(
    columns: t.Sequence[Column],
) -> t.Callable[[t.Mapping[str, t.Any], str], tuple]:
    """Build a function that turns a record into a tuple of column values.

    Missing properties and ``None`` become NULL; ``""`` stays ``""``. A value
    the column cannot hold raises :class:`InputError` naming the field.
    """
    plan = [(col.prop, col.name, CONVERTERS[col.kind]) for col in columns]

    def convert(record: t.Mapping[str, t.Any], where: str) -> tuple:
        values: list[t.Any] = []
        for prop, name, conv in plan:
            value = record.get(prop)
            if value is None:
                values.append(None)
                continue
            try:
                values.append(conv(value))
            except (TypeError, ValueError, OverflowError) as exc:
                msg = f"{where}: #/{prop} (column {name}): {exc}: {truncate(value)}"
                raise InputError(msg, dict(record)) from exc
        return tuple(values)

    return convert
