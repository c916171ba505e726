"""The bulk path: which lines the parse query reads alone, which the exact parse helps with.

Every RECORD line meets the same parse query; a line whose numbers the bulk
read could change (``core/numbers.py``) takes its numeric values and verdicts
from the exact parse instead. These tests watch both.
"""

from __future__ import annotations

import datetime as dt
import decimal
import typing as t

import pytest

import target_sequenced.singer.reader as reader_module
from target_sequenced.core.batches import Lines
from target_sequenced.core.buffer import StreamBuffer
from target_sequenced.core.errors import InputError
from target_sequenced.core.loader import Loader
from tests.helpers import Db, lines, record, run_target, run_target_failing, schema

S = "items"


@pytest.fixture
def paths(monkeypatch: pytest.MonkeyPatch) -> dict[str, list]:
    """The batches the core was given (``lines``: read from the chunk) and the lossy rows."""
    seen: dict[str, list] = {"batches": [], "exact": []}
    add, exact = Loader.add, StreamBuffer._exact

    def spy_add(self: Loader, stream: str, batch: t.Any) -> bool:
        seen["batches"].append("lines" if isinstance(batch, Lines) else "texts")
        return add(self, stream, batch)

    def spy_exact(self: StreamBuffer, rows: str, low: int, high: int) -> None:
        seen["exact"].append((low, high))
        exact(self, rows, low, high)

    monkeypatch.setattr(Loader, "add", spy_add)
    monkeypatch.setattr(StreamBuffer, "_exact", spy_exact)
    monkeypatch.setattr(reader_module, "PER_LINE_BELOW", 1)
    return seen


PROPS = {
    "id": {"type": "integer"},
    "name": {"type": ["null", "string"]},
    "amount": {"type": ["null", "number"]},
    "at": {"type": ["null", "string"], "format": "date-time"},
    "tags": {"type": ["null", "array"], "items": {"type": "string"}},
}


def test_usual_records_go_in_bulk_with_every_value(db: Db, paths: dict[str, list]) -> None:
    # Every record carries its sequence: a table's sources must compare, also in its first load.
    first = {"id": 1, "name": "", "amount": 1, "at": "2024-01-02T03:04:05Z", "tags": ["a"]}
    second = {"id": 2, "name": None, "amount": 2.5, "at": "2024-01-02T03:04:05.123+0100"}
    recs = [
        record(S, {**first, "_sdc_sequence": 5}),
        record(S, {**second, "_sdc_sequence": 5}),
        record(S, {"id": 1, "name": 'x\n"y"', "_sdc_sequence": 0}),
    ]
    run_target(db.config(), lines(schema(S, PROPS), *recs))
    assert paths == {"batches": ["lines"], "exact": []}
    rows = db.rows(S)
    assert [(r["id"], r["name"], r["amount"], r["tags"]) for r in rows] == [
        (1, "", 1, ["a"]),
        (2, None, decimal.Decimal("2.5"), None),
    ]
    assert rows[1]["at"] == dt.datetime(2024, 1, 2, 2, 4, 5, 123000, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(
    ("value", "stored", "exact"),
    [
        ({"amount": 10**20}, decimal.Decimal(10**20), True),  # beyond the exact bulk read
        ({"amount": 1.0000000000000000001}, None, False),  # a double: 1.0 in the JSON text
        ({"tags": [str(10**20)], "amount": 1}, 1, False),  # digits inside a string
        ({"at": "2024-01-02T03:04:05.1234567Z"}, None, False),  # 7 decimals, cut to micros
    ],
)
def test_values_beyond_the_bulk_read_take_the_exact_parse(
    db: Db, paths: dict[str, list], value: dict, stored: object, exact: bool
) -> None:
    rec = record(S, {"id": 1, **value})
    run_target(db.config(), lines(schema(S, PROPS), rec))
    assert paths["batches"] == ["lines"]
    assert bool(paths["exact"]) is exact
    (row,) = db.rows(S)
    if "amount" in value and value["amount"] != 1.0000000000000000001:
        assert row["amount"] == stored
    if "at" in value:
        assert row["at"] == dt.datetime(2024, 1, 2, 3, 4, 5, 123456, tzinfo=dt.timezone.utc)


def test_an_integral_float_in_an_integer_column_is_refused(db: Db, paths: dict[str, list]) -> None:
    rec = record(S, {"id": 1.0, "name": "a"})
    error, _ = run_target_failing(db.config(), lines(schema(S, PROPS), rec))
    assert paths["batches"] == ["lines"]
    assert str(error).startswith(
        f"stream '{S}', input line 2, record 0: record does not conform to schema: "
        "#/id: Decimal('1.0') is not of type 'integer'"
    )


def test_any_of_is_checked_in_bulk(db: Db, paths: dict[str, list]) -> None:
    props = {"id": {"type": "integer"}, "code": {"anyOf": [{"type": "string"}, {"type": "null"}]}}
    run_target(db.config(), lines(schema(S, props), record(S, {"id": 1, "code": "a"})))
    assert paths == {"batches": ["lines"], "exact": []}
    assert [(r["id"], r["code"]) for r in db.rows(S)] == [(1, "a")]


def test_an_invalid_record_in_a_bulk_run_stops_after_the_records_before_it(
    db: Db, paths: dict[str, list]
) -> None:
    good = [record(S, {"id": i, "name": f"n{i}"}) for i in range(5)]
    bad = record(S, {"id": 9, "name": 5})
    after = record(S, {"id": 10, "name": "after"})
    error, states = run_target_failing(db.config(), lines(schema(S, PROPS), *good, bad, after))
    assert paths["batches"] == ["lines"]
    assert isinstance(error, InputError)
    assert str(error).startswith(f"stream '{S}', input line 7, record 5: ")
    assert "#/name" in str(error)
    assert states == []
    assert [(r["id"], r["name"]) for r in db.rows(S)] == [(i, f"n{i}") for i in range(5)]
