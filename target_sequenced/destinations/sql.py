"""A database reached through SQLAlchemy: the core's destination, for every dialect.

One load is one transaction: bring the table to what the rows need, stage
the resolved versions, apply them with the sequence guard (evaluated by the
database, so concurrent writers stay correct), write the load's rejected
records, drop the stage, commit. Dialect specifics come from the dialect's
capabilities record (:mod:`.capabilities`); this module never tests a name.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import typing as t
import uuid

import pyarrow as pa
import sqlalchemy as sa

from target_sequenced.core.destination import LoadResult, StoredTable
from target_sequenced.core.kinds import Kind
from target_sequenced.core.opening import Opening
from target_sequenced.core.system import BATCHED_AT, DELETED_AT, REJECTED, TABLE_VERSION
from target_sequenced.destinations import counting, memory, tables, tombstones
from target_sequenced.destinations.capabilities import temporary_table
from target_sequenced.destinations.memory import MemoryLimit
from target_sequenced.destinations.retry import Transactions

if t.TYPE_CHECKING:
    import logging

    from sqlalchemy.engine import Connection, Engine
    from sqlalchemy.types import TypeEngine

    from target_sequenced.core.destination import Load
    from target_sequenced.core.plan import StreamPlan
    from target_sequenced.destinations.capabilities import Capabilities

DEFAULT_RETRY_SECONDS = 120


class SqlDestination:
    """A database and the schema the tables live in."""

    def __init__(
        self,
        url: sa.URL,
        caps: Capabilities,
        schema: str | None,
        logger: logging.Logger,
        *,
        retry_seconds: float = DEFAULT_RETRY_SECONDS,
        memory_start: int | None = None,
    ) -> None:
        """Nothing connects until the first statement (or :meth:`open_soon`)."""
        self.url = url
        self.caps = caps
        self.schema = schema or caps.default_schema
        self.logger = logger
        self.max_identifier_length = caps.max_identifier_length
        self.stores_nul = caps.stores_nul
        self.commits_apart = caps.commits_apart
        self.memory = MemoryLimit(caps, url, memory.START if memory_start is None else memory_start)
        self._engine: Engine | None = None
        self._opening = Opening("destination-open")
        self._schema_ready = False
        self.transactions = Transactions(
            caps,
            self._make_engine,
            self._discard_engine,
            self.memory,
            logger,
            retry_seconds=retry_seconds,
        )

    # -- connections -----------------------------------------------------------

    def open_soon(self, *, create: bool = False) -> None:
        """Connect in a thread while the caller goes on; the first statement waits for it.

        An embedded database's file that does not exist yet is created only
        with ``create`` (the caller knows a commit will follow). If connecting
        fails there, the first statement connects again and raises where it
        always did.
        """
        if self._engine is None and (create or not self._not_made_yet()):
            self._opening.start(self._connect_quietly)

    def _not_made_yet(self) -> bool:
        """An embedded database whose file does not exist: nothing opens it before a load.

        Opening it would create the file, and a run that has nothing to load
        (empty input, only STATE) leaves no file behind. Its tables are then
        known to be absent without asking.
        """
        path = self.caps.file_of(self.url)
        return self._engine is None and path is not None and not path.exists()

    def _connect_quietly(self) -> None:
        with contextlib.suppress(Exception), self._new_engine().connect():
            pass

    def _make_engine(self) -> Engine:
        self._opening.wait()
        return self._new_engine()

    def _new_engine(self) -> Engine:
        if self._engine is None:
            self._make_folder()
            self._engine = sa.create_engine(self.url, poolclass=sa.pool.StaticPool)
            if self.memory.bytes is not None:
                sa.event.listen(self._engine, "connect", self.memory.on_connect)
        return self._engine

    def _make_folder(self) -> None:
        """Create the folder an embedded database's file goes in, as other loaders do."""
        path = self.caps.file_of(self.url)
        if path is None or path.parent.exists():
            return
        with contextlib.suppress(OSError):  # opening the file then says why
            path.parent.mkdir(parents=True, exist_ok=True)
            self.logger.info("Created the folder %s for the database file", path.parent)

    def _discard_engine(self) -> None:
        """Close the connections of a database that may be gone; errors on close are moot."""
        engine, self._engine = self._engine, None
        if engine is not None:
            with contextlib.suppress(Exception):
                engine.dispose()

    @contextlib.contextmanager
    def connection(self) -> t.Iterator[Connection]:
        """A connection of the destination's own (its session: temporary tables, settings)."""
        with self._make_engine().connect() as conn:
            yield conn

    def close(self) -> None:
        """Close every connection (waiting for an opening thread first)."""
        self._opening.wait()
        engine, self._engine = self._engine, None
        if engine is not None:
            engine.dispose()

    # -- reading ---------------------------------------------------------------

    def table(self, name: str) -> StoredTable | None:
        """The table as stored: column kinds, its key and sequence source, or None."""
        if self._not_made_yet():
            return None

        def work(conn: Connection) -> StoredTable | None:
            found = tables.columns(conn, self.caps, self.schema, name)
            if not found:
                return None
            kinds = {n: c.kind for n, c in found.items()}
            primary = tables.primary_key(conn, self.schema, name)
            record = tables.recorded(conn, self.caps, self.schema, name)
            if record is None:
                return StoredTable(kinds, primary or None, None, primary)
            return StoredTable(kinds, record[0], record[1], primary)

        return self.transactions.run(work, table=name, what="reading the table's columns")

    # -- loads -----------------------------------------------------------------

    def load(self, load: Load) -> LoadResult:
        """Write resolved rows, and the load's rejected records, in one transaction."""
        plan = load.plan
        # pa.repeat, not nulls().fill_null(): that imports pyarrow.compute.
        now = pa.scalar(dt.datetime.now(tz=dt.timezone.utc), pa.timestamp("us", tz="UTC"))
        rows = load.rows
        rows = rows.set_column(
            rows.column_names.index(BATCHED_AT), BATCHED_AT, pa.repeat(now, rows.num_rows)
        )
        buried = load.hard_delete and plan.unique_key
        if buried:
            keys = zip(*(rows.column(k).to_pylist() for k in plan.key), strict=True)
            texts = pa.array([tombstones.key_text(values) for values in keys], pa.string())
            rows = rows.append_column(tombstones.KEY_TEXT, texts)

        def work(conn: Connection) -> LoadResult:
            self._ensure_schema(conn)
            types = tables.prepare(conn, self.caps, self.schema, load, self.logger)
            tables.record(conn, self.caps, self.schema, load)
            self._reject(conn, load)
            if rows.num_rows == 0:
                return LoadResult()
            return self._apply(conn, load, rows, types, buried=buried)

        result = self.transactions.run(
            work, table=plan.table, what=f"the load of {rows.num_rows} rows"
        )
        self._schema_ready = True
        return result

    def _ensure_schema(self, conn: Connection) -> None:
        if not self._schema_ready:
            conn.execute(sa.schema.CreateSchema(self.schema, if_not_exists=True))

    def _apply(
        self,
        conn: Connection,
        load: Load,
        rows: pa.Table,
        types: dict[str, TypeEngine[t.Any]],
        *,
        buried: bool,
    ) -> LoadResult:
        plan = load.plan
        target = tables.table_object(
            self.schema, plan.table, types, plan.key if plan.unique_key else ()
        )
        tomb = tombstones.table(self.schema, self.caps)
        if load.replace_all:
            conn.execute(target.delete())
            if buried:
                tombstones.forget(conn, tomb, plan)
        stage_columns = [(name, types[name]) for name in types]
        if buried:
            stage_columns.append((tombstones.KEY_TEXT, self.caps.types.sql_type(Kind.STRING)))
        stage = temporary_table(f"_sdc_stage_{uuid.uuid4().hex[:12]}", stage_columns)
        with self.caps.stage_rows(conn, stage, rows, writable=buried):
            source = sa.select(*[stage.c[name] for name in types])
            if not plan.unique_key:
                conn.execute(target.insert().from_select(list(types), source))
                deleted = self._delete_marked(conn, target) if load.hard_delete else 0
                return LoadResult(inserted=rows.num_rows, deleted=deleted)
            dropped = tombstones.drop_buried(conn, tomb, stage, plan) if buried else 0
            staged = rows.num_rows - dropped
            counted = counting.against_stored(
                conn,
                self.caps,
                load,
                target=target,
                stage=stage,
                tomb=tomb if buried else None,
                types=types,
            )
            written, inserted, deletes = self.caps.upsert(conn, target, stage, source, plan.key)
            if buried:
                tombstones.bury_staged(conn, tomb, stage, plan)
                self._delete_marked(conn, target)
        candidates = load.candidates.num_rows if load.candidates is not None else 0
        return LoadResult(
            inserted=inserted,
            updated=written - inserted + candidates - counted.older - counted.replayed,
            stale=staged - written + dropped + counted.older,
            deleted=deletes,
            replayed=counted.replayed,
            restored=counted.restored,
        )

    def _delete_marked(self, conn: Connection, target: sa.Table) -> int:
        result = conn.execute(target.delete().where(target.c[DELETED_AT].is_not(None)))
        return max(int(result.rowcount or 0), 0)

    def _reject(self, conn: Connection, load: Load) -> None:
        """Write the load's rejected records to ``_sdc_rejected`` (contract 6)."""
        if not load.rejected:
            return
        text = self.caps.types.sql_type(Kind.STRING)
        rejected = sa.Table(
            REJECTED,
            sa.MetaData(schema=self.schema),
            sa.Column("_sdc_rejected_at", self.caps.types.sql_type(Kind.TIMESTAMP)),
            sa.Column("table_name", text),
            sa.Column("reason", text),
            sa.Column("record", text),
        )
        conn.execute(sa.schema.CreateTable(rejected, if_not_exists=True))
        now = dt.datetime.now(tz=dt.timezone.utc)
        conn.execute(
            rejected.insert(),
            [
                {
                    "_sdc_rejected_at": now,
                    "table_name": load.plan.table,
                    "reason": r.message,
                    "record": r.record,
                }
                for r in load.rejected
            ],
        )

    def activate_version(self, plan: StreamPlan, version: int, *, hard_delete: bool) -> int:
        """Retire rows of versions below ``version``; return how many.

        Hard-removed rows of a keyed table leave tombstones, as hard deletes
        do: a version older than the removed row stays out, as it would
        against the soft-deleted row.
        """

        def work(conn: Connection) -> int:
            found = tables.columns(conn, self.caps, self.schema, plan.table)
            if not found:
                return 0
            target = tables.table_object(
                self.schema, plan.table, {n: c.sql_type for n, c in found.items()}, ()
            )
            stored = target.c[TABLE_VERSION]
            older = sa.or_(stored.is_(None), stored < version)
            if hard_delete:
                if plan.unique_key:
                    tombstones.bury_rows(
                        conn, tombstones.table(self.schema, self.caps), target, plan, older
                    )
                result = conn.execute(target.delete().where(older))
            else:
                now = dt.datetime.now(tz=dt.timezone.utc)
                result = conn.execute(
                    target.update()
                    .where(older, target.c[DELETED_AT].is_(None))
                    .values({DELETED_AT: now})
                )
            return int(result.rowcount or 0)

        return self.transactions.run(work, table=plan.table, what=f"activating version {version}")
