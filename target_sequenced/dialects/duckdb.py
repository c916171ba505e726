"""DuckDB: the embedded default, a file on disk (duckdb-engine).

Rows reach the staging table as one Arrow table that DuckDB scans in bulk,
instead of one INSERT per row; keyed loads replace the rows they beat with a
delete and an insert (see :func:`upsert`).
"""

from __future__ import annotations

import contextlib
import typing as t
import uuid

import duckdb
import pyarrow as pa
import sqlalchemy as sa

from target_sequenced.columns import DELETED_AT, Kind
from target_sequenced.dialects.base import DialectCapabilities, temporary_table
from target_sequenced.quoting import quote
from target_sequenced.sequencing import SEQUENCE

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.engine import Connection


@contextlib.contextmanager
def _registered(conn: Connection, name: str, table: pa.Table) -> Iterator[None]:
    """The Arrow table readable under ``name`` for the block (DuckDB scans it in place)."""
    raw = conn.connection.driver_connection
    raw.register(name, table)  # type: ignore[union-attr]
    try:
        yield
    except BaseException:
        # The transaction is aborted, so this fails too; the first error is the one to report.
        with contextlib.suppress(duckdb.Error):
            raw.unregister(name)  # type: ignore[union-attr]
        raise
    raw.unregister(name)  # type: ignore[union-attr]


@contextlib.contextmanager
def stage_rows(
    conn: Connection, stage: sa.Table, table: pa.Table, *, writable: bool
) -> Iterator[None]:
    """The Arrow table, registered under the stage's name: DuckDB scans it where it lies.

    Copying it into a temporary table first took 8 to 10 ms per load of
    45,000 rows (bench scenario b). Only a stage the caller deletes from
    (hard deletes) is still a table, filled from the registered Arrow table.
    """
    if not writable:
        with _registered(conn, stage.name, table):
            yield
        return
    stage.create(conn)
    view = f"arrow_{uuid.uuid4().hex}"
    with _registered(conn, view, table):
        names = ", ".join(quote(conn, name) for name in table.column_names)
        conn.exec_driver_sql(
            f"INSERT INTO {quote(conn, stage.name)} ({names}) "
            f"SELECT {names} FROM {quote(conn, view)}",
        )
    yield
    stage.drop(conn)


_EXISTED = "_sdc_existed"
"""Winners' column: whether the key had a stored row (else the row is new)."""


def upsert(
    conn: Connection,
    target: sa.Table,
    stage: sa.Table,
    source: sa.Select,
    key: t.Sequence[str],
) -> tuple[int, int, int]:
    """Delete the stored rows that staged versions beat, then insert those versions.

    The winners are the staged rows whose key is new, or whose stored row has
    no sequence or one at most theirs (``incoming >= stored``). They are
    gathered first, in one join, then applied as a delete and an insert.

    Not ``MERGE ... UPDATE``: DuckDB updates rows in place with one vector
    fetch per column per row whenever the row ids reach it out of order
    (duckdb/duckdb#11275), which happens whenever the planner probes with the
    staged rows. Measured here, 100k versions into tables of 250k to 500k
    keys took from 0.06 s to over 10 s per load under MERGE, depending on the
    plan, and 0.1 to 0.4 s as a delete and an insert. DuckDB has one writer
    per file, so the winners gathered first are still the winners when they
    are applied.

    Into an empty table (a first load, a backfill) every staged row is a new
    key, one per key, so they are inserted directly: the first load of bench
    scenario b took 35 to 41 ms instead of 46 to 50 ms (4 runs each).
    """
    incoming = source.subquery()
    count = sa.func.count()
    if conn.execute(sa.select(sa.literal(1)).select_from(target).limit(1)).first() is None:
        conn.execute(target.insert().from_select(list(incoming.c.keys()), sa.select(incoming)))
        written, deletes = conn.execute(
            sa.select(count, count.filter(incoming.c[DELETED_AT].is_not(None))).select_from(
                incoming
            ),
        ).one()
        return int(written), int(written), int(deletes)
    stored_seq = target.c[SEQUENCE]
    on = sa.and_(*[target.c[k] == incoming.c[k] for k in key])
    wins = sa.or_(
        target.c[key[0]].is_(None), stored_seq.is_(None), incoming.c[SEQUENCE] >= stored_seq
    )
    names = [col.name for col in source.selected_columns]
    winners = temporary_table(
        f"{stage.name}_winners",
        [(col.name, col.type) for col in source.selected_columns] + [(_EXISTED, sa.Boolean())],
    )
    winners.create(conn)
    existed = target.c[key[0]].is_not(None)
    conn.execute(
        winners.insert().from_select(
            [*names, _EXISTED],
            sa.select(*[incoming.c[n] for n in names], existed)
            .select_from(incoming.outerjoin(target, on))
            .where(wins),
        ),
    )
    written, new, deletes = conn.execute(
        sa.select(
            count,
            count.filter(sa.not_(winners.c[_EXISTED])),
            count.filter(winners.c[DELETED_AT].is_not(None)),
        ),
    ).one()
    conn.execute(
        target.delete().where(
            sa.exists().where(*[target.c[k] == winners.c[k] for k in key]),
        ),
    )
    conn.execute(target.insert().from_select(names, sa.select(*[winners.c[n] for n in names])))
    winners.drop(conn)
    return int(written), int(new), int(deletes)


_OUT_OF_MEMORY = ("Out of Memory", "could not allocate", "failed to allocate", "failed to pin")


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether DuckDB refused work for want of memory under its limit.

    Besides ``OutOfMemoryException`` (a statement), a commit that cannot
    allocate fails as a ``TransactionException``, and a checkpoint that cannot
    invalidates the database: every later statement raises ``FatalException``
    naming the original error. In every case the transaction that raised did
    not commit (``CommitTransaction`` in DuckDB's
    ``duck_transaction_manager.cpp``: a failed commit is rolled back, and a
    commit whose checkpoint fails either returned success, its changes in the
    WAL, or skipped the WAL and reports the error), and only a new instance
    can run the next statement.
    """
    if isinstance(exc, duckdb.OutOfMemoryException):
        return True
    if isinstance(exc, (duckdb.TransactionException, duckdb.FatalException)):
        return any(marker in str(exc) for marker in _OUT_OF_MEMORY)
    return False


CAPABILITIES = DialectCapabilities(
    name="duckdb",
    default_schema="main",
    max_identifier_length=63,
    sql_types={
        Kind.INTEGER: sa.BigInteger(),
        Kind.NUMBER: sa.Double(),
        Kind.BOOLEAN: sa.Boolean(),
        Kind.STRING: sa.String(),
        Kind.TIMESTAMP: sa.DateTime(timezone=True),
        Kind.DATE: sa.Date(),
        Kind.JSON: sa.JSON(),
    },
    type_names={
        "bigint": Kind.INTEGER,
        "integer": Kind.INTEGER,
        "smallint": Kind.INTEGER,
        "tinyint": Kind.INTEGER,
        "hugeint": Kind.INTEGER,
        "double": Kind.NUMBER,
        "float": Kind.NUMBER,
        "boolean": Kind.BOOLEAN,
        "varchar": Kind.STRING,
        "timestamp with time zone": Kind.TIMESTAMP,
        "date": Kind.DATE,
        "json": Kind.JSON,
    },
    stage_rows=stage_rows,
    upsert=upsert,
    driver_errors=(duckdb.Error, pa.ArrowException),
    memory_limit_settings=("memory_limit", "max_memory"),
    is_out_of_memory=is_out_of_memory,
)
