"""Tables and values: columns, widening, JSON, timestamps, numbers, names."""

from __future__ import annotations

import datetime as dt

import pytest

from target_sequenced.core.errors import SchemaError
from target_sequenced.destinations.sql import SqlDestination
from tests.helpers import Db, lines, record, run_target, run_target_failing, schema, state

pytestmark = pytest.mark.usefixtures("record_path")

UTC = dt.timezone.utc


def test_table_has_key_as_primary_key_and_system_columns(db: Db) -> None:
    run_target(db.config(), lines(schema("t", {"id": {"type": "integer"}}), record("t", {"id": 1})))
    types = db.column_types("t")
    assert list(types) == [
        "id",
        "_sdc_sequence",
        "_sdc_received_at",
        "_sdc_batched_at",
        "_sdc_extracted_at",
        "_sdc_table_version",
        "_sdc_deleted_at",
    ]
    assert types["_sdc_sequence"] == "bigint"
    assert types["_sdc_table_version"] == "bigint"
    for name in ("_sdc_received_at", "_sdc_batched_at", "_sdc_extracted_at", "_sdc_deleted_at"):
        assert types[name] == "timestamp with time zone"
    assert db.primary_key("t") == ["id"]


def test_system_columns_hold_message_metadata(db: Db) -> None:
    msg = record(
        "t",
        {"id": 1, "_sdc_sequence": 42},
        version=7,
        time_extracted="2024-05-06T07:08:09.123456+02:00",
    )
    before = dt.datetime.now(tz=UTC)
    run_target(db.config(), lines(schema("t", {"id": {"type": "integer"}}), msg))
    after = dt.datetime.now(tz=UTC)
    (row,) = db.rows("t")
    assert row["_sdc_sequence"] == 42
    assert row["_sdc_table_version"] == 7
    assert row["_sdc_extracted_at"] == dt.datetime(2024, 5, 6, 5, 8, 9, 123456, tzinfo=UTC)
    assert before <= row["_sdc_received_at"] <= row["_sdc_batched_at"] <= after
    assert row["_sdc_deleted_at"] is None


def test_new_properties_become_columns(db: Db) -> None:
    base = {"id": {"type": "integer"}, "a": {"type": "string"}}
    run_target(db.config(), lines(schema("t", base), record("t", {"id": 1, "a": "x"})))
    wider = {**base, "b": {"type": ["null", "integer"]}}
    run_target(db.config(), lines(schema("t", wider), record("t", {"id": 2, "a": "y", "b": 5})))
    assert [(r["id"], r["a"], r["b"]) for r in db.rows("t")] == [(1, "x", None), (2, "y", 5)]


def test_integer_widens_to_number_then_string_without_losing_values(db: Db) -> None:
    def step(kind: str, rid: int, value: object) -> None:
        props = {"id": {"type": "integer"}, "v": {"type": ["null", kind]}}
        run_target(db.config(), lines(schema("w", props), record("w", {"id": rid, "v": value})))

    step("integer", 1, 9007199254740993)
    assert db.column_types("w")["v"] == "bigint"
    step("number", 2, 2.5)
    assert db.column_types("w")["v"] in {"decimal(38,1)", "numeric"}
    step("string", 3, "three")
    assert db.column_types("w")["v"] in {"varchar", "text"}
    step("integer", 4, 4)  # a narrower schema later does not narrow the column
    values = [r["v"] for r in db.rows("w")]
    # every value kept exactly: numbers are decimals, not doubles (contract 8)
    assert values == ["9007199254740993", "2.5", "three", "4"]


def test_widening_inside_one_run_across_schema_messages(db: Db) -> None:
    msgs = [
        schema("w", {"id": {"type": "integer"}, "v": {"type": "integer"}}),
        record("w", {"id": 1, "v": 10}),
        schema("w", {"id": {"type": "integer"}, "v": {"type": "string"}}),
        record("w", {"id": 2, "v": "ten"}),
    ]
    run_target(db.config(), lines(*msgs))
    assert [(r["id"], r["v"]) for r in db.rows("w")] == [(1, "10"), (2, "ten")]


def test_objects_and_arrays_round_trip_as_json(db: Db) -> None:
    value = {"a": 1, "b": [1, 2.5, "x", None, True], "c": {"d": {"e": []}}, "ü": "漢字 🚀"}
    props = {
        "id": {"type": "integer"},
        "obj": {"type": ["null", "object"]},
        "arr": {"type": ["null", "array"], "items": {}},
        "free": {},
    }
    rec = {"id": 1, "obj": value, "arr": [value, []], "free": "just a string"}
    run_target(db.config(), lines(schema("j", props), record("j", rec)))
    (row,) = db.rows("j")  # both drivers decode JSON columns
    assert row["obj"] == value
    assert row["arr"] == [value, []]
    assert row["free"] == "just a string"
    types = db.column_types("j")
    assert types["obj"] == ("json" if db.dialect == "duckdb" else "jsonb")


def test_a_json_column_keeps_a_repeated_name_as_sent(db: Db) -> None:
    # README, "Choices where the contract is silent": the checks read the first
    # value; the column holds the object's text, whose reader then chooses.
    props = {"id": {"type": "integer"}, "obj": {"type": ["null", "object"]}}
    text = lines(schema("j", props)) + (
        '{"type": "RECORD", "stream": "j", "record": {"id": 1, "obj": {"b": 1, "b": "x"}}}\n'
    )
    run_target(db.config(), text)
    [(stored,)] = [tuple(r.values()) for r in db.rows("j", columns="CAST(obj AS VARCHAR)")]
    if db.dialect == "duckdb":
        assert stored == '{"b":1,"b":"x"}'
    else:
        assert stored == '{"b": "x"}'  # jsonb keeps the last of a repeated name


def test_date_time_is_a_timestamp_with_time_zone(db: Db) -> None:
    props = {"id": {"type": "integer"}, "ts": {"type": ["null", "string"], "format": "date-time"}}
    inputs = ["2024-01-02T03:04:05Z", "2024-01-02T03:04:05.678901+05:30", "2024-01-02T03:04:05"]
    msgs = [record("d", {"id": i, "ts": ts}) for i, ts in enumerate(inputs)]
    run_target(db.config(), lines(schema("d", props), *msgs))
    assert db.column_types("d")["ts"] == "timestamp with time zone"
    got = [r["ts"] for r in db.rows("d")]
    assert got == [
        dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        dt.datetime(2024, 1, 1, 21, 34, 5, 678901, tzinfo=UTC),
        dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),  # no offset: taken as UTC
    ]


def test_empty_string_stays_empty_and_null_stays_null(db: Db) -> None:
    props = {"id": {"type": "integer"}, "s": {"type": ["null", "string"]}}
    tricky = ["", None, "NULL", "\\N", "a,b", 'q"q', "line\nbreak", "tab\tx", "  padded  "]
    msgs = [record("s", {"id": i, "s": v}) for i, v in enumerate(tricky)]
    run_target(db.config(), lines(schema("s", props), *msgs))
    assert [r["s"] for r in db.rows("s")] == tricky


def test_names_are_mapped_deterministically(db: Db) -> None:
    long_a = "a_really_long_property_name_that_goes_on_and_on_past_the_limit_one"
    long_b = "a_really_long_property_name_that_goes_on_and_on_past_the_limit_two"
    props = {
        "Id": {"type": "integer"},
        "clientName": {"type": "string"},
        "agent:os:version": {"type": "string"},
        "select": {"type": "string"},
        "order": {"type": "integer"},
        "2fa": {"type": "boolean"},
        long_a: {"type": "string"},
        long_b: {"type": "string"},
    }
    rec = {
        "Id": 1,
        "clientName": "c",
        "agent:os:version": "10.1",
        "select": "s",
        "order": 3,
        "2fa": True,
        long_a: "A",
        long_b: "B",
    }
    stream = "public-My:Stream!"
    run_target(db.config(), lines(schema(stream, props, key=["Id"]), record(stream, rec)))
    assert "public_my_stream_" in db.tables()
    (row,) = db.rows("public_my_stream_")
    user = {k: v for k, v in row.items() if not k.startswith("_sdc_")}
    long_cols = sorted(k for k in user if k.startswith("a_really"))
    assert len(long_cols) == 2
    assert all(len(c) == 63 for c in long_cols)
    assert {user[c] for c in long_cols} == {"A", "B"}
    assert {k: v for k, v in user.items() if k not in long_cols} == {
        "id": 1,
        "client_name": "c",
        "agent_os_version": "10.1",
        "select": "s",
        "order": 3,
        "_2fa": True,
    }


def test_a_changed_key_is_refused_and_the_table_left_as_it_was(db: Db) -> None:
    """Contract 3 (issue 11 item 7): a table's key is fixed by its first load."""
    props = {"id": {"type": "integer"}, "email": {"type": "string"}, "n": {"type": "integer"}}
    run_target(
        db.config(),
        lines(
            schema("u", props, key=["id"]),
            record("u", {"id": 1, "email": "a@x", "n": 1, "_sdc_sequence": 1}),
            record("u", {"id": 2, "email": "a@x", "n": 2, "_sdc_sequence": 2}),
            record("u", {"id": 3, "email": "b@x", "n": 3, "_sdc_sequence": 3}),
        ),
    )
    before = db.rows("u")
    error, states = run_target_failing(
        db.config(),
        lines(
            state({"before": True}),
            schema("u", props, key=["email"]),
            record("u", {"id": 9, "email": "b@x", "n": 9, "_sdc_sequence": 2}),
            record("u", {"id": 4, "email": "c@x", "n": 4, "_sdc_sequence": 4}),
        ),
    )
    assert isinstance(error, SchemaError)
    assert str(error).startswith("stream 'u', input line 2: the SCHEMA's key ['email'] differs")
    assert "table 'u''s key ['id']" in str(error)
    assert "another table" in error.remedy
    assert db.rows("u") == before
    assert db.primary_key("u") == ["id"]
    assert states == [{"before": True}]


def test_append_only_into_a_keyed_table_is_refused(db: Db) -> None:
    props = {"id": {"type": "integer"}, "n": {"type": "integer"}}
    run_target(db.config(), lines(schema("k", props), record("k", {"id": 1, "n": 1})))
    error, _ = run_target_failing(
        db.config(load_method="append-only"),
        lines(schema("k", props), record("k", {"id": 1, "n": 2}), record("k", {"id": 1, "n": 3})),
    )
    assert isinstance(error, SchemaError)
    assert "table 'k' has primary key ['id']" in str(error)
    assert [r["n"] for r in db.rows("k", order_by="n")] == [1]


@pytest.mark.parametrize(
    "settings",
    [{}, {"hard_delete": True}, {"load_method": "append-only"}],
    ids=["upsert", "hard-delete", "append-only"],
)
def test_loads_leave_no_staging_behind(
    db: Db, settings: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Staged rows (a temporary table, or on DuckDB a registered Arrow table) go with the load."""
    left: list[list[str]] = []
    original = SqlDestination.close

    def look_then_dispose(self: SqlDestination) -> None:
        with self.connection() as conn:  # the load's own session: one connection per thread
            query = (
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_type = 'LOCAL TEMPORARY'"
                if db.dialect == "postgresql"
                else "SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal "
                "UNION ALL SELECT table_name FROM duckdb_tables() WHERE temporary"
            )
            left.append(sorted(conn.exec_driver_sql(query).scalars()))
        original(self)

    monkeypatch.setattr(SqlDestination, "close", look_then_dispose)
    props = {"id": {"type": "integer"}, "n": {"type": "integer"}}
    messages = [record("s", {"id": i % 7, "n": i}) for i in range(30)]
    run_target(db.config(batch_size_rows=10, **settings), lines(schema("s", props), *messages))
    assert left == [[]]
    assert len(db.rows("s")) == (30 if settings.get("load_method") else 7)
