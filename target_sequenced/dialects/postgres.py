"""PostgreSQL through psycopg 3: rows reach the staging table with COPY."""

from __future__ import annotations

import typing as t

import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from target_sequenced.arrow import iter_rows
from target_sequenced.columns import Kind
from target_sequenced.dialects.base import DialectCapabilities
from target_sequenced.quoting import quote

if t.TYPE_CHECKING:
    import pyarrow as pa
    from sqlalchemy.engine import Connection


def copy_rows(conn: Connection, stage: sa.Table, table: pa.Table) -> None:
    """Stream the rows of an Arrow table into ``stage`` with ``COPY ... FROM STDIN``."""
    names = ", ".join(quote(conn, name) for name in table.column_names)
    raw = conn.connection.driver_connection
    with raw.cursor() as cursor:  # type: ignore[union-attr]
        statement = f"COPY {quote(conn, stage.name)} ({names}) FROM STDIN"
        with cursor.copy(statement) as copy:
            for row in iter_rows(table):
                copy.write_row(row)


CAPABILITIES = DialectCapabilities(
    name="postgresql",
    default_schema="public",
    max_identifier_length=63,
    sql_types={
        Kind.INTEGER: sa.BigInteger(),
        Kind.NUMBER: postgresql.DOUBLE_PRECISION(),
        Kind.BOOLEAN: sa.Boolean(),
        Kind.STRING: sa.Text(),
        Kind.TIMESTAMP: postgresql.TIMESTAMP(timezone=True),
        Kind.DATE: sa.Date(),
        Kind.JSON: postgresql.JSONB(),
    },
    type_names={
        "bigint": Kind.INTEGER,
        "integer": Kind.INTEGER,
        "smallint": Kind.INTEGER,
        "double precision": Kind.NUMBER,
        "real": Kind.NUMBER,
        "boolean": Kind.BOOLEAN,
        "text": Kind.STRING,
        "character varying": Kind.STRING,
        "timestamp with time zone": Kind.TIMESTAMP,
        "date": Kind.DATE,
        "jsonb": Kind.JSON,
        "json": Kind.JSON,
    },
    copy_rows=copy_rows,
    driver_errors=(psycopg.Error,),
)
