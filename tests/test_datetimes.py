"""The date-time grammars of ``core/datetimes.py``: one table through the Python and SQL forms.

For every text and grammar, ``Grammar.matches`` (Python) and ``Grammar.sql``
(DuckDB) give the same verdict; for every text a grammar takes, the instant
``instant_sql`` casts is the one the text spells, its fraction cut (not
rounded) to microseconds, computed here without DuckDB.
"""

from __future__ import annotations

import datetime as dt
import re

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from target_sequenced.core.datetimes import DATE, INSTANT, STITCH, Grammar, micros_sql
from target_sequenced.core.sql import literal

TEXTS = [
    "2023-11-14T22:15:22.354+00:00",
    "2023-11-14T22:15:22Z",
    "2023-11-14 22:15:22Z",
    "2023-11-14T22:15",
    "2023-11-14T22:15Z",
    "2023-11-14T22:15:22",
    "2023-11-14T22:15:22.123456Z",
    "2023-11-14T22:15:22.1234567Z",  # a 7th digit: cut
    "2023-11-14T22:15:22.9999999Z",  # cut, not rounded up to the next second
    "2023-11-14T22:15:22.123456789+05:30",
    "2023-11-14 22:15:22.1234567",
    "2023-11-14T22:15:22.1234567-0800",
    "2023-11-14T22:15:22.1234567890Z",  # 10 digits: INSTANT refuses, STITCH takes
    "2023-11-14T22:15:22.1+0530",
    "2023-11-14T22:15:22-05",
    "2023-11-14T22:15:22.5",
    "2023-12-31T23:59:59.999999-23:59",
    "2024-02-29T00:00:00Z",
    "2024-02-30T00:00:00Z",
    "2023-11-14T24:00:00Z",
    "2023-11-14T22:60:00Z",
    "0000-01-01T00:00:00Z",
    "2023-1-14T22:15:22Z",
    " 2023-11-14T22:15:22Z",
    "2023-11-14T22:15:22.Z",
    "2023-11-14T22:15:22Z ",
    "2023-11-14t22:15:22Z",
    "2023-11-14",
    "2023-02-30",
    "2023-11-14T22:15:22.12345678901234567",
    "",
]
GRAMMARS = [INSTANT, STITCH, DATE]
_SPELLED = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d+))?)?"
    r"(Z|([+-])(\d\d)(?::?(\d\d))?)?)?"
)


def spelled_micros(text: str) -> int:
    """Microseconds since the epoch that ``text`` spells, its fraction cut to six digits."""
    found = _SPELLED.fullmatch(text)
    assert found is not None, text
    year, month, day, hour, minute, second, fraction, _zone, sign, zh, zm = found.groups()
    moment = dt.datetime(
        int(year),
        int(month),
        int(day),
        int(hour or 0),
        int(minute or 0),
        int(second or 0),
        int((fraction or "")[:6].ljust(6, "0")),
        tzinfo=dt.timezone.utc,
    )
    if sign:
        offset = dt.timedelta(hours=int(zh), minutes=int(zm or 0))
        moment -= offset if sign == "+" else -offset
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    return (moment - epoch) // dt.timedelta(microseconds=1)


@pytest.mark.parametrize("grammar", GRAMMARS, ids=lambda g: g.name)
@pytest.mark.parametrize("text", TEXTS)
def test_python_and_sql_forms_agree(grammar: Grammar, text: str) -> None:
    [(verdict,)] = duckdb.sql(f"SELECT coalesce({grammar.sql(literal(text))}, false)").fetchall()
    assert verdict == grammar.matches(text), (grammar.name, text)


@pytest.mark.parametrize("text", [t for t in TEXTS if INSTANT.matches(t) or STITCH.matches(t)])
def test_an_accepted_instant_casts_to_what_it_spells(text: str) -> None:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    [(found,)] = con.execute(f"SELECT {micros_sql(literal(text))}").fetchall()
    assert found == spelled_micros(text), text


def test_the_table_holds_texts_both_ways() -> None:
    for grammar in (INSTANT, STITCH):
        taken = [t for t in TEXTS if grammar.matches(t)]
        assert any(len(t) > 26 and t[26].isdigit() for t in taken), grammar.name
        assert len(taken) < len(TEXTS), grammar.name


@settings(max_examples=300, deadline=None)
@given(
    moment=st.datetimes(dt.datetime(1, 1, 2), dt.datetime(9999, 12, 30)),  # noqa: DTZ001
    digits=st.text("0123456789", min_size=1, max_size=9),
    zone=st.sampled_from(["", "Z", "+00:00", "-08:00", "+0530", "+05", "-23:59"]),
    space=st.booleans(),
)
def test_drawn_fractions_are_cut_not_rounded(
    moment: dt.datetime, digits: str, zone: str, space: bool
) -> None:
    text = f"{moment.year:04d}-{moment:%m-%d}{' ' if space else 'T'}{moment:%H:%M:%S}"
    text += "." + digits + zone
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    [(found,)] = con.execute(f"SELECT {micros_sql(literal(text))}").fetchall()
    assert found == spelled_micros(text), text
