"""Rows as Arrow tables: the one shape a load hands to a dialect's bulk path."""

from __future__ import annotations

import typing as t

import pyarrow as pa

from target_sequenced.columns import Kind

if t.TYPE_CHECKING:
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


def rows_to_arrow(columns: t.Sequence[Column], rows: list[tuple]) -> pa.Table:
    """Python row tuples (one value per column) as an Arrow table."""
    values = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    return pa.table(
        {
            col.name: pa.array(vals, type=ARROW_TYPES[col.kind])
            for col, vals in zip(columns, values, strict=True)
        },
    )
