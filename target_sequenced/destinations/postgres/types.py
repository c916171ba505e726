"""PostgreSQL's column types for each kind (the README's type table is tested against them)."""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from target_sequenced.core.kinds import Kind
from target_sequenced.destinations.capabilities import StoredColumn

if t.TYPE_CHECKING:
    from sqlalchemy.types import TypeEngine

_TYPES: dict[Kind, TypeEngine[t.Any]] = {
    Kind.INTEGER: sa.BigInteger(),
    Kind.NUMBER: postgresql.NUMERIC(),
    Kind.BOOLEAN: sa.Boolean(),
    Kind.STRING: sa.Text(),
    Kind.TIMESTAMP: postgresql.TIMESTAMP(timezone=True),
    Kind.DATE: sa.Date(),
    Kind.JSON: postgresql.JSONB(),
}
_NAMES = {
    "bigint": Kind.INTEGER,
    "integer": Kind.INTEGER,
    "smallint": Kind.INTEGER,
    "numeric": Kind.NUMBER,
    "double precision": Kind.NUMBER,
    "real": Kind.NUMBER,
    "boolean": Kind.BOOLEAN,
    "text": Kind.STRING,
    "character varying": Kind.STRING,
    "timestamp with time zone": Kind.TIMESTAMP,
    "date": Kind.DATE,
    "jsonb": Kind.JSON,
    "json": Kind.JSON,
}


class PostgresTypes:
    """Numbers are NUMERIC without a limit, so every value is kept exactly."""

    def sql_type(self, kind: Kind, *, decimals: int | None = None) -> TypeEngine[t.Any]:
        """The type of a new column."""
        _ = decimals
        return _TYPES[kind]

    def stored(self, type_name: str, scale: int | None) -> StoredColumn:
        """What an existing column holds; types we did not create read as text."""
        name = type_name.lower()
        kind = _NAMES.get(name, Kind.STRING)
        if name in ("double precision", "real"):
            return StoredColumn(kind, name, postgresql.DOUBLE_PRECISION())
        return StoredColumn(kind, name, _TYPES[kind] if name in _NAMES else sa.Text(), scale)

    def number_type(
        self, stored: StoredColumn | None, declared: int | None, decimals: int, digits: int
    ) -> tuple[TypeEngine[t.Any] | None, str]:
        """NUMERIC holds any number: only a new column needs a type."""
        _ = declared, decimals, digits
        return (postgresql.NUMERIC(), "") if stored is None else (None, "")
