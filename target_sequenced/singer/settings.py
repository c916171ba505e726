"""The target's settings: their JSON Schema and the checks a schema cannot say."""

from __future__ import annotations

import difflib
import json
import typing as t
from pathlib import Path

import jsonschema
from singer_sdk import typing as th

from target_sequenced.core.errors import ConfigError
from target_sequenced.core.streams import INVALID_POLICIES, LOAD_METHODS, LoadSettings
from target_sequenced.destinations import parse_url
from target_sequenced.destinations.sql import DEFAULT_RETRY_SECONDS

DEFAULT_DATABASE_FILE = "target_sequenced.duckdb"
DEFAULT_URL = f"duckdb:///{DEFAULT_DATABASE_FILE}"
DEFAULT_BATCH_SIZE_ROWS = 100_000
DEFAULT_PROGRESS_SECONDS = 60
DEFAULT_API_MAX_BODY_BYTES = 20_000_000

CONFIG_SCHEMA = th.PropertiesList(
    th.Property(
        "sqlalchemy_url",
        th.StringType,
        default=DEFAULT_URL,
        title="SQLAlchemy URL",
        description=(
            "Where to load. A DuckDB file (`duckdb:///path/to/file.duckdb`; by default "
            f"`{DEFAULT_DATABASE_FILE}` in the working directory) or a PostgreSQL "
            "server (`postgresql://user:password@host:5432/database`; `postgres://` and "
            "`postgresql+psycopg://` mean the same, the installed psycopg 3 driver). "
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
            "Records buffered (all streams together) before they are loaded: one "
            "transaction per stream, after each of which the newest STATE it made safe "
            "is emitted. The outcome never depends on it, only memory use, speed and how "
            "often STATE comes out do."
        ),
    ),
    th.Property(
        "on_invalid_record",
        th.StringType,
        default="fail",
        allowed_values=list(INVALID_POLICIES),
        title="On invalid record",
        description=(
            "`fail` (default): a record that breaks its schema or a loading rule stops the "
            "run, after everything received before its line is committed and its STATE "
            "emitted. `reject`: the record is written to the table `_sdc_rejected` "
            "(`_sdc_rejected_at`, `table_name`, `reason`, `record`) in the transaction of "
            "its stream's next load, and the run carries on. An Import API payload that "
            "breaks the API's own rules is refused whole either way, as Stitch refuses it."
        ),
    ),
    th.Property(
        "sequence_sources_comparable",
        th.BooleanType,
        default=False,
        title="Sequence sources comparable",
        description=(
            "A table remembers where its sequences came from (the records' "
            "`_sdc_sequence`, a `sequence_property`, or generated nanoseconds) and "
            "refuses records whose sequences come from another source, since they do "
            "not compare. Set to true when they do."
        ),
    ),
    th.Property(
        "progress_seconds",
        th.IntegerType,
        default=DEFAULT_PROGRESS_SECONDS,
        title="Progress seconds",
        description=(
            "Every this many seconds, one INFO line per stream with new records: "
            "`Progress: stream 's': received=N loaded=M (R records/s)`, where `loaded` "
            "counts the records whose load has committed. 0 turns the lines off."
        ),
    ),
    th.Property(
        "api_tokens",
        th.ObjectType(additional_properties=th.IntegerType),
        title="Import API tokens",
        secret=True,
        description=(
            "`target-sequenced serve` only: the bearer tokens it accepts, each with the "
            'client id it belongs to, e.g. `{"a-long-random-token": 1234}`. A push '
            "request's `client_id` must be its token's. Without tokens, every request but "
            "`GET /v2/import/status` is refused (401)."
        ),
    ),
    th.Property(
        "api_max_body_bytes",
        th.IntegerType,
        default=DEFAULT_API_MAX_BODY_BYTES,
        title="Import API body limit (bytes)",
        description=(
            "`target-sequenced serve` only: a request body longer than this is refused "
            "with 413 as soon as its length is known or read, before it is parsed "
            "(Stitch's limit is 20 MB)."
        ),
    ),
    th.Property(
        "api_workers",
        th.IntegerType,
        title="Import API workers",
        description=(
            "`target-sequenced serve` only: requests loaded at once, each on its own "
            "connection. Default: 1 for DuckDB (one writer per file), 4 for PostgreSQL. "
            "Requests for one table are loaded one after another."
        ),
    ),
    th.Property(
        "retry_seconds",
        th.IntegerType,
        default=DEFAULT_RETRY_SECONDS,
        title="Retry seconds",
        description=(
            "How long a load is retried when the database says a retry may succeed "
            "(a deadlock between concurrent writers, a lost connection after the server "
            "restarted, a concurrent creator of the same table, a DuckDB file another process "
            "has open). Each retry is logged at WARNING; after this many seconds the run fails."
        ),
    ),
).to_dict()


def problems(config: t.Mapping[str, t.Any], schema: dict) -> list[str]:
    """Every problem with ``config``: unknown settings, schema violations, :func:`check`'s."""
    known = set(schema.get("properties") or {})
    found = []
    for name in config:
        if name not in known:
            close = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            found.append(f"{name}: not a setting of target-sequenced{hint}")
    validator = jsonschema.Draft7Validator(schema)
    found += [
        f"{'.'.join(str(p) for p in err.path) or 'config'}: {err.message}"
        for err in sorted(validator.iter_errors(dict(config)), key=lambda e: list(e.path))
    ]
    reported = {msg.split(":", 1)[0] for msg in found}
    return found + [msg for msg in check(config) if msg.split(":", 1)[0] not in reported]


def check(config: t.Mapping[str, t.Any]) -> list[str]:
    """Return every problem with ``config`` that its JSON Schema cannot express."""
    found: list[str] = []
    url = config.get("sqlalchemy_url") or DEFAULT_URL
    try:
        parse_url(str(url))
    except ConfigError as exc:
        found.append(str(exc))
    batch = config.get("batch_size_rows")
    if batch is not None and (not isinstance(batch, int) or batch < 1):
        found.append(f"batch_size_rows: must be a positive integer, got {batch!r}")
    method = config.get("load_method", "upsert")
    if method not in LOAD_METHODS:
        found.append(f"load_method: '{method}' is not one of {', '.join(LOAD_METHODS)}")
    prop = config.get("sequence_property")
    if prop is not None and (not isinstance(prop, str) or not prop):
        found.append("sequence_property: must be a non-empty property name")
    retry = config.get("retry_seconds")
    if retry is not None and (isinstance(retry, bool) or not isinstance(retry, int) or retry < 0):
        found.append(f"retry_seconds: must be a number of seconds, 0 or more, got {retry!r}")
    progress = config.get("progress_seconds")
    if progress is not None and (
        isinstance(progress, bool) or not isinstance(progress, int) or progress < 0
    ):
        found.append(f"progress_seconds: must be a number of seconds, 0 or more, got {progress!r}")
    tokens = config.get("api_tokens")
    if isinstance(tokens, dict) and any(not token for token in tokens):
        found.append("api_tokens: a token must not be empty")
    for name in ("api_max_body_bytes", "api_workers"):
        value = config.get(name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            found.append(f"{name}: must be a positive integer, got {value!r}")
    return found


def load_settings(config: t.Mapping[str, t.Any]) -> LoadSettings:
    """What the loading core needs of the settings."""
    return LoadSettings(
        load_method=config.get("load_method") or "upsert",
        hard_delete=bool(config.get("hard_delete", False)),
        batch_size_rows=int(config.get("batch_size_rows") or DEFAULT_BATCH_SIZE_ROWS),
        sequence_property=config.get("sequence_property") or None,
        validate=bool(config.get("validate_records", True)),
        on_invalid_record=config.get("on_invalid_record") or "fail",
        sequence_sources_comparable=bool(config.get("sequence_sources_comparable", False)),
        progress_seconds=float(config.get("progress_seconds", DEFAULT_PROGRESS_SECONDS)),
    )


def config_files(argv: t.Sequence[str]) -> list[str]:
    """The paths given with ``--config`` (``ENV`` means the environment, not a file)."""
    found = []
    for index, arg in enumerate(argv):
        if arg == "--config" and index + 1 < len(argv):
            found.append(argv[index + 1])
        elif arg.startswith("--config="):
            found.append(arg.removeprefix("--config="))
    return [path for path in found if path != "ENV"]


def check_config_files(argv: t.Sequence[str]) -> None:
    """Refuse a config file that is missing, unreadable or not a JSON object, naming it.

    Before the SDK reads them: it would stop with a traceback that does not
    name the file.
    """
    for path in config_files(argv):
        try:
            with Path(path).open(encoding="utf-8") as handle:
                value = json.load(handle)
        except FileNotFoundError:
            msg = f"config file '{path}' does not exist"
            raise ConfigError(msg, remedy="check the path given to --config") from None
        except OSError as exc:
            msg = f"config file '{path}' cannot be read: {exc.strerror}"
            raise ConfigError(msg) from None
        except (ValueError, RecursionError) as exc:
            where = (
                f" (line {exc.lineno}, column {exc.colno}: {exc.msg})"
                if isinstance(exc, json.JSONDecodeError)
                else ""
            )
            msg = f"config file '{path}' is not valid JSON{where}"
            raise ConfigError(msg, remedy="a config file is one JSON object of settings") from None
        if not isinstance(value, dict):
            msg = f"config file '{path}' holds a JSON {type(value).__name__}, not an object"
            raise ConfigError(msg, remedy="a config file is one JSON object of settings")
