"""Import API payloads on stdin, loaded into both dialects and read back.

Spec vectors are those of ``spec/import-api.md`` section 7 that describe the
loaded rows; the translator's own vectors (errors, messages) are in
``tests/test_translate.py``.
"""

from __future__ import annotations

import json
import random
import typing as t
from decimal import Decimal
from pathlib import Path

import pytest

from target_sequenced.core.errors import PayloadError
from tests.helpers import Db, lines, record, run_target, run_target_failing, schema, state

EXAMPLES = Path(__file__).parent.parent / "examples"
SCHEMA = {
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "updated_at": {"type": "string", "format": "date-time"},
    },
}


def batch(messages: list[dict], **extra: t.Any) -> dict:
    return {
        "table_name": "customers",
        "schema": SCHEMA,
        "key_names": ["id"],
        "messages": messages,
        **extra,
    }


def upsert(sequence: int, **data: t.Any) -> dict:
    return {"action": "upsert", "sequence": sequence, "data": data}


def text(*payloads: object) -> str:
    return "".join(json.dumps(p) + "\n" for p in payloads)


def names(db: Db, table: str = "customers") -> dict[int, tuple[str, int]]:
    return {r["id"]: (r["name"], r["_sdc_sequence"]) for r in db.rows(table)}


def test_sequencing_guide_example(db: Db) -> None:
    run_target(db.config(), (EXAMPLES / "stitch-sequencing-guide.jsonl").read_text())
    rows = db.rows("customers")
    assert [(r["id"], r["name"], r["has_magic"], r["_sdc_sequence"]) for r in rows] == [
        (1, "Finn", False, 1574807395000),
        (2, "Jake", False, 1574807445000),
    ]


def test_spec_vector_1_row_and_system_columns(db: Db) -> None:
    msg = upsert(100, id=1, name="Finn", updated_at="2020-01-13T21:25:03+0000")
    run_target(db.config(), text(batch([msg])))
    (row,) = db.rows("customers")
    assert (row["id"], row["name"], row["_sdc_sequence"], row["_sdc_table_version"]) == (
        1,
        "Finn",
        100,
        0,
    )
    assert row["updated_at"].isoformat() == "2020-01-13T21:25:03+00:00"


def test_spec_vector_6_table_version_and_bookmarks(db: Db) -> None:
    payload = batch([upsert(100, id=1, name="Finn")], table_version=3, bookmark_names=["id"])
    run_target(db.config(), text(payload))
    (row,) = db.rows("customers")
    assert row["_sdc_table_version"] == 3


def test_spec_vectors_30_to_33_greatest_sequence_per_key(db: Db) -> None:
    first = batch(
        [
            upsert(200, id=2, name="A"),
            upsert(100, id=2, name="B"),
            upsert(101, id=10, name="canceled"),
            upsert(500, id=3, name="X"),
            upsert(500, id=3, name="Y"),
        ],
    )
    run_target(db.config(), text(first))
    run_target(db.config(), text(batch([upsert(99, id=10, name="new")])))
    run_target(db.config(), text(batch([upsert(90, id=22, name="late")])))
    assert names(db) == {
        2: ("A", 200),
        3: ("Y", 500),
        10: ("canceled", 101),
        22: ("late", 90),
    }


@pytest.mark.parametrize("keys", [None, []], ids=["absent", "empty"])
def test_spec_vectors_34_35_without_key_names_appends(db: Db, keys: list | None) -> None:
    payload: dict = batch([upsert(100, id=1, name="Finn")])
    if keys is None:
        del payload["key_names"]
    else:
        payload["key_names"] = keys
    run_target(db.config(), text(payload, payload))
    assert [(r["id"], r["name"]) for r in db.rows("customers")] == [(1, "Finn"), (1, "Finn")]


def test_spec_vector_49_activate_version_retires_older_versions(db: Db) -> None:
    run_target(
        db.config(hard_delete=True), text(batch([upsert(1, id=3, name="old")], table_version=4))
    )
    a = batch([upsert(2, id=1, name="a"), upsert(3, id=2, name="b")], table_version=5)
    b = batch([{"action": "activate_version", "sequence": 4}], table_version=5)
    run_target(db.config(hard_delete=True), text(a, b))
    assert sorted(names(db)) == [1, 2]


def test_versions_shuffled_over_batches_and_runs(db: Db) -> None:
    rng = random.Random(11)
    versions = [
        upsert(1000 + v * 10 + k, id=k, name=f"k{k}v{v}") for k in range(20) for v in range(6)
    ]
    rng.shuffle(versions)
    batches = [batch(versions[i : i + 7]) for i in range(0, len(versions), 7)]
    half = len(batches) // 2
    run_target(db.config(), text(*batches[:half]))
    run_target(db.config(), text(*batches[half:]))
    assert names(db) == {k: (f"k{k}v5", 1050 + k) for k in range(20)}


def test_push_records_for_several_tables(db: Db) -> None:
    push = [
        {
            "client_id": 7,
            "table_name": "orders",
            "sequence": 2,
            "action": "upsert",
            "key_names": ["id"],
            "data": {"id": 1, "cost": 3.14},
        },
        {
            "client_id": 7,
            "table_name": "users",
            "sequence": 1,
            "action": "upsert",
            "key_names": ["id"],
            "data": {"id": 1, "name": "Ann"},
        },
        {
            "client_id": 7,
            "table_name": "orders",
            "sequence": 1,
            "action": "upsert",
            "key_names": ["id"],
            "data": {"id": 1, "cost": 10},
        },
    ]
    run_target(db.config(), text(push))
    assert [(r["id"], r["cost"], r["_sdc_sequence"]) for r in db.rows("orders")] == [
        (1, Decimal("3.14"), 2)
    ]
    assert [(r["id"], r["name"]) for r in db.rows("users")] == [(1, "Ann")]


def test_mixed_singer_and_import_api_lines(db: Db) -> None:
    singer = lines(
        schema("items", {"id": {"type": "integer"}, "v": {"type": "string"}}),
        record("items", {"id": 1, "v": "new", "_sdc_sequence": 9}),
        state({"n": 1}),
    )
    api = text(batch([upsert(5, id=1, name="Finn")]))
    later = lines(record("items", {"id": 1, "v": "old", "_sdc_sequence": 3}), state({"n": 2}))
    states = run_target(db.config(), singer + api + later)
    assert [(r["id"], r["v"]) for r in db.rows("items")] == [(1, "new")]
    assert names(db) == {1: ("Finn", 5)}
    assert states[-1] == {"n": 2}


def test_invalid_batch_after_valid_ones_stops_with_located_error(db: Db) -> None:
    good = batch([upsert(1, id=1, name="Finn"), upsert(2, id=2, name="Jake")])
    bad = batch([upsert(3, id=3, name="Ann"), upsert(4, id="four", name="Bob")])
    after = batch([upsert(5, id=5, name="never")])
    error, states = run_target_failing(
        db.config(),
        text(good) + lines(state({"n": 1})) + text(bad, after),
    )
    assert isinstance(error, PayloadError)
    assert str(error).startswith(
        "input line 3, table 'customers': Import API payload rejected, nothing of it was loaded:",
    )
    assert (
        "Record 1 did not conform to schema:\n#/id: expected type: Integer, found: String"
        in str(
            error,
        )
    )
    assert names(db) == {1: ("Finn", 1), 2: ("Jake", 2)}
    assert states == [{"n": 1}]


def test_unrecognised_line_is_named(db: Db) -> None:
    error, _ = run_target_failing(db.config(), text({"hello": "world"}))
    assert str(error).startswith("input line 1: neither a Singer message")
