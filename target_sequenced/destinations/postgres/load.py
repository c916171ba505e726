"""PostgreSQL loads through psycopg 3: rows reach the staging table by COPY (CSV from Arrow)."""

from __future__ import annotations

import contextlib
import typing as t

import pyarrow as pa
import pyarrow.csv as pa_csv
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from target_sequenced.core.sql import quote
from target_sequenced.core.system import DELETED_AT, SEQUENCE
from target_sequenced.core.versions import replaces

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from sqlalchemy.engine import Connection


def copy_rows(conn: Connection, stage: sa.Table, table: pa.Table) -> None:
    """Send an Arrow table to ``stage`` with ``COPY ... FROM STDIN (FORMAT csv)``.

    Arrow writes the CSV in C++; every non-null value is quoted, so PostgreSQL
    reads a quoted ``""`` as the empty string and only an unquoted empty field
    as NULL (``""`` never becomes NULL).
    """
    names = ", ".join(quote(name, conn) for name in table.column_names)
    data = pa.BufferOutputStream()
    options = pa_csv.WriteOptions(include_header=False, quoting_style="all_valid")
    pa_csv.write_csv(table, data, write_options=options)
    raw = conn.connection.driver_connection
    with raw.cursor() as cursor:  # type: ignore[union-attr]
        statement = f"COPY {quote(stage.name, conn)} ({names}) FROM STDIN (FORMAT csv)"
        with cursor.copy(statement) as copy:
            copy.write(memoryview(data.getvalue()))


@contextlib.contextmanager
def stage_rows(
    conn: Connection, stage: sa.Table, table: pa.Table, *, writable: bool
) -> Iterator[None]:
    """A temporary table, filled with :func:`copy_rows`."""
    _ = writable
    stage.create(conn)
    copy_rows(conn, stage, table)
    yield
    stage.drop(conn)


def upsert(
    conn: Connection,
    target: sa.Table,
    stage: sa.Table,
    source: sa.Select,
    key: t.Sequence[str],
) -> tuple[int, int, int]:
    """``INSERT ... ON CONFLICT DO UPDATE ... WHERE``: the guard is evaluated on the row itself.

    Atomic per row, so two writers on one table still keep the greatest
    sequence (contract 3). Rows go in key order, so concurrent writers lock
    keys in one order and cannot deadlock each other. New keys are counted
    first, with a join.
    """
    on_key = sa.and_(*[target.c[k] == stage.c[k] for k in key])
    new = conn.execute(
        sa.select(sa.func.count())
        .select_from(stage.outerjoin(target, on_key))
        .where(target.c[key[0]].is_(None)),
    ).scalar_one()
    names = [col.name for col in source.selected_columns]
    ordered = source.order_by(*[source.selected_columns[k] for k in key])
    insert = pg_insert(target).from_select(names, ordered)
    incoming = insert.excluded
    statement = insert.on_conflict_do_update(
        index_elements=list(key),
        set_={name: incoming[name] for name in names if name not in key},
        where=replaces(incoming[SEQUENCE], target.c[SEQUENCE]),
    ).returning(target.c[DELETED_AT].is_not(None))
    written = conn.execute(statement).scalars().all()
    return len(written), int(new), sum(1 for is_delete in written if is_delete)
