"""What the parse query reads of each line, once: JSON types and typed values of fields.

The parse query parses a line twice: ``json_type(j, [paths])`` gives the JSON
type of every field it needs (NULL when absent, ``'NULL'`` for JSON null),
and ``from_json(j, structure)`` reads each field as one SQL type. A middle
query selects each of these once (``_t7``, ``_v2``), so the checks and values
built on them refer to names instead of repeating ``_t[7]``: DuckDB plans the
query faster that way.

:class:`Value` is what checks and conversions see of one JSON value: its
type, and its value as text, number, boolean or JSON text. A record property
is read in the one SQL type its column needs (:func:`read_type`); a value
nested in a JSON value is reached with JSON functions on its text, and where
no array lies on its way it has a :attr:`Value.path`, by which its type is one
more path of the line's ``json_type()``.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field, replace

from target_sequenced.core.numbers import READ_TYPE
from target_sequenced.core.schemas import Unsupported
from target_sequenced.core.sql import literal, pointer

INTEGER_TYPES = ("BIGINT", "UBIGINT")
NUMBER_TYPES = ("BIGINT", "UBIGINT", "DOUBLE")
JSON_TYPE_NAMES: dict[str, tuple[str, ...]] = {
    "integer": INTEGER_TYPES,
    "number": NUMBER_TYPES,
    "string": ("VARCHAR",),
    "boolean": ("BOOLEAN",),
    "object": ("OBJECT",),
    "array": ("ARRAY",),
    "null": ("NULL",),
}
"""JSON Schema type name -> the names DuckDB's json_type() gives such values."""

ENVELOPE = ("/type", "/stream", "/record", "/version", "/time_extracted")
"""json_type() slots 1 to 5 of every line, before the record's properties."""
ENVELOPE_STRUCT = {
    "type": "VARCHAR",
    "stream": "VARCHAR",
    "version": "BIGINT",
    "time_extracted": "VARCHAR",
}
"""Each read as the type it must have; the checks look at the json_type() first (a
``version`` beyond 64 bits reads as NULL, a numeric ``time_extracted`` as its digits)."""


def in_list(expr: str, names: t.Iterable[str]) -> str:
    """SQL: ``expr IN ('A', 'B')``."""
    return f"{expr} IN ({', '.join(literal(n) for n in sorted(set(names)))})"


@dataclass(frozen=True)
class Value:
    """One JSON value as checks and conversions see it.

    ``type`` is its json_type() name (NULL when absent). The readings are SQL
    expressions, each meaningful when the value has that JSON type; one this
    value does not offer is None, and a check that needs it is
    :class:`Unsupported` there.
    """

    type: str
    json: str | None = None
    """Its JSON text."""
    text: str | None = None
    """Its string."""
    number: str | None = None
    """Its number, exact as ``DECIMAL(38, 18)`` unless the line is lossy."""
    boolean: str | None = None
    instant: str | None = None
    """Its string's instant, when a date-time column already reads it (to check it once)."""
    path: str | None = None
    """Its JSON pointer in the line, when no array lies on the way (the json_type() of a
    member below it is then one more path of the line's one json_type() call)."""

    def need(self, reading: str) -> str:
        """A reading, or :class:`Unsupported` when this value does not offer it."""
        expr = getattr(self, reading)
        if expr is None:
            msg = f"a check on the {reading} of a value read as another type"
            raise Unsupported(msg)
        return t.cast("str", expr)

    @classmethod
    def of_json(
        cls, json_text: str, type_expr: str | None = None, *, path: str | None = None
    ) -> Value:
        """A value known by its JSON text: every reading through JSON functions.

        A JSON number's text is DuckDB's shortest form of its double, exact for
        lines that are not lossy (:mod:`target_sequenced.core.numbers`).
        """
        return cls(
            type=type_expr or f"json_type({json_text})",
            json=json_text,
            text=f"json_extract_string({json_text}, '$')",
            number=f"TRY_CAST(CAST({json_text} AS VARCHAR) AS {READ_TYPE})",
            boolean=f"(CAST({json_text} AS VARCHAR) = 'true')",
            path=path,
        )


_READING = {"VARCHAR": "text", READ_TYPE: "number", "BIGINT": "number", "BOOLEAN": "boolean"}


def read_type(json_types: frozenset[str]) -> str:
    """The one SQL type a property is read as, from the JSON types its schema allows.

    Integers only: BIGINT; numbers: the exact DECIMAL; booleans or strings
    alone: BOOLEAN or VARCHAR; anything else (objects, arrays, mixtures, any
    value): its JSON text.
    """
    types = json_types - {"null"}
    if types == {"integer"}:
        return "BIGINT"
    if types and types <= {"integer", "number"}:
        return READ_TYPE
    if types == {"boolean"}:
        return "BOOLEAN"
    if types == {"string"}:
        return "VARCHAR"
    return "JSON"


@dataclass
class Fields:
    """The paths and typed reads of one parse query, gathered as checks ask for them."""

    paths: list[str] = field(default_factory=lambda: list(ENVELOPE))
    struct: dict[str, str] = field(default_factory=dict)
    """Record property -> the SQL type it is read as."""
    lifted: dict[str, str] = field(default_factory=dict)
    """Name -> expression over ``_t`` and ``_m``, selected once per line."""

    def lift(self, name: str, expression: str) -> str:
        """Select ``expression`` once, as ``name``."""
        self.lifted[name] = expression
        return name

    def unlifted(self, expression: str) -> str:
        """The expression behind a lifted name (others as they are), to lift another over it."""
        return self.lifted.get(expression, expression)

    def slot(self, path: str) -> str:
        """The json_type() of a path, read once."""
        if path not in self.paths:
            self.paths.append(path)
        index = self.paths.index(path) + 1
        return self.lift(f"_t{index}", f"_t[{index}]")

    def envelope(self, name: str) -> str:
        """A message field read from the structure (``_m.version``)."""
        return self.lift(f"_m_{name}", f"_m.{name}")

    def record_property(self, prop: str, sql_type: str) -> Value:
        """A top-level record property, read once as ``sql_type``."""
        if self.struct.setdefault(prop, sql_type) != sql_type:
            msg = f"property {prop!r} read as {self.struct[prop]} and {sql_type}"
            raise ValueError(msg)
        path = pointer("record", prop)
        type_expr = self.slot(path)
        index = list(self.struct).index(prop)
        read = self.lift(f"_v{index}", f"_m.record.{_member(prop)}")
        if sql_type == "JSON":
            return Value.of_json(read, type_expr, path=path)
        return replace(Value(type=type_expr, path=path), **{_READING[sql_type]: read})

    def structure(self) -> str:
        """The ``from_json`` structure: the envelope fields, then the record's."""
        record = ", ".join(f"{_string(k)}: {_string(v)}" for k, v in self.struct.items())
        parts = [f"{_string(k)}: {_string(v)}" for k, v in ENVELOPE_STRUCT.items()]
        parts.append(f'"record": {{{record}}}')
        return "{" + ", ".join(parts) + "}"


def _string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _member(prop: str) -> str:
    """A struct member as DuckDB SQL (``_m.record."a b"``)."""
    return '"' + prop.replace('"', '""') + '"'
