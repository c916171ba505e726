"""Hard deletes that still obey sequences: per table and key, the sequence of the newest delete.

A hard-deleted key leaves no row to compare a late, older version with; its
tombstone keeps the delete's sequence so that version stays out (contract 5).
Keys are their typed values as canonical JSON text, in ``_sdc_tombstones``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import typing as t

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from target_sequenced.core.kinds import Kind
from target_sequenced.core.numbers import normal
from target_sequenced.core.system import DELETED_AT, SEQUENCE, TOMBSTONES
from target_sequenced.core.versions import buried, tombstone_replaces

if t.TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import Insert as PgInsert
    from sqlalchemy.engine import Connection

    from target_sequenced.core.plan import StreamPlan
    from target_sequenced.destinations.capabilities import Capabilities

KEY_TEXT = "_sdc_key"


def _canonical(value: object) -> object:
    """A key value as staged rows hold it: numbers as their decimal text, instants in UTC."""
    if isinstance(value, decimal.Decimal):
        return normal(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def key_text(values: t.Sequence[object]) -> str:
    """A key's typed values as canonical JSON text (``[1, "2"]`` and ``[12, ""]`` differ)."""
    return json.dumps([_canonical(v) for v in values], ensure_ascii=False, separators=(",", ":"))


def table(schema: str, caps: Capabilities) -> sa.Table:
    """The tombstones table of a schema."""
    text, integer = caps.types.sql_type(Kind.STRING), caps.types.sql_type(Kind.INTEGER)
    return sa.Table(
        TOMBSTONES,
        sa.MetaData(schema=schema),
        sa.Column("table_name", text, primary_key=True, autoincrement=False),
        sa.Column(KEY_TEXT, text, primary_key=True, autoincrement=False),
        sa.Column(SEQUENCE, integer, nullable=False),
    )


def drop_buried(conn: Connection, tomb: sa.Table, stage: sa.Table, plan: StreamPlan) -> int:
    """Remove staged versions older than their key's tombstone; return how many."""
    conn.execute(sa.schema.CreateTable(tomb, if_not_exists=True))
    older = (
        sa.select(sa.literal(1))
        .where(
            tomb.c.table_name == plan.table,
            tomb.c[KEY_TEXT] == stage.c[KEY_TEXT],
            buried(stage.c[SEQUENCE], tomb.c[SEQUENCE]),
        )
        .exists()
    )
    result = conn.execute(stage.delete().where(older))
    return max(int(result.rowcount or 0), 0)


def _keep_newest(conn: Connection, tomb: sa.Table, insert: PgInsert) -> None:
    conn.execute(
        insert.on_conflict_do_update(
            index_elements=["table_name", KEY_TEXT],
            set_={SEQUENCE: insert.excluded[SEQUENCE]},
            where=tombstone_replaces(insert.excluded[SEQUENCE], tomb.c[SEQUENCE]),
        ),
    )


def bury_staged(conn: Connection, tomb: sa.Table, stage: sa.Table, plan: StreamPlan) -> None:
    """Record the staged deletes as tombstones, newest sequence per key."""
    deletes = sa.select(
        sa.literal(plan.table, tomb.c.table_name.type), stage.c[KEY_TEXT], stage.c[SEQUENCE]
    ).where(stage.c[DELETED_AT].is_not(None))
    _keep_newest(
        conn, tomb, pg_insert(tomb).from_select(["table_name", KEY_TEXT, SEQUENCE], deletes)
    )


def bury_rows(
    conn: Connection,
    tomb: sa.Table,
    target: sa.Table,
    plan: StreamPlan,
    where: sa.ColumnElement[bool],
) -> None:
    """Tombstones for rows about to be removed, so older versions stay out (contract 5)."""
    conn.execute(sa.schema.CreateTable(tomb, if_not_exists=True))
    keys = [target.c[k] for k in plan.key]
    found = conn.execute(sa.select(*keys, target.c[SEQUENCE]).where(where)).all()
    rows = [
        {"table_name": plan.table, KEY_TEXT: key_text(row[:-1]), SEQUENCE: row[-1]}
        for row in found
        if row[-1] is not None
    ]
    if rows:
        _keep_newest(conn, tomb, pg_insert(tomb).values(rows))


def forget(conn: Connection, tomb: sa.Table, plan: StreamPlan) -> None:
    """An overwrite starts the table afresh: its tombstones go with the old rows."""
    conn.execute(sa.schema.CreateTable(tomb, if_not_exists=True))
    conn.execute(tomb.delete().where(tomb.c.table_name == plan.table))
