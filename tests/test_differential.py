"""Random Singer streams loaded by the real target, compared with tests/reference.py.

Hypothesis draws one case per example: one or two streams (single, composite or
no key; 1-6 properties of every JSON type, maybe nullable), settings (load
method, hard deletes, where sequences come from), one or two runs of 1-300
records over a small key space with sequences from a small range (so ties
happen), STATE, repeated SCHEMA and ACTIVATE_VERSION messages in between, and a
random ``batch_size_rows`` per run. Each example loads into a destination of its
own (a fresh DuckDB file, or a fresh PostgreSQL schema) and every table is
compared value by value with the reference, system columns included
(``_sdc_received_at`` and ``_sdc_batched_at`` are times of day, so left out).

Examples are derandomized so CI is reproducible; for a longer hunt run e.g.
``DIFF_EXAMPLES=500 .venv/bin/pytest tests/test_differential.py``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import json
import os
import tempfile
import typing as t
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from tests.helpers import Db, lines, make_db, record, run_target, schema, state
from tests.reference import EPOCH, RETIRED, Generated, Settings, expected_tables, micros

EXAMPLES = int(os.environ.get("DIFF_EXAMPLES", "12"))
GENERATED_FLOOR = 10**18  # generated sequences are nanoseconds since the epoch
BASE_MICROS = micros("2024-01-01T00:00:00Z")
# Records delete before this year; ACTIVATE_VERSION retires rows at the time of the run.
RETIRED_SINCE = 2020
SEQ_BASES = [0, -3, 1_000_000, BASE_MICROS]

# -- values ------------------------------------------------------------------

TYPES = {
    "integer": {"type": "integer"},
    "number": {"type": "number"},
    "string": {"type": "string"},
    "boolean": {"type": "boolean"},
    "date-time": {"type": "string", "format": "date-time"},
    "object": {"type": "object"},
    "array": {"type": "array"},
}
TRICKY_STRINGS = ["", " ", "NULL", "\\N", "a,b", 'say "hi"', "it's", "line\nbreak", "\r\n\t"]
TRICKY_STRINGS += ["漢字 🚀", "\\", "{}"]
INT64 = 2**63


def texts(*, allow_nul: bool) -> st.SearchStrategy[str]:
    banned = [] if allow_nul else ["\0"]  # PostgreSQL cannot store U+0000 (README)
    alphabet = st.characters(exclude_categories=["Cs"], exclude_characters=banned)
    return st.sampled_from(TRICKY_STRINGS) | st.text(alphabet, max_size=12)


def integers() -> st.SearchStrategy[int]:
    edges = [INT64 - 1, -INT64, INT64 - 2, 2**53 + 1, -(2**53) - 1, 2**31]
    return st.integers(-3, 3) | st.sampled_from(edges) | st.integers(-INT64, INT64 - 1)


def numbers() -> st.SearchStrategy[float | int]:
    edges = [1e308, -1e308, 5e-324, 2.2250738585072014e-308, 0.1, -0.0, 1 / 3, 10**20, 2**64 + 1]
    finite = st.floats(allow_nan=False, allow_infinity=False)
    return finite | st.sampled_from(edges) | st.integers(-(10**30), 10**30)


def datetime_texts(before: int = 2300) -> st.SearchStrategy[str]:
    moments = st.datetimes(dt.datetime(1800, 1, 2), dt.datetime(before - 1, 12, 30))  # noqa: DTZ001
    aware = moments.map(lambda m: m.replace(tzinfo=dt.timezone.utc))
    return st.builds(render_datetime, aware, offsets(), st.sampled_from(TIMESPECS), st.booleans())


TIMESPECS = ["auto", "seconds", "milliseconds", "microseconds"]


def offsets() -> st.SearchStrategy[int]:
    """UTC offsets in minutes."""
    return st.sampled_from([0, 60, -300, 330, 345, -570, 840, -720]) | st.integers(-839, 839)


def render_datetime(instant: dt.datetime, offset: int, timespec: str, zulu: bool) -> str:
    """``instant`` (UTC) as ISO 8601 text at ``offset`` minutes; "Z" for UTC when ``zulu``."""
    text = instant.astimezone(dt.timezone(dt.timedelta(minutes=offset))).isoformat(
        timespec=timespec
    )
    return text.replace("+00:00", "Z") if zulu else text


def json_values(*, allow_nul: bool, nested: bool = True) -> st.SearchStrategy[t.Any]:
    scalars = st.none() | st.booleans() | integers() | numbers() | texts(allow_nul=allow_nul)
    if not nested:
        return scalars
    keys = texts(allow_nul=allow_nul)
    tree = st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
        max_leaves=8,
    )
    return tree | st.integers(20, 80).map(deeply_nested)


def deeply_nested(depth: int) -> dict:
    value: t.Any = [1, "leaf", None]
    for level in range(depth):
        value = {f"l{level}": value} if level % 2 else [value]
    return {"deep": value}


def values_of(kind: str, *, allow_nul: bool) -> st.SearchStrategy[t.Any]:
    json_any = json_values(allow_nul=allow_nul)
    return {
        "integer": integers(),
        "number": numbers(),
        "string": texts(allow_nul=allow_nul),
        "boolean": st.booleans(),
        "date-time": datetime_texts(),
        "object": st.dictionaries(texts(allow_nul=allow_nul), json_any, max_size=4)
        | st.integers(20, 80).map(deeply_nested),
        "array": st.lists(json_any, max_size=4),
    }[kind]


# -- cases -------------------------------------------------------------------


@dataclass
class StreamSpec:
    name: str
    properties: dict
    key: list[str]
    keys: list[tuple]  # the small key space records draw from
    columns: dict[str, tuple[str, bool]]  # non-key property -> (kind, nullable)


@dataclass
class Case:
    settings: Settings
    runs: list[list[dict]]
    batch_sizes: list[int]

    def config(self, db: Db, run: int) -> dict:
        # Cases mix records with and without their own sequence in one stream;
        # the reference ranks generated sequences above the tests' explicit ones,
        # as comparing the raw values does, so the sources are declared
        # comparable (tests/test_sources.py holds the refusal otherwise).
        config = db.config(
            load_method=self.settings.load_method,
            hard_delete=self.settings.hard_delete,
            batch_size_rows=self.batch_sizes[run],
            sequence_sources_comparable=True,
        )
        if self.settings.sequence_property:
            config["sequence_property"] = self.settings.sequence_property
        return config


KEY_STRINGS = ["", "a", "A", "2", "a|b", "é", "x y", "'"]


@st.composite
def stream_specs(draw: st.DrawFn, name: str, seq_kind: str | None) -> StreamSpec:
    key_kind = draw(st.sampled_from(["id", "composite", "none"]))
    properties: dict[str, dict]
    parts: st.SearchStrategy[tuple]
    if key_kind == "id":
        properties, key = {"id": {"type": "integer"}}, ["id"]
        parts = st.tuples(st.integers(-2, 5) | st.sampled_from([INT64 - 1, -INT64]))
    elif key_kind == "composite":
        properties, key = {"k1": {"type": "integer"}, "k2": {"type": "string"}}, ["k1", "k2"]
        parts = st.tuples(st.sampled_from([1, 12, -1, 0]), st.sampled_from(KEY_STRINGS))
    else:
        properties, key, parts = {}, [], st.just(())
    keys = draw(st.lists(parts, min_size=1, max_size=6, unique=True))
    count = draw(st.integers(0 if key else 1, 6 - len(key)))
    columns = {}
    for i in range(count):
        kind, nullable = draw(st.sampled_from(list(TYPES))), draw(st.booleans())
        columns[f"p{i}"] = (kind, nullable)
        declared: dict[str, t.Any] = dict(TYPES[kind])
        if nullable:
            declared["type"] = ["null", declared["type"]]
        properties[f"p{i}"] = declared
    if seq_kind is not None:
        properties["seq"] = TYPES[seq_kind]
    return StreamSpec(name, properties, key, keys, columns)


@dataclass(frozen=True)
class Features:
    seq_mode: str  # "own", "property-int", "property-dt" or "generated"
    seq_base: int
    versions: bool
    deletes: bool
    extras: bool
    extracted: bool
    allow_nul: bool


@st.composite
def sequence_fields(draw: st.DrawFn, f: Features) -> dict:
    """A record's `_sdc_sequence` and `seq`, from a small range of values: ties happen."""
    rec: dict[str, t.Any] = {}
    offset = st.integers(0, 4)
    if f.seq_mode == "own":
        if draw(st.integers(0, 19)):  # now and then none: the target generates one
            rec["_sdc_sequence"] = f.seq_base + draw(offset)
    elif f.seq_mode != "generated":
        value = f.seq_base + draw(offset)
        if f.seq_mode == "property-int":
            rec["seq"] = value
        else:
            instant = EPOCH + dt.timedelta(microseconds=value)
            zulu = draw(st.booleans())
            rec["seq"] = render_datetime(instant, draw(offsets()), "microseconds", zulu)
        if not draw(st.integers(0, 9)):  # the record's own sequence comes first
            rec["_sdc_sequence"] = f.seq_base + draw(offset)
    return rec


@st.composite
def records(draw: st.DrawFn, spec: StreamSpec, f: Features) -> dict:
    rec: dict[str, t.Any] = dict(zip(spec.key, draw(st.sampled_from(spec.keys)), strict=True))
    for name, (kind, nullable) in spec.columns.items():
        presence = draw(st.sampled_from(["value", "value", "absent", "null"]))
        if presence == "value" or (presence == "null" and not nullable):
            rec[name] = draw(values_of(kind, allow_nul=f.allow_nul))
        elif presence == "null":
            rec[name] = None
    rec.update(draw(sequence_fields(f)))
    if f.deletes and not draw(st.integers(0, 3)):
        rec["_sdc_deleted_at"] = draw(datetime_texts(before=RETIRED_SINCE))
    if f.extras and not draw(st.integers(0, 3)):
        rec[draw(st.sampled_from(["extra", "Extra Field", "p9"]))] = draw(
            json_values(allow_nul=f.allow_nul)
        )
    extra: dict[str, t.Any] = {}
    if f.versions:
        version = draw(st.sampled_from([1, 2, 3, None]))
        if version is not None:
            extra["version"] = version
    if f.extracted and draw(st.booleans()):
        extra["time_extracted"] = draw(datetime_texts())
    return record(spec.name, rec, **extra)


@st.composite
def run_messages(draw: st.DrawFn, specs: list[StreamSpec], f: Features) -> list[dict]:
    schemas = [schema(s.name, s.properties, s.key) for s in specs]
    size = draw(st.integers(1, 300))
    body = draw(st.lists(st.one_of([records(s, f) for s in specs]), min_size=size, max_size=size))
    others = [st.builds(lambda i: state({"bookmark": i}), st.integers(0, 99))]
    others.append(st.sampled_from(schemas))  # the same SCHEMA again, mid-stream
    if f.versions:
        streams = st.sampled_from([s.name for s in specs])
        activate = st.builds(
            lambda s, v: {"type": "ACTIVATE_VERSION", "stream": s, "version": v},
            streams,
            st.integers(1, 3),
        )
        others.append(activate)
    inserts = draw(st.lists(st.tuples(st.integers(0, len(body)), st.one_of(others)), max_size=8))
    for position, message in sorted(inserts, key=lambda pair: -pair[0]):
        body.insert(position, message)
    return schemas + body


def avoid_known_discrepancies(runs: list[list[dict]]) -> None:
    """Keep the target's documented departure from the contract out of the cases.

    The contract ignores a record whose version is below the active one, in
    any later run; the target tracks active versions within a run only (README,
    "Choices where the contract is silent"), so a later run's older version is
    loaded. Later runs' versions are raised to the highest activated so far.
    """
    received = [[m for m in run if m["type"] == "RECORD"] for run in runs]
    active: dict[str, int] = {}
    for run, run_records in zip(runs, received, strict=True):
        for message in run_records:
            if message.get("version") is not None:
                message["version"] = max(message["version"], active.get(message["stream"], 0))
        for message in run:
            if message["type"] == "ACTIVATE_VERSION":
                stream = message["stream"]
                active[stream] = max(active.get(stream, 0), message["version"])


@st.composite
def cases(draw: st.DrawFn, *, allow_nul: bool) -> Case:
    seq_mode = draw(st.sampled_from(["own", "property-int", "property-dt", "generated"]))
    seq_kind = {"property-int": "integer", "property-dt": "date-time"}.get(seq_mode)
    f = Features(
        seq_mode=seq_mode,
        seq_base=BASE_MICROS if seq_mode == "property-dt" else draw(st.sampled_from(SEQ_BASES)),
        versions=draw(st.booleans()),
        deletes=draw(st.booleans()),
        extras=draw(st.booleans()),
        extracted=draw(st.booleans()),
        allow_nul=allow_nul,
    )
    names = ["items", "events"][: draw(st.integers(1, 2))]
    specs = [draw(stream_specs(name, seq_kind)) for name in names]
    runs = [draw(run_messages(specs, f)) for _ in range(draw(st.integers(1, 2)))]
    config = Settings(
        load_method=draw(st.sampled_from(["upsert", "append-only", "overwrite"])),
        hard_delete=draw(st.booleans()),
        sequence_property="seq" if seq_kind else None,
    )
    avoid_known_discrepancies(runs)
    batch_size = st.integers(1, 10) | st.integers(1, 500)
    return Case(config, runs, [draw(batch_size) for _ in runs])


# -- comparison ----------------------------------------------------------------

_CONTEXT = decimal.Context(prec=1000)


def canonical_json(value: t.Any) -> t.Any:
    """A JSON value, typed and hashable; numbers equal when they denote the same number."""
    if isinstance(value, decimal.Decimal):
        return ("number", str(_CONTEXT.normalize(value)) if value else "0")
    if isinstance(value, dict):
        return ("object", tuple(sorted((k, canonical_json(v)) for k, v in value.items())))
    if isinstance(value, list):
        return ("array", tuple(canonical_json(v) for v in value))
    return value


def from_json_text(text: str) -> t.Any:
    parsed = json.loads(text, parse_float=decimal.Decimal, parse_int=decimal.Decimal)
    return canonical_json(parsed)


def kind_of(declared: dict) -> str:
    types = declared["type"] if isinstance(declared["type"], list) else [declared["type"]]
    (name,) = [n for n in types if n != "null"]
    return "date-time" if declared.get("format") == "date-time" else name


def expected_cell(value: t.Any, kind: str) -> t.Any:
    if value is None:
        return None
    if kind == "number":
        return float(value) + 0.0  # + 0.0 makes -0.0 plain 0.0
    if kind == "date-time":
        return micros(value)
    if kind in ("object", "array"):
        return from_json_text(json.dumps(value))
    return value


def actual_cell(value: t.Any, kind: str) -> t.Any:
    if value is None:
        return None
    if kind == "number":
        return float(value) + 0.0
    if kind == "date-time":
        return (value - EPOCH) // dt.timedelta(microseconds=1)
    if kind in ("object", "array"):  # DuckDB gives JSON text, psycopg parsed jsonb
        return from_json_text(value if isinstance(value, str) else json.dumps(value))
    return value


SYSTEM_KINDS = {"_sdc_table_version": "integer", "_sdc_extracted_at": "date-time"}


def expected_row(row: dict, kinds: dict[str, str]) -> dict:
    cells = {name: expected_cell(row[name], kind) for name, kind in kinds.items()}
    deleted = row["_sdc_deleted_at"]
    cells["_sdc_deleted_at"] = deleted if deleted in (None, RETIRED) else micros(deleted)
    return cells


def actual_row(row: dict, kinds: dict[str, str]) -> dict:
    cells = {name: actual_cell(row[name], kind) for name, kind in kinds.items()}
    deleted = row["_sdc_deleted_at"]
    since = dt.datetime(RETIRED_SINCE, 1, 1, tzinfo=dt.timezone.utc)
    retired = deleted is not None and deleted >= since
    cells["_sdc_deleted_at"] = RETIRED if retired else actual_cell(deleted, "date-time")
    return cells


def sequence_rank(value: int | Generated) -> tuple:
    if isinstance(value, Generated):
        return (1, value.arrival)
    return (1, value) if value >= GENERATED_FLOOR else (0, value)


def sort_key(cells: dict, key: list[str], sequence: int | Generated) -> tuple:
    return (repr([cells[k] for k in key]), sequence_rank(sequence), repr(cells))


def compare_table(db: Db, stream: str, properties: dict, key: list[str], expected: list[dict]):
    kinds = {name: kind_of(declared) for name, declared in properties.items()}
    kinds.update(SYSTEM_KINDS)
    columns = set(db.column_types(stream))
    want_columns = {*properties, "_sdc_sequence", "_sdc_received_at", "_sdc_batched_at"}
    want_columns |= {"_sdc_extracted_at", "_sdc_table_version", "_sdc_deleted_at"}
    assert columns == want_columns, f"{stream}: columns differ"
    got = db.rows(stream, order_by="_sdc_sequence")
    want = sorted(
        ((expected_row(r, kinds), r["_sdc_sequence"]) for r in expected),
        key=lambda pair: sort_key(pair[0], key, pair[1]),
    )
    have = sorted(
        ((actual_row(r, kinds), r["_sdc_sequence"]) for r in got),
        key=lambda pair: sort_key(pair[0], key, pair[1]),
    )
    assert len(have) == len(want), (
        f"{stream}: {len(have)} rows, expected {len(want)}\n"
        f"got:      {[sort_key(c, key, s)[:2] for c, s in have]}\n"
        f"expected: {[sort_key(c, key, s)[:2] for c, s in want]}"
    )
    generated = []
    for (exp, exp_seq), (act, act_seq) in zip(want, have, strict=True):
        wrong = [(name, act[name], exp[name]) for name in exp if act[name] != exp[name]]
        if isinstance(exp_seq, Generated):
            generated.append((exp_seq.arrival, act_seq))
            if act_seq < GENERATED_FLOOR:
                wrong.append(("_sdc_sequence", act_seq, "a generated sequence"))
        elif act_seq != exp_seq:
            wrong.append(("_sdc_sequence", act_seq, exp_seq))
        assert not wrong, f"{stream}: row {exp}: (column, got, expected) {wrong}"
    in_arrival_order = [seq for _, seq in sorted(generated)]
    assert in_arrival_order == sorted(set(in_arrival_order)), "generated sequences out of order"


# -- the test --------------------------------------------------------------------


@pytest.fixture
def fresh_db(dialect: str, request: pytest.FixtureRequest) -> t.Callable:
    """Make a destination of its own per Hypothesis example (``db`` is per test)."""
    pg_url = request.getfixturevalue("pg_url") if dialect == "postgresql" else None

    @contextlib.contextmanager
    def make() -> t.Iterator[Db]:
        with tempfile.TemporaryDirectory() as tmp:
            db = make_db(dialect, Path(tmp), pg_url)
            try:
                yield db
            finally:
                if dialect == "postgresql":
                    with db.engine.begin() as conn:
                        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{db.schema}" CASCADE'))
                db.dispose()

    return make


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(data=st.data())
def test_target_matches_reference(dialect: str, fresh_db: t.Callable, data: st.DataObject):
    case = data.draw(cases(allow_nul=dialect == "duckdb"))
    note(f"{case.settings}, batch_size_rows {case.batch_sizes}")
    for number, run in enumerate(case.runs, 1):
        note(f"run {number}:\n{lines(*run)}")
    expected = expected_tables(case.runs, case.settings)
    with fresh_db() as db:
        for number, run in enumerate(case.runs):
            run_target(case.config(db, number), lines(*run))
        assert db.tables() >= set(expected)
        schemas = {m["stream"]: m for m in case.runs[0] if m["type"] == "SCHEMA"}
        for stream, rows in expected.items():
            message = schemas[stream]
            properties = message["schema"]["properties"]
            compare_table(db, stream, properties, message["key_properties"], rows)
