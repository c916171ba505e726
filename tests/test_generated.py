"""Generated streams checked against their expected final tables, on both dialects."""

from __future__ import annotations

import datetime as dt
import decimal
import typing as t

import pytest

from tests.generator import Generated, Scenario, generate
from tests.helpers import Db, run_target

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def datetime_to_micros(value: dt.datetime) -> int:
    """Integer microseconds since the epoch (a naive value is UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return (value - EPOCH) // dt.timedelta(microseconds=1)


def normalise(value: t.Any) -> t.Any:
    if isinstance(value, dt.datetime):
        return datetime_to_micros(value)
    return value


def expected_value(value: t.Any, prop_schema: dict) -> t.Any:
    if value is not None and prop_schema.get("format") == "date-time":
        return datetime_to_micros(dt.datetime.fromisoformat(value))
    if isinstance(value, float):
        return decimal.Decimal(repr(value))  # numbers are stored exactly, as sent
    return value


def assert_tables_match(db: Db, gen: Generated) -> None:
    props = gen.schema["properties"]
    for stream, expected in gen.expected.items():
        rows = db.rows(stream)
        assert [r["id"] for r in rows] == sorted(expected), f"{stream}: keys differ"
        wrong = []
        for row in rows:
            want = expected[row["id"]]
            for name, prop_schema in props.items():
                got = normalise(row[name])
                exp = expected_value(want.get(name), prop_schema)
                if got != exp:
                    wrong.append((row["id"], name, got, exp))
        assert not wrong, f"{stream}: {len(wrong)} wrong values, first: {wrong[:3]}"


SCENARIOS = {
    "in-order": Scenario(records=1500, keys=300),
    "shuffled": Scenario(records=1500, keys=300, shuffle=True, seed=2),
    "ties": Scenario(records=1500, keys=150, shuffle=True, ties=0.4, seed=3),
    "several-streams": Scenario(records=2000, keys=200, streams=3, shuffle=True, seed=4),
    "wide": Scenario(records=600, keys=120, wide=True, shuffle=True, seed=5),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_generated_stream(db: Db, name: str) -> None:
    gen = generate(SCENARIOS[name])
    run_target(db.config(batch_size_rows=400), gen.text())
    assert_tables_match(db, gen)


def test_generated_cross_run_with_older_second_run(db: Db) -> None:
    first = generate(Scenario(records=1200, keys=300, shuffle=True, seed=6))
    run_target(db.config(), first.text())
    # run 2 starts its sequences below run 1's, so part of it is older
    second = generate(
        Scenario(records=1200, keys=300, shuffle=True, seed=7, seq_base=1_700_000_000_500),
        previous=first.expected,
    )
    run_target(db.config(batch_size_rows=100), second.text())
    assert_tables_match(db, second)
