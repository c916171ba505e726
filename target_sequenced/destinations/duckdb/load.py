"""DuckDB loads: the staged rows are the Arrow table itself; keyed loads delete and insert.

Rows reach DuckDB as one Arrow table that it scans in place, instead of one
INSERT per row; keyed loads replace the rows they beat with a delete and an
insert (see :func:`upsert`).
"""

from __future__ import annotations

import contextlib
import typing as t
import uuid

import duckdb
import sqlalchemy as sa

from target_sequenced.core.sql import quote
from target_sequenced.core.system import DELETED_AT, SEQUENCE
from target_sequenced.core.versions import replaces
from target_sequenced.destinations.capabilities import temporary_table

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    import pyarrow as pa
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

    Copying it into a temporary table first cost time on every load (bench
    scenario b). Only a stage the caller deletes from
    (hard deletes) is still a table, filled from the registered Arrow table.
    """
    if not writable:
        with _registered(conn, stage.name, table):
            yield
        return
    stage.create(conn)
    view = f"arrow_{uuid.uuid4().hex}"
    with _registered(conn, view, table):
        names = ", ".join(quote(name, conn) for name in table.column_names)
        conn.exec_driver_sql(
            f"INSERT INTO {quote(stage.name, conn)} ({names}) "
            f"SELECT {names} FROM {quote(view, conn)}",
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
    on = sa.and_(*[target.c[k] == incoming.c[k] for k in key])
    wins = sa.or_(target.c[key[0]].is_(None), replaces(incoming.c[SEQUENCE], target.c[SEQUENCE]))
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
