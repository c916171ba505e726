"""The lossy rule of ``core/numbers.py``, held to what DuckDB's bulk read does.

A line the rule does not flag is read by the parse query alone, so for every
number in it the bulk read must give what Python's exact parse gives: the
same JSON type (integer or not, as ``jsonschema`` decides on the SDK's
parse) and the same value. The table lists the edges; hypothesis draws the
rest.
"""

from __future__ import annotations

import decimal

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from target_sequenced.core.fields import INTEGER_TYPES
from target_sequenced.core.numbers import READ_TYPE, lossy_sql
from target_sequenced.core.sql import literal

EDGES = [
    "0", "-0", "1", "-1", "1.5", "0.000000000000000001", "0.0000000000000000001",
    "9223372036854775807", "-9223372036854775808", "9223372036854775808",
    "-9223372036854775809", "-9999999999999999999", "18446744073709551615",
    "18446744073709551616", "99999999999999999999", "1e2", "1E-2", "1.0", "-0.0",
    "12345678901234.123456", "-99999999999999.999999", "1800000000000000000",
    "0.1234567890123456789", "123456789012345678.5", "1234567890123456789.5",
]  # fmt: skip


def bulk_read(text: str, written_back: bool) -> tuple[bool, str, decimal.Decimal | None]:
    """(flagged lossy, json_type, the exact read) of ``{"n": text}`` as the parse query sees it."""
    line = '{"n": ' + text + "}"
    [(lossy, kind, value)] = duckdb.sql(
        f"SELECT {lossy_sql(literal(line), written_back=written_back)}, "
        f"json_type({literal(line)}, '$.n'), "
        f'from_json({literal(line)}, \'{{"n": "{READ_TYPE}"}}\').n'
    ).fetchall()
    return bool(lossy), kind, value


def agrees(text: str, written_back: bool) -> None:
    lossy, kind, value = bulk_read(text, written_back)
    if lossy:
        return  # the exact parse takes this line
    exact = decimal.Decimal(text)
    is_integer = "." not in text and "e" not in text.lower()
    assert (kind in INTEGER_TYPES) == is_integer, (text, kind)
    assert value == exact, (text, value)


@pytest.mark.parametrize("written_back", [False, True])
@pytest.mark.parametrize("text", EDGES)
def test_an_unflagged_number_reads_exactly(text: str, written_back: bool) -> None:
    agrees(text, written_back)


numbers = st.one_of(
    st.integers(min_value=-(10**21), max_value=10**21).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=None).map(
        lambda d: format(d, "f") if abs(d.adjusted()) < 25 else str(d)
    ),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
)


@settings(max_examples=400, deadline=None)
@given(text=numbers, written_back=st.booleans())
def test_drawn_numbers_read_exactly_unless_flagged(text: str, written_back: bool) -> None:
    agrees(text, written_back)
