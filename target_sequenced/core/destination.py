"""What the core asks of a destination; ``target_sequenced.destinations`` implements it.

The core decides which versions to load; a destination applies them in one
transaction per load with the sequence guard evaluated by the database
(``incoming >= stored``, :mod:`target_sequenced.core.versions`), creates and
evolves tables, and records each table's key and sequence source.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

if t.TYPE_CHECKING:
    import pyarrow as pa

    from target_sequenced.core.kinds import Kind
    from target_sequenced.core.plan import StreamPlan
    from target_sequenced.core.verdicts import Invalid


@dataclass(frozen=True)
class StoredTable:
    """A table as the destination holds it."""

    kinds: dict[str, Kind]
    """Column name -> kind."""
    key: tuple[str, ...] | None
    """The key it was first loaded with (None: not known, a table made elsewhere)."""
    source: str | None
    """The source of its sequences (None: not recorded yet)."""
    primary_key: tuple[str, ...] = ()
    """Its primary key constraint (none for an append-only or keyless table)."""


@dataclass(frozen=True)
class Load:
    """One load: the versions that won in the buffer, and what else goes in its transaction."""

    plan: StreamPlan
    rows: pa.Table
    candidates: pa.Table | None = None
    """Key and sequence of buffered versions to count against the stored rows
    (:data:`~target_sequenced.core.versions.CANDIDATE`)."""
    ties: pa.Table | None = None
    """Key and sequence of buffered versions equal to an earlier one of their key
    (:data:`~target_sequenced.core.versions.TIE`)."""
    rejected: tuple[Invalid, ...] = ()
    numbers: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Number column -> (most decimals, most integer digits) among ``rows``."""
    replace_all: bool = False
    hard_delete: bool = False
    source: str | None = None
    sources_comparable: bool = False


@dataclass(frozen=True)
class LoadResult:
    """What one load did to the table."""

    inserted: int = 0
    updated: int = 0
    stale: int = 0
    deleted: int = 0
    replayed: int = 0
    restored: int = 0


class Destination(t.Protocol):
    """A database the core loads into."""

    max_identifier_length: int
    stores_nul: bool
    """Whether text can hold U+0000 (PostgreSQL's cannot)."""

    def table(self, name: str) -> StoredTable | None:
        """The table as stored, or None when it does not exist."""

    def load(self, load: Load) -> LoadResult:
        """Apply a load in one transaction (retried when the database says it may be)."""

    def activate_version(self, plan: StreamPlan, version: int, *, hard_delete: bool) -> int:
        """Retire rows of versions below ``version`` (contract 5); return how many."""

    def close(self) -> None:
        """Close every connection."""
