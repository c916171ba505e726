"""One stream's buffered versions: a workspace table filled by the parse query, resolved at a load.

Every parsed line becomes a row with its verdicts (:mod:`.query`). After a
batch is added, lossy rows get their numeric values and verdicts from the
exact parse, rows of an old version are dropped and counted, and the rows
that are still invalid are handed to the caller with their arrivals: the
loader decides whether they stop the run or are rejected. A load takes, per
key, the greatest ``(sequence, arrival)`` (contract section 3), counting
versions as if each had been loaded alone: one older than a version that
arrived before it is ``stale``, a later one is ``updated``.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from target_sequenced.core.batches import Lines, line_of
from target_sequenced.core.exact import column_value, parse
from target_sequenced.core.kinds import Kind
from target_sequenced.core.numbers import integer_digits_sql, scale_sql
from target_sequenced.core.sql import quote
from target_sequenced.core.system import SEQUENCE
from target_sequenced.core.versions import BUFFER_STALE, CANDIDATE, TIE, ranked_sql

if t.TYPE_CHECKING:
    import datetime as dt

    from target_sequenced.core.batches import Batch
    from target_sequenced.core.exact import Reference
    from target_sequenced.core.query import ParseQuery
    from target_sequenced.core.stats import StreamStats
    from target_sequenced.core.system import Column
    from target_sequenced.core.workspace import Workspace

SQL_TYPES = {
    Kind.INTEGER: "BIGINT",
    Kind.NUMBER: "VARCHAR",
    Kind.BOOLEAN: "BOOLEAN",
    Kind.STRING: "VARCHAR",
    Kind.TIMESTAMP: "TIMESTAMPTZ",
    Kind.DATE: "DATE",
    Kind.JSON: "VARCHAR",
}
"""How the buffer holds each kind: numbers as their exact decimal text."""
ARROW_TYPES = {
    Kind.INTEGER: pa.int64(),
    Kind.NUMBER: pa.string(),
    Kind.STRING: pa.string(),
    Kind.JSON: pa.string(),
}
_OK = "(_ok_schema AND _ok_num AND _ok_other)"


class MalformedError(Exception):
    """A line of the batch is not JSON; ``line`` names the first."""

    def __init__(self, line: int) -> None:
        """Keep the line."""
        super().__init__(line)
        self.line = line


@dataclass
class Added:
    """What one batch brought."""

    received: int
    invalid: list[int] = field(default_factory=list)
    """Arrivals of the rows that are invalid, in order."""
    indexes: dict[int, int] = field(default_factory=dict)
    """Arrival -> the row's place among the batch's records of the stream."""
    mismatched: bool = False
    """The query found another count of the stream's RECORDs than the reader did."""
    source: str | None = None
    """The sequence source the rows were held to (the table's, or the batch's first row's)."""


class StreamBuffer:
    """The versions of one stream (under one plan) waiting for a load."""

    def __init__(
        self,
        workspace: Workspace,
        query: ParseQuery,
        reference: Reference | None,
        key: tuple[str, ...],
        *,
        keyed: bool,
        stats: StreamStats,
    ) -> None:
        """Nothing is created until the first batch."""
        self.workspace = workspace
        self.query = query
        self.reference = reference
        self.keyed = keyed
        self.stats = stats
        self.columns: tuple[Column, ...] = query.columns
        self._table = quote(workspace.temp_name("buffer"))
        self._key = ", ".join(quote(k) for k in key)
        self._created = False
        self.rows = 0
        self.oldest: int | None = None
        """The lowest arrival buffered (or lower): what the next load commits first."""

    def __len__(self) -> int:
        """Rows waiting (every version: resolution happens at the load)."""
        return self.rows

    def _create(self) -> None:
        cols = ", ".join(f"{quote(c.name)} {SQL_TYPES[c.kind]}" for c in self.columns)
        flags = "_arrival BIGINT, _ok_schema BOOLEAN, _ok_num BOOLEAN, _ok_other BOOLEAN, "
        flags += "_lossy BOOLEAN, _ignored BOOLEAN, _source TINYINT"
        self.workspace.run(f"CREATE TABLE {self._table} ({cols}, {flags})")
        self._created = True

    def add(
        self,
        batch: Batch,
        *,
        stream: str,
        clock: int,
        received_at: dt.datetime,
        active_version: int | None,
        source: str | None,
        first_decides: bool = False,
    ) -> Added:
        """Parse a batch into the buffer; the invalid rows stay until :meth:`pop_invalid`.

        ``source``: the sequence source the table holds, if known; rows from
        another are invalid (the caller words why). ``first_decides``: none is
        known yet, so the batch's first valid row's source is the one.
        """
        if not self._created:
            self._create()
        run = self.workspace.run
        rows = batch.rows_sql()
        sql = f"INSERT INTO {self._table} {self.query.sql(rows)}"
        params = {
            "stream": stream,
            "clock": clock,
            "received": received_at,
            "active": active_version,
        }
        try:
            run(sql, {name: value for name, value in params.items() if f"${name}" in sql})
        except (duckdb.InvalidInputException, duckdb.ConversionException) as exc:
            if isinstance(batch, Lines):
                [(bad,)] = run(
                    f"SELECT min(line) FROM {batch.relation} WHERE line BETWEEN "
                    f"{batch.first:d} AND {batch.last:d} AND NOT json_valid(j)"
                )
                if bad is not None:
                    raise MalformedError(int(bad)) from exc
            raise
        low, high = batch.bounds
        where = f"_arrival BETWEEN {low:d} AND {high:d}"
        [(count, lossy)] = run(
            f"SELECT count(*), count(*) FILTER (WHERE _lossy) FROM {self._table} WHERE {where}"
        )
        if count != batch.count:
            run(f"DELETE FROM {self._table} WHERE {where}")
            return Added(0, mismatched=True)
        if lossy:
            try:
                self._exact(rows, low, high)
            except MalformedError:
                run(f"DELETE FROM {self._table} WHERE {where}")  # nothing of the batch stays
                raise
        # After the exact parse: a lossy row's verdicts are final only now.
        source = self._first_valid_source(where) if first_decides and not source else source
        other_source = f" OR _source IS DISTINCT FROM {self._code(source)}" if source else ""
        bad = f"(NOT {_OK}{other_source})"
        [(ignored, refused)] = run(
            f"SELECT count(*) FILTER (WHERE _ignored AND {_OK}), count(*) FILTER (WHERE {bad}) "
            f"FROM {self._table} WHERE {where}"
        )
        invalid = []
        if refused:
            invalid = run(
                "SELECT _arrival, _rank FROM (SELECT _arrival, "
                f"row_number() OVER (ORDER BY _arrival) - 1 AS _rank, {bad} AS _bad "
                f"FROM {self._table} WHERE {where}) WHERE _bad ORDER BY _arrival"
            )
        if ignored:
            run(f"DELETE FROM {self._table} WHERE {where} AND _ignored AND {_OK}")
        self.stats.received += count
        self.stats.ignored_old_version += int(ignored)
        self.rows += int(count) - int(ignored)
        self.oldest = low if self.oldest is None else min(self.oldest, low)
        return Added(
            int(count),
            [int(a) for a, _ in invalid],
            {int(a): int(r) for a, r in invalid},
            source=source,
        )

    def _first_valid_source(self, where: str) -> str | None:
        """The sequence source of the first valid row ``where`` selects (None: no such row)."""
        first = self.workspace.run(
            f"SELECT _source FROM {self._table} WHERE {where} AND {_OK} ORDER BY _arrival LIMIT 1"
        )
        return self.query.sources[first[0][0]] if first and first[0][0] is not None else None

    def _exact(self, rows: str, low: int, high: int) -> None:
        """Give lossy rows their numeric values and verdicts from the exact parse."""
        found = self.workspace.run(
            f"SELECT b._arrival, r.j FROM {self._table} b JOIN {rows} r USING (_arrival) "
            f"WHERE b._arrival BETWEEN {low:d} AND {high:d} AND b._lossy"
        )
        numeric = [c for c in self.columns if c.name in self.query.numeric]
        arrivals: list[int] = []
        schema_ok: list[bool] = []
        numeric_ok: list[bool] = []
        values: list[list[object]] = [[] for _ in numeric]
        for arrival, text in found:
            try:
                message = parse(text)
            except ValueError as exc:  # NaN: DuckDB read the line, JSON has no such number
                raise MalformedError(line_of(arrival)) from exc
            record = message.get("record") if isinstance(message, dict) else None
            record = record if isinstance(record, dict) else {}
            arrivals.append(arrival)
            schema_ok.append(self.reference is None or not self.reference.errors(record))
            fine = True
            for i, col in enumerate(numeric):
                value, error = column_value(col, record.get(col.prop))
                values[i].append(value)
                fine = fine and error is None
            numeric_ok.append(fine)
        update = pa.table(
            {
                "_arrival": pa.array(arrivals, pa.int64()),
                "_ok_schema": pa.array(schema_ok, pa.bool_()),
                "_ok_num": pa.array(numeric_ok, pa.bool_()),
                **{
                    f"v{i}": pa.array(vals, ARROW_TYPES[col.kind])
                    for i, (col, vals) in enumerate(zip(numeric, values, strict=True))
                },
            }
        )
        name = self.workspace.temp_name("exact")
        sets = [f"{quote(col.name)} = e.v{i}" for i, col in enumerate(numeric)]
        sets += ["_ok_schema = e._ok_schema", "_ok_num = e._ok_num"]
        with self.workspace.registered(name, update):
            self.workspace.run(
                f"UPDATE {self._table} SET {', '.join(sets)} FROM {quote(name)} e "
                f"WHERE {self._table}._arrival = e._arrival"
            )

    def _code(self, source: str) -> int:
        """A source's index among the query's (-1: none of them, so no row matches)."""
        names = self.query.sources
        return names.index(source) if source in names else -1

    def first_source(self) -> str | None:
        """The sequence source of the earliest buffered row (None: no row)."""
        if not self.rows:
            return None
        found = self.workspace.run(f"SELECT _source FROM {self._table} ORDER BY _arrival LIMIT 1")
        return self.query.sources[found[0][0]] if found and found[0][0] is not None else None

    def invalid_rows(
        self, arrivals: t.Sequence[int]
    ) -> list[tuple[int, str | None, bool, bool, bool]]:
        """``(arrival, source, schema ok, numeric ok, lossy)`` of buffered rows, by arrival."""
        listed = ", ".join(str(int(a)) for a in arrivals)
        return [
            (int(a), None if s is None else self.query.sources[s], bool(o1), bool(o2), bool(lossy))
            for a, s, o1, o2, lossy in self.workspace.run(
                f"SELECT _arrival, _source, _ok_schema, _ok_num, _lossy FROM {self._table} "
                f"WHERE _arrival IN ({listed}) ORDER BY _arrival"
            )
        ]

    def withdraw(self, bounds: tuple[int, int], added: Added, ignored: int) -> None:
        """Take back everything one batch brought (its payload was refused whole)."""
        low, high = bounds
        [(gone,)] = self.workspace.run(
            f"SELECT count(*) FROM {self._table} WHERE _arrival BETWEEN {low:d} AND {high:d}"
        )
        self.workspace.run(f"DELETE FROM {self._table} WHERE _arrival BETWEEN {low:d} AND {high:d}")
        self.rows -= int(gone)
        self.stats.received -= added.received
        self.stats.ignored_old_version -= ignored

    def discard(self, arrivals: t.Sequence[int]) -> None:
        """Remove rows (invalid ones, once the loader dealt with them)."""
        if not arrivals:
            return
        listed = ", ".join(str(int(a)) for a in arrivals)
        [(gone,)] = self.workspace.run(
            f"SELECT count(*) FROM {self._table} WHERE _arrival IN ({listed})"
        )
        self.workspace.run(f"DELETE FROM {self._table} WHERE _arrival IN ({listed})")
        self.rows -= int(gone)

    def number_stats(self, rows: pa.Table) -> dict[str, tuple[int, int]]:
        """Per number column: the most decimals and integer digits among rows a load writes."""
        numbers = [c for c in self.columns if c.kind is Kind.NUMBER]
        if not numbers or not rows.num_rows:
            return {}
        parts = []
        for col in numbers:
            name = quote(col.name)
            parts += [
                f"coalesce(max({scale_sql(name)}), 0)",
                f"coalesce(max({integer_digits_sql(name)}), 0)",
            ]
        relation = self.workspace.temp_name("winners")
        with self.workspace.registered(relation, rows):
            [found] = self.workspace.run(f"SELECT {', '.join(parts)} FROM {quote(relation)}")
        return {
            col.name: (int(found[2 * i]), int(found[2 * i + 1])) for i, col in enumerate(numbers)
        }

    def take(self, before: int | None = None) -> tuple[pa.Table, pa.Table | None, pa.Table | None]:
        """The rows a load writes (one per key when keyed, sorted by key), candidates and ties.

        Candidates (:data:`~target_sequenced.core.versions.CANDIDATE`): each key and
        sequence the load compares with the stored row to count it; ties
        (:data:`~target_sequenced.core.versions.TIE`) likewise. ``before``:
        only rows that arrived before it (the rest are dropped: the run stops
        there). The buffer is emptied.
        """
        if not self._created:
            self._create()
        names = ", ".join(quote(c.name) for c in self.columns)
        seq = quote(SEQUENCE)
        where = "" if before is None else f"WHERE _arrival < {before:d}"
        candidates = ties = None
        if self.keyed:
            # The windows over key, sequence and arrival only: the wide rows are
            # read once more, for the winners.
            ranked = self.workspace.temp_name("ranked")
            narrow = f"(SELECT {self._key}, {seq}, _arrival FROM {self._table} {where})"
            self.workspace.run(
                f"CREATE TEMP TABLE {ranked} AS {ranked_sql(seq, self._key, narrow)}"
            )
            try:
                [(stale,)] = self.workspace.run(
                    f"SELECT count(*) FROM {ranked} WHERE {BUFFER_STALE.format(sequence=seq)}"
                )
                self.stats.stale += stale
                candidates = self.workspace.con.sql(
                    f"SELECT {self._key}, {seq} FROM {ranked} "
                    f"WHERE {CANDIDATE.format(sequence=seq)}"
                ).to_arrow_table()
                ties = self.workspace.con.sql(
                    f"SELECT {self._key}, {seq} FROM {ranked} WHERE {TIE.format(sequence=seq)}"
                ).to_arrow_table()
                table = self.workspace.con.sql(
                    f"SELECT {names} FROM {self._table} SEMI JOIN "
                    f"(SELECT _arrival FROM {ranked} WHERE _rank = 1) w USING (_arrival) "
                    f"ORDER BY {self._key}"
                ).to_arrow_table()
            finally:
                self.workspace.run(f"DROP TABLE IF EXISTS {ranked}")
        else:
            table = self.workspace.con.sql(
                f"SELECT {names} FROM {self._table} {where} ORDER BY _arrival"
            ).to_arrow_table()
        # Dropped, not emptied: after DELETE, DuckDB kept the in-memory table's
        # blocks while the load ran; the next batch creates the table again.
        self.drop()
        return table, candidates, ties

    def drop(self) -> None:
        """Free the table."""
        if self._created:
            self.workspace.run(f"DROP TABLE IF EXISTS {self._table}")
            self._created = False
        self.rows = 0
        self.oldest = None
