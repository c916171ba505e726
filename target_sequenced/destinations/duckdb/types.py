"""DuckDB's column types for each kind (the README's type table is tested against them)."""

from __future__ import annotations

import re
import typing as t

import sqlalchemy as sa

from target_sequenced.core.kinds import Kind
from target_sequenced.destinations.capabilities import StoredColumn
from target_sequenced.destinations.numbers import PRECISION, decimal_scale

if t.TYPE_CHECKING:
    from sqlalchemy.types import TypeEngine

_TYPES: dict[Kind, TypeEngine[t.Any]] = {
    Kind.INTEGER: sa.BigInteger(),
    Kind.BOOLEAN: sa.Boolean(),
    Kind.STRING: sa.String(),
    Kind.TIMESTAMP: sa.DateTime(timezone=True),
    Kind.DATE: sa.Date(),
    Kind.JSON: sa.JSON(),
}
_NAMES = {
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
}
DOUBLE_DIGITS = 15
"""Every decimal of this many significant digits survives a trip through a double."""
_DECIMAL = re.compile(r"decimal\((\d+),\s*(\d+)\)")


class DuckDBTypes:
    """Numbers are DECIMAL(38, s) (``destinations/numbers.py``); else one type per kind."""

    def sql_type(self, kind: Kind, *, decimals: int | None = None) -> TypeEngine[t.Any]:
        """The type of a new column."""
        if kind is Kind.NUMBER:
            return sa.Numeric(PRECISION, decimals or 0) if decimals is not None else sa.String()
        return _TYPES[kind]

    def stored(self, type_name: str, scale: int | None) -> StoredColumn:
        """What an existing column holds; types we did not create read as text."""
        name = type_name.lower()
        found = _DECIMAL.fullmatch(name)
        if found:
            decimals = int(found.group(2)) if scale is None else scale
            return StoredColumn(
                Kind.NUMBER, name, sa.Numeric(int(found.group(1)), decimals), decimals
            )
        kind = _NAMES.get(name, Kind.STRING)
        if kind is Kind.NUMBER:
            return StoredColumn(kind, name, sa.Double())
        return StoredColumn(kind, name, _TYPES[kind] if name in _NAMES else sa.String())

    def number_type(
        self, stored: StoredColumn | None, declared: int | None, decimals: int, digits: int
    ) -> tuple[TypeEngine[t.Any] | None, str]:
        """The DECIMAL that holds the values, or text when none does; None: ``stored`` does."""
        if stored is not None and stored.kind is not Kind.NUMBER:
            return None, ""  # text holds every number exactly
        if stored is not None and stored.scale is None:
            # A DOUBLE (made by version 0.1): kept while every value has at most
            # DOUBLE_DIGITS significant digits, which a double round-trips.
            if digits + decimals <= DOUBLE_DIGITS:
                return None, ""
            return sa.String(), f"a DOUBLE holds at most {DOUBLE_DIGITS} digits exactly"
        current = stored.scale if stored is not None else None
        scale = decimal_scale(current, declared, decimals, digits)
        if scale is None:
            return (
                sa.String(),
                f"no DECIMAL({PRECISION}, s) holds {digits} integer digits and {decimals} decimals",
            )
        if stored is not None and scale == current:
            return None, ""
        return sa.Numeric(
            PRECISION, scale
        ), f"DECIMAL({PRECISION},{scale}) holds its values exactly"
