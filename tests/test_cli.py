"""The command line as users run it: real processes, real files."""

from __future__ import annotations

import gzip
import json
import logging
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import duckdb
import pytest

from target_sequenced.cli import exit_status
from target_sequenced.destinations import open_destination
from tests.helpers import Db, lines, record, run_target, schema, state

EXE = str(Path(sys.executable).with_name("target-sequenced"))


def run_cli(
    args: list[str], stdin: str = "", cwd: Path | None = None
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [EXE, *args], input=stdin, capture_output=True, text=True, cwd=cwd, timeout=120, check=False
    )


def test_version_and_about() -> None:
    version = run_cli(["--version"])
    assert version.returncode == 0
    assert "target-sequenced v0.1.0" in version.stdout
    about = run_cli(["--about", "--format=markdown"])
    assert about.returncode == 0
    for setting in (
        "sqlalchemy_url",
        "default_target_schema",
        "load_method",
        "sequence_property",
        "hard_delete",
        "batch_size_rows",
        "validate_records",
    ):
        assert f"| {setting} |" in about.stdout
    assert "add_record_metadata" not in about.stdout


def test_no_config_writes_the_default_duckdb_file(tmp_path: Path) -> None:
    text = lines(
        schema("customers", {"id": {"type": "integer"}, "name": {"type": "string"}}),
        record("customers", {"id": 1, "name": "new", "_sdc_sequence": 2}),
        record("customers", {"id": 1, "name": "old", "_sdc_sequence": 1}),
        state({"ok": True}),
    )
    done = run_cli([], stdin=text, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"ok": True}
    assert "stream 'customers': received=2 inserted=1 updated=0 stale=1 deleted=0" in done.stderr
    con = duckdb.connect(str(tmp_path / "target_sequenced.duckdb"), read_only=True)
    assert con.execute("SELECT id, name, _sdc_sequence FROM main.customers").fetchall() == [
        (1, "new", 2)
    ]


@pytest.mark.parametrize(
    ("text", "states"),
    [("", []), (lines(state({"at": 1}), state({"at": 2})), [{"at": 1}, {"at": 2}])],
    ids=["empty input", "only STATE"],
)
def test_nothing_to_load_leaves_no_duckdb_file(
    tmp_path: Path, text: str, states: list[dict]
) -> None:
    done = run_cli([], stdin=text, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [json.loads(line) for line in done.stdout.splitlines()] == states
    assert list(tmp_path.iterdir()) == []


def test_a_schema_alone_makes_the_file_and_its_empty_table(tmp_path: Path) -> None:
    done = run_cli([], stdin=lines(schema("customers", {"id": {"type": "integer"}})), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    con = duckdb.connect(str(tmp_path / "target_sequenced.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM main.customers").fetchall() == [(0,)]


def test_a_run_that_stops_still_logs_what_it_committed(tmp_path: Path) -> None:
    text = lines(
        schema("s", {"id": {"type": "integer"}}),
        record("s", {"id": 1}),
        record("s", {"id": 2}),
        record("s", {"id": "x"}),
    )
    done = run_cli([], stdin=text, cwd=tmp_path)
    assert done.returncode == 1
    summary = "Summary: stream 's': received=3 inserted=2 updated=0 stale=0 deleted=0"
    assert summary in done.stderr
    assert done.stderr.index("Summary:") < done.stderr.index("ERROR")


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "ERROR config file '{path}' does not exist (check the path given to --config)"),
        ("{bad", "ERROR config file '{path}' is not valid JSON (line 1, column 2: Expecting"),
        ("[1]", "ERROR config file '{path}' holds a JSON list, not an object"),
    ],
    ids=["missing", "not JSON", "not an object"],
)
def test_a_config_file_it_cannot_use_is_one_line_and_exit_2(
    tmp_path: Path, content: str | None, says: str
) -> None:
    path = tmp_path / "config.json"
    if content is not None:
        path.write_text(content)
    done = run_cli(["--config", str(path)], stdin="", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(says.format(path=path)), done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert list(tmp_path.iterdir()) == ([path] if content is not None else [])


def test_a_duckdb_file_in_a_missing_folder_gets_the_folder(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "x.duckdb"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"sqlalchemy_url": f"duckdb:///{path}"}))
    text = lines(schema("s", {"id": {"type": "integer"}}), record("s", {"id": 1}))
    done = run_cli(["--config", str(config)], stdin=text, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    con = duckdb.connect(str(path), read_only=True)
    assert con.execute("SELECT id FROM main.s").fetchall() == [(1,)]


def test_the_sdk_record_metric_counts_every_record(tmp_path: Path) -> None:
    """Records read in bulk skip the SDK's handler, which is what counted them."""
    unusual = '{"stream": "s", "type": "RECORD", "record": {"id": 0}}\n'  # read line by line
    text = lines(
        schema("s", {"id": {"type": "integer"}}), *(record("s", {"id": n}) for n in range(1, 3001))
    )
    done = run_cli([], stdin=text + unusual, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    metrics = [
        json.loads(line.split("METRIC: ", 1)[1])
        for line in done.stderr.splitlines()
        if "METRIC: " in line and '"record_count"' in line
    ]
    assert sum(m["value"] for m in metrics if m["tags"]["stream"] == "s") == 3001


def test_input_file_and_config_file(tmp_path: Path) -> None:
    (tmp_path / "in.singer").write_text(
        lines(schema("t", {"id": {"type": "integer"}}), record("t", {"id": 7})), encoding="utf-8"
    )
    db_file = tmp_path / "out.duckdb"
    (tmp_path / "config.json").write_text(json.dumps({"sqlalchemy_url": f"duckdb:///{db_file}"}))
    done = run_cli(
        ["--config", str(tmp_path / "config.json"), "--input", str(tmp_path / "in.singer")]
    )
    assert done.returncode == 0, done.stderr
    con = duckdb.connect(str(db_file), read_only=True)
    assert con.execute("SELECT id FROM t").fetchall() == [(7,)]


def test_bad_config_lists_every_problem(tmp_path: Path) -> None:
    config = {
        "sqlalchemy_url": "mysql://h/d",
        "load_method": "merge",
        "batch_size_rows": "ten",
        "hard_delete": "yes",
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    done = run_cli(["--config", str(tmp_path / "config.json")])
    assert done.returncode != 0
    for problem in (
        "batch_size_rows: 'ten' is not of type 'integer'",
        "hard_delete: 'yes' is not of type 'boolean'",
        "load_method: 'merge' is not one of ['upsert', 'append-only', 'overwrite']",
        "sqlalchemy_url: dialect 'mysql' is not supported; use one of duckdb, postgresql",
    ):
        assert problem in done.stderr


def test_bad_record_names_stream_line_record_field_and_rule(tmp_path: Path) -> None:
    text = lines(
        schema(
            "people",
            {
                "id": {"type": "integer"},
                "age": {"type": ["null", "integer"]},
                "tags": {"type": ["null", "array"], "items": {"type": "string"}},
            },
        ),
        record("people", {"id": 1, "age": 3}),
        state({"n": 1}),
        record("people", {"id": 2, "age": "old", "tags": ["a", 5]}),
    )
    done = run_cli([], stdin=text, cwd=tmp_path)
    assert done.returncode != 0
    assert (
        "stream 'people', input line 4, record 1: record does not conform to schema" in done.stderr
    )
    [error] = [line for line in done.stderr.splitlines() if "| ERROR" in line]
    # Every violation, each once: the schema's words, no rule of the column on top.
    assert error.endswith(
        "stream 'people', input line 4, record 1: record does not conform to schema: "
        "#/age: 'old' is not of type 'null', 'integer'; #/tags/1: 5 is not of type 'string' "
        "(fix the record at its source, or on_invalid_record: reject (the record goes to table "
        "_sdc_rejected) to load the rest, or validate_records: false to load records without "
        "their schema's checks)"
    )
    # What came before the bad line is committed, and the STATE that covers it
    # emitted (contract 7); nothing after it.
    assert done.stdout == '{"n": 1}\n'
    assert done.returncode == 1


def _batch_file(path: Path, records: list[dict], *, gz: bool) -> None:
    data = "".join(json.dumps(r) + "\n" for r in records).encode()
    path.write_bytes(gzip.compress(data) if gz else data)


@pytest.mark.parametrize("gz", [False, True])
def test_sdk_batch_messages_go_through_sequencing(db: Db, tmp_path: Path, gz: bool) -> None:
    first, second = tmp_path / "b1.jsonl", tmp_path / "b2.jsonl"
    _batch_file(
        first,
        [{"id": 1, "v": "new", "_sdc_sequence": 9}, {"id": 2, "v": "x", "_sdc_sequence": 1}],
        gz=gz,
    )
    _batch_file(
        second,
        [{"id": 1, "v": "old", "_sdc_sequence": 3}, {"id": 2, "v": "y", "_sdc_sequence": 2}],
        gz=gz,
    )
    encoding = {"format": "jsonl", "compression": "gzip" if gz else "none"}
    text = lines(
        schema("b", {"id": {"type": "integer"}, "v": {"type": "string"}}),
        {
            "type": "BATCH",
            "stream": "b",
            "encoding": encoding,
            "manifest": [first.as_uri(), second.as_uri()],
        },
        state({"batches": 1}),
    )
    (tmp_path / "config.json").write_text(json.dumps(db.config()))
    done = run_cli(["--config", str(tmp_path / "config.json")], stdin=text)
    assert done.returncode == 0, done.stderr
    assert [(r["id"], r["v"], r["_sdc_sequence"]) for r in db.rows("b")] == [
        (1, "new", 9),
        (2, "y", 2),
    ]


def test_two_writers_on_one_postgresql_table(pg_url: str, tmp_path: Path) -> None:
    """Two processes interleave versions of the same keys; the greatest sequence wins."""
    db = Db("postgresql", pg_url, f"two_writers_{uuid.uuid4().hex[:8]}")
    props = {"id": {"type": "integer"}, "w": {"type": "string"}}
    keys = range(1, 301)
    texts = []
    for writer in (0, 1):
        msgs = [schema("t", props)]
        for rnd in range(6):
            for k in keys:
                # writer 0 holds the greatest sequence for even keys, writer 1 for odd ones
                seq = rnd * 10 + (5 if (k + writer) % 2 == 0 else 0) + writer
                msgs.append(record("t", {"id": k, "w": f"w{writer}-r{rnd}", "_sdc_sequence": seq}))
        texts.append(lines(*msgs))
    config = tmp_path / "config.json"
    config.write_text(json.dumps(db.config(batch_size_rows=50)))
    results: list[subprocess.CompletedProcess] = []

    def go(text: str) -> None:
        results.append(run_cli(["--config", str(config)], stdin=text))

    # create the table first so both writers start with the same DDL done
    first = run_cli(["--config", str(config)], stdin=lines(schema("t", props)))
    assert first.returncode == 0, first.stderr
    threads = [threading.Thread(target=go, args=(t,)) for t in texts]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert [r.returncode for r in results] == [0, 0], [r.stderr[-2000:] for r in results]
    got = {r["id"]: (r["w"], r["_sdc_sequence"]) for r in db.rows("t")}
    expected = {k: (f"w{(k % 2)}-r5", 55 + (k % 2)) for k in keys}
    assert got == expected
    db.dispose()


def test_meltano_style_env_config(tmp_path: Path) -> None:
    env = {**os.environ, "TARGET_SEQUENCED_SQLALCHEMY_URL": f"duckdb:///{tmp_path / 'env.duckdb'}"}
    done = subprocess.run(
        [EXE, "--config", "ENV"],
        input=lines(schema("t", {"id": {"type": "integer"}}), record("t", {"id": 1})),
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "env.duckdb").exists()


def test_duckdb_settings_in_the_url_reach_the_database(tmp_path: Path) -> None:
    """The README's memory cap: `?memory_limit=...` on the URL is applied by the destination."""
    path = tmp_path / "capped.duckdb"
    url = f"duckdb:///{path}?memory_limit=123MB"
    destination = open_destination(url, None, logging.getLogger("test"))
    try:
        with destination.connection() as conn:
            applied = conn.exec_driver_sql("SELECT current_setting('memory_limit')").scalar()
    finally:
        destination.close()
    with duckdb.connect(config={"memory_limit": "123MB"}) as con:
        [(capped,)] = con.execute("SELECT current_setting('memory_limit')").fetchall()
    with duckdb.connect() as con:
        [(default,)] = con.execute("SELECT current_setting('memory_limit')").fetchall()
    assert applied == capped != default
    props = {"id": {"type": "integer"}, "name": {"type": "string"}}
    text = lines(schema("t", props), record("t", {"id": 1, "name": "a", "_sdc_sequence": 2}))
    run_target({"sqlalchemy_url": url}, text)
    with duckdb.connect(str(path)) as con:
        assert con.execute("SELECT id, name, _sdc_sequence FROM t").fetchall() == [(1, "a", 2)]


def test_the_command_exits_with_its_status_and_all_of_its_output(tmp_path: Path) -> None:
    """The quick exit (cli.py) keeps the CLI's status and loses no output."""
    big = {"cursor": 299, "seen": ["x" * 100] * 2000}  # 200 kB: more than any buffer
    msgs = [schema("t", {"id": {"type": "integer"}})]
    msgs += [record("t", {"id": i % 7, "_sdc_sequence": i}) for i in range(300)]
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"sqlalchemy_url": f"duckdb:///{tmp_path / 'q.duckdb'}"}))
    done = run_cli(["--config", str(config)], stdin=lines(*msgs, state(big)))
    assert done.returncode == 0, done.stderr
    assert [json.loads(line) for line in done.stdout.splitlines()] == [big]
    with duckdb.connect(str(tmp_path / "q.duckdb")) as con:
        assert con.execute("SELECT count(*), max(_sdc_sequence) FROM t").fetchall() == [(7, 299)]
    config.write_text(json.dumps({"load_method": "nope"}))
    refused = run_cli(["--config", str(config)])  # settings: status 2
    assert refused.returncode == 2, refused.stderr
    assert "load_method: 'nope' is not one of" in refused.stderr
    assert run_cli(["--no-such-option"]).returncode == 2  # click's usage error


@pytest.mark.parametrize(
    ("url", "says"),
    [
        # A folder cannot be made under a file: the folder's "parent" is one.
        ("duckdb:///{tmp}/a-file/x.duckdb", 'Cannot open file "{tmp}/a-file/x.duckdb"'),
        ("postgresql+psycopg://u:p@127.0.0.1:9/db", "port 9 failed: Connection refused"),
    ],
    ids=["duckdb", "postgresql"],
)
def test_a_destination_that_cannot_be_opened_is_named(tmp_path: Path, url: str, says: str) -> None:
    """The connection opens in a thread as reading starts; its error still stops the run."""
    (tmp_path / "a-file").write_text("")
    url, says = url.format(tmp=tmp_path), says.format(tmp=tmp_path)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"sqlalchemy_url": url}))
    text = lines(schema("t", {"id": {"type": "integer"}}), record("t", {"id": 1}), state(1))
    failed = run_cli(["--config", str(config)], stdin=text)
    assert failed.returncode == 3, failed.stderr
    assert "cannot reach the destination" in failed.stderr
    assert says in failed.stderr
    assert failed.stdout == ""


def test_a_line_that_is_not_json_is_named(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"sqlalchemy_url": f"duckdb:///{tmp_path / 'j.duckdb'}"}))
    text = lines(schema("t", {"id": {"type": "integer"}}), record("t", {"id": 1})) + "not json\n"
    failed = run_cli(["--config", str(config)], stdin=text)
    assert failed.returncode == 1, failed.stderr
    assert "input line 3: not valid JSON (Expecting value at character 1)" in failed.stderr


def test_the_cycle_collector_runs_again_once_the_command_has_imported() -> None:
    """main() pauses it for the imports only (a long run must still collect cycles)."""
    script = (
        "import gc, sys\n"
        "from target_sequenced import cli\n"
        "from target_sequenced.singer import target\n"
        "on = classmethod(lambda cls: sys.exit(0 if gc.isenabled() else 9))\n"
        "target.TargetSequenced.cli = on\n"
        "cli.main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.skipif(not Path("/proc/self/smaps_rollup").exists(), reason="Linux only")
def test_a_large_freed_block_goes_back_to_the_system() -> None:
    """With glibc, a block smaller than one freed before would stay in the heap once freed."""
    script = (
        "from target_sequenced.cli import _tune_malloc\n"
        "_tune_malloc()\n"
        "def anon():\n"
        "    lines = open('/proc/self/smaps_rollup').read().splitlines()\n"
        "    return next(int(x.split()[1]) for x in lines if x.startswith('Anonymous'))\n"
        "first = bytearray(12 * 2**20)\n"
        "first[::4096] = b'x' * len(first[::4096])\n"
        "del first\n"
        "block = bytearray(8 * 2**20)\n"
        "block[::4096] = b'y' * len(block[::4096])\n"
        "before = anon()\n"
        "del block\n"
        "print(before - anon())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert int(done.stdout) >= 8 * 1024  # KiB given back


@pytest.mark.parametrize(("code", "status"), [(None, 0), (0, 0), (3, 3), (256, 0), ("bye", 1)])
def test_exit_status_as_python_gives_it(code: object, status: int) -> None:
    assert exit_status(code) == status


def test_running_out_of_memory_is_one_line_and_status_4(tmp_path: Path) -> None:
    """A real DuckDB allocation failure (the workspace held to 1 MB), not a traceback."""
    script = (
        "import target_sequenced.core.workspace as w\n"
        "opened = w.Workspace._open\n"
        "def held(self):\n"
        "    opened(self)\n"
        "    self._con.execute(\"SET memory_limit = '1MB'\").fetchall()\n"
        "w.Workspace._open = held\n"
        "from target_sequenced.cli import main\n"
        "main()\n"
    )
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"sqlalchemy_url": f"duckdb:///{tmp_path / 'm.duckdb'}"}))
    props = {"id": {"type": "integer"}, "v": {"type": "string"}}
    text = lines(schema("t", props), *[record("t", {"id": i, "v": "x" * 200}) for i in range(5000)])
    done = subprocess.run(
        [sys.executable, "-c", script, "--config", str(config)],
        input=text,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 4, done.stderr
    errors = [line for line in done.stderr.splitlines() if "| ERROR" in line]
    assert len(errors) == 1, done.stderr
    # What the run was doing, and each remedy, memory_limit among them.
    assert "out of memory while reading stream 't' at input line 2: " in errors[0]
    assert "ulimit -v" in errors[0]
    assert "memory_limit" in errors[0]
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


def test_a_long_run_logs_progress_per_stream_at_its_interval(tmp_path: Path) -> None:
    """Input that arrives over more than the interval: a progress line, counts as the summary's."""
    config = tmp_path / "config.json"
    url = f"duckdb:///{tmp_path / 'p.duckdb'}"
    config.write_text(json.dumps({"sqlalchemy_url": url, "progress_seconds": 1}))
    props = {"id": {"type": "integer"}}
    first = lines(
        schema("t", props), *[record("t", {"id": i, "_sdc_sequence": i}) for i in range(3)]
    )
    then = lines(state({"n": 1}), record("t", {"id": 9, "_sdc_sequence": 9}))
    proc = subprocess.Popen(
        [EXE, "--config", str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None
    proc.stdin.write(first)
    proc.stdin.flush()
    time.sleep(2.5)  # more than the interval passes before the input ends
    out, err = proc.communicate(then, timeout=120)
    assert proc.returncode == 0, err
    progress = [line for line in err.splitlines() if "Progress:" in line]
    assert len(progress) == 1, err
    assert re.search(r"Progress: stream 't': received=4 loaded=0 \(\d+ records/s\)$", progress[0])
    assert out == '{"n": 1}\n'


def test_progress_seconds_must_be_a_whole_number_of_seconds(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"progress_seconds": -1}))
    done = run_cli(["--config", str(config)], stdin="", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "progress_seconds: must be a number of seconds, 0 or more, got -1" in done.stderr
