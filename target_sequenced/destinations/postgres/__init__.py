"""PostgreSQL through psycopg 3: a server, and the shared destination of concurrent writers."""

from __future__ import annotations

import psycopg

from target_sequenced.destinations.capabilities import Capabilities
from target_sequenced.destinations.postgres.errors import lost_connection, transient
from target_sequenced.destinations.postgres.load import stage_rows, upsert
from target_sequenced.destinations.postgres.types import PostgresTypes

CAPABILITIES = Capabilities(
    name="postgresql",
    default_schema="public",
    max_identifier_length=63,
    stores_nul=False,
    types=PostgresTypes(),
    stage_rows=stage_rows,
    upsert=upsert,
    transient=transient,
    lost_connection=lost_connection,
    driver_errors=(psycopg.Error,),
    commits_apart=True,
)
