"""The exact parse: what the bulk read cannot be trusted with, decided in Python.

For a lossy line (:func:`target_sequenced.core.numbers.lossy_sql`) and for a
stream whose schema the bulk checks do not cover, the line is parsed the way
the SDK parses it (numbers with a fraction or exponent as ``Decimal``), its
schema verdict comes from the reference validator (``jsonschema`` with the
schema's draft), and the values of columns that hold numbers (``numeric``
columns) are taken from it exactly. Everything else (keys, sequences, dates)
stays as the bulk query read it.

The same validator words the message of any record the bulk checks refuse.
"""

from __future__ import annotations

import decimal
import json
import typing as t

import jsonschema
import simplejson

from target_sequenced.core.errors import InvalidLineError, shorten
from target_sequenced.core.kinds import Kind
from target_sequenced.core.numbers import INT64_MAX, INT64_MIN, normal
from target_sequenced.core.schemas import VALIDATORS, SchemaDoc

if t.TYPE_CHECKING:
    from target_sequenced.core.checks import Rules
    from target_sequenced.core.system import Column


def _not_json(name: str) -> t.NoReturn:
    """``NaN``, ``Infinity``: Python reads them, JSON has no such numbers."""
    msg = f"{name} is not a JSON number"
    raise ValueError(msg)


def _first_of_each_name(pairs: list[tuple[str, t.Any]]) -> dict[str, t.Any]:
    """An object's members, a repeated name keeping its first value, as DuckDB's read does."""
    found = dict(pairs)
    if len(found) < len(pairs):
        found = {}
        for name, value in pairs:
            found.setdefault(name, value)
    return found


def parse(text: str | bytes | bytearray) -> t.Any:  # noqa: ANN401 - any JSON value
    """Parse JSON as the SDK does: numbers with a fraction or exponent as ``Decimal``.

    ``NaN`` and ``Infinity`` are refused (``ValueError``), as JSON has none. A
    name an object repeats keeps its first value, as in the bulk read (Python
    would keep the last), so both read one record alike.
    """
    return json.loads(
        text,
        parse_float=decimal.Decimal,
        parse_constant=_not_json,
        object_pairs_hook=_first_of_each_name,
    )


def parse_line(text: str | bytes | bytearray, line: int) -> t.Any:  # noqa: ANN401 - any JSON value
    """:func:`parse` of input line ``line``; :class:`InvalidLineError` says why it is no JSON."""
    try:
        return parse(text)
    except (ValueError, RecursionError) as exc:
        msg = f"input line {line}: not valid JSON ({_reason(exc)})"
        raise InvalidLineError(msg) from exc


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if isinstance(exc, json.JSONDecodeError):
        # Some of Python's texts end in "at" already ("Invalid control character at").
        return f"{exc.msg.removesuffix(' at')} at character {exc.pos + 1}"
    return str(exc)


def json_text(value: object) -> str:
    """JSON text of a parsed value, numbers with every digit they had."""
    return simplejson.dumps(value, use_decimal=True, ensure_ascii=False, separators=(",", ":"))


def render_path(path: t.Iterable[object]) -> str:
    """A jsonschema error path as ``#/a/0/b``."""
    return "#/" + "/".join(str(part) for part in path)


EXACT_DIGITS = 1000
"""Digits of decimal arithmetic in the reference validator."""


class Reference:
    """The reference validator of one stream's schema."""

    def __init__(self, doc: SchemaDoc, rules: Rules) -> None:
        """Compile once; a Stitch input also asserts ``date-time``."""
        checker = jsonschema.FormatChecker(formats=())
        if "date-time" in rules.formats:
            grammar = rules.date_time
            checker.checks("date-time")(lambda v: not isinstance(v, str) or grammar.matches(v))
        self._validator = VALIDATORS[doc.draft](doc.root, format_checker=checker)

    def errors(self, record: object) -> list[str]:
        """Every violation, as ``#/path: message``, in path order."""
        # multipleOf divides: at the default 28 digits, 1e300 % 3 cannot be
        # computed and jsonschema raises; enough digits for any number a
        # column can refuse by value makes it an ordinary answer.
        with decimal.localcontext(decimal.Context(prec=EXACT_DIGITS)):
            try:
                errors = list(self._validator.iter_errors(record))
            except decimal.InvalidOperation:
                return ["#: a number too large to test against multipleOf"]
        found = sorted(errors, key=lambda e: [str(p) for p in e.path])
        return [f"{render_path(err.path)}: {shorten(err.message)}" for err in found]


def _is_number(value: object) -> bool:
    return isinstance(value, (int, decimal.Decimal)) and not isinstance(value, bool)


def _integer(value: object) -> tuple[object, str | None]:
    if not isinstance(value, int) or isinstance(value, bool):
        return None, "the column holds integers"
    if not INT64_MIN <= value <= INT64_MAX:
        return None, "integer outside the signed 64-bit range"
    return value, None


def _number(value: object) -> tuple[object, str | None]:
    if not _is_number(value):
        return None, "the column holds numbers"
    return normal(t.cast("decimal.Decimal | int", value)), None


def _text(value: object) -> tuple[object, str | None]:
    if isinstance(value, str):
        return value, None
    if isinstance(value, bool):
        return ("true" if value else "false"), None
    if _is_number(value):
        return normal(t.cast("decimal.Decimal | int", value)), None
    return json_text(value), None


_EXACT = {
    Kind.INTEGER: _integer,
    Kind.NUMBER: _number,
    Kind.STRING: _text,
    Kind.JSON: lambda value: (json_text(value), None),
}


def column_value(column: Column, value: object) -> tuple[object, str | None]:
    """A numeric column's value from the exact parse, or the rule it breaks.

    The same rules as :mod:`target_sequenced.core.conversions`, for values
    read exactly: integers in 64 bits, numbers as normalised text, text and
    JSON as they were sent.
    """
    if value is None:
        return None, None
    convert = _EXACT.get(column.kind)
    if convert is None:
        msg = f"column {column.name} of kind {column.kind.value} is not read exactly"
        raise ValueError(msg)
    return convert(value)
