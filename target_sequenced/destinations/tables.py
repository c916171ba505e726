"""Tables as the destination holds them: read, created, evolved, and recorded in ``_sdc_tables``.

A load brings the table to what its rows need, in the load's transaction:
missing columns are added, a column whose kind must widen is altered
(``integer -> number -> string``, existing values cast), a number column's
type follows its values (``destinations/numbers.py``). ``_sdc_tables`` keeps
each table's key and the source of its sequences (contract 2 and 3).
Statements tolerate a concurrent creator (``IF NOT EXISTS``, ``ON CONFLICT DO
NOTHING``); a race they still lose is retried by the transaction.
"""

from __future__ import annotations

import json
import typing as t

import sqlalchemy as sa

from target_sequenced.core.errors import InvalidRecordError, SchemaError
from target_sequenced.core.kinds import Kind, widen
from target_sequenced.core.numbers import trim_sql
from target_sequenced.core.sequences import describe
from target_sequenced.core.sql import quote
from target_sequenced.core.system import TABLES
from target_sequenced.core.verdicts import REMEDY_SOURCE

if t.TYPE_CHECKING:
    import logging

    from sqlalchemy.engine import Connection
    from sqlalchemy.types import TypeEngine

    from target_sequenced.core.destination import Load
    from target_sequenced.core.system import Column
    from target_sequenced.destinations.capabilities import Capabilities, StoredColumn


def registry(schema: str, caps: Capabilities) -> sa.Table:
    """``_sdc_tables``: per table, its key (column names, JSON) and its sequence source."""
    text = caps.types.sql_type(Kind.STRING)
    return sa.Table(
        TABLES,
        sa.MetaData(schema=schema),
        sa.Column("table_name", text, primary_key=True, autoincrement=False),
        sa.Column("key_columns", text),
        sa.Column("sequence_source", text),
        quote=True,
        quote_schema=True,
    )


def columns(
    conn: Connection, caps: Capabilities, schema: str, table: str
) -> dict[str, StoredColumn]:
    """A table's columns as stored (empty when it does not exist)."""
    query = sa.text(
        "SELECT column_name, data_type, numeric_scale FROM information_schema.columns "
        "WHERE table_schema = :schema AND table_name = :table ORDER BY ordinal_position",
    )
    return {
        row[0]: caps.types.stored(row[1], row[2])
        for row in conn.execute(query, {"schema": schema, "table": table})
    }


def primary_key(conn: Connection, schema: str, table: str) -> tuple[str, ...]:
    """A table's primary key columns, from information_schema."""
    query = sa.text(
        "SELECT kcu.column_name FROM information_schema.table_constraints tc "
        "JOIN information_schema.key_column_usage kcu "
        "ON tc.constraint_name = kcu.constraint_name "
        "AND tc.table_schema = kcu.table_schema AND tc.table_name = kcu.table_name "
        "WHERE tc.constraint_type = 'PRIMARY KEY' "
        "AND tc.table_schema = :schema AND tc.table_name = :table "
        "ORDER BY kcu.ordinal_position",
    )
    return tuple(conn.execute(query, {"schema": schema, "table": table}).scalars())


def recorded(
    conn: Connection, caps: Capabilities, schema: str, table: str
) -> tuple[tuple[str, ...] | None, str | None] | None:
    """The key and source ``_sdc_tables`` records for a table (None: no record)."""
    if not columns(conn, caps, schema, TABLES):
        return None
    reg = registry(schema, caps)
    row = conn.execute(
        sa.select(reg.c.key_columns, reg.c.sequence_source).where(reg.c.table_name == table)
    ).first()
    if row is None:
        return None
    key = tuple(json.loads(row[0])) if row[0] is not None else None
    return key, row[1]


def table_object(
    schema: str, name: str, types: t.Mapping[str, TypeEngine[t.Any]], key: t.Sequence[str]
) -> sa.Table:
    """An SQLAlchemy table of the given column types, names quoted as given."""
    return sa.Table(
        name,
        sa.MetaData(schema=schema),
        *[
            sa.Column(col, sql_type, primary_key=col in key, autoincrement=False, quote=True)
            for col, sql_type in types.items()
        ],
        quote=True,
        quote_schema=True,
    )


def _number_type(
    conn: Connection,
    caps: Capabilities,
    *,
    qualified: str,
    name: str,
    stored: StoredColumn | None,
    load: Load,
    existing: bool,
) -> TypeEngine[t.Any] | None:
    """The type a number column needs (None: ``stored`` holds the values).

    ``existing``: the column holds values already (of ``stored``, or of another
    kind it widens from), which the new type must hold too.
    """
    decimals, digits = load.numbers.get(name, (0, 0))
    declared = load.plan.scales.get(name)
    wanted, _ = caps.types.number_type(stored, declared, decimals, digits)
    if wanted is None or not existing:
        return wanted
    col = quote(name, conn)
    found = conn.exec_driver_sql(
        f"SELECT max(length(CAST(trunc(abs(CAST({col} AS DECIMAL(38, 0)))) AS VARCHAR))) "
        f"FROM {qualified}"
    ).scalar()
    if found:
        wanted, _ = caps.types.number_type(stored, declared, decimals, max(digits, int(found)))
    return wanted


def _new_type(
    conn: Connection, caps: Capabilities, qualified: str, col: Column, load: Load
) -> TypeEngine[t.Any]:
    if col.kind is Kind.NUMBER:
        found = _number_type(
            conn, caps, qualified=qualified, name=col.name, stored=None, load=load, existing=False
        )
        if found is not None:
            return found
    return caps.types.sql_type(col.kind)


def prepare(
    conn: Connection, caps: Capabilities, schema: str, load: Load, logger: logging.Logger
) -> dict[str, TypeEngine[t.Any]]:
    """Create or evolve the load's table; return its columns' types as they now are."""
    plan = load.plan
    stored = columns(conn, caps, schema, plan.table)
    qualified = f"{quote(schema, conn)}.{quote(plan.table, conn)}"
    if not stored:
        types = {col.name: _new_type(conn, caps, qualified, col, load) for col in plan.columns}
        key = plan.key if plan.unique_key else ()
        table_object(schema, plan.table, types, key).create(conn, checkfirst=False)
        return types
    types = {}
    for col in plan.columns:
        have = stored.get(col.name)
        if have is None:
            sql_type = _new_type(conn, caps, qualified, col, load)
            logger.info("Adding column %s.%s (%s)", plan.table, col.name, col.kind.value)
            conn.exec_driver_sql(
                f"ALTER TABLE {qualified} ADD COLUMN {quote(col.name, conn)} "
                f"{sql_type.compile(dialect=conn.dialect)}"
            )
            types[col.name] = sql_type
            continue
        kind = widen(have.kind, col.kind)
        changed: TypeEngine[t.Any] | None = None
        if kind is Kind.NUMBER:
            same = have if have.kind is Kind.NUMBER else None
            changed = _number_type(
                conn,
                caps,
                qualified=qualified,
                name=col.name,
                stored=same,
                load=load,
                existing=True,
            )
        elif kind is not have.kind:
            changed = caps.types.sql_type(kind)
        if changed is None:
            types[col.name] = have.sql_type
            continue
        compiled = changed.compile(dialect=conn.dialect)
        logger.info("Changing column %s.%s to %s", plan.table, col.name, compiled)
        name = quote(col.name, conn)
        cast = f"CAST({name} AS {compiled})"
        if have.kind is Kind.NUMBER and isinstance(changed, sa.String):
            cast = trim_sql(cast)  # a decimal's text, as the buffer writes numbers
        conn.exec_driver_sql(
            f"ALTER TABLE {qualified} ALTER COLUMN {name} TYPE {compiled} USING {cast}"
        )
        types[col.name] = changed
    return types


def record(conn: Connection, caps: Capabilities, schema: str, load: Load) -> None:
    """Record the table's key and source in ``_sdc_tables``; refuse a mismatch (contract 2, 3)."""
    plan = load.plan
    reg = registry(schema, caps)
    conn.execute(sa.schema.CreateTable(reg, if_not_exists=True))
    key_text = json.dumps(list(plan.key))
    exists = conn.execute(sa.select(reg.c.table_name).where(reg.c.table_name == plan.table)).first()
    if exists is None:
        conn.execute(
            reg.insert().values(
                table_name=plan.table, key_columns=key_text, sequence_source=load.source
            )
        )
        return
    if load.source is not None:
        conn.execute(
            reg.update()
            .where(reg.c.table_name == plan.table, reg.c.sequence_source.is_(None))
            .values(sequence_source=load.source)
        )
        conn.execute(
            reg.update()
            .where(reg.c.table_name == plan.table, reg.c.key_columns.is_(None))
            .values(key_columns=key_text)
        )
    key, source = conn.execute(
        sa.select(reg.c.key_columns, reg.c.sequence_source).where(reg.c.table_name == plan.table)
    ).one()
    if key is not None and tuple(json.loads(key)) != plan.key:
        msg = (
            f"stream '{plan.stream}': its key {list(plan.key)} differs from table "
            f"'{plan.table}''s key {json.loads(key)}; a table's key is fixed by its first load"
        )
        raise SchemaError(msg, remedy="load the stream into another table, or drop the table")
    if not load.sources_comparable and source is not None and load.source not in (None, source):
        msg = (
            f"stream '{plan.stream}': its sequences come from {describe(load.source)}, but table "
            f"'{plan.table}' holds {describe(source)}: they do not compare"
        )
        raise InvalidRecordError(msg, remedy=REMEDY_SOURCE)
