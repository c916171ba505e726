"""What generic code may know about a dialect: its capabilities record, and temporary tables."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

import sqlalchemy as sa

from target_sequenced.columns import Kind

if t.TYPE_CHECKING:
    import contextlib

    import pyarrow as pa
    from sqlalchemy.engine import Connection
    from sqlalchemy.types import TypeEngine


class StageRows(t.Protocol):
    """See :attr:`DialectCapabilities.stage_rows`."""

    def __call__(  # noqa: D102
        self, conn: Connection, stage: sa.Table, table: pa.Table, *, writable: bool
    ) -> contextlib.AbstractContextManager[None]: ...


Upsert = t.Callable[
    ["Connection", "sa.Table", "sa.Table", "sa.Select", t.Sequence[str]],
    tuple[int, int, int],
]


def temporary_table(name: str, columns: t.Iterable[tuple[str, TypeEngine]]) -> sa.Table:
    """A session-local table (staged rows and the like), names quoted as given."""
    return sa.Table(
        name,
        sa.MetaData(),
        *[sa.Column(col, sql_type, quote=True) for col, sql_type in columns],
        prefixes=["TEMPORARY"],
        quote=True,
    )


@dataclass(frozen=True)
class DialectCapabilities:
    """Everything the connector needs to know about one SQL dialect.

    Generic code reads these fields and never tests the dialect's name.
    """

    name: str
    """SQLAlchemy backend name, as in ``duckdb:///`` or ``postgresql+psycopg://``."""
    default_schema: str
    """Schema used when ``default_target_schema`` is not set."""
    max_identifier_length: int
    sql_types: t.Mapping[Kind, TypeEngine]
    """The SQL type of each column kind (the README's type table)."""
    type_names: t.Mapping[str, Kind]
    """``information_schema.columns.data_type`` (lower case) back to a kind."""
    stage_rows: StageRows
    """Make an Arrow table readable as a staging table, inside the caller's transaction.

    Used as ``with stage_rows(conn, stage, rows, writable=...):``, where ``stage``
    is a :func:`temporary_table` not yet created; ``writable`` when the caller
    deletes from it. It is gone after the block.
    """
    upsert: Upsert
    """Apply staged rows to a keyed table with the sequence guard (``incoming >= stored``).

    Called as ``upsert(conn, target, stage, source, key)``; returns how many
    staged rows were written, how many of those had a new key, and how many
    of those written are deletes.
    """
    driver_errors: tuple[type[Exception], ...] = ()
    """Errors the driver raises outside SQLAlchemy (bulk loads on the raw connection)."""
    memory_limit_settings: tuple[str, ...] = ()
    """Names of the setting that caps the database's memory in this process, the
    one we set first (DuckDB's ``memory_limit``); empty when the database runs
    elsewhere. See :mod:`target_sequenced.memory`."""
    is_out_of_memory: t.Callable[[BaseException], bool] = lambda _exc: False
    """Whether a driver error means the database needed more than its memory limit."""

    def kind_of_type_name(self, data_type: str) -> Kind:
        """Kind of an existing column; types we did not create are read as text."""
        name = data_type.lower()
        if name in self.type_names:
            return self.type_names[name]
        if name.startswith(("decimal", "numeric")):
            return Kind.NUMBER
        return Kind.STRING
