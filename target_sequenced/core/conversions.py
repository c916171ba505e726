"""What each column holds: a record property read, converted to the column's kind, and checked.

The rules a value must meet to be stored, whatever the schema says (they hold
with ``validate_records: false`` too): an integer column holds JSON integers
in the signed 64-bit range, a number column JSON numbers (or, for
``format: singer.decimal``, decimal strings), a date-time column instants
(:data:`~target_sequenced.core.datetimes.INSTANT`), a date column dates, a
boolean column booleans; text and JSON columns hold any value. Where the
destination cannot store U+0000 (PostgreSQL), text holding it is refused.

Each rule is a :class:`Check` with the words of its error message. A check
marked ``numeric`` depends on reading numbers, so on a lossy line the exact
parse decides it instead (:mod:`target_sequenced.core.exact`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from target_sequenced.core.datetimes import DATE, INSTANT, instant_sql
from target_sequenced.core.fields import (
    INTEGER_TYPES,
    NUMBER_TYPES,
    Fields,
    Value,
    in_list,
    read_type,
)
from target_sequenced.core.kinds import Kind
from target_sequenced.core.numbers import READ_TYPE, normal_sql
from target_sequenced.core.sql import literal

_DECIMAL_TEXT = r"^-?[0-9]{1,20}(\.[0-9]{1,18})?$"
"""A ``singer.decimal`` string: plain decimal notation within the exact read."""
_JSON_NUL = r"(^|[^\\])(\\\\)*\\u0000"


@dataclass(frozen=True)
class Check:
    """One rule a line must meet: TRUE when it holds."""

    sql: str
    path: str
    """JSON pointer of the field, for the message (``#/amount``)."""
    text: str
    """What the rule requires, as the message says it."""
    numeric: bool = False


@dataclass(frozen=True)
class ColumnRead:
    """How one column of the table gets its value from a line."""

    name: str
    kind: Kind
    prop: str
    value: str
    """SQL: the value as the buffer stores it for ``kind``."""
    checks: tuple[Check, ...]
    numeric: bool
    """The value depends on reading numbers: the exact parse gives it on a lossy line."""
    read: Value


def _pointer(prop: str) -> str:
    return "#/" + prop.replace("~", "~0").replace("/", "~1")


def _absent_or(value: Value, condition: str) -> str:
    return f"({value.type} IS NULL OR {value.type} = 'NULL' OR coalesce({condition}, false))"


def _as_text(value: Value, sql_type: str) -> str:
    """SQL: the value as text, whatever JSON type it has (strings as themselves)."""
    if sql_type == "VARCHAR":
        return str(value.text)
    if sql_type == "BOOLEAN":
        return f"CASE WHEN {value.boolean} THEN 'true' ELSE 'false' END"
    if sql_type == READ_TYPE:
        return normal_sql(str(value.number))
    if sql_type == "BIGINT":
        return f"CAST({value.number} AS VARCHAR)"
    return (
        f"CASE WHEN {value.type} = 'VARCHAR' THEN {value.text} "
        f"WHEN {in_list(value.type, NUMBER_TYPES)} THEN {normal_sql(str(value.number))} "
        f"ELSE CAST({value.json} AS VARCHAR) END"
    )


def _decimal_text(text: str) -> str:
    """SQL: a decimal string in normalised form (as :func:`.numbers.normal`)."""
    return normal_sql(f"TRY_CAST({text} AS {READ_TYPE})")


def column_read(
    fields: Fields,
    name: str,
    kind: Kind,
    prop: str,
    json_types: frozenset[str],
    *,
    string_format: str | None,
    nul_ok: bool,
) -> ColumnRead:
    """Read property ``prop`` into a column of ``kind`` (as stored: maybe wider than asked)."""
    sql_type = read_type(json_types)
    value = fields.record_property(prop, sql_type)
    where = _pointer(prop)
    checks: list[Check] = []
    # Text columns too: a number they hold as text is one the exact parse may have to give.
    # Booleans and instants are not numbers, however they are read (a bare
    # `const: true` reads as JSON): a lossy line leaves their values as they are.
    numeric = (sql_type in ("BIGINT", READ_TYPE, "JSON") or kind is Kind.STRING) and kind in (
        Kind.INTEGER,
        Kind.NUMBER,
        Kind.STRING,
        Kind.JSON,
    )

    def holds(condition: str, text: str, *, is_numeric: bool = numeric) -> None:
        checks.append(Check(_absent_or(value, condition), where, text, is_numeric))

    if kind is Kind.INTEGER:
        holds(in_list(value.type, INTEGER_TYPES), "the column holds integers")
        # Read as anything but BIGINT (a bare `const: 3` reads as JSON), the
        # number is the wide DECIMAL: the range is BIGINT's, tried, not forced.
        integer = (
            str(value.number) if sql_type == "BIGINT" else f"TRY_CAST({value.number} AS BIGINT)"
        )
        holds(f"{integer} IS NOT NULL", "integer outside the signed 64-bit range")
        expr = integer
    elif kind is Kind.NUMBER and string_format == "singer.decimal" and sql_type == "VARCHAR":
        holds(
            f"regexp_matches({value.text}, {literal(_DECIMAL_TEXT)})",
            "a singer.decimal string must be a decimal number of at most 20 integer "
            "and 18 decimal digits",
            is_numeric=False,
        )
        expr = _decimal_text(str(value.text))
        numeric = False
    elif kind is Kind.NUMBER:
        holds(in_list(value.type, NUMBER_TYPES), "the column holds numbers")
        holds(f"{value.number} IS NOT NULL", "a number the bulk read cannot hold")
        expr = normal_sql(str(value.number)) if sql_type == READ_TYPE else _as_text(value, sql_type)
    elif kind is Kind.BOOLEAN:
        holds(f"{value.type} = 'BOOLEAN'", "the column holds booleans")
        expr = str(value.boolean)
    elif kind in (Kind.TIMESTAMP, Kind.DATE):
        grammar = INSTANT if kind is Kind.TIMESTAMP else DATE
        text = value.text or f"json_extract_string({value.json}, '$')"
        raw = (
            fields.unlifted(value.text)
            if value.text
            else f"json_extract_string({fields.unlifted(str(value.json))}, '$')"
        )
        # The instant is read once, in the middle query, for the check and the value.
        instant = fields.lift(f"_i{len(fields.lifted)}", instant_sql(raw))
        holds(
            f"{value.type} = 'VARCHAR' AND {grammar.sql(text, instant)}",
            "not a date-time" if kind is Kind.TIMESTAMP else "not a date (YYYY-MM-DD)",
            is_numeric=False,
        )
        expr = instant if kind is Kind.TIMESTAMP else f"CAST({instant} AS DATE)"
        value = replace(value, instant=instant)
    elif kind is Kind.JSON:
        expr = f"CASE WHEN {value.type} <> 'NULL' THEN CAST({value.json} AS VARCHAR) END"
        if value.json is None:
            expr = f"CASE WHEN {value.type} <> 'NULL' THEN to_json({_as_text(value, sql_type)}) END"
    else:
        expr = f"CASE WHEN {value.type} <> 'NULL' THEN {_as_text(value, sql_type)} END"
    if not nul_ok and kind in (Kind.STRING, Kind.JSON):
        # In JSON text a NUL is the escape \u0000 after an even run of backslashes.
        found = (
            f"regexp_matches({expr}, {literal(_JSON_NUL)})"
            if kind is Kind.JSON
            else f"strpos({expr}, chr(0)) > 0"
        )
        holds(
            f"NOT {found}",
            "PostgreSQL cannot store the character U+0000 (NUL) in text",
            is_numeric=False,
        )
    return ColumnRead(name, kind, prop, expr, tuple(checks), numeric, value)


def key_checks(read: ColumnRead, length_below: int | None = None) -> tuple[Check, ...]:
    """A key property must be present and not null (contract 3), a string one maybe short.

    ``length_below``: a string value must have fewer characters (code points) than this.
    A column that reads no text refuses strings by its own rules.
    """
    present = Check(
        f"({read.read.type} IS NOT NULL AND {read.read.type} <> 'NULL')",
        _pointer(read.prop),
        f"Record is missing key property {read.prop}",
    )
    if length_below is None or read.read.text is None:
        return (present,)
    string = f"{read.read.type} IS DISTINCT FROM 'VARCHAR'"
    short = Check(
        f"({string} OR length({read.read.text}) < {length_below:d})",
        _pointer(read.prop),
        f"a string key property must be shorter than {length_below:d} characters",
    )
    return present, short
