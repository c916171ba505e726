"""DuckDB: the embedded default, a file on disk (duckdb-engine).

Rows reach the staging table as one Arrow table that DuckDB scans in bulk,
instead of one INSERT per row.
"""

from __future__ import annotations

import typing as t
import uuid

import duckdb
import pyarrow as pa
import sqlalchemy as sa

from target_sequenced.columns import Kind
from target_sequenced.dialects.base import DialectCapabilities
from target_sequenced.quoting import quote

if t.TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from target_sequenced.columns import Column

ARROW_TYPES: dict[Kind, pa.DataType] = {
    Kind.INTEGER: pa.int64(),
    Kind.NUMBER: pa.float64(),
    Kind.BOOLEAN: pa.bool_(),
    Kind.STRING: pa.string(),
    Kind.TIMESTAMP: pa.timestamp("us", tz="UTC"),
    Kind.DATE: pa.date32(),
    Kind.JSON: pa.string(),
}


def copy_rows(
    conn: Connection,
    stage: sa.Table,
    columns: t.Sequence[Column],
    rows: list[tuple],
) -> None:
    """Insert ``rows`` into ``stage`` through a registered Arrow table."""
    values = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    arrow = pa.table(
        {
            col.name: pa.array(vals, type=ARROW_TYPES[col.kind])
            for col, vals in zip(columns, values, strict=True)
        },
    )
    raw = conn.connection.driver_connection
    view = f"arrow_{uuid.uuid4().hex}"
    raw.register(view, arrow)  # type: ignore[union-attr]
    try:
        names = ", ".join(quote(conn, col.name) for col in columns)
        conn.exec_driver_sql(
            f"INSERT INTO {quote(conn, stage.name)} ({names}) "
            f"SELECT {names} FROM {quote(conn, view)}",
        )
    finally:
        raw.unregister(view)  # type: ignore[union-attr]


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
    driver_errors=(duckdb.Error, pa.ArrowException),
)
