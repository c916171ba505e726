"""Input read in chunks by a thread: lines split as readlines does, same outcome at any chunk size.

``CHUNK_BYTES`` is 4 MiB, so the other tests' inputs fit in one chunk. Here
it is made small enough that runs of records, STATE lines and SCHEMA changes
fall across chunk boundaries.
"""

from __future__ import annotations

import io
import json
import threading
import time
import typing as t

import pytest

import target_sequenced.singer.reader as reader_module
from target_sequenced.core.errors import InputError
from target_sequenced.singer import chunks
from target_sequenced.singer.chunks import Chunk, line_offsets, read_blocks
from target_sequenced.singer.target import TargetSequenced
from tests.generator import Scenario, generate
from tests.helpers import (
    Db,
    lines,
    make_db,
    record,
    run_target_failing,
    run_target_with_stats,
    schema,
    state,
)
from tests.test_generated import assert_tables_match

if t.TYPE_CHECKING:
    from pathlib import Path

READER_THREAD = "target-sequenced-read-ahead"
SAMPLES = [
    b"a\n",
    b"a\nbc",
    b"\n\n",
    b"x\r\ny\rz\n",
    b'{"s": "line\\nbreak"}\n{"t": 1}\n',
    "漢字 🚀\nend\n".encode(),
]


def reader_stopped() -> bool:
    """Whether the read-ahead thread has ended (waiting up to 5 s)."""
    deadline = time.monotonic() + 5
    while any(th.name == READER_THREAD for th in threading.enumerate()):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.mark.parametrize("data", SAMPLES)
def test_a_chunk_gives_back_the_lines_readlines_gives(data: bytes) -> None:
    chunk = Chunk(data, line_offsets(data), base=40)
    expected = io.BytesIO(data).readlines()
    assert [line for _, line in chunk.numbered()] == expected
    assert [number for number, _ in chunk.numbered()] == list(range(41, 41 + len(expected)))
    assert len(chunk) == len(expected)
    assert chunk.offsets[-1] == len(data)  # Arrow reads the lines through these offsets


@pytest.mark.parametrize("binary", [True, False], ids=["bytes", "text"])
def test_blocks_end_where_lines_end_and_lose_nothing(*, binary: bool) -> None:
    text = "".join(f"{'é' * (i % 7)}line {i}\n" for i in range(50)) + "last, no newline"
    source: t.IO[str] = io.TextIOWrapper(io.BytesIO(text.encode())) if binary else io.StringIO(text)
    blocks = list(read_blocks(source, 16))
    assert b"".join(blocks) == text.encode()
    assert all(block.endswith(b"\n") for block in blocks[:-1])
    assert blocks[-1].endswith(b"last, no newline")
    assert len(blocks) > 10


def settings_of(db: Db) -> dict:
    return db.config(batch_size_rows=97)


def test_chunk_size_changes_nothing(
    dialect: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Same rows, STATE and counters with one chunk and with a few lines per chunk."""
    monkeypatch.setattr(reader_module, "PER_LINE_BELOW", 1)  # small runs go in bulk too
    gen = generate(Scenario(records=900, keys=120, streams=2, shuffle=True, ties=0.3, seed=8))
    text = gen.text()
    pg = request.getfixturevalue("pg_url") if dialect == "postgresql" else None
    outcomes = []
    for size in (chunks.CHUNK_BYTES, 700):
        monkeypatch.setattr(chunks, "CHUNK_BYTES", size)
        where = tmp_path / str(size)
        where.mkdir()
        db = make_db(dialect, where, pg)
        try:
            states, stats = run_target_with_stats(settings_of(db), text)
            assert_tables_match(db, gen)
            rows = {
                stream: db.rows(stream, columns="id, _sdc_sequence, name, _sdc_table_version")
                for stream in gen.expected
            }
        finally:
            db.dispose()
        outcomes.append((rows, states, stats))
    assert len(text) > 100 * 700  # the second run really had many chunks
    (rows, states, stats), (rows_small, states_small, stats_small) = outcomes
    assert (rows, stats) == (rows_small, stats_small)
    # STATE comes out after the commits that made it safe: how many depends on
    # where loads fall, never which nor in what order (contract 7).
    sent = [m["value"] for m in map(json.loads, text.splitlines()) if m["type"] == "STATE"]
    for relayed in (states, states_small):
        assert relayed[-1] == sent[-1] == {"records": 900, "done": True}
        positions = [sent.index(value) for value in relayed]
        assert positions == sorted(set(positions))


def test_an_error_in_a_later_chunk_keeps_what_was_committed_and_stops_reading(
    db: Db,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(reader_module, "PER_LINE_BELOW", 1)
    monkeypatch.setattr(chunks, "CHUNK_BYTES", 500)
    props = {"id": {"type": "integer"}, "name": {"type": ["null", "string"]}}
    good = [record("t", {"id": i, "name": f"n{i}"}) for i in range(300)]
    bad = record("t", {"id": 1000, "name": 5})
    after = [record("t", {"id": 2000 + i, "name": "later"}) for i in range(300)]
    text = lines(schema("t", props), *good, {"type": "STATE", "value": 300}, bad, *after)
    error, states = run_target_failing(db.config(batch_size_rows=50), text)
    assert isinstance(error, InputError)
    assert str(error).startswith("stream 't', input line 303, record 300: ")
    assert "#/name" in str(error)
    # Everything before the bad line committed, and the STATE that covers it
    # emitted (contract 7); nothing of the line or after it.
    assert [r["id"] for r in db.rows("t")] == list(range(300))
    assert states == [300]
    assert reader_stopped()


def test_a_failing_input_is_reported_after_the_lines_before_it(db: Db) -> None:
    class Broken(io.StringIO):
        """Reads its text, then fails as a dropped pipe would."""

        def read(self, size: int | None = -1) -> str:
            text = super().read(size)
            if not text:
                raise OSError(5, "Input/output error")
            return text

    props = {"id": {"type": "integer"}}
    text = lines(schema("t", props), *(record("t", {"id": i}) for i in range(5)))
    target = TargetSequenced(config=db.config())
    with pytest.raises(OSError, match="Input/output error"):
        target.listen(file_input=Broken(text))
    assert reader_stopped()


def test_a_line_that_is_not_utf8_is_named(db: Db) -> None:
    props = {"id": {"type": "integer"}}
    good = lines(schema("t", props), record("t", {"id": 1})).encode()
    data = good + b'{"type": "RECORD", "stream": "t", "record": {"id": 2, "x": "\xff"}}\n'
    target = TargetSequenced(config=db.config())
    with pytest.raises(InputError, match=r"^input line 3: not UTF-8 text \(invalid start byte"):
        target.listen(file_input=io.TextIOWrapper(io.BytesIO(data)))
    assert reader_stopped()


def test_ahead_runs_in_the_reading_thread_on_the_lines_that_end_segments() -> None:
    text = lines(
        schema("s", {"id": {"type": "integer"}}),
        record("s", {"id": 1}),
        state({"n": 1}),
        {"table_name": "t", "messages": []},
        record("s", {"id": 2}),
    )
    seen: list[tuple[bytes, str]] = []

    def ahead(line: bytes | bytearray) -> object | None:
        seen.append((bytes(line), threading.current_thread().name))
        return None if b"SCHEMA" in line else len(line)

    (chunk,) = chunks.read_ahead(io.StringIO(text), bulk=True, ahead=ahead)
    given = text.splitlines(keepends=True)
    # The SCHEMA (line 1) and the batch (line 4) end segments; RECORD and STATE lines do not.
    assert [line.decode() for line, _ in seen] == [given[0], given[3]]
    assert {name for _, name in seen} == {"target-sequenced-read-ahead"}
    assert chunk.ahead == {4: len(given[3])}
