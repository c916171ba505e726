"""The target's settings: their JSON Schema and the checks a schema cannot say."""

from __future__ import annotations

import typing as t

import jsonschema
import sqlalchemy as sa
from singer_sdk import typing as th

from target_sequenced import dialects

DEFAULT_DATABASE_FILE = "target_sequenced.duckdb"
DEFAULT_URL = f"duckdb:///{DEFAULT_DATABASE_FILE}"
LOAD_METHODS = ("upsert", "append-only", "overwrite")
DEFAULT_BATCH_SIZE_ROWS = 100_000

CONFIG_SCHEMA = th.PropertiesList(
    th.Property(
        "sqlalchemy_url",
        th.StringType,
        default=DEFAULT_URL,
        title="SQLAlchemy URL",
        description=(
            "Where to load. A DuckDB file (`duckdb:///path/to/file.duckdb`; by default "
            f"`{DEFAULT_DATABASE_FILE}` in the working directory) or a PostgreSQL "
            "server (`postgresql+psycopg://user:password@host:5432/database`). "
            "DuckDB settings can follow the path, e.g. "
            "`duckdb:///file.duckdb?memory_limit=1GB&threads=2`. Without a `memory_limit` "
            "there, DuckDB starts at 64 MiB and the limit doubles whenever a load needs "
            "more (that load is rolled back and run again); a `memory_limit` in the URL "
            "is kept as given."
        ),
        secret=False,
    ),
    th.Property(
        "default_target_schema",
        th.StringType,
        title="Default target schema",
        description=(
            "Schema that holds the tables (created if missing). Defaults to `main` "
            "on DuckDB and `public` on PostgreSQL."
        ),
    ),
    th.Property(
        "load_method",
        th.StringType,
        default="upsert",
        allowed_values=list(LOAD_METHODS),
        title="Load method",
        description=(
            "`upsert` (default): one row per key, the version with the greatest "
            "sequence wins. `append-only`: every version is appended as its own row. "
            "`overwrite`: the run's first load of a stream replaces the table's "
            "contents, then versions resolve as in `upsert`."
        ),
    ),
    th.Property(
        "sequence_property",
        th.StringType,
        title="Sequence property",
        description=(
            "Record property that orders versions when a record has no integer "
            "`_sdc_sequence`: an integer, or a date-time string (taken as "
            "microseconds since the epoch, UTC). A record without it is invalid. "
            "When unset and absent, the target generates increasing sequences "
            "(nanoseconds since the epoch, never tied)."
        ),
    ),
    th.Property(
        "hard_delete",
        th.BooleanType,
        default=False,
        title="Hard delete",
        description=(
            "Delete rows whose winning version carries `_sdc_deleted_at`, and rows "
            "retired by ACTIVATE_VERSION, instead of keeping them with "
            "`_sdc_deleted_at` set (soft delete, the default)."
        ),
    ),
    th.Property(
        "batch_size_rows",
        th.IntegerType,
        default=DEFAULT_BATCH_SIZE_ROWS,
        title="Batch size (rows)",
        description=(
            "Records a stream buffers before a load; each load is one transaction. "
            "The outcome never depends on it, only memory use and speed do."
        ),
    ),
).to_dict()


def problems(config: t.Mapping[str, t.Any], schema: dict) -> list[str]:
    """Every problem with ``config``: JSON Schema violations, then :func:`check`'s."""
    validator = jsonschema.Draft7Validator(schema)
    found = [
        f"{'.'.join(str(p) for p in err.path) or 'config'}: {err.message}"
        for err in sorted(validator.iter_errors(dict(config)), key=lambda e: list(e.path))
    ]
    reported = {msg.split(":", 1)[0] for msg in found}
    return found + [msg for msg in check(config) if msg.split(":", 1)[0] not in reported]


def check(config: t.Mapping[str, t.Any]) -> list[str]:
    """Return every problem with ``config`` that its JSON Schema cannot express."""
    problems: list[str] = []
    url = config.get("sqlalchemy_url") or DEFAULT_URL
    try:
        backend = sa.engine.make_url(url).get_backend_name()
    except sa.exc.ArgumentError:
        problems.append(f"sqlalchemy_url: '{url}' is not a SQLAlchemy URL")
    else:
        if backend not in dialects.supported():
            problems.append(
                f"sqlalchemy_url: dialect '{backend}' is not supported; use one of "
                f"{', '.join(dialects.supported())}",
            )
    batch = config.get("batch_size_rows")
    if batch is not None and (not isinstance(batch, int) or batch < 1):
        problems.append(f"batch_size_rows: must be a positive integer, got {batch!r}")
    method = config.get("load_method", "upsert")
    if method not in LOAD_METHODS:
        problems.append(
            f"load_method: '{method}' is not one of {', '.join(LOAD_METHODS)}",
        )
    prop = config.get("sequence_property")
    if prop is not None and (not isinstance(prop, str) or not prop):
        problems.append("sequence_property: must be a non-empty property name")
    return problems
