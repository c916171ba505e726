"""Columnar buffers of the fast path, and version resolution in SQL.

Rows extracted from RECORD lines wait in a workspace table with their arrival
(the input line). A load takes, per key, the greatest ``(sequence, arrival)``
(contract section 3), counting versions exactly as the per-record buffer
(:class:`~target_sequenced.sequencing.VersionBuffer`) does: a version older
than one that arrived before it is ``stale``, a later one is ``updated``.
"""

from __future__ import annotations

import typing as t

import duckdb

from target_sequenced.columns import Kind
from target_sequenced.quoting import quote
from target_sequenced.sequencing import SEQUENCE

if t.TYPE_CHECKING:
    import pyarrow as pa
    from sqlalchemy.engine import Dialect

    from target_sequenced.columns import Column
    from target_sequenced.fastpath import FastQuery, RunBounds
    from target_sequenced.stats import StreamStats
    from target_sequenced.workspace import Workspace

_SQL_TYPES = {
    Kind.INTEGER: "BIGINT",
    Kind.NUMBER: "DOUBLE",
    Kind.BOOLEAN: "BOOLEAN",
    Kind.STRING: "VARCHAR",
    Kind.TIMESTAMP: "TIMESTAMPTZ",
    Kind.DATE: "DATE",
    Kind.JSON: "VARCHAR",
}


class FastBuffer:
    """One sink's versions extracted by the fast path, waiting for a load."""

    def __init__(
        self,
        workspace: Workspace,
        dialect: Dialect,
        columns: tuple[Column, ...],
        key: tuple[str, ...],
        *,
        keyed: bool,
        stats: StreamStats,
    ) -> None:
        """Nothing is created until the first run arrives."""
        self.workspace = workspace
        self.columns = columns
        self.keyed = keyed
        self.stats = stats
        self._q = lambda name: quote(dialect, name)
        self._table = self._q(workspace.temp_name("buffer"))
        self._key = ", ".join(self._q(k) for k in key)
        self._created = False
        self._rows = 0

    def __len__(self) -> int:
        """Rows waiting (every version: resolution happens at the load)."""
        return self._rows

    def _create(self) -> None:
        cols = ", ".join(f"{self._q(c.name)} {_SQL_TYPES[c.kind]}" for c in self.columns)
        self.workspace.run(
            f"CREATE TABLE {self._table} ({cols}, _arrival BIGINT, _ok BOOLEAN, _ignored BOOLEAN)",
        )
        self._created = True

    def add_run(self, query: FastQuery, run: RunBounds) -> bool:
        """Extract one run of lines; False (and nothing kept) if any record needs the slow path.

        The query raises at a record it is not sure about, which undoes its
        insert, so one statement checks and inserts: a second one counting
        rejected rows took 1.3 ms per chunk. Versions older than the active
        one are counted only once ACTIVATE_VERSION has named one.
        """
        if not self._created:
            self._create()
        run_sql = self.workspace.run
        try:
            [(received,)] = run_sql(f"INSERT INTO {self._table} {query.sql}", query.parameters(run))
        except (duckdb.InvalidInputException, duckdb.ConversionException):
            # A record the checks refuse, or a value DuckDB's JSON reader
            # refuses (a broken escape, say): the per-record path reports it,
            # or takes it.
            return False
        where = f"_arrival BETWEEN {run.first_line:d} AND {run.last_line:d}"
        if received != run.count:
            run_sql(f"DELETE FROM {self._table} WHERE {where}")
            return False
        ignored = 0
        if run.active_version is not None:
            [(ignored,)] = run_sql(f"SELECT count(*) FROM {self._table} WHERE {where} AND _ignored")
            if ignored:
                run_sql(f"DELETE FROM {self._table} WHERE {where} AND _ignored")
        self.stats.received += received
        self.stats.ignored_old_version += ignored
        self._rows += received - ignored
        return True

    def take(self) -> pa.Table:
        """The rows a load writes (one per key when keyed); the buffer is left empty."""
        names = ", ".join(self._q(c.name) for c in self.columns)
        seq = self._q(SEQUENCE)
        if self.keyed:
            [(updated, stale)] = self.workspace.run(
                f"SELECT count(*) FILTER (WHERE _prev IS NOT NULL AND {seq} >= _prev), "
                f"count(*) FILTER (WHERE {seq} < _prev) FROM ("
                f"SELECT {seq}, max({seq}) OVER (PARTITION BY {self._key} ORDER BY _arrival "
                "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS _prev "
                f"FROM {self._table})",
            )
            self.stats.updated += updated
            self.stats.stale += stale
            sql = (
                f"SELECT {names} FROM {self._table} QUALIFY row_number() OVER "
                f"(PARTITION BY {self._key} ORDER BY {seq} DESC, _arrival DESC) = 1"
            )
        else:
            sql = f"SELECT {names} FROM {self._table} ORDER BY _arrival"
        table = self.workspace.con.sql(sql).to_arrow_table()
        # Dropped, not emptied: after DELETE, DuckDB kept the in-memory table's
        # blocks (13 to 27 MiB on bench scenario d) while the load ran; the next
        # run creates the table again. Peak RSS on d 500k: 301 -> 282 MiB.
        self.drop()
        self._rows = 0
        return table

    def drop(self) -> None:
        """Free the table."""
        if self._created:
            self.workspace.run(f"DROP TABLE IF EXISTS {self._table}")
            self._created = False
