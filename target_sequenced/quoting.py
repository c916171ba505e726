"""The one place where an identifier becomes SQL text."""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def quote(conn: Connection, identifier: str) -> str:
    """Quote an identifier for the connection's dialect (for text-only statements)."""
    return conn.dialect.identifier_preparer.quote_identifier(identifier)
