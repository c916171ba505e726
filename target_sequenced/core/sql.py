"""The one place where an identifier or a constant becomes SQL text.

Statements to the destinations go through SQLAlchemy Core; the workspace's
DuckDB queries (JSON functions, lambdas, ``QUALIFY``) and a few dialect
statements SQLAlchemy cannot say are text, and every name and constant in
them passes through here.
"""

from __future__ import annotations

import typing as t

from sqlalchemy.engine.default import DefaultDialect

if t.TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Dialect

_STANDARD = DefaultDialect()
"""Standard SQL quoting, which DuckDB uses. duckdb-engine's dialect would start a
DuckDB instance to list reserved words (15 ms), which quoting never consults."""


def quote(identifier: str, conn: Connection | Dialect | None = None) -> str:
    """Quote an identifier for a connection's (or dialect's) SQL; standard SQL by default."""
    dialect = _STANDARD if conn is None else getattr(conn, "dialect", conn)
    return dialect.identifier_preparer.quote_identifier(identifier)  # type: ignore[union-attr]


def literal(value: str) -> str:
    """A standard SQL string literal (DuckDB constants such as JSON paths)."""
    return "'" + value.replace("'", "''") + "'"


def pointer(*keys: str) -> str:
    """A JSON pointer to nested object keys (``/record/a~1b``): it spells any key, unlike a path."""
    return "".join("/" + key.replace("~", "~0").replace("/", "~1") for key in keys)
