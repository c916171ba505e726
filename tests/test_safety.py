"""Issue 11: ways to lose data at the edges, each a scenario that failed on 0c80ae1.

Each test reads the rows back on both dialects (and both ways records are read:
in bulk from the input, and one line at a time).
"""

from __future__ import annotations

import decimal
import json
import subprocess
import sys
from pathlib import Path

import pytest

from target_sequenced.core.errors import ConfigError, InputError
from tests.helpers import (
    Db,
    lines,
    make_db,
    record,
    run_target,
    run_target_failing,
    schema,
    state,
)

EXE = str(Path(sys.executable).with_name("target-sequenced"))
S = "items"
PROPS = {
    "id": {"type": "integer"},
    "name": {"type": ["null", "string"]},
    "_sdc_sequence": {"type": ["null", "integer"]},
}


def names(db: Db, table: str = S) -> dict[int, tuple[int, str | None]]:
    return {r["id"]: (r["_sdc_sequence"], r["name"]) for r in db.rows(table)}


# -- item 1: a non-integer _sdc_sequence, and sources that do not compare ------------


@pytest.mark.usefixtures("record_path")
@pytest.mark.parametrize("value", ["5000", 5000.5, 5000.0, True, 2**63, -(2**63) - 1])
def test_a_sequence_that_is_no_integer_is_refused_and_never_wins(db: Db, value: object) -> None:
    good = record(S, {"id": 1, "name": "first", "_sdc_sequence": 1_800_000_000_000})
    bad = record(S, {"id": 1, "name": "bad", "_sdc_sequence": value})
    error, _ = run_target_failing(db.config(), lines(schema(S, PROPS), good, bad))
    assert isinstance(error, InputError)
    assert "input line 3, record 1: " in str(error)
    # The schema's words when it declares the type, else the sequence rule's.
    said = str(error).split("#/_sdc_sequence: ", 1)[1]
    assert said.startswith("must be an integer") or "is not of type" in said, said
    assert "a bug in target-sequenced" not in str(error)
    later = record(S, {"id": 1, "name": "newer", "_sdc_sequence": 1_800_000_000_001})
    run_target(db.config(), lines(schema(S, PROPS), later))
    assert names(db) == {1: (1_800_000_000_001, "newer")}


@pytest.mark.usefixtures("record_path")
def test_a_table_of_generated_sequences_refuses_epoch_milliseconds(db: Db) -> None:
    run_target(db.config(), lines(schema(S, PROPS), record(S, {"id": 1, "name": "generated"})))
    millis = record(S, {"id": 1, "name": "millis", "_sdc_sequence": 1_800_000_000_000})
    error, _ = run_target_failing(db.config(), lines(schema(S, PROPS), millis))
    message = str(error)
    assert "sequences the target generated" in message
    assert "the records' own _sdc_sequence" in message
    assert "sequence_sources_comparable" in message
    assert names(db)[1][1] == "generated"
    # Declared comparable, they load (and compare as numbers).
    run_target(db.config(sequence_sources_comparable=True), lines(schema(S, PROPS), millis))
    assert names(db)[1][1] == "generated"  # nanoseconds beat milliseconds


@pytest.mark.usefixtures("record_path")
def test_switching_to_a_date_time_sequence_property_is_refused(db: Db) -> None:
    props = {**PROPS, "at": {"type": "string", "format": "date-time"}}
    first = record(S, {"id": 1, "name": "own", "_sdc_sequence": 5, "at": "2024-01-01T00:00:00Z"})
    run_target(db.config(), lines(schema(S, props), first))
    later = record(S, {"id": 1, "name": "micros", "at": "2024-01-02T00:00:00Z"})
    error, _ = run_target_failing(db.config(sequence_property="at"), lines(schema(S, props), later))
    assert "the date-time property 'at' (microseconds)" in str(error)
    assert names(db) == {1: (5, "own")}


# -- item 2: STATE after each commit --------------------------------------------------


def interleaved(records: int, streams: int, state_every: int) -> list[dict]:
    """``records`` versions over ``streams`` streams, interleaved, a STATE every ``state_every``."""
    messages = [schema(f"s{n}", PROPS) for n in range(streams)]
    for i in range(records):
        rec = {"id": i // streams % 1000, "name": f"v{i}", "_sdc_sequence": i}
        messages.append(record(f"s{i % streams}", rec))
        if (i + 1) % state_every == 0:
            messages.append(state({"done": i + 1}))
    return messages


def test_state_comes_out_as_the_commits_make_it_safe(db: Db) -> None:
    """The issue's figure: 60k records, 3 streams, a STATE every 2,000, batch_size_rows 3000."""
    messages = interleaved(60_000, 3, 2_000)
    states = run_target(db.config(batch_size_rows=3_000), lines(*messages))
    sent = [m["value"] for m in messages if m["type"] == "STATE"]
    assert len(states) >= 10, states
    assert states[-1] == sent[-1] == {"done": 60_000}
    assert [sent.index(s) for s in states] == sorted({sent.index(s) for s in states})


# -- item 5 and 6: a bad line, wherever it is -----------------------------------------


BAD_LINES = {
    "byte-order mark": '\ufeff{"type": "STATE", "value": 1}',
    "not JSON": "{bad",
    "unknown type": '{"type": "NOPE"}',
}


@pytest.mark.parametrize("bad", list(BAD_LINES), ids=list(BAD_LINES))
def test_a_bad_first_line_exits_1_every_time(tmp_path: Path, bad: str) -> None:
    """On 0c80ae1 DuckDB aborted (SIGABRT, exit 134) while it opened in its threads."""
    text = BAD_LINES[bad] + "\n" + lines(schema(S, PROPS), record(S, {"id": 1}))
    for _ in range(8):
        done = subprocess.run(
            [EXE], input=text, capture_output=True, text=True, cwd=tmp_path, timeout=60, check=False
        )
        assert done.returncode == 1, done.stderr[-2000:]
        assert "input line 1: " in done.stderr
        assert "Traceback" not in done.stderr


@pytest.mark.usefixtures("record_path")
@pytest.mark.parametrize(
    ("last", "says"),
    [
        ('{"type": "RECORD", "stream": "items", "rec', "input line 5: not valid JSON"),
        ("not json at all", "input line 5: not valid JSON"),
        ('{"type": "RECORD", "stream": "items", "record": {"id": "x"}}', "input line 5, record 2"),
    ],
    ids=["truncated last line", "malformed line", "breaks its schema"],
)
def test_a_bad_line_commits_what_came_before_it(db: Db, last: str, says: str) -> None:
    text = lines(
        schema(S, PROPS),
        record(S, {"id": 1, "name": "a", "_sdc_sequence": 1}),
        state({"n": 1}),
        record(S, {"id": 2, "name": "b", "_sdc_sequence": 1}),
    )
    error, states = run_target_failing(db.config(), text + last)
    assert isinstance(error, InputError)
    assert says in str(error)
    assert names(db) == {1: (1, "a"), 2: (1, "b")}
    assert states == [{"n": 1}]


# -- item 8: numbers keep their digits ------------------------------------------------

NUMBERS = [
    "12345678901234.123456",
    "-99999999999999.999999",
    "0.30000000000000004",
    "1e300",
    "-2.5e-7",
    "123456789012345678901234567890",
    "0",
    "1.10",
]


@pytest.mark.usefixtures("record_path")
def test_numbers_are_stored_exactly_and_read_back_as_the_same_decimal(db: Db) -> None:
    props = {"id": {"type": "integer"}, "n": {"type": ["null", "number"]}}
    body = "".join(
        f'{{"type": "RECORD", "stream": "n", "record": {{"id": {i}, "n": {text}}}}}\n'
        for i, text in enumerate(NUMBERS)
    )
    run_target(db.config(), lines(schema("n", props)) + body)
    column = "CAST(n AS VARCHAR)" if db.dialect == "duckdb" else "n::text"
    stored = [r["v"] for r in db.rows("n", columns=f"id, {column} AS v")]
    assert [decimal.Decimal(v) for v in stored] == [decimal.Decimal(n) for n in NUMBERS]
    if db.dialect == "duckdb":  # 1e300 beside 0.5 fits no DECIMAL(38, s): exact text
        assert db.column_types("n")["n"] == "varchar"
    else:
        assert db.column_types("n")["n"] == "numeric"


@pytest.mark.usefixtures("record_path")
def test_a_tap_decimal_column_is_a_decimal_on_duckdb_too(db: Db) -> None:
    """meltanolabs-tap-postgres sends numeric(20,6) as plain ``number``."""
    props = {"id": {"type": "integer"}, "n": {"type": ["number", "null"]}}
    body = "".join(
        f'{{"type": "RECORD", "stream": "d", "record": {{"id": {i}, "n": {text}}}}}\n'
        for i, text in enumerate(NUMBERS[:2])
    )
    run_target(db.config(), lines(schema("d", props)) + body)
    got = [r["n"] for r in db.rows("d")]
    assert got == [decimal.Decimal(n) for n in NUMBERS[:2]]
    want = "decimal(38,6)" if db.dialect == "duckdb" else "numeric"
    assert db.column_types("d")["n"] == want


def test_a_double_column_from_an_earlier_version_turns_to_text_before_it_rounds(
    tmp_path: Path,
) -> None:
    """Version 0.1 made ``number`` columns DOUBLE on DuckDB; a value no double holds widens it."""
    db = make_db("duckdb", tmp_path, None)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE d (id BIGINT PRIMARY KEY, n DOUBLE)")
        conn.exec_driver_sql("INSERT INTO d VALUES (1, 0.5), (2, 100.0)")
    props = {"id": {"type": "integer"}, "n": {"type": ["number", "null"]}}
    body = '{"type": "RECORD", "stream": "d", "record": {"id": 3, "n": 12345678901234.123456}}\n'
    run_target(db.config(), lines(schema("d", props)) + body)
    assert db.column_types("d")["n"] == "varchar"
    assert [r["n"] for r in db.rows("d")] == ["0.5", "100", "12345678901234.123456"]
    # A value a double holds keeps the column as it is.
    (tmp_path / "second").mkdir()
    db2 = make_db("duckdb", tmp_path / "second", None)
    with db2.engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE d (id BIGINT PRIMARY KEY, n DOUBLE)")
    run_target(db2.config(), lines(schema("d", props), record("d", {"id": 1, "n": 2.25})))
    assert db2.column_types("d")["n"] == "double"
    assert [r["n"] for r in db2.rows("d")] == [2.25]
    db.dispose()
    db2.dispose()


# -- item 9: a misspelled setting -----------------------------------------------------


def test_a_misspelled_setting_is_an_error_naming_the_closest(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"sqlalchemy_uri": "postgresql+psycopg://h/db"}))
    done = subprocess.run(
        [EXE, "--config", str(config)],
        input="",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "sqlalchemy_uri: not a setting of target-sequenced; did you mean 'sqlalchemy_url'?" in (
        done.stderr
    )
    assert not list(tmp_path.glob("*.duckdb"))


def test_unknown_settings_are_listed_with_every_other_problem() -> None:
    from target_sequenced.singer.target import TargetSequenced  # noqa: PLC0415

    with pytest.raises(ConfigError) as raised:
        TargetSequenced(config={"load_methd": "upsert", "batch_size_rows": 0})
    assert any("load_methd" in e and "'load_method'" in e for e in raised.value.errors)
    assert any(e.startswith("batch_size_rows") for e in raised.value.errors)


# -- item 10: the bulk path refuses what the record path refuses ----------------------


@pytest.mark.usefixtures("record_path")
@pytest.mark.parametrize(
    ("props", "extra", "bad", "rule"),
    [
        (
            {"name": {"type": "string"}},
            {"required": ["id", "name"]},
            {"id": 7},
            "'name' is a required",
        ),
        (
            {"name": {"type": "string"}},
            {"additionalProperties": False},
            {"id": 7, "name": "x", "surprise": 1},
            "Additional properties are not allowed",
        ),
    ],
    ids=["required", "additionalProperties"],
)
def test_required_and_additional_properties_are_checked_on_every_path(
    db: Db, props: dict, extra: dict, bad: dict, rule: str
) -> None:
    message = schema(S, {"id": {"type": "integer"}, **props})
    message["schema"].update(extra)
    good = [record(S, {"id": i, "name": f"n{i}"}) for i in range(199)]
    error, _ = run_target_failing(db.config(), lines(message, *good, record(S, bad)))
    assert isinstance(error, InputError)
    assert f"stream '{S}', input line 201, record 199: record does not conform to schema" in str(
        error
    )
    assert rule in str(error)
    assert len(db.rows(S)) == 199
