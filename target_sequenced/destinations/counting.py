"""What a load does to the table, counted against the stored rows before the upsert.

Each version counts as if it had been loaded alone (:mod:`target_sequenced.core.stats`),
against the greatest version before it: the stored row's, or an earlier one of the run.
The buffer counts its own stale versions; a load counts the rest here, in its
transaction, before the upsert changes the rows:

- candidates (versions that were the newest of their key when they arrived,
  but not the buffer's winner) older than the stored row, or its tombstone:
  stale; equal to it: replayed;
- winners equal to the stored row: replayed; winners that bring back a row
  marked deleted: restored;
- ties (a version equal to an earlier one of the buffer,
  :data:`~target_sequenced.core.versions.TIE`) that no stored row outranks or
  equals: replayed (those the stored row equals were counted above).
"""

from __future__ import annotations

import typing as t
import uuid
from dataclasses import dataclass

import pyarrow as pa
import sqlalchemy as sa

from target_sequenced.core.kinds import Kind
from target_sequenced.core.system import DELETED_AT, SEQUENCE
from target_sequenced.core.versions import buried, replaces
from target_sequenced.destinations import tombstones
from target_sequenced.destinations.capabilities import temporary_table

if t.TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.types import TypeEngine

    from target_sequenced.core.destination import Load
    from target_sequenced.destinations.capabilities import Capabilities


@dataclass(frozen=True)
class Counted:
    """Versions the stored rows decide: stale, replayed, restored."""

    older: int = 0
    replayed: int = 0
    restored: int = 0


def against_stored(
    conn: Connection,
    caps: Capabilities,
    load: Load,
    *,
    target: sa.Table,
    stage: sa.Table,
    tomb: sa.Table | None,
    types: dict[str, TypeEngine[t.Any]],
) -> Counted:
    """Count the load's versions against the table's rows as they are (before the upsert)."""
    key = load.plan.key
    on = sa.and_(*[target.c[k] == stage.c[k] for k in key])
    wins = replaces(stage.c[SEQUENCE], target.c[SEQUENCE])
    back = sa.and_(target.c[DELETED_AT].is_not(None), stage.c[DELETED_AT].is_(None), wins)
    equal, restored = conn.execute(
        sa.select(
            sa.func.count().filter(stage.c[SEQUENCE] == target.c[SEQUENCE]),
            sa.func.count().filter(back),
        ).select_from(stage.join(target, on))
    ).one()
    older, candidates_equal = _candidates(conn, caps, load, target, tomb=tomb, types=types)
    return Counted(
        older=older,
        replayed=int(equal) + candidates_equal + _ties(conn, caps, load, target, types),
        restored=int(restored),
    )


def _staged_keys(
    caps: Capabilities,
    load: Load,
    rows: pa.Table,
    types: dict[str, TypeEngine[t.Any]],
    *,
    tombstoned: bool,
) -> tuple[sa.Table, pa.Table]:
    """A temporary table of keys and sequences (and tombstone key texts) for ``rows``."""
    columns = [(k, types[k]) for k in load.plan.key]
    columns.append((SEQUENCE, caps.types.sql_type(Kind.INTEGER)))
    if tombstoned:
        keys = zip(*(rows.column(k).to_pylist() for k in load.plan.key), strict=True)
        texts = pa.array([tombstones.key_text(values) for values in keys], pa.string())
        rows = rows.append_column(tombstones.KEY_TEXT, texts)
        columns.append((tombstones.KEY_TEXT, caps.types.sql_type(Kind.STRING)))
    return temporary_table(f"_sdc_versions_{uuid.uuid4().hex[:12]}", columns), rows


def _candidates(
    conn: Connection,
    caps: Capabilities,
    load: Load,
    target: sa.Table,
    *,
    tomb: sa.Table | None,
    types: dict[str, TypeEngine[t.Any]],
) -> tuple[int, int]:
    """Candidates older than their key's stored row (or tombstone), and those equal to it."""
    if load.candidates is None or load.candidates.num_rows == 0:
        return 0, 0
    plan = load.plan
    stage, rows = _staged_keys(caps, load, load.candidates, types, tombstoned=tomb is not None)
    with caps.stage_rows(conn, stage, rows, writable=False):
        on = sa.and_(*[target.c[k] == stage.c[k] for k in plan.key])
        older, equal = conn.execute(
            sa.select(
                sa.func.count().filter(sa.not_(replaces(stage.c[SEQUENCE], target.c[SEQUENCE]))),
                sa.func.count().filter(stage.c[SEQUENCE] == target.c[SEQUENCE]),
            ).select_from(stage.join(target, on))
        ).one()
        older = int(older)
        if tomb is not None:
            gone = sa.and_(
                tomb.c.table_name == plan.table,
                tomb.c[tombstones.KEY_TEXT] == stage.c[tombstones.KEY_TEXT],
            )
            older += int(
                conn.execute(
                    sa.select(sa.func.count())
                    .select_from(stage.join(tomb, gone).outerjoin(target, on))
                    .where(
                        target.c[plan.key[0]].is_(None),
                        buried(stage.c[SEQUENCE], tomb.c[SEQUENCE]),
                    )
                ).scalar_one()
            )
    return older, int(equal)


def _ties(
    conn: Connection,
    caps: Capabilities,
    load: Load,
    target: sa.Table,
    types: dict[str, TypeEngine[t.Any]],
) -> int:
    """Ties of the buffer whose key's stored row is older, has no sequence, or is none."""
    if load.ties is None or load.ties.num_rows == 0:
        return 0
    stage, rows = _staged_keys(caps, load, load.ties, types, tombstoned=False)
    with caps.stage_rows(conn, stage, rows, writable=False):
        on = sa.and_(*[target.c[k] == stage.c[k] for k in load.plan.key])
        stored = target.c[SEQUENCE]
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(stage.outerjoin(target, on))
                .where(sa.or_(stored.is_(None), stored < stage.c[SEQUENCE]))
            ).scalar_one()
        )
