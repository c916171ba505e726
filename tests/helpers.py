"""Run the target in-process and read tables back."""

from __future__ import annotations

import contextlib
import io
import json
import typing as t
import uuid
from dataclasses import dataclass, field

import simplejson
import sqlalchemy as sa

from target_sequenced.core.system import SYSTEM_TABLES
from target_sequenced.singer.target import TargetSequenced

if t.TYPE_CHECKING:
    from pathlib import Path


def lines(*messages: dict) -> str:
    """Singer input text from message dicts (a ``Decimal`` is written with all its digits)."""
    return "".join(simplejson.dumps(m, use_decimal=True) + "\n" for m in messages)


def schema(stream: str, properties: dict, key: list[str] | None = None) -> dict:
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": properties},
        "key_properties": ["id"] if key is None else key,
    }


def record(stream: str, rec: dict, **extra: t.Any) -> dict:
    return {"type": "RECORD", "stream": stream, "record": rec, **extra}


def state(value: t.Any) -> dict:
    return {"type": "STATE", "value": value}


@dataclass
class Db:
    """One test's destination: a DuckDB file or a PostgreSQL schema of its own."""

    dialect: str
    url: str
    schema: str
    _engine: sa.Engine | None = field(default=None, repr=False)

    def config(self, **overrides: t.Any) -> dict:
        return {"sqlalchemy_url": self.url, "default_target_schema": self.schema, **overrides}

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            self._engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
        return self._engine

    def rows(self, table: str, order_by: str = "id", columns: str = "*") -> list[dict]:
        """Every row of a table, as dicts, ordered."""
        with self.engine.connect() as conn:
            q = conn.dialect.identifier_preparer.quote_identifier
            result = conn.exec_driver_sql(
                f"SELECT {columns} FROM {q(self.schema)}.{q(table)} ORDER BY {order_by}",
            )
            return [dict(row._mapping) for row in result]

    def column_types(self, table: str) -> dict[str, str]:
        with self.engine.connect() as conn:
            result = conn.execute(
                sa.text(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = :s AND table_name = :t ORDER BY ordinal_position",
                ),
                {"s": self.schema, "t": table},
            )
            return {row[0]: row[1].lower() for row in result}

    def primary_key(self, table: str) -> list[str]:
        """The table's primary key columns, in order, read from information_schema."""
        query = sa.text(
            "SELECT kcu.column_name FROM information_schema.table_constraints tc "
            "JOIN information_schema.key_column_usage kcu "
            "ON tc.constraint_name = kcu.constraint_name "
            "AND tc.table_schema = kcu.table_schema AND tc.table_name = kcu.table_name "
            "WHERE tc.constraint_type = 'PRIMARY KEY' "
            "AND tc.table_schema = :s AND tc.table_name = :t "
            "ORDER BY kcu.ordinal_position",
        )
        with self.engine.connect() as conn:
            return list(conn.execute(query, {"s": self.schema, "t": table}).scalars())

    def tables(self) -> set[str]:
        """The schema's tables, less the target's system tables (``_sdc_tables`` and the like)."""
        return {name for name in self.all_tables() if name not in SYSTEM_TABLES}

    def all_tables(self) -> set[str]:
        with self.engine.connect() as conn:
            result = conn.execute(
                sa.text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
                {"s": self.schema},
            )
            return {row[0] for row in result}

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def make_db(dialect: str, tmp_path: Path, pg_url: str | None) -> Db:
    if dialect == "duckdb":
        return Db("duckdb", f"duckdb:///{tmp_path / 'test.duckdb'}", "main")
    assert pg_url is not None
    return Db("postgresql", pg_url, f"t_{uuid.uuid4().hex[:10]}")


def run_target(config: dict, text: str) -> list[dict]:
    """Run the target on ``text`` in-process; return the STATE values it emitted."""
    return run_target_with_stats(config, text)[0]


def run_target_with_stats(config: dict, text: str) -> tuple[list[dict], dict[str, dict]]:
    """Run the target; return the STATE values and each stream's summary counters."""
    target = TargetSequenced(config=config)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        target.listen(file_input=io.StringIO(text))
    states = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    return states, {stream: vars(stats) for stream, stats in target.core.stats.items()}


def run_target_failing(config: dict, text: str) -> tuple[BaseException, list[dict]]:
    """Run the target expecting an error; return it and the STATE values emitted before."""
    target = TargetSequenced(config=config)
    out = io.StringIO()
    error: BaseException | None = None
    with contextlib.redirect_stdout(out):
        try:
            target.listen(file_input=io.StringIO(text))
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            error = exc
    assert error is not None, "the target was expected to fail"
    states = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    return error, states
