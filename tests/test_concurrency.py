"""Concurrent writers on one PostgreSQL table, and a server restart in the middle of a run.

Issue 11 items 3 and 4. Real processes (the command), a real server: four
writers share a fresh schema (nobody created it first), each holding the
greatest sequence of some keys, and every process must exit 0 with the table
exact. Then the server restarts while a run waits between loads, and the same
run carries on.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.helpers import Db, lines, record, schema, state
from tests.pgserver import own_server

EXE = str(Path(sys.executable).with_name("target-sequenced"))
PROPS = {"id": {"type": "integer"}, "w": {"type": "string"}, "_sdc_sequence": {"type": "integer"}}
KEYS = 4_000
VERSIONS = 8
WRITERS = 4


def writer_inputs(seed: int) -> tuple[list[str], dict[int, tuple[str, int]]]:
    """Each key's versions split across the writers in random order; the expected winners."""
    rng = random.Random(seed)
    per_writer: list[list[dict]] = [[] for _ in range(WRITERS)]
    best: dict[int, tuple[str, int]] = {}
    for key in range(KEYS):
        sequences = rng.sample(range(10 * VERSIONS), VERSIONS)
        for version, sequence in enumerate(sequences):
            writer = rng.randrange(WRITERS)
            value = f"k{key}v{version}w{writer}"
            message = record("t", {"id": key, "w": value, "_sdc_sequence": sequence})
            per_writer[writer].append(message)
            if key not in best or sequence > best[key][1]:
                best[key] = (value, sequence)
    texts = []
    for messages in per_writer:
        rng.shuffle(messages)
        texts.append(lines(schema("t", PROPS), *messages, state({"done": True})))
    return texts, best


def run_writers(config: Path, texts: list[str]) -> list[subprocess.CompletedProcess]:
    results: list[subprocess.CompletedProcess] = [None] * len(texts)  # type: ignore[list-item]

    def go(index: int) -> None:
        results[index] = subprocess.run(
            [EXE, "--config", str(config)],
            input=texts[index],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(texts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_four_writers_on_a_fresh_schema_end_exact(pg_url: str, tmp_path: Path, seed: int) -> None:
    db = Db("postgresql", pg_url, f"writers_{uuid.uuid4().hex[:8]}")
    texts, best = writer_inputs(seed)
    config = tmp_path / "config.json"
    config.write_text(json.dumps(db.config(batch_size_rows=500)))
    results = run_writers(config, texts)
    assert [r.returncode for r in results] == [0] * WRITERS, [r.stderr[-3000:] for r in results]
    assert all(r.stdout.strip() == '{"done": true}' for r in results)
    got = {r["id"]: (r["w"], r["_sdc_sequence"]) for r in db.rows("t")}
    assert got == best
    db.dispose()


def test_a_restart_in_the_middle_of_a_run_is_survived(tmp_path: Path) -> None:
    """``pg_ctl restart -m fast`` between two loads: the same run reconnects and exits 0."""
    with own_server() as (url, restart):
        db = Db("postgresql", url, "restart")
        first = [record("t", {"id": i, "w": "a", "_sdc_sequence": i}) for i in range(100)]
        second = [record("t", {"id": i, "w": "b", "_sdc_sequence": 1000 + i}) for i in range(100)]
        config = tmp_path / "config.json"
        config.write_text(json.dumps(db.config(batch_size_rows=100, retry_seconds=60)))
        process = subprocess.Popen(
            [EXE, "--config", str(config)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdin is not None
        process.stdin.write(lines(schema("t", PROPS), *first, state({"half": 1})))
        process.stdin.flush()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and _count(db) < 100:
            time.sleep(0.1)
        assert _count(db) == 100, "the first load did not commit"
        db.dispose()
        restart()  # the target's connection is now gone, idle
        out, err = process.communicate(lines(*second, state({"half": 2})), timeout=180)
        assert process.returncode == 0, err[-3000:]
        assert "running it again" in err  # the retry is logged at WARNING
        assert [json.loads(x) for x in out.splitlines()] == [{"half": 1}, {"half": 2}]
        rows = {r["id"]: (r["w"], r["_sdc_sequence"]) for r in db.rows("t")}
        assert rows == {i: ("b", 1000 + i) for i in range(100)}
        db.dispose()


def _count(db: Db) -> int:
    try:
        return len(db.rows("t"))
    except Exception:  # noqa: BLE001 - the table is not there yet
        return 0


# -- DuckDB: one writer per file -----------------------------------------------------

HOLD = (
    "import sys, time, duckdb\n"
    "con = duckdb.connect(sys.argv[1])\n"
    "print('holding', flush=True)\n"
    "time.sleep(float(sys.argv[2]))\n"
)


def hold_lock(path: Path, seconds: float) -> subprocess.Popen:
    """Another process with the DuckDB file open (and so its lock) for ``seconds``."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "holding"
    return holder


def run_into(path: Path, tmp_path: Path, **settings: object) -> subprocess.CompletedProcess:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"sqlalchemy_url": f"duckdb:///{path}", **settings}))
    text = lines(schema("t", PROPS, ["id"]), record("t", {"id": 1, "w": "a", "_sdc_sequence": 1}))
    return subprocess.run(
        [EXE, "--config", str(config)],
        input=text + lines(state({"done": True})),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_duckdb_file_in_use_is_waited_for(tmp_path: Path) -> None:
    path = tmp_path / "shared.duckdb"
    holder = hold_lock(path, 3)
    done = run_into(path, tmp_path, retry_seconds=60)
    holder.wait()
    assert done.returncode == 0, done.stderr
    assert "held by another process" in done.stderr  # the WARNING of each retry
    assert [json.loads(line) for line in done.stdout.splitlines()] == [{"done": True}]
    import duckdb  # noqa: PLC0415 - only this test reads the file directly

    with duckdb.connect(str(path)) as con:
        assert con.execute("SELECT id, w FROM t").fetchall() == [(1, "a")]


def test_a_duckdb_file_held_past_retry_seconds_is_named(tmp_path: Path) -> None:
    path = tmp_path / "shared.duckdb"
    holder = hold_lock(path, 20)
    try:
        done = run_into(path, tmp_path, retry_seconds=2)
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 3, done.stderr
    errors = [line for line in done.stderr.splitlines() if "| ERROR" in line]
    assert len(errors) == 1, done.stderr
    assert "Could not set lock on file" in errors[0]
    assert "retry_seconds" in errors[0]
    assert done.stdout == ""
