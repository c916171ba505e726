"""Which version of a key wins (contract section 3), everywhere it is decided.

- Inside a buffer: the greatest ``(sequence, arrival)``
  (:func:`buffer_winner_sql`, DuckDB SQL over the workspace).
- Against the stored row: the incoming version replaces it when
  ``incoming >= stored`` (a tie goes to the later arrival, the incoming
  one), or when the stored row has no sequence (written by another tool)
  (:func:`replaces`, an SQLAlchemy condition each destination's upsert puts
  in its statement, so the database applies it atomically).
- Against a tombstone (a hard-deleted key): a version strictly older than
  the delete stays out (:func:`buried`); a tie is a new key again.
- A tombstone keeps the newest delete's sequence (:func:`tombstone_replaces`).

Counting (the run's summary) takes each version as if it had been loaded on
its own: stale if older than any version of its key before it, stored or
buffered. A buffer finds its own stale versions (:data:`BUFFER_STALE`); the
load compares the others (its winners and :data:`CANDIDATE` versions) with
the stored rows.

``tests/test_versions.py`` runs one table of cases through the buffer and
both dialects.
"""

from __future__ import annotations

import typing as t

import sqlalchemy as sa

ARRIVAL = "_arrival"


def buffer_winner_sql(sequence: str) -> str:
    """SQL ``ORDER BY`` of a key's buffered versions: the first row wins."""
    return f"{sequence} DESC, {ARRIVAL} DESC"


def ranked_sql(sequence: str, key: str, relation: str) -> str:
    """SQL: a buffer's versions with ``_prev`` and ``_rank``.

    ``_prev``: the greatest earlier sequence of the key; ``_rank``: 1 for the key's winner.
    """
    return (
        f"SELECT *, max({sequence}) OVER (PARTITION BY {key} ORDER BY {ARRIVAL} "
        f"ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS _prev, "
        f"row_number() OVER (PARTITION BY {key} ORDER BY {buffer_winner_sql(sequence)}) AS _rank "
        f"FROM {relation}"
    )


BUFFER_STALE = "_prev IS NOT NULL AND {sequence} < _prev"
"""A version older than one that arrived before it in the buffer: stale whatever is stored."""
CANDIDATE = "_rank > 1 AND (_prev IS NULL OR {sequence} >= _prev)"
TIE = "_prev IS NOT NULL AND {sequence} = _prev"
"""A version equal to one that arrived before it in the buffer: the same version again, replayed
(unless the stored row is newer: then it is stale, and the load counts it so)."""
"""A version that was the newest of its key when it arrived but is not the buffer's winner:
as if loaded alone it replaced the stored row, unless the stored row is newer (the load decides)."""


def replaces(
    incoming: sa.ColumnElement[t.Any], stored: sa.ColumnElement[t.Any]
) -> sa.ColumnElement[bool]:
    """The incoming version replaces the stored row: ``incoming >= stored``, or none is stored."""
    return sa.or_(stored.is_(None), incoming >= stored)


def buried(
    incoming: sa.ColumnElement[t.Any], tombstone: sa.ColumnElement[t.Any]
) -> sa.ColumnElement[bool]:
    """A version older than its key's tombstone stays out."""
    return tombstone > incoming


def tombstone_replaces(
    incoming: sa.ColumnElement[t.Any], stored: sa.ColumnElement[t.Any]
) -> sa.ColumnElement[bool]:
    """A tombstone takes the newest delete's sequence."""
    return incoming >= stored
