"""DuckDB: the embedded default, a file on disk (duckdb-engine)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from target_sequenced.destinations.capabilities import Capabilities
from target_sequenced.destinations.duckdb.errors import (
    cannot_open,
    is_out_of_memory,
    lost_connection,
    refused_by_machine,
    transient,
)
from target_sequenced.destinations.duckdb.load import stage_rows, upsert
from target_sequenced.destinations.duckdb.types import DuckDBTypes

if TYPE_CHECKING:
    import sqlalchemy as sa


def database_file(url: sa.URL) -> Path | None:
    """The DuckDB file a URL names (None for an in-memory database)."""
    database = url.database
    if not database or database == ":memory:" or database.startswith(":memory:"):
        return None
    return Path(database)


CAPABILITIES = Capabilities(
    name="duckdb",
    default_schema="main",
    max_identifier_length=63,
    stores_nul=True,
    types=DuckDBTypes(),
    stage_rows=stage_rows,
    upsert=upsert,
    transient=transient,
    lost_connection=lost_connection,
    cannot_open=cannot_open,
    driver_errors=(duckdb.Error, pa.ArrowException),
    memory_limit_settings=("memory_limit", "max_memory"),
    is_out_of_memory=is_out_of_memory,
    refused_by_machine=refused_by_machine,
    file_of=database_file,
)
