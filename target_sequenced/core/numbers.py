"""Numbers kept exactly: how they are read, written as text, and when the bulk read needs help.

DuckDB's JSON reader turns a number into a double unless the value is read
straight into a DECIMAL, so:

- A ``number`` column is read as ``DECIMAL(38, 18)``, which is exact for
  every number with at most 20 integer and 18 decimal digits, and kept as
  its normalised decimal text (:func:`normal_sql`, :func:`normal`): no
  exponent, no trailing zeros (``1.50`` -> ``1.5``, ``1e2`` -> ``100``).
- An ``integer`` column is a signed 64-bit integer; a value outside that
  range is invalid (:data:`INT64_MIN`, :data:`INT64_MAX`).
- A line whose numbers that read could round is *lossy* (:func:`lossy_sql`),
  and so is one holding ``NaN`` or ``Infinity`` in any case (``nan``,
  ``-iNf``: DuckDB reads them, JSON has none; the exact parse refuses the
  line):
  a number written with an exponent, with more than 18 decimals or more
  than 19 integer digits, or (where numbers also reach JSON or text
  columns, which DuckDB writes back from doubles) a number of 16 or more
  digits that is not its double's shortest form. For such a line the
  values that hold numbers are taken from Python's exact parse instead
  (:mod:`target_sequenced.core.exact`), and the line is validated there.

``tests/test_numbers.py`` runs one table through the SQL and Python forms.
"""

from __future__ import annotations

import decimal
import typing as t

from target_sequenced.core.sql import literal

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
READ_TYPE = "DECIMAL(38,18)"
"""The exact read of a JSON number: 20 integer and 18 decimal digits."""
READ_SCALE = 18

_TOKEN = r"[:,\[]\s*"  # noqa: S105 - where a number starts, not a password
_MEMBER = r'"\s*:\s*'
"""Where a top-level (or any object member's) number starts: a literal for RE2 to seek."""
_ROUGH = r"(?:-?(?:[0-9]+(?:\.[0-9]*)?[eE]|[0-9]+\.[0-9]{19}|[0-9]{20})|-[0-9]{19})"
"""An exponent, more than 18 decimals, 20 integer digits or more, or a negative of 19
(below the signed 64-bit range, DuckDB reads it as a double)."""
_LONG_FLOAT_HINT = _TOKEN + r"-?[0-9.]{17}"
_NOT_JSON = r"-?(?i:nan|inf)"
"""Values DuckDB's JSON reader takes as numbers (``NaN``, ``Infinity``, ``inf``, in any
case) and JSON has not: the exact parse refuses them."""
_ITEM = r"[\[,]\s*"
"""Where an array's item starts (or, after a comma, an object's next member)."""
_FLOAT_TOKENS = r"[:,\[]\s*(-?[0-9]+\.[0-9]+)"


def lossy_sql(line: str, *, written_back: bool) -> str:
    """SQL: whether the JSON text ``line`` holds a number the bulk read could change.

    A conservative test on the text (a match inside a string counts too), by
    regular expressions over the line; where numbers are written back, only a
    line the first matches is looked at closer. ``written_back``: numbers also
    reach columns that DuckDB writes from doubles (JSON columns, text columns
    that take numbers).
    """
    if not written_back:
        # Only object members' numbers can reach a column, but a NaN among an
        # array's items makes the line no JSON too. A regular expression that
        # starts with a literal (here the quote) is the cheap kind.
        value = _MEMBER + "(?:" + _ROUGH + "|" + _NOT_JSON + ")"
        member = f"regexp_matches({line}, {literal(value)})"
        item = f"regexp_matches({line}, {literal(_ITEM + _NOT_JSON)})"
        return f"({member} OR CASE WHEN contains({line}, '[') THEN {item} ELSE false END)"
    rough = _TOKEN + "(?:" + _ROUGH + "|" + _NOT_JSON + ")"
    # A double's shortest form is what DuckDB writes back, so such a number
    # survives; any other of 16 digits or more does not.
    changed = (
        f"list_bool_or(list_transform(regexp_extract_all({line}, {literal(_FLOAT_TOKENS)}, 1), "
        "lambda x: length(x) > 16 AND CAST(CAST(x AS DOUBLE) AS VARCHAR) <> x))"
    )
    closer = f"(regexp_matches({line}, {literal(rough)}) OR coalesce({changed}, false))"
    # CASE, not AND: DuckDB evaluates both sides of an AND for every row.
    first = f"regexp_matches({line}, {literal(rough + '|' + _LONG_FLOAT_HINT)})"
    return f"CASE WHEN {first} THEN {closer} ELSE false END"


def trim_sql(text: str) -> str:
    """SQL: a decimal's text without trailing zeros after its point (``10.500`` -> ``10.5``)."""
    inner = f"regexp_replace({text}, '(\\.[0-9]*[1-9])0+$', '\\1')"
    return f"regexp_replace({inner}, '\\.0+$', '')"


def normal_sql(value: str) -> str:
    """SQL: the normalised text of a ``DECIMAL(38, 18)`` value (NULL stays NULL).

    Its text always has a point and 18 decimals, so trimming characters is
    enough (a regular expression per value cost more than the rest of it).
    """
    trimmed = f"rtrim(rtrim(CAST({value} AS VARCHAR), '0'), '.')"
    return f"CASE WHEN {value} = 0 THEN '0' ELSE {trimmed} END"


def normal(value: decimal.Decimal | int) -> str:
    """Python: the normalised text of a number (the same text :func:`normal_sql` gives)."""
    if isinstance(value, int):
        return str(value)
    if value == 0:
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def scale_sql(text: str) -> str:
    """SQL: decimals of a normalised number text."""
    point = f"strpos({text}, '.')"
    return f"CASE WHEN {point} > 0 THEN length({text}) - {point} ELSE 0 END"


def integer_digits_sql(text: str) -> str:
    """SQL: integer digits of a normalised number text (``0.5`` has none)."""
    whole = f"split_part(ltrim({text}, '-'), '.', 1)"
    return f"length(ltrim({whole}, '0'))"


def declared_scale(schema: t.Mapping[str, t.Any]) -> int | None:
    """Decimals a property's schema declares: a ``multipleOf`` of 10^-k, or a ``scale``.

    ``scale`` is what the SDK's ``singer.decimal`` strings carry.
    """
    scale = schema.get("scale")
    if isinstance(scale, int) and not isinstance(scale, bool) and 0 <= scale <= READ_SCALE:
        return scale
    step = schema.get("multipleOf")
    if isinstance(step, bool) or not isinstance(step, (int, float, decimal.Decimal)):
        return None
    exact = decimal.Decimal(str(step)) if isinstance(step, float) else decimal.Decimal(step)
    sign, digits, exponent = exact.normalize().as_tuple()
    if sign or digits != (1,) or not isinstance(exponent, int):
        return None
    return -exponent if -READ_SCALE <= exponent <= 0 else None
