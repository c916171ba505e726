"""DuckDB: the embedded default, a file on disk (duckdb-engine).

Rows reach the staging table as one Arrow table that DuckDB scans in bulk,
instead of one INSERT per row.
"""

from __future__ import annotations

import functools
import typing as t
import uuid

import duckdb
import pyarrow as pa
import sqlalchemy as sa

from target_sequenced.columns import DELETED_AT, Kind
from target_sequenced.dialects.base import DialectCapabilities
from target_sequenced.quoting import quote
from target_sequenced.sequencing import SEQUENCE

if t.TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def copy_rows(conn: Connection, stage: sa.Table, table: pa.Table) -> None:
    """Insert an Arrow table into ``stage``: DuckDB scans it in place."""
    raw = conn.connection.driver_connection
    view = f"arrow_{uuid.uuid4().hex}"
    raw.register(view, table)  # type: ignore[union-attr]
    try:
        names = ", ".join(quote(conn, name) for name in table.column_names)
        conn.exec_driver_sql(
            f"INSERT INTO {quote(conn, stage.name)} ({names}) "
            f"SELECT {names} FROM {quote(conn, view)}",
        )
    finally:
        raw.unregister(view)  # type: ignore[union-attr]


def upsert(
    conn: Connection,
    target: sa.Table,
    stage: sa.Table,
    source: sa.Select,
    key: t.Sequence[str],
) -> tuple[int, int]:
    """``MERGE`` with the sequence guard in its ``WHEN MATCHED`` condition.

    DuckDB's ``INSERT ... ON CONFLICT`` looks keys up one row at a time (1.6 s
    for 100k rows into 500k, against 0.04 s for the same MERGE). DuckDB has
    one writer per file, so counting first and merging next, in one
    transaction, sees the same rows.
    """
    on = sa.and_(*[target.c[k] == stage.c[k] for k in key])
    stored_seq = target.c[SEQUENCE]
    wins = sa.or_(target.c[key[0]].is_(None), stored_seq.is_(None), stage.c[SEQUENCE] >= stored_seq)
    count = sa.func.count()
    written, deletes = conn.execute(
        sa.select(
            count.filter(wins),
            count.filter(sa.and_(wins, stage.c[DELETED_AT].is_not(None))),
        ).select_from(stage.outerjoin(target, on)),
    ).one()
    q = functools.partial(quote, conn)
    table = f"{q(target.schema)}.{q(target.name)}" if target.schema else q(target.name)
    names = [col.name for col in source.selected_columns]
    conn.exec_driver_sql(
        f"MERGE INTO {table} AS t USING {q(stage.name)} AS s ON "
        + " AND ".join(f"t.{q(k)} = s.{q(k)}" for k in key)
        + f" WHEN MATCHED AND (t.{q(SEQUENCE)} IS NULL OR s.{q(SEQUENCE)} >= t.{q(SEQUENCE)}) "
        + "THEN UPDATE SET "
        + ", ".join(f"{q(n)} = s.{q(n)}" for n in names if n not in key)
        + " WHEN NOT MATCHED THEN INSERT ("
        + ", ".join(q(n) for n in names)
        + ") VALUES ("
        + ", ".join(f"s.{q(n)}" for n in names)
        + ")",
    )
    return int(written), int(deletes)


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
    copy_rows=copy_rows,
    upsert=upsert,
    driver_errors=(duckdb.Error, pa.ArrowException),
)
