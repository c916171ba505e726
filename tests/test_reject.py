"""``on_invalid_record: reject`` on the bad-input cases of the data-safety issue, as users run it.

Each test pipes input mixing valid and invalid records into the command
(``target-sequenced --config``) and reads back, on both dialects: the valid
rows exactly (per key the greatest valid sequence wins; an invalid version
counts for nothing), each invalid record in ``_sdc_rejected`` (its table, a
reason naming the line, the field and the rule, the record as received),
every record accounted for, the STATEs, and the summary line.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
import typing as t
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pytest

from tests.helpers import Db, lines, make_db, record, schema, state

EXE = str(Path(sys.executable).with_name("target-sequenced"))
BASE = {"id": {"type": "integer"}, "name": {"type": ["null", "string"]}}
DROP = object()
"""In a case's ``bad`` fields: leave the property out of the record."""
DONE = {"done": True}
DIALECTS = ("duckdb", "postgresql")
"""Those of conftest's ``dialect`` fixture (for the fixture that runs every case at once)."""


# -- running the command and reading back ---------------------------------------------


@dataclass
class Run:
    status: int
    states: list[t.Any]
    stderr: str

    def summary(self, stream: str) -> dict[str, int]:
        """The counters of the stream's summary line, logged at the end of every run."""
        found = re.findall(rf"Summary: stream '{re.escape(stream)}': (.*)", self.stderr)
        assert len(found) == 1, self.stderr[-3000:]
        return {k: int(v) for k, v in (pair.split("=") for pair in found[0].split())}


def run(db: Db, tmp_path: Path, text: str, **settings: t.Any) -> Run:
    """Run the command on ``text`` with ``db``'s config plus ``settings``."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps(db.config(**settings)))
    done = subprocess.run(
        [EXE, "--config", str(config)],
        input=text,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    states = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    return Run(done.returncode, states, done.stderr)


def logged(stderr: str, level: str, message: str) -> bool:
    """Whether the run logged ``message`` at ``level`` (the SDK's ``time | level | name | ...``)."""
    return (
        re.search(rf"^[^|]+\| {level} +\| [^|]+\| {re.escape(message)}$", stderr, re.MULTILINE)
        is not None
    )


def loaded(db: Db, table: str) -> list[dict]:
    """The table's rows by id, less the columns that hold the load's clock."""
    clock = {"_sdc_received_at", "_sdc_batched_at"}
    return [{k: v for k, v in r.items() if k not in clock} for r in db.rows(table)]


def parsed(text: str) -> t.Any:
    return json.loads(text, parse_float=Decimal)


def rejected(db: Db, table: str | None = None) -> list[dict]:
    """``_sdc_rejected``'s rows (of one table if given), ``record`` parsed, in input order."""
    if "_sdc_rejected" not in db.all_tables():
        return []
    rows = db.rows("_sdc_rejected", order_by="reason")
    for r in rows:
        assert isinstance(r["_sdc_rejected_at"], dt.datetime), r
        assert r["_sdc_rejected_at"].tzinfo is not None, r
        r["record"] = parsed(r["record"])
    rows = [r for r in rows if table is None or r["table_name"] == table]
    return sorted(rows, key=lambda r: int(re.findall(r"input line (\d+)", r["reason"])[0]))


def row(key: int, name: str, sequence: int, **values: t.Any) -> dict:
    """A loaded row as read back: the record's values, then the system columns."""
    return {
        "id": key,
        "name": name,
        **values,
        "_sdc_sequence": sequence,
        "_sdc_extracted_at": None,
        "_sdc_table_version": None,
        "_sdc_deleted_at": None,
    }


def assert_accounted(done: Run, stream: str, *, sent: int, rows: int, superseded: int, bad: int):
    """Every record sent is a row, a version a newer valid one superseded, or a rejected one."""
    assert rows + superseded + bad == sent
    counts = done.summary(stream)
    assert counts["received"] == sent, counts
    assert counts["rejected"] == bad, counts
    assert counts["inserted"] + counts["updated"] + counts["stale"] + bad == sent, counts


# -- the cases: one rule broken each ----------------------------------------------------


@dataclass(frozen=True)
class Case:
    props: dict
    """Properties besides id and name."""
    bad: dict
    """Fields that make a valid record invalid (``DROP``: leave the property out)."""
    words: tuple[str, ...]
    """What the reason must say: the field path, the rule, the value found."""
    schema_extra: dict = field(default_factory=dict)
    good: dict = field(default_factory=dict)
    """Fields every valid record carries besides id, name and _sdc_sequence."""
    stored: dict | None = None
    """``good`` as read back, when it reads back otherwise."""


SEQUENCE = ("#/_sdc_sequence: must be an integer", "signed 64-bit range")
NOW = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
CASES = {
    "sequence-as-a-string": Case({}, {"_sdc_sequence": "5000"}, (*SEQUENCE, "5000")),
    "sequence-as-a-fraction": Case({}, {"_sdc_sequence": 5000.5}, (*SEQUENCE, "5000.5")),
    "sequence-as-a-boolean": Case({}, {"_sdc_sequence": True}, SEQUENCE),
    "sequence-beyond-64-bits": Case(
        {}, {"_sdc_sequence": 2**63}, (*SEQUENCE, "found 9223372036854775808")
    ),
    "required-property-missing": Case(
        {},
        {"name": DROP},
        ("record does not conform to schema", "'name' is a required property"),
        {"required": ["id", "name"]},
    ),
    "additional-property": Case(
        {"_sdc_sequence": {"type": "integer"}},
        {"surprise": 1},
        ("Additional properties are not allowed ('surprise' was unexpected)",),
        {"additionalProperties": False},
    ),
    "enum": Case(
        {"plan": {"type": "string", "enum": ["free", "pro"]}},
        {"plan": "gold"},
        ("#/plan: 'gold' is not one of ['free', 'pro']",),
        good={"plan": "pro"},
    ),
    "max-length": Case(
        {"code": {"type": "string", "maxLength": 3}},
        {"code": "abcd"},
        ("#/code: 'abcd' is too long",),
        good={"code": "abc"},
    ),
    "minimum": Case(
        {"qty": {"type": "integer", "minimum": 0}},
        {"qty": -1},
        ("#/qty: -1 is less than the minimum of 0",),
        good={"qty": 0},
    ),
    "not-a-date-time": Case(
        {"at": {"type": "string", "format": "date-time"}},
        {"at": "yesterday"},
        ("#/at", "date-time", "yesterday"),
        good={"at": "2024-01-02T03:04:05Z"},
        stored={"at": NOW},
    ),
    "key-property-missing": Case({}, {"id": DROP}, ("Record is missing key property id",)),
    "integer-beyond-64-bits": Case(
        {"n": {"type": ["null", "integer"]}},
        {"n": 2**64},
        ("#/n: integer outside the signed 64-bit range, found 18446744073709551616",),
        good={"n": -(2**63)},
    ),
}


@dataclass
class Input:
    """Messages being written, each on its own line, with what the records must leave."""

    messages: list[dict] = field(default_factory=list)
    invalid: dict[int, tuple[str, dict]] = field(default_factory=dict)
    """Input line of each invalid record: its stream, its record."""

    def add(self, message: dict, *, valid: bool = True) -> None:
        self.messages.append(message)
        if not valid:
            self.invalid[len(self.messages)] = (message["stream"], message["record"])

    def text(self, *, one_by_one: bool = False) -> str:
        """The input; ``one_by_one``: RECORDs written so that the reader takes each on its own.

        The reader reads runs of RECORD lines in bulk when they start the usual
        way (``{"type": "RECORD", "stream": ...``), others one line at a time;
        both kinds meet the same checks.
        """
        if not one_by_one:
            return lines(*self.messages)
        written = [
            {"stream": m["stream"], **m} if m["type"] == "RECORD" else m for m in self.messages
        ]
        return lines(*written)


# Key 1: valid 10, invalid 20, valid 15 (the invalid newer version must not make
# 15 stale). Key 2: valid 10, invalid 20 (it must not replace 10). Key 3: valid
# versions only, the older one last.
VERSIONS = [(1, 10, True), (1, 20, False), (2, 10, True), (2, 20, False), (1, 15, True)]
VERSIONS += [(3, 30, True), (3, 5, True)]
WINNERS = [(1, 15), (2, 10), (3, 30)]


def versions(case: Case, stream: str) -> list[tuple[dict, bool]]:
    """The stream's SCHEMA, then the versions of VERSIONS, each with whether it is valid."""
    message = schema(stream, {**BASE, **case.props})
    message["schema"].update(case.schema_extra)
    messages = [(message, True)]
    for key, sequence, valid in VERSIONS:
        fields = {"id": key, "name": f"k{key}s{sequence}", **case.good, "_sdc_sequence": sequence}
        if not valid:
            fields.update(case.bad)
        rec = {k: v for k, v in fields.items() if v is not DROP}
        messages.append((record(stream, rec), valid))
    return messages


def check(db: Db, done: Run, case: Case, *, stream: str, sent: Input, found: list[dict]) -> None:
    """VERSIONS' winners loaded, the invalid ones in ``found``, every record accounted for."""
    table = stream.replace("-", "_")  # ``max-length`` becomes table ``max_length``
    stored = case.good if case.stored is None else case.stored
    want = [row(k, f"k{k}s{s}", s, **stored) for k, s in WINNERS]
    got = loaded(db, table)
    assert got == want
    bad = [(line, rec) for line, (s, rec) in sent.invalid.items() if s == stream]
    found = [r for r in found if r["table_name"] == table]
    assert [r["record"] for r in found] == [parsed(json.dumps(rec)) for _, rec in bad]
    for r, (line, _) in zip(found, bad, strict=True):
        assert r["reason"].startswith(f"stream '{stream}', input line {line}, record "), r
        for word in case.words:
            assert word in r["reason"], r["reason"]
        assert logged(done.stderr, "WARNING", f"Rejected: {r['reason']}")
    valid = sum(v for _, _, v in VERSIONS)
    assert_accounted(
        done,
        stream,
        sent=len(VERSIONS),
        rows=len(got),
        superseded=valid - len(got),
        bad=len(found),
    )


# -- every case in one run (a stream each), checked case by case -----------------------


@dataclass
class Outcome:
    """One run of every case at once, and what it left."""

    db: Db
    sent: Input
    done: Run
    rejected: list[dict]


@pytest.fixture(scope="session")
def every_case_runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> t.Iterator[t.Callable[[str, str, str | None], Outcome]]:
    """Every case in one run per dialect and way of reading, made once per test process."""
    made: dict[tuple[str, str], Outcome] = {}

    def outcome(dialect: str, written: str, pg: str | None) -> Outcome:
        if (dialect, written) not in made:
            tmp_path = tmp_path_factory.mktemp(f"every-case-{dialect}-{written}")
            db = make_db(dialect, tmp_path, pg)
            sent = Input()
            streams = [versions(case, name) for name, case in CASES.items()]
            for same_place in zip(*streams, strict=True):
                for message, valid in same_place:
                    sent.add(message, valid=valid)
            sent.add(state(DONE))
            text = sent.text(one_by_one=written == "one-by-one")
            done = run(db, tmp_path, text, on_invalid_record="reject")
            made[dialect, written] = Outcome(
                db, sent, done, rejected(db) if done.status == 0 else []
            )
        return made[dialect, written]

    yield outcome
    for each in made.values():
        each.db.dispose()


@pytest.fixture(params=[(d, w) for d in DIALECTS for w in ("bulk", "one-by-one")], ids="-".join)
def every_case(
    request: pytest.FixtureRequest,
    every_case_runs: t.Callable[[str, str, str | None], Outcome],
) -> Outcome:
    """Every case in one run, a stream each, their lines interleaved (and read either way).

    One run for all the cases keeps the file fast; each stream stands on its
    own (its table, its rejected records, its summary line), so each case is
    checked on its own by the tests below.
    """
    dialect, written = request.param
    pg = request.getfixturevalue("pg_url") if dialect == "postgresql" else None
    outcome = every_case_runs(dialect, written, pg)
    assert outcome.done.status == 0, outcome.done.stderr[-3000:]
    return outcome


@pytest.mark.parametrize("name", list(CASES))
def test_an_invalid_record_is_rejected_and_the_valid_ones_load(
    every_case: Outcome, name: str
) -> None:
    run_ = every_case
    check(run_.db, run_.done, CASES[name], stream=name, sent=run_.sent, found=run_.rejected)


def test_a_run_with_every_case_exits_0_and_emits_its_state(every_case: Outcome) -> None:
    done = every_case.done
    assert done.status == 0, done.stderr[-3000:]
    assert done.states == [DONE]
    assert len(every_case.sent.invalid) == len(every_case.rejected) == 2 * len(CASES)
    tables = {name.replace("-", "_") for name in CASES}
    assert {r["table_name"] for r in every_case.rejected} == tables


# -- the other cases ---------------------------------------------------------------------


def test_by_default_the_same_record_stops_the_run(db: Db, tmp_path: Path) -> None:
    sent = Input()
    for message, valid in versions(CASES["sequence-as-a-string"], "items"):
        sent.add(message, valid=valid)
    sent.add(state(DONE))
    done = run(db, tmp_path, sent.text())
    assert done.status == 1, done.stderr[-3000:]
    error = "stream 'items', input line 3, record 1: #/_sdc_sequence: must be an integer"
    assert re.search(rf"\| ERROR +\| [^|]+\| {re.escape(error)}", done.stderr), done.stderr
    assert done.states == []
    assert loaded(db, "items") == [row(1, "k1s10", 10)]
    assert "_sdc_rejected" not in db.all_tables()


def test_a_rejected_record_mid_run_lets_rows_and_states_after_it_through(
    db: Db, tmp_path: Path
) -> None:
    """4,000 records, a STATE every 250, loads every 300 rows: three invalid in the middle."""
    sent = Input()
    sent.add(schema("items", BASE))
    bad_ids = {1999, 2000, 2001}
    for i in range(4_000):
        sequence: t.Any = "bad" if i in bad_ids else i + 1
        rec = {"id": i, "name": f"n{i}", "_sdc_sequence": sequence}
        sent.add(record("items", rec), valid=i not in bad_ids)
        if (i + 1) % 250 == 0:
            sent.add(state({"done": i + 1}))
    done = run(db, tmp_path, sent.text(), on_invalid_record="reject", batch_size_rows=300)
    assert done.status == 0, done.stderr[-3000:]
    given = [m["value"] for m in sent.messages if m["type"] == "STATE"]
    assert done.states[-1] == {"done": 4_000}
    assert [given.index(s) for s in done.states] == sorted({given.index(s) for s in done.states})
    emitted = [s["done"] for s in done.states]
    assert any(n < 2_000 for n in emitted), emitted  # before the invalid records
    assert any(2_000 < n < 4_000 for n in emitted), emitted  # between them and the end
    want = [row(i, f"n{i}", i + 1) for i in range(4_000) if i not in bad_ids]
    assert loaded(db, "items") == want
    found = rejected(db)
    assert [r["record"]["id"] for r in found] == sorted(bad_ids)
    assert all(r["table_name"] == "items" for r in found)
    lines_of_bad = [line for line, _ in sent.invalid.items()]
    for r, line in zip(found, lines_of_bad, strict=True):
        assert f"input line {line}, record " in r["reason"]
        assert "#/_sdc_sequence: must be an integer" in r["reason"]
        assert 'found "bad"' in r["reason"]
    assert_accounted(done, "items", sent=4_000, rows=3_997, superseded=0, bad=3)


# -- Import API batches -----------------------------------------------------------------

API_SCHEMA = {
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "n": {"type": ["null", "integer"]},
    },
}


def batch(*messages: dict) -> dict:
    """A batch object (``POST /v2/import/batch``), as in examples/customers-batches.jsonl."""
    return {
        "table_name": "customers",
        "schema": API_SCHEMA,
        "key_names": ["id"],
        "messages": list(messages),
    }


def upsert(sequence: int, **data: t.Any) -> dict:
    return {"action": "upsert", "sequence": sequence, "data": data}


def api_row(key: int, name: str, n: int, sequence: int) -> dict:
    return {
        "id": key,
        "name": name,
        "n": n,
        "_sdc_sequence": sequence,
        "_sdc_extracted_at": None,
        "_sdc_table_version": 0,
        "_sdc_deleted_at": None,
    }


def test_an_import_api_record_breaking_a_loading_rule_is_rejected_and_its_batch_loads(
    db: Db, tmp_path: Path
) -> None:
    """The API's rules allow an integer beyond 64 bits; the column does not: only it is rejected."""
    first = batch(upsert(1, id=1, name="Finn", n=1), upsert(2, id=2, name="Jake", n=2))
    mixed = batch(
        upsert(3, id=3, name="Ann", n=3),
        upsert(40, id=2, name="huge", n=2**64),  # newer than Jake's 2, invalid
        upsert(5, id=1, name="Finn again", n=5),
    )
    later = batch(upsert(30, id=2, name="Jake later", n=30))  # older than the invalid 40
    text = lines(first, state({"n": 1}), mixed, state({"n": 2}), later, state({"n": 3}))
    done = run(db, tmp_path, text, on_invalid_record="reject")
    assert done.status == 0, done.stderr[-3000:]
    assert done.states[-1] == {"n": 3}
    assert loaded(db, "customers") == [
        api_row(1, "Finn again", 5, 5),
        api_row(2, "Jake later", 30, 30),
        api_row(3, "Ann", 3, 3),
    ]
    (found,) = rejected(db)
    assert found["table_name"] == "customers"
    # Input line 3, the batch's message 1, and the record: the message's data and its sequence.
    assert found["reason"].startswith("stream 'customers', input line 3 (item 1), record "), found
    rule = "#/n: integer outside the signed 64-bit range, found 18446744073709551616"
    assert rule in found["reason"]
    assert found["record"] == {"id": 2, "name": "huge", "n": 2**64, "_sdc_sequence": 40}
    assert logged(done.stderr, "WARNING", f"Rejected: {found['reason']}")
    assert_accounted(done, "customers", sent=6, rows=3, superseded=2, bad=1)


def test_an_import_api_batch_breaking_the_apis_rules_is_refused_whole_even_with_reject(
    db: Db, tmp_path: Path
) -> None:
    before = batch(upsert(1, id=1, name="Finn", n=1), upsert(2, id=2, name="Jake", n=2 * 2**64))
    bad = batch(upsert(3, id=3, name="Ann", n=3), upsert(4, id="four", name="Bob", n=4))
    after = batch(upsert(5, id=5, name="never", n=5))
    text = lines(before, state({"n": 1}), bad, state({"n": 2}), after, state({"n": 3}))
    done = run(db, tmp_path, text, on_invalid_record="reject")
    assert done.status == 1, done.stderr[-3000:]
    error = (
        "input line 3, table 'customers': Import API payload rejected, nothing of it was loaded:\n"
        "Record 1 did not conform to schema:\n"
        "#/id: expected type: Integer, found: String"
    )
    assert re.search(rf"\| ERROR +\| [^|]+\| {re.escape(error)}", done.stderr), done.stderr
    assert done.states == [{"n": 1}]
    assert loaded(db, "customers") == [api_row(1, "Finn", 1, 1)]
    (found,) = rejected(db)  # from the batch before, committed with it
    assert found["reason"].startswith("stream 'customers', input line 1 (item 1), record 1: ")
    assert found["record"] == {"id": 2, "name": "Jake", "n": 2 * 2**64, "_sdc_sequence": 2}
    assert logged(done.stderr, "WARNING", f"Rejected: {found['reason']}")
