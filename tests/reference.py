"""The sequencing contract (design/sequencing.md) as plain Python: no database.

``expected_tables(runs, settings)`` takes the Singer messages of one or more
runs into one destination and returns, per stream, the rows the table must
hold. It is written to be obviously correct, not fast: tests/test_differential.py
compares the real target with it.

Sequences are compared as ``(source, value)``: an explicit sequence (the
record's ``_sdc_sequence``, or its ``sequence_property``) is ``(0, value)``; a
generated one is ``(1, arrival)``, since the target's generated sequences
increase with arrival and, on a sane clock, exceed every explicit sequence a
test uses (nanoseconds since the epoch against values below 10**18).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
RETIRED = "<retired by ACTIVATE_VERSION>"  # `_sdc_deleted_at` set to the time of retirement
SYSTEM = ("_sdc_sequence", "_sdc_table_version", "_sdc_deleted_at", "_sdc_extracted_at")


@dataclass(frozen=True)
class Generated:
    """A sequence the target generates: only its rank among generated ones is known."""

    arrival: int


@dataclass(frozen=True)
class Settings:
    load_method: str = "upsert"  # or "append-only", "overwrite"
    hard_delete: bool = False
    sequence_property: str | None = None


def micros(text: str) -> int:
    """A date-time string as integer microseconds since the epoch (no offset means UTC)."""
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return (value - EPOCH) // dt.timedelta(microseconds=1)


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class Version:
    """One received version of a row."""

    record: dict
    sequence: int | Generated
    arrival: int
    table_version: int | None
    extracted_at: str | None
    deleted_at: str | None

    def rank(self) -> tuple:
        """Greatest (sequence, arrival) wins; explicit sequences rank below generated ones."""
        seq = self.sequence
        source = (1, seq.arrival) if isinstance(seq, Generated) else (0, seq)
        return (source, self.arrival)


@dataclass
class Table:
    properties: dict
    key: list[str]
    appends: bool  # keyless stream or append-only: every version is a row
    rows: list[Version] = field(default_factory=list)  # when appending
    by_key: dict[tuple, Version] = field(default_factory=dict)  # otherwise

    def offer(self, new: Version) -> None:
        """Sections 3 and 5: per key, the greatest (sequence, arrival) wins, deletes too."""
        if self.appends:
            self.rows.append(new)
            return
        key = tuple(new.record[k] for k in self.key)
        held = self.by_key.get(key)
        if held is None or new.rank() > held.rank():
            self.by_key[key] = new

    def retire(self, version: int, *, hard: bool) -> None:
        """ACTIVATE_VERSION: rows of a lower (or no) version are deleted.

        A winning delete stays as a tombstone: it is a version like any other,
        only hidden from the table. So does a keyed row that activation removes
        for good (hard deletes): a version older than it stays out, as it would
        against the soft-deleted row.
        """

        def retired(row: Version) -> bool:
            older = row.table_version is None or row.table_version < version
            return older and row.deleted_at is None

        if hard:
            self.rows = [row for row in self.rows if not retired(row)]
        for row in self.versions():
            if retired(row):
                row.deleted_at = RETIRED

    def versions(self) -> list[Version]:
        return self.rows if self.appends else list(self.by_key.values())

    def clear(self) -> None:
        self.rows, self.by_key = [], {}


def sequence_of(record: dict, settings: Settings, arrival: int) -> int | Generated:
    """Section 2: the record's own integer, else the sequence_property, else generated."""
    if is_int(record.get("_sdc_sequence")):
        return record["_sdc_sequence"]
    if settings.sequence_property is not None:
        value = record[settings.sequence_property]
        return value if is_int(value) else micros(value)
    return Generated(arrival)


def expected_tables(runs: list[list[dict]], settings: Settings) -> dict[str, list[dict]]:
    """The rows each stream's table holds after loading ``runs`` one after another.

    Each row maps every schema property (missing ones are None) and the system
    columns ``_sdc_sequence`` (an int or a :class:`Generated`),
    ``_sdc_table_version``, ``_sdc_deleted_at`` (a date-time string, or
    :data:`RETIRED`) and ``_sdc_extracted_at`` to its value as sent.
    """
    tables: dict[str, Table] = {}
    active: dict[str, int] = {}  # the highest activated version per stream
    arrival = 0
    for messages in runs:
        overwritten: set[str] = set()  # overwrite empties a table at its run's first load
        for message in messages:
            kind = message["type"]
            if kind == "SCHEMA":
                # the tests never change a stream's schema or key: a repeated SCHEMA is a no-op
                key = list(message.get("key_properties") or [])
                appends = not key or settings.load_method == "append-only"
                tables.setdefault(
                    message["stream"], Table(message["schema"]["properties"], key, appends)
                )
            elif kind == "RECORD":
                arrival += 1
                stream, record = message["stream"], message["record"]
                version = message.get("version")
                if version is not None and version < active.get(stream, version):
                    continue  # a version below the active one is ignored
                table = tables[stream]
                if settings.load_method == "overwrite" and stream not in overwritten:
                    overwritten.add(stream)
                    table.clear()
                new = Version(
                    record=record,
                    sequence=sequence_of(record, settings, arrival),
                    arrival=arrival,
                    table_version=version,
                    extracted_at=message.get("time_extracted"),
                    deleted_at=record.get("_sdc_deleted_at"),
                )
                table.offer(new)
            elif kind == "ACTIVATE_VERSION":
                stream, version = message["stream"], message["version"]
                tables[stream].retire(version, hard=settings.hard_delete)
                active[stream] = max(active.get(stream, version), version)
    return {stream: rows_of(table, settings) for stream, table in tables.items()}


def rows_of(table: Table, settings: Settings) -> list[dict]:
    result = []
    for row in table.versions():
        if settings.hard_delete and row.deleted_at is not None:
            continue  # hard deletes leave no row
        values = {name: row.record.get(name) for name in table.properties}
        values.update(
            _sdc_sequence=row.sequence,
            _sdc_table_version=row.table_version,
            _sdc_deleted_at=row.deleted_at,
            _sdc_extracted_at=row.extracted_at,
        )
        result.append(values)
    return result
