"""An in-memory DuckDB where input chunks are parsed and buffered versions resolved.

Whatever the destination, the per-record work of the fast path (JSON parsing,
type checks, sequence resolution) runs here, in DuckDB's own threads, instead
of in Python one record at a time. Nothing is created until first use, or
until :meth:`Workspace.open_soon`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import typing as t
import uuid

import duckdb

from target_sequenced.core.batches import Texts
from target_sequenced.core.opening import Opening

if t.TYPE_CHECKING:
    import pyarrow as pa

    from target_sequenced.core.batches import Batch


class Workspace:
    """One in-memory DuckDB connection per target run."""

    def __init__(self) -> None:
        """Connect lazily."""
        self._con: duckdb.DuckDBPyConnection | None = None
        self._opening = Opening("workspace-open")

    def open_soon(self) -> None:
        """Start connecting in a thread, while the caller goes on.

        DuckDB sets up a new instance (its catalog of functions) without
        holding the GIL: 10 to 15 ms here, which this overlaps with reading
        the first chunk. If it fails, :attr:`con` connects again and raises.
        """
        if self._con is None:
            self._opening.start(self._open)

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The connection; timestamps without an offset are read as UTC."""
        self._opening.wait()
        if self._con is None:
            self._open()
        assert self._con is not None  # noqa: S101 - set by _open
        return self._con

    def _open(self) -> None:
        con = duckdb.connect(":memory:")
        con.execute("SET TimeZone = 'UTC'").fetchall()
        # Rows carry their arrival (the input line): no query here needs
        # DuckDB to keep insertion order, and it parallelises better without.
        con.execute("SET preserve_insertion_order = false").fetchall()
        # Filter pushdown copies the parse query's WHERE (type and stream of
        # each line) below its projection, so every line's JSON was parsed
        # twice: once to filter, once to extract (bench/README.md, "Measured
        # choices").
        con.execute("SET disabled_optimizers = 'filter_pushdown'").fetchall()
        self._con = con

    def run(self, sql: str, parameters: object = None) -> list[tuple]:
        """Execute a statement and fetch its result (DuckDB wants results finished)."""
        return self.con.execute(sql, parameters).fetchall()

    def arrow(self, sql: str, parameters: dict[str, object]) -> pa.Table:
        """A query's result as an Arrow table (to register as a batch)."""
        return self.con.sql(sql, params=parameters).to_arrow_table()

    @contextlib.contextmanager
    def registered(self, name: str, table: object) -> t.Iterator[None]:
        """An Arrow table readable under ``name`` for the block (DuckDB scans it in place)."""
        self.con.register(name, table)
        try:
            yield
        finally:
            self.con.unregister(name)

    @contextlib.contextmanager
    def readable(self, batch: Batch) -> t.Iterator[Batch]:
        """The batch as a relation of the workspace (texts are registered for the while)."""
        if not isinstance(batch, Texts):
            yield batch
            return
        name = self.temp_name("texts")
        with self.registered(name, batch.table):
            yield dataclasses.replace(batch, relation=name)

    def temp_name(self, prefix: str) -> str:
        """A fresh table name."""
        return f"{prefix}_{uuid.uuid4().hex[:12]}"

    def close(self) -> None:
        """Release the memory."""
        self._opening.wait()
        if self._con is not None:
            self._con.close()
            self._con = None
