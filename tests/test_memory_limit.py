"""DuckDB's memory limit: small at first, raised when a load needs more (destinations/memory.py).

Real DuckDB files and real out-of-memory errors: the limits here are set so
small that DuckDB refuses the work.
"""

from __future__ import annotations

import logging
import random
import subprocess
import sys
import typing as t

import duckdb
import pytest
import sqlalchemy as sa

from target_sequenced.core.errors import OutOfMemoryError
from target_sequenced.destinations import memory, open_destination
from target_sequenced.destinations.duckdb import CAPABILITIES
from target_sequenced.destinations.duckdb.errors import is_out_of_memory

from .helpers import lines, record, run_target_failing, run_target_with_stats, schema, state

if t.TYPE_CHECKING:
    from pathlib import Path

    from target_sequenced.destinations.sql import SqlDestination

PROPS = {"id": {"type": "integer"}, "name": {"type": "string"}}
RETRY = "ran out of its memory limit"


def versions(count: int, keys: int, seed: int) -> tuple[list[dict], dict[int, tuple[int, str]]]:
    """Shuffled versions of ``keys`` keys, and the winner of each (greatest sequence)."""
    rng = random.Random(seed)
    order = list(range(count))
    rng.shuffle(order)
    best: dict[int, tuple[int, str]] = {}
    recs = []
    for seq in order:
        key, name = seq % keys, f"{seq:06d}-" + "x" * 200
        recs.append({"id": key, "name": name, "_sdc_sequence": seq})
        if key not in best or seq > best[key][0]:
            best[key] = (seq, name)
    return recs, best


def stored(path: Path) -> dict[int, tuple[int, str]]:
    with duckdb.connect(str(path)) as con:
        rows = con.execute("SELECT id, _sdc_sequence, name FROM t").fetchall()
    assert len(rows) == len({row[0] for row in rows}), "one row per key"
    return {key: (seq, name) for key, seq, name in rows}


def applied_limit(destination: SqlDestination) -> int:
    with destination.connection() as conn:
        value = conn.exec_driver_sql("SELECT current_setting('memory_limit')").scalar()
    return memory.parse_size(str(value))


def duckdb_default_limit() -> int:
    with duckdb.connect() as con:
        [(value,)] = con.execute("SELECT current_setting('memory_limit')").fetchall()
    return memory.parse_size(str(value))


def test_duckdb_starts_under_a_small_memory_limit(tmp_path: Path) -> None:
    destination = open_destination(
        f"duckdb:///{tmp_path / 'a.duckdb'}", None, logging.getLogger("t")
    )
    try:
        assert applied_limit(destination) == memory.START == 64 * 2**20
    finally:
        destination.close()
    assert duckdb_default_limit() > memory.START


def test_a_load_that_needs_more_memory_runs_again_under_a_larger_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Rolled back, reconnected with twice the limit, loaded whole; STATE after the commit."""
    monkeypatch.setattr(memory, "START", 2**20)
    path = tmp_path / "grow.duckdb"
    recs, best = versions(6000, 1500, seed=3)
    text = lines(schema("t", PROPS), *[record("t", r) for r in recs], state({"done": 1}))
    with caplog.at_level(logging.WARNING):
        states, stats = run_target_with_stats({"sqlalchemy_url": f"duckdb:///{path}"}, text)
    retries = [r.getMessage() for r in caplog.records if RETRY in r.getMessage()]
    assert retries, "the limit was expected to be too small at first"
    assert "(1 MiB)" in retries[0]
    assert "2 MiB" in retries[0]
    assert stored(path) == best
    assert states == [{"done": 1}]
    assert stats["t"]["inserted"] == len(best)


def test_every_kind_of_transaction_survives_the_retry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Schema changes, hard deletes (tombstones) and ACTIVATE_VERSION under a 1 MiB start.

    The same input loaded under the default limit is the reference: both
    tables and both STATE lists must be equal, across two runs.
    """
    props2 = {**PROPS, "extra": {"type": ["integer", "null"]}}
    recs, _ = versions(3000, 500, seed=5)
    deletes = [
        record(
            "t", {"id": k, "_sdc_sequence": 10**6 + k, "_sdc_deleted_at": "2024-01-01T00:00:00Z"}
        )
        for k in range(0, 500, 7)
    ]
    late = [
        record("t", {"id": k, "name": "late", "extra": k, "_sdc_sequence": 2 * 10**6}, version=2)
        for k in range(50)
    ]
    runs = [
        lines(
            schema("t", PROPS),
            {"type": "ACTIVATE_VERSION", "stream": "t", "version": 1},
            *[record("t", r, version=1) for r in recs],
            *deletes,
            state({"run": 1}),
        ),
        lines(
            schema("t", props2),
            {"type": "ACTIVATE_VERSION", "stream": "t", "version": 2},
            *[record("t", r, version=2) for r in recs[:1000]],
            *late,
            {"type": "ACTIVATE_VERSION", "stream": "t", "version": 2},
            state({"run": 2}),
        ),
    ]

    def load(name: str) -> tuple[list[tuple], list[dict]]:
        config = {"sqlalchemy_url": f"duckdb:///{tmp_path / name}", "hard_delete": True}
        states = [s for text in runs for s in run_target_with_stats(config, text)[0]]
        with duckdb.connect(str(tmp_path / name)) as con:
            rows = con.execute(
                "SELECT id, name, extra, _sdc_sequence, _sdc_table_version FROM t ORDER BY id"
            ).fetchall()
            tombs = con.execute("SELECT count(*) FROM _sdc_tombstones").fetchall()
        return rows + tombs, states

    reference = load("reference.duckdb")
    assert not [r for r in caplog.records if RETRY in r.getMessage()]
    monkeypatch.setattr(memory, "START", 2**20)
    with caplog.at_level(logging.WARNING):
        assert load("small.duckdb") == reference
    assert [r for r in caplog.records if RETRY in r.getMessage()]
    rows, states = reference
    assert states == [{"run": 1}, {"run": 2}]
    assert [row[:3] for row in rows[:-1] if row[1] == "late"] == [(k, "late", k) for k in range(50)]
    assert rows[-1][0] > 0, "hard deletes left tombstones"


def test_growth_stops_at_the_database_default(tmp_path: Path) -> None:
    """A start above DuckDB's own default leaves the default, and nothing grows past it."""
    destination = open_destination(
        f"duckdb:///{tmp_path / 'c.duckdb'}",
        None,
        logging.getLogger("t"),
        memory_start=2**60,
    )
    try:
        assert applied_limit(destination) == duckdb_default_limit()
        assert destination.memory.grow() is False
    finally:
        destination.close()


def test_a_memory_limit_from_the_url_is_never_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The user's cap holds: the load fails, rolled back, and what was committed stays."""
    path = tmp_path / "pinned.duckdb"
    url = f"duckdb:///{path}?memory_limit=4MB"
    first = lines(schema("t", PROPS), record("t", {"id": 1, "name": "a", "_sdc_sequence": 1}))
    run_target_with_stats({"sqlalchemy_url": url}, first + lines(state({"run": 1})))
    recs, _ = versions(40000, 10000, seed=4)
    text = lines(schema("t", PROPS), *[record("t", r) for r in recs], state({"run": 2}))
    with caplog.at_level(logging.WARNING):
        error, states = run_target_failing({"sqlalchemy_url": url}, text)
    # Out of memory (exit 4), whatever allocator said it, with the URL's limit as a remedy.
    assert isinstance(error, OutOfMemoryError)
    assert "out of memory while loading stream 't' (its records from input line 2)" in str(error)
    assert "table 't'" in str(error)
    assert "rolled back" in str(error)
    assert "Out of Memory" in str(error)
    assert "memory_limit of the DuckDB URL" in error.one_line()
    assert states == []
    assert not [r for r in caplog.records if RETRY in r.getMessage()]
    assert stored(path) == {1: (1, "a")}


def test_duckdb_out_of_memory_errors_are_recognised(tmp_path: Path) -> None:
    """Whatever DuckDB raises when work does not fit (a statement, a commit) counts, others not."""
    con = duckdb.connect(str(tmp_path / "d.duckdb"), config={"memory_limit": "1MB"})
    con.execute("CREATE TABLE t (id BIGINT, s VARCHAR)")
    with pytest.raises(duckdb.Error) as refused:
        con.execute("INSERT INTO t SELECT i, repeat('x', 1000) || i FROM range(100000) r(i)")
    assert is_out_of_memory(refused.value)
    with pytest.raises(duckdb.Error) as other:
        con.execute("SELECT * FROM no_such_table")
    assert not is_out_of_memory(other.value)
    con.close()
    wrapped = sa.exc.OperationalError("INSERT", {}, refused.value)
    assert not is_out_of_memory(wrapped), "the connector unwraps SQLAlchemy's errors first"


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("18.8 GiB", int(18.8 * 2**30)),
        ("64.0 MiB", 64 * 2**20),
        ("976.5 KiB", int(976.5 * 2**10)),
        ("64MB", 64 * 10**6),
        ("1000 bytes", 1000),
        ("0 bytes", 0),
        ("12345", 12345),
    ],
)
def test_sizes_as_databases_print_them(text: str, size: int) -> None:
    assert memory.parse_size(text) == size


def test_a_size_that_is_not_one_is_refused() -> None:
    with pytest.raises(ValueError, match="not a size"):
        memory.parse_size("lots")


def test_growth_stops_at_the_machine_when_no_connection_said_the_default(tmp_path: Path) -> None:
    """Connections that fail before the default is read still end the doubling."""
    url = sa.engine.make_url(f"duckdb:///{tmp_path / 'g.duckdb'}")
    limit = memory.MemoryLimit(CAPABILITIES, url)
    physical = memory.physical_memory()
    assert physical is not None
    grown = 0
    while limit.grow():
        grown += 1
        assert grown < 64
    assert limit.bytes is None
    assert 2 ** (grown - 1) * memory.START < physical <= 2**grown * memory.START


def test_an_allocation_the_system_refuses_is_no_memory_limit(tmp_path: Path) -> None:
    """DuckDB's own words when the address space runs out (a real one, in a child process)."""
    script = (
        "import resource, duckdb\n"
        "from target_sequenced.destinations.duckdb.errors import is_out_of_memory,"
        " refused_by_machine\n"
        "con = duckdb.connect()\n"
        "used = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024\n"
        "resource.setrlimit(resource.RLIMIT_AS, (used + 600 * 2**20,) * 2)\n"
        "try:\n"
        "    con.execute(\"SELECT length(string_agg(repeat('x', 1000), '')) "
        'FROM range(2000000)").fetchall()\n'
        "except duckdb.Error as exc:\n"
        "    print(is_out_of_memory(exc), refused_by_machine(exc))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.split() == ["False", "True"], done.stderr
