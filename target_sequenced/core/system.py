"""The system columns every table carries (contract section 6), and the system tables."""

from __future__ import annotations

from dataclasses import dataclass

from target_sequenced.core.kinds import Kind

SEQUENCE = "_sdc_sequence"
RECEIVED_AT = "_sdc_received_at"
BATCHED_AT = "_sdc_batched_at"
EXTRACTED_AT = "_sdc_extracted_at"
TABLE_VERSION = "_sdc_table_version"
DELETED_AT = "_sdc_deleted_at"

SYSTEM_KINDS: dict[str, Kind] = {
    SEQUENCE: Kind.INTEGER,
    RECEIVED_AT: Kind.TIMESTAMP,
    BATCHED_AT: Kind.TIMESTAMP,
    EXTRACTED_AT: Kind.TIMESTAMP,
    TABLE_VERSION: Kind.INTEGER,
    DELETED_AT: Kind.TIMESTAMP,
}
SYSTEM_NAMES = frozenset(SYSTEM_KINDS)
SDK_ONLY_METADATA = frozenset({"_sdc_sync_started_at"})
"""A property the SDK's metadata hook adds to schemas that is not one of our columns."""

TABLES = "_sdc_tables"
"""Per table: its key and the source of its sequences (contract 2 and 3)."""
TOMBSTONES = "_sdc_tombstones"
"""Per table and hard-deleted key: the sequence of the delete (contract 5)."""
REJECTED = "_sdc_rejected"
"""Invalid records kept under ``on_invalid_record: reject`` (contract 6)."""
SYSTEM_TABLES = frozenset({TABLES, TOMBSTONES, REJECTED})


@dataclass(frozen=True)
class Column:
    """One destination column: the record property it comes from and its kind."""

    name: str
    kind: Kind
    prop: str
    """The record property (for system columns, the column's own name)."""

    @property
    def is_system(self) -> bool:
        """Whether the column is one of the contract's system columns."""
        return self.name in SYSTEM_NAMES


SYSTEM_COLUMNS: tuple[Column, ...] = tuple(Column(n, k, n) for n, k in SYSTEM_KINDS.items())
