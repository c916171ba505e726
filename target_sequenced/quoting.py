"""The one place where an identifier or a string becomes SQL text."""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Dialect


def quote(conn: Connection | Dialect, identifier: str) -> str:
    """Quote an identifier for the connection's (or dialect's) SQL (text-only statements)."""
    dialect = conn.dialect if hasattr(conn, "dialect") else conn
    return dialect.identifier_preparer.quote_identifier(identifier)  # type: ignore[union-attr]


def string_literal(value: str) -> str:
    """A standard SQL string literal (DuckDB constants such as JSON paths)."""
    return "'" + value.replace("'", "''") + "'"
