"""Every statement sent to the destination: DDL, loads and version activation.

One load is one transaction: stage the resolved versions, apply them to the
table with the sequence guard (``incoming >= stored``, evaluated by the
database so concurrent writers stay correct), drop the stage, commit.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import typing as t
import uuid
from dataclasses import dataclass

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert

from target_sequenced import memory
from target_sequenced.arrow import ARROW_TYPES
from target_sequenced.columns import (
    BATCHED_AT,
    DELETED_AT,
    TABLE_VERSION,
    Column,
    Kind,
    to_json_text,
    widen,
)
from target_sequenced.dialects import capabilities_for
from target_sequenced.dialects.base import temporary_table
from target_sequenced.exceptions import DestinationError
from target_sequenced.opening import Opening
from target_sequenced.quoting import quote
from target_sequenced.sequencing import SEQUENCE

if t.TYPE_CHECKING:
    import logging

    from sqlalchemy.engine import Connection, Engine

    from target_sequenced.dialects.base import DialectCapabilities
    from target_sequenced.stats import StreamStats

T = t.TypeVar("T")


def _driver_error(exc: BaseException) -> BaseException:
    """The driver's own error inside an SQLAlchemy wrapper, or ``exc`` itself."""
    if isinstance(exc, sa.exc.DBAPIError) and exc.orig is not None:
        return exc.orig
    return exc


def _rolled_back(table: str, what: str, exc: BaseException) -> DestinationError:
    """The error for a transaction the database refused, naming the table and its reason."""
    return DestinationError(f"table '{table}': {what} was rolled back: {_driver_error(exc)}")


TOMBSTONES = "_sdc_tombstones"
KEY_TEXT = "_sdc_key"

SYSTEM_COLUMNS: tuple[Column, ...] = (
    Column(SEQUENCE, Kind.INTEGER, SEQUENCE),
    Column("_sdc_received_at", Kind.TIMESTAMP, "_sdc_received_at"),
    Column(BATCHED_AT, Kind.TIMESTAMP, BATCHED_AT),
    Column("_sdc_extracted_at", Kind.TIMESTAMP, "_sdc_extracted_at"),
    Column(TABLE_VERSION, Kind.INTEGER, TABLE_VERSION),
    Column(DELETED_AT, Kind.TIMESTAMP, DELETED_AT),
)
SYSTEM_NAMES = frozenset(col.name for col in SYSTEM_COLUMNS)


@dataclass(frozen=True)
class TablePlan:
    """The table a sink wants: its columns (system ones included) and key."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    """Key column names; the table's primary key when ``unique_key``."""
    unique_key: bool


@dataclass(frozen=True)
class LoadResult:
    """What one load did (also added to the stream's stats)."""

    staged: int
    inserted: int
    updated: int
    stale: int
    deleted: int


class Destination:
    """A database reached through SQLAlchemy, and the schema the tables live in."""

    def __init__(
        self,
        url: str,
        schema: str | None,
        logger: logging.Logger,
        *,
        memory_start: int | None = None,
    ) -> None:
        """Nothing connects until the first statement.

        ``memory_start``: bytes the memory limit starts at, where the database
        has one we may set (default :data:`target_sequenced.memory.START`).
        """
        self.url = sa.engine.make_url(url)
        self.caps: DialectCapabilities = capabilities_for(self.url.get_backend_name())
        self.schema = schema or self.caps.default_schema
        self.logger = logger
        start = memory.START if memory_start is None else memory_start
        self.memory = memory.MemoryLimit(self.caps, self.url, start)
        self._engine: Engine | None = None
        self._opening = Opening("destination-open")
        self._schema_ready = False

    def open_soon(self) -> None:
        """Connect in a thread, while the caller goes on.

        Importing duckdb-engine, creating the engine and connecting to a
        DuckDB file took 27, 17 and 30 ms here, much of it in in-memory DuckDB
        instances duckdb-engine starts to list reserved words and settings,
        without the GIL. The connection then waits in the pool; the first
        statement waits for the thread. If connecting fails, the first
        statement connects again and raises where it always did.
        """
        if self._engine is None:
            self._opening.start(self._connect_quietly)

    def _connect_quietly(self) -> None:
        with contextlib.suppress(Exception), self._make_engine().connect():
            pass

    @property
    def engine(self) -> Engine:
        """The engine, created on first use.

        One connection, which threads use in turn: the one that opens it
        early (:meth:`open_soon`), then the loads.
        """
        self._opening.wait()
        return self._make_engine()

    def _make_engine(self) -> Engine:
        if self._engine is None:
            self._engine = sa.create_engine(self.url, poolclass=sa.pool.StaticPool)
            if self.memory.bytes is not None:
                sa.event.listen(self._engine, "connect", self.memory.on_connect)
        return self._engine

    def _transaction(self, work: t.Callable[[Connection], T]) -> T:
        """Run ``work`` in one transaction, again if the memory limit we set was too small.

        The database refused the work for want of memory and nothing of it was
        committed (:mod:`target_sequenced.memory`): reconnect with twice the
        limit and run it again. A limit from the URL is never raised.
        """
        while True:
            try:
                with self.engine.begin() as conn:
                    return work(conn)
            except self._load_errors as exc:  # noqa: PERF203 (one retry per transaction, rare)
                reason = self._out_of_memory(exc)
                if reason is None:
                    raise
                was = self.memory.describe()
                if not self.memory.grow():
                    raise
                self.logger.warning(
                    "The database ran out of its memory limit (%s); nothing was committed. "
                    "Reconnecting with %s and running the transaction again. Error: %s",
                    was,
                    self.memory.describe(),
                    str(reason).splitlines()[0],
                )
                self._discard_engine()

    def _out_of_memory(self, exc: BaseException) -> BaseException | None:
        """The out-of-memory error behind ``exc``, if any.

        Also found among the errors ``exc`` happened during: once a statement
        runs out of memory, the clean-up that follows it in the same
        transaction (unregistering a scan, say) fails with "transaction is
        aborted", and that is the error that reaches us.
        """
        seen: set[int] = set()
        todo: list[BaseException | None] = [exc]
        while todo:
            err = todo.pop()
            if err is None or id(err) in seen:
                continue
            seen.add(id(err))
            if self.caps.is_out_of_memory(err):
                return err
            todo += [_driver_error(err), err.__cause__, err.__context__]
        return None

    def _discard_engine(self) -> None:
        """Close the connections of a database that may be invalid; errors on close are moot."""
        try:
            self.dispose()
        except self._load_errors as exc:
            self.logger.debug("Closing the destination after an error: %s", exc)

    def dispose(self) -> None:
        """Close every connection; the next statement connects again."""
        self._opening.wait()
        engine, self._engine = self._engine, None
        if engine is not None:
            engine.dispose()

    # -- DDL -----------------------------------------------------------------

    def _table(self, name: str, columns: t.Iterable[Column], key: t.Sequence[str]) -> sa.Table:
        metadata = sa.MetaData(schema=self.schema)
        return sa.Table(
            name,
            metadata,
            *[
                sa.Column(
                    col.name,
                    self.caps.sql_types[col.kind],
                    primary_key=col.name in key,
                    autoincrement=False,
                    quote=True,
                )
                for col in columns
            ],
            quote=True,
            quote_schema=True,
        )

    def _existing(self, conn: Connection, name: str) -> tuple[dict[str, Kind], list[str]]:
        """Columns (with kinds) and primary key of a table, from information_schema.

        A table with no columns does not exist, and its key is not looked up:
        that query took 4.5 ms on DuckDB, of a new table's 10 ms preparation.
        """
        cols = sa.text(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = :schema AND table_name = :table ORDER BY ordinal_position",
        )
        kinds = {
            row[0]: self.caps.kind_of_type_name(row[1])
            for row in conn.execute(cols, {"schema": self.schema, "table": name})
        }
        if not kinds:
            return kinds, []
        pk = sa.text(
            "SELECT kcu.column_name FROM information_schema.table_constraints tc "
            "JOIN information_schema.key_column_usage kcu "
            "ON tc.constraint_name = kcu.constraint_name "
            "AND tc.table_schema = kcu.table_schema AND tc.table_name = kcu.table_name "
            "WHERE tc.constraint_type = 'PRIMARY KEY' "
            "AND tc.table_schema = :schema AND tc.table_name = :table "
            "ORDER BY kcu.ordinal_position",
        )
        key = [row[0] for row in conn.execute(pk, {"schema": self.schema, "table": name})]
        return kinds, key

    def prepare(self, plan: TablePlan) -> tuple[Column, ...]:
        """Create or evolve the table for ``plan``; return the columns as stored.

        New properties become new columns; a column whose kind must widen is
        altered (integer -> number -> string, never narrower); a changed key
        rebuilds the table with the new primary key. A column that the stored
        table holds wider than the plan keeps its wider kind, and values are
        converted to it.
        """
        try:
            stored = self._transaction(lambda conn: self._prepare(conn, plan))
        except self._load_errors as exc:
            raise _rolled_back(plan.name, "preparing the table", exc) from exc
        self._schema_ready = True
        return stored

    def _prepare(self, conn: Connection, plan: TablePlan) -> tuple[Column, ...]:
        if not self._schema_ready:
            conn.execute(sa.schema.CreateSchema(self.schema, if_not_exists=True))
        existing, existing_key = self._existing(conn, plan.name)
        want_key = list(plan.key) if plan.unique_key else []
        if not existing:
            self._table(plan.name, plan.columns, want_key).create(conn)
            return plan.columns
        stored: list[Column] = []
        for col in plan.columns:
            have = existing.get(col.name)
            if have is None:
                self._add_column(conn, plan.name, col)
                stored.append(col)
                continue
            kind = widen(have, col.kind)
            if kind is not have:
                self._alter_type(conn, plan.name, col.name, kind)
            stored.append(Column(col.name, kind, col.prop))
        if existing_key != want_key:
            self._rebuild_key(conn, plan.name, want_key)
        return tuple(stored)

    def _add_column(self, conn: Connection, table: str, col: Column) -> None:
        self.logger.info("Adding column %s.%s (%s)", table, col.name, col.kind.value)
        sql_type = self.caps.sql_types[col.kind].compile(dialect=conn.dialect)
        conn.exec_driver_sql(
            f"ALTER TABLE {self._qualified(conn, table)} "
            f"ADD COLUMN {quote(conn, col.name)} {sql_type}",
        )

    def _alter_type(self, conn: Connection, table: str, column: str, kind: Kind) -> None:
        self.logger.info("Widening column %s.%s to %s", table, column, kind.value)
        sql_type = self.caps.sql_types[kind].compile(dialect=conn.dialect)
        name = quote(conn, column)
        conn.exec_driver_sql(
            f"ALTER TABLE {self._qualified(conn, table)} ALTER COLUMN {name} "
            f"TYPE {sql_type} USING CAST({name} AS {sql_type})",
        )

    def _rebuild_key(self, conn: Connection, table: str, key: list[str]) -> None:
        """Recreate ``table`` with primary key ``key``, keeping the newest row per key."""
        self.logger.info("Key of %s changed: rebuilding with primary key %s", table, key)
        existing, _ = self._existing(conn, table)
        columns = [Column(name, kind, name) for name, kind in existing.items()]
        old = self._table(table, columns, [])
        temp_name = f"{table[:40]}__rekey_{uuid.uuid4().hex[:8]}"
        new = self._table(temp_name, columns, key)
        new.create(conn)
        source = sa.select(*old.c)
        if key:
            rank = (
                sa.func.row_number()
                .over(
                    partition_by=[old.c[k] for k in key],
                    order_by=old.c[SEQUENCE].desc().nulls_last(),
                )
                .label("_rank")
            )
            ranked = (
                sa.select(*old.c, rank)
                .where(
                    sa.and_(*[old.c[k].is_not(None) for k in key]),
                )
                .subquery()
            )
            source = sa.select(*[ranked.c[c.name] for c in columns]).where(ranked.c._rank == 1)  # noqa: SLF001
        conn.execute(new.insert().from_select([c.name for c in columns], source))
        old.drop(conn)
        conn.exec_driver_sql(
            f"ALTER TABLE {self._qualified(conn, temp_name)} RENAME TO {quote(conn, table)}",
        )

    def _qualified(self, conn: Connection, table: str) -> str:
        return f"{quote(conn, self.schema)}.{quote(conn, table)}"

    # -- loads ---------------------------------------------------------------

    def load(
        self,
        plan: TablePlan,
        columns: tuple[Column, ...],
        rows: pa.Table,
        *,
        replace_all: bool,
        hard_delete: bool,
        stats: StreamStats,
    ) -> LoadResult:
        """Write resolved rows in one transaction; return what happened.

        ``rows`` has the columns of ``columns`` (as stored); keyed tables get
        one row per key, already the greatest ``(sequence, arrival)`` of the
        buffer.
        """
        target = self._table(plan.name, columns, plan.key if plan.unique_key else [])
        # pa.repeat, not nulls().fill_null(): that imports pyarrow.compute (30 ms, 8 MiB).
        now = pa.scalar(dt.datetime.now(tz=dt.timezone.utc), ARROW_TYPES[Kind.TIMESTAMP])
        batched_at = pa.repeat(now, rows.num_rows)
        rows = rows.set_column(rows.column_names.index(BATCHED_AT), BATCHED_AT, batched_at)
        tombstones = hard_delete and plan.unique_key
        stage_columns = columns
        if tombstones:
            keys = zip(*(rows.column(k).to_pylist() for k in plan.key), strict=True)
            key_text = pa.array([to_json_text(list(values)) for values in keys], pa.string())
            rows = rows.append_column(KEY_TEXT, key_text)
            stage_columns = (*columns, Column(KEY_TEXT, Kind.STRING, KEY_TEXT))

        def work(conn: Connection) -> LoadResult:
            if replace_all:
                conn.execute(target.delete())
                if tombstones:
                    self._forget_tombstones(conn, plan)
            stage = temporary_table(
                f"_sdc_stage_{uuid.uuid4().hex[:12]}",
                [(col.name, self.caps.sql_types[col.kind]) for col in stage_columns],
            )
            with self.caps.stage_rows(conn, stage, rows, writable=tombstones):
                source = sa.select(*[stage.c[col.name] for col in columns])
                if not plan.unique_key:
                    staged = rows.num_rows
                    return self._append(conn, target, source, staged, hard_delete=hard_delete)
                return self._upsert(
                    conn, target, stage, source, plan, rows=rows.num_rows, tombstones=tombstones
                )

        try:
            result = self._transaction(work)
        except self._load_errors as exc:
            raise _rolled_back(plan.name, f"the load of {rows.num_rows} rows", exc) from exc
        stats.inserted += result.inserted
        stats.updated += result.updated
        stats.stale += result.stale
        stats.deleted += result.deleted
        return result

    @property
    def _load_errors(self) -> tuple[type[Exception], ...]:
        return (sa.exc.DBAPIError, *self.caps.driver_errors)

    def _append(
        self,
        conn: Connection,
        target: sa.Table,
        source: sa.Select,
        staged: int,
        *,
        hard_delete: bool,
    ) -> LoadResult:
        names = [col.name for col in source.selected_columns]
        conn.execute(target.insert().from_select(names, source))
        deleted = self._delete_marked(conn, target) if hard_delete else 0
        return LoadResult(staged, staged, 0, 0, deleted)

    def _upsert(
        self,
        conn: Connection,
        target: sa.Table,
        stage: sa.Table,
        source: sa.Select,
        plan: TablePlan,
        *,
        rows: int,
        tombstones: bool,
    ) -> LoadResult:
        buried = self._drop_buried(conn, stage, plan) if tombstones else 0
        staged = rows - buried
        affected, inserted, deletes = self.caps.upsert(conn, target, stage, source, plan.key)
        if tombstones:
            self._bury(conn, stage, plan)
            self._delete_marked(conn, target)
        return LoadResult(
            staged=staged + buried,
            inserted=inserted,
            updated=affected - inserted,
            stale=staged - affected + buried,
            deleted=deletes,
        )

    def _delete_marked(self, conn: Connection, target: sa.Table) -> int:
        result = conn.execute(target.delete().where(target.c[DELETED_AT].is_not(None)))
        return max(int(result.rowcount or 0), 0)

    # -- tombstones: hard deletes that still obey sequences --------------------

    def _tombstones(self) -> sa.Table:
        """Per table and key, the sequence of the newest hard delete.

        A hard-deleted key leaves no row to compare a late, older version with;
        its tombstone keeps the delete's sequence so that version stays out
        (contract 5). Keys are their typed values as canonical JSON text.
        """
        text, integer = self.caps.sql_types[Kind.STRING], self.caps.sql_types[Kind.INTEGER]
        return sa.Table(
            TOMBSTONES,
            sa.MetaData(schema=self.schema),
            sa.Column("table_name", text, primary_key=True, autoincrement=False),
            sa.Column(KEY_TEXT, text, primary_key=True, autoincrement=False),
            sa.Column(SEQUENCE, integer, nullable=False),
        )

    def _drop_buried(self, conn: Connection, stage: sa.Table, plan: TablePlan) -> int:
        """Remove staged versions older than their key's tombstone; return how many."""
        tomb = self._tombstones()
        conn.execute(sa.schema.CreateTable(tomb, if_not_exists=True))
        older = (
            sa.select(sa.literal(1))
            .where(
                tomb.c.table_name == plan.name,
                tomb.c[KEY_TEXT] == stage.c[KEY_TEXT],
                tomb.c[SEQUENCE] > stage.c[SEQUENCE],
            )
            .exists()
        )
        result = conn.execute(stage.delete().where(older))
        return max(int(result.rowcount or 0), 0)

    def _bury(self, conn: Connection, stage: sa.Table, plan: TablePlan) -> None:
        """Record the staged deletes as tombstones, newest sequence per key."""
        tomb = self._tombstones()
        deletes = sa.select(
            sa.literal(plan.name, tomb.c.table_name.type), stage.c[KEY_TEXT], stage.c[SEQUENCE]
        ).where(stage.c[DELETED_AT].is_not(None))
        insert = pg_insert(tomb).from_select(["table_name", KEY_TEXT, SEQUENCE], deletes)
        self._keep_newest(conn, insert)

    def _bury_rows(
        self,
        conn: Connection,
        target: sa.Table,
        plan: TablePlan,
        where: sa.ColumnElement[bool],
    ) -> None:
        """Tombstones for rows about to be removed, so older versions stay out (contract 5)."""
        tomb = self._tombstones()
        conn.execute(sa.schema.CreateTable(tomb, if_not_exists=True))
        keys = [target.c[k] for k in plan.key]
        found = conn.execute(sa.select(*keys, target.c[SEQUENCE]).where(where)).all()
        rows = [
            {"table_name": plan.name, KEY_TEXT: to_json_text(list(row[:-1])), SEQUENCE: row[-1]}
            for row in found
            if row[-1] is not None
        ]
        if rows:
            self._keep_newest(conn, pg_insert(tomb).values(rows))

    def _keep_newest(self, conn: Connection, insert: PgInsert) -> None:
        tomb = self._tombstones()
        conn.execute(
            insert.on_conflict_do_update(
                index_elements=["table_name", KEY_TEXT],
                set_={SEQUENCE: insert.excluded[SEQUENCE]},
                where=insert.excluded[SEQUENCE] >= tomb.c[SEQUENCE],
            ),
        )

    def _forget_tombstones(self, conn: Connection, plan: TablePlan) -> None:
        """An overwrite starts the table afresh: its tombstones go with the old rows."""
        tomb = self._tombstones()
        conn.execute(sa.schema.CreateTable(tomb, if_not_exists=True))
        conn.execute(tomb.delete().where(tomb.c.table_name == plan.name))

    def activate_version(
        self,
        plan: TablePlan,
        columns: tuple[Column, ...],
        version: int,
        *,
        hard_delete: bool,
    ) -> int:
        """Retire rows of versions below ``version``; return how many.

        Hard-removed rows of a keyed table leave tombstones, as hard deletes
        do: a version older than the removed row stays out, as it would
        against the soft-deleted row.
        """
        target = self._table(plan.name, columns, [])
        stored = target.c[TABLE_VERSION]
        older = sa.or_(stored.is_(None), stored < version)

        def work(conn: Connection) -> int:
            if hard_delete:
                if plan.unique_key:
                    self._bury_rows(conn, target, plan, older)
                result = conn.execute(target.delete().where(older))
            else:
                now = dt.datetime.now(tz=dt.timezone.utc)
                result = conn.execute(
                    target.update()
                    .where(older, target.c[DELETED_AT].is_(None))
                    .values({DELETED_AT: now}),
                )
            return int(result.rowcount or 0)

        return self._transaction(work)
