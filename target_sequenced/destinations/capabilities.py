"""What generic destination code may know about a dialect: its capabilities record.

Generic code reads these fields and never tests the dialect's name; each
dialect's folder holds its types, its bulk load and its upsert.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

import sqlalchemy as sa

if t.TYPE_CHECKING:
    import contextlib
    from pathlib import Path

    import pyarrow as pa
    from sqlalchemy.engine import Connection
    from sqlalchemy.types import TypeEngine

    from target_sequenced.core.kinds import Kind


class StageRows(t.Protocol):
    """See :attr:`Capabilities.stage_rows`."""

    def __call__(  # noqa: D102
        self, conn: Connection, stage: sa.Table, table: pa.Table, *, writable: bool
    ) -> contextlib.AbstractContextManager[None]: ...


Upsert = t.Callable[
    ["Connection", "sa.Table", "sa.Table", "sa.Select", t.Sequence[str]],
    tuple[int, int, int],
]


@dataclass(frozen=True)
class StoredColumn:
    """A column as the database reports it."""

    kind: Kind
    type_name: str
    """``information_schema.columns.data_type``, lower case."""
    sql_type: TypeEngine[t.Any]
    """The type as SQLAlchemy says it (for staging tables of the same shape)."""
    scale: int | None = None
    """Decimals of a fixed-point number column."""


class TypeMap(t.Protocol):
    """A dialect's column types: kinds to SQL types and back."""

    def sql_type(self, kind: Kind, *, decimals: int | None = None) -> TypeEngine[t.Any]:
        """The SQL type of a new column of ``kind`` (``decimals``: a fixed-point number's scale)."""

    def stored(self, type_name: str, scale: int | None) -> StoredColumn:
        """What an existing column holds, from information_schema."""

    def number_type(
        self, stored: StoredColumn | None, declared: int | None, decimals: int, digits: int
    ) -> tuple[TypeEngine[t.Any] | None, str]:
        """The type a number column needs for values of ``decimals`` and integer ``digits``.

        Returns (None, reason) when ``stored`` already holds them, or the type to
        create or alter the column to, with a reason for the log.
        """


@dataclass(frozen=True)
class Capabilities:
    """Everything generic destination code needs to know about one SQL dialect."""

    name: str
    """SQLAlchemy backend name, as in ``duckdb:///`` or ``postgresql+psycopg://``."""
    default_schema: str
    max_identifier_length: int
    stores_nul: bool
    """Whether text columns can hold U+0000."""
    types: TypeMap
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
    transient: t.Callable[[BaseException], str | None]
    """Why a failed transaction may succeed if run again (a deadlock, a lost
    connection, a concurrent creator), or None."""
    lost_connection: t.Callable[[BaseException], bool]
    """Whether the error means the connection is gone (reconnect before retrying)."""
    cannot_open: t.Callable[[BaseException], bool] = lambda _exc: False
    """Whether the error means the database could not be opened at all."""
    driver_errors: tuple[type[Exception], ...] = ()
    """Errors the driver raises outside SQLAlchemy (bulk loads on the raw connection)."""
    memory_limit_settings: tuple[str, ...] = ()
    """Names of the setting that caps the database's memory in this process, the
    one we set first (DuckDB's ``memory_limit``); empty when the database runs
    elsewhere. See :mod:`target_sequenced.destinations.duckdb.memory`."""
    is_out_of_memory: t.Callable[[BaseException], bool] = lambda _exc: False
    """Whether a driver error means the database needed more than its memory limit."""
    refused_by_machine: t.Callable[[BaseException], bool] = lambda _exc: False
    """Whether a driver error means the system refused the database memory (exit 4)."""
    file_of: t.Callable[[sa.URL], Path | None] = lambda _url: None
    """The file an embedded database keeps itself in (connecting creates it), or None."""
    commits_apart: bool = False
    """A server, which does a load's work in its own processes: the commit of a load
    that does not end the run goes on in a thread while the next records are read
    (:mod:`target_sequenced.core.inflight`)."""


def temporary_table(name: str, columns: t.Iterable[tuple[str, TypeEngine[t.Any]]]) -> sa.Table:
    """A session-local table (staged rows and the like), names quoted as given."""
    return sa.Table(
        name,
        sa.MetaData(),
        *[sa.Column(col, sql_type, quote=True) for col, sql_type in columns],
        prefixes=["TEMPORARY"],
        quote=True,
    )
