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
