"""The bulk path: which runs it takes, which it hands to the per-record path, same tables.

The bulk path (``fastpath.py``) may only take records the per-record path
would accept, and must write the same values; anything it is unsure of goes
record by record. These tests watch which path each run took.
"""

from __future__ import annotations

import datetime as dt
import typing as t

import pytest

import target_sequenced.target as target_module
from target_sequenced.buffer import FastBuffer
from target_sequenced.exceptions import InputError
from tests.helpers import Db, lines, record, run_target, run_target_failing, schema

S = "items"


@pytest.fixture
def bulk_runs(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Every bulk attempt's outcome (True: taken in bulk), with bulk tried for any run."""
    outcomes: list[bool] = []
    original = FastBuffer.add_run

    def spy(self: FastBuffer, query: t.Any, run: t.Any) -> bool:
        taken = original(self, query, run)
        outcomes.append(taken)
        return taken

    monkeypatch.setattr(FastBuffer, "add_run", spy)
    monkeypatch.setattr(target_module, "MIN_BULK_RUN", 1)
    return outcomes


PROPS = {
    "id": {"type": "integer"},
    "name": {"type": ["null", "string"]},
    "amount": {"type": ["null", "number"]},
    "at": {"type": ["null", "string"], "format": "date-time"},
    "tags": {"type": ["null", "array"], "items": {"type": "string"}},
}


def test_usual_records_go_in_bulk_with_every_value(db: Db, bulk_runs: list[bool]) -> None:
    recs = [
        record(S, {"id": 1, "name": "", "amount": 1, "at": "2024-01-02T03:04:05Z", "tags": ["a"]}),
        record(S, {"id": 2, "name": None, "amount": 2.5, "at": "2024-01-02T03:04:05.123+0100"}),
        record(S, {"id": 1, "name": 'x\n"y"', "_sdc_sequence": 0}),
    ]
    run_target(db.config(), lines(schema(S, PROPS), *recs))
    assert bulk_runs == [True]
    rows = db.rows(S)
    assert [(r["id"], r["name"], r["amount"], r["tags"]) for r in rows] == [
        (1, "", 1.0, ["a"]),
        (2, None, 2.5, None),
    ]
    assert rows[1]["at"] == dt.datetime(2024, 1, 2, 2, 4, 5, 123000, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ({"amount": 10**20}, 1e20),  # beyond 64 bits: DuckDB's parser would round it
        ({"tags": [str(10**20)], "amount": 1}, 1.0),  # long digits in a line with JSON columns
        ({"at": "2024-01-02T03:04:05.1234567Z"}, None),  # a fraction the bulk path leaves alone
    ],
)
def test_unusual_values_go_record_by_record(
    db: Db,
    bulk_runs: list[bool],
    value: dict,
    stored: object,
) -> None:
    rec = record(S, {"id": 1, **value})
    run_target(db.config(), lines(schema(S, PROPS), rec))
    assert bulk_runs == [False]
    (row,) = db.rows(S)
    assert row["amount"] == stored


def test_integral_float_in_integer_column_is_left_to_the_per_record_path_which_rejects_it(
    db: Db,
    bulk_runs: list[bool],
) -> None:
    rec = record(S, {"id": 1.0, "name": "a"})
    error, _ = run_target_failing(db.config(), lines(schema(S, PROPS), rec))
    assert bulk_runs == [False]
    assert str(error) == (
        f"stream '{S}', input line 2, record 0: record does not conform to schema: "
        "#/id: Decimal('1.0') is not of type 'integer'"
    )


def test_schema_outside_the_bulk_subset_goes_record_by_record(
    db: Db,
    bulk_runs: list[bool],
) -> None:
    props = {"id": {"type": "integer"}, "code": {"anyOf": [{"type": "string"}, {"type": "null"}]}}
    run_target(db.config(), lines(schema(S, props), record(S, {"id": 1, "code": "a"})))
    assert bulk_runs == []
    assert [(r["id"], r["code"]) for r in db.rows(S)] == [(1, "a")]


def test_invalid_record_in_a_bulk_run_is_located_and_its_load_not_written(
    db: Db,
    bulk_runs: list[bool],
) -> None:
    good = [record(S, {"id": i, "name": f"n{i}"}) for i in range(5)]
    bad = record(S, {"id": 9, "name": 5})
    error, states = run_target_failing(db.config(), lines(schema(S, PROPS), *good, bad))
    assert bulk_runs == [False]
    assert isinstance(error, InputError)
    assert str(error).startswith(f"stream '{S}', input line 7, record 5: ")
    assert "#/name" in str(error)
    assert states == []
    assert db.tables() == {S} or db.tables() == set()
    if db.tables():
        assert db.rows(S) == []
