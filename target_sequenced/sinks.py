"""One sink per stream: buffering, sequence resolution and loads."""

from __future__ import annotations

import datetime as dt
import typing as t

from singer_sdk.sinks import Sink

from target_sequenced.arrow import rows_to_arrow
from target_sequenced.buffer import FastBuffer
from target_sequenced.columns import Column, kind_of, row_converter
from target_sequenced.connector import (
    SYSTEM_COLUMNS,
    SYSTEM_NAMES,
    TABLE_VERSION,
    TablePlan,
)
from target_sequenced.exceptions import InputError, MissingKeyError
from target_sequenced.fastpath import FastQuery, NotEligibleError, RunBounds, compile_query
from target_sequenced.names import conform_name, conform_names
from target_sequenced.quoting import quote
from target_sequenced.sequencing import SEQUENCE, VersionBuffer, sequence_of
from target_sequenced.validation import RecordValidator

if t.TYPE_CHECKING:
    from singer_sdk.sinks.core import BaseJSONSchemaValidator

    from target_sequenced.target import TargetSequenced

# Added to the schema by the SDK's metadata hook; not one of our system columns.
_SDK_ONLY_METADATA = frozenset({"_sdc_sync_started_at"})


def build_plan(
    stream: str,
    schema: dict,
    key_properties: t.Sequence[str],
    *,
    unique_key: bool,
    max_identifier_length: int,
) -> TablePlan:
    """Derive the destination table of a stream from its SCHEMA message."""
    properties: dict[str, dict] = schema.get("properties") or {}
    user_props = [
        name
        for name in properties
        if name not in _SDK_ONLY_METADATA and conform_name(name) not in SYSTEM_NAMES
    ]
    mapped = conform_names(stream, user_props, max_identifier_length)
    missing = [k for k in key_properties if k not in mapped]
    if missing:
        msg = (
            f"stream '{stream}': key properties {missing} are not declared in the "
            "schema's top-level properties"
        )
        raise InputError(msg)
    columns = tuple(Column(mapped[name], kind_of(properties[name]), name) for name in user_props)
    return TablePlan(
        name=conform_name(stream, max_identifier_length),
        columns=columns + SYSTEM_COLUMNS,
        key=tuple(mapped[k] for k in key_properties),
        unique_key=unique_key and bool(key_properties),
    )


class SequencedSink(Sink):
    """Buffers a stream's versions, keeps the newest per key, loads in one transaction."""

    def __init__(
        self,
        target: TargetSequenced,
        stream_name: str,
        schema: dict,
        key_properties: t.Sequence[str] | None,
    ) -> None:
        """Plan the table; the SDK's constructor validates the schema."""
        self.target = target
        self.stats = target.stream_stats(stream_name)
        super().__init__(target, stream_name, schema, key_properties)
        self.load_method: str = self.config.get("load_method", "upsert")
        self.hard_delete: bool = bool(self.config.get("hard_delete", False))
        self.plan = build_plan(
            stream_name,
            self.schema,
            self.key_properties,
            unique_key=self.load_method != "append-only",
            max_identifier_length=target.destination.caps.max_identifier_length,
        )
        self.buffer = VersionBuffer(keyed=self.plan.unique_key, stats=self.stats)
        self.columns: tuple[Column, ...] = self.plan.columns
        self._convert = row_converter(self.columns)
        self._key_index: tuple[int, ...] = ()
        self.fast_query: FastQuery | None = None
        self.fast_buffer: FastBuffer | None = None

    @property
    def include_sdc_metadata_properties(self) -> bool:
        """System columns are part of the sequencing contract: always on."""
        return True

    def where(self) -> str:
        """Locate the record being processed, for error messages."""
        return (
            f"stream '{self.stream_name}', input line {self.target.line_number}, "
            f"record {self.stats.received - 1}"
        )

    def get_validator(self) -> BaseJSONSchemaValidator | None:
        """Validate against the stream's schema, reporting every violation located."""
        if not self.validate_schema:
            return None
        return RecordValidator(self.schema, self.where)

    def setup(self) -> None:
        """Create or evolve the table, then plan conversions for its stored columns."""
        self.columns = self.target.destination.prepare(self.plan)
        self._convert = row_converter(self.columns)
        names = [col.name for col in self.columns]
        self._key_index = tuple(names.index(k) for k in self.plan.key)
        if self.target.fast_path_enabled:
            self._plan_fast_path()

    def _plan_fast_path(self) -> None:
        """Compile the fast path's query, or say why this stream goes record by record."""
        dialect = self.target.workspace_dialect
        user = [col for col in self.columns if col.name not in SYSTEM_NAMES]
        try:
            self.fast_query = compile_query(
                user,
                self.columns,
                self.schema.get("properties") or {},
                self.plan.key,
                sequence_property=self.config.get("sequence_property"),
                quote=lambda name: quote(dialect, name),
            )
        except NotEligibleError as exc:
            self.logger.info(
                "Stream '%s' is loaded record by record: its schema has %s",
                self.stream_name,
                exc,
            )
            return
        self.fast_buffer = FastBuffer(
            self.target.workspace,
            dialect,
            self.columns,
            self.plan.key,
            keyed=self.plan.unique_key,
            stats=self.stats,
        )

    # The SDK writes its own millisecond clock into `_sdc_sequence` in this
    # private hook, before any public hook sees the record, so the record's own
    # sequence (contract 2.2) would be lost. It is also the only hook that sees
    # the message envelope (`time_extracted`, `version`). Covered by
    # tests/test_sdk_hooks.py, which fails if an SDK upgrade stops calling it.
    def _add_sdc_metadata_to_record(
        self,
        record: dict,
        message: dict,
        context: dict,
    ) -> None:
        _ = context
        self.stats.received += 1
        record[SEQUENCE] = sequence_of(
            record,
            sequence_property=self.config.get("sequence_property"),
            clock=self.target.clock,
            where=self.where(),
        )
        record["_sdc_extracted_at"] = message.get("time_extracted")
        record["_sdc_received_at"] = dt.datetime.now(tz=dt.timezone.utc).isoformat()
        record["_sdc_deleted_at"] = record.get("_sdc_deleted_at")
        record[TABLE_VERSION] = message.get("version")
        record.pop("_sdc_batched_at", None)

    def preprocess_record(self, record: dict, context: dict) -> dict:
        """Reject a record whose key is missing or null, naming where it is.

        Runs before the SDK's own key check, whose message names neither the
        stream nor the line.
        """
        _ = context
        for prop in self.key_properties:
            if record.get(prop) is None:
                msg = f"{self.where()}: Record is missing key property {prop}"
                raise MissingKeyError(msg, record)
        return record

    def process_record(self, record: dict, context: dict) -> None:
        """Resolve one version against the buffered ones (contract 3, 4, 5)."""
        _ = context
        self._use_fast_buffer(use=False)
        version = record.get(TABLE_VERSION)
        active = self.target.active_versions.get(self.stream_name)
        if version is not None and active is not None and version < active:
            self.stats.ignored_old_version += 1
            return
        row = self._convert(record, self.where())
        key = tuple(row[i] for i in self._key_index)
        self.buffer.add(key, record[SEQUENCE], row)

    def add_run(self, first_line: int, last_line: int, count: int) -> bool:
        """Buffer this stream's RECORD lines in a range of the current input chunk.

        Returns False, keeping nothing, when some record must take the
        per-record path (which then accepts it or raises the located error).
        """
        if self.fast_query is None or self.fast_buffer is None:
            return False
        self._use_fast_buffer(use=True)
        run = RunBounds(
            stream=self.stream_name,
            first_line=first_line,
            last_line=last_line,
            clock_base=self.target.clock.reserve(last_line - first_line + 1),
            received_at=dt.datetime.now(tz=dt.timezone.utc),
            active_version=self.target.active_versions.get(self.stream_name),
            count=count,
        )
        before = len(self.fast_buffer)
        if not self.fast_buffer.add_run(self.fast_query, run):
            return False
        added = len(self.fast_buffer) - before
        self.tally_record_read(added)
        self.record_counter_metric.increment(added)
        return True

    def _use_fast_buffer(self, *, use: bool) -> None:
        """Load the other buffer first, so each load resolves one buffer's versions."""
        other = self.buffer if use else self.fast_buffer
        if other is not None and len(other):
            self.load()

    def process_batch(self, context: dict) -> None:
        """Load what is buffered; records from SDK BATCH files pass through first.

        ``Sink.process_batch_files`` reads BATCH files and hands their records
        here in ``context["records"]``; each goes through the same path as a
        RECORD message (metadata, validation, sequence, resolution).
        """
        for record in context.get("records", ()):
            self._ingest(record)
        self.load()

    def _ingest(self, record: dict) -> None:
        context: dict = {}
        self._add_sdc_metadata_to_record(record, {}, context)
        self._validate_and_parse(record)
        record = self.preprocess_record(record, context)
        self._singer_validate_message(record)
        self.process_record(record, context)
        if len(self.buffer) >= self.max_size:
            self.load()

    def load(self) -> None:
        """Write the buffered versions to the destination in one transaction."""
        if self.fast_buffer is not None and len(self.fast_buffer):
            rows = self.fast_buffer.take()
        elif len(self.buffer):
            rows = rows_to_arrow(self.columns, self.buffer.take())
        else:
            return
        replace_all = (
            self.load_method == "overwrite" and self.stream_name not in self.target.overwritten
        )
        self.target.destination.load(
            self.plan,
            self.columns,
            rows,
            replace_all=replace_all,
            hard_delete=self.hard_delete,
            stats=self.stats,
        )
        if replace_all:
            self.target.overwritten.add(self.stream_name)

    def clean_up(self) -> None:
        """Free the fast path's buffer table."""
        if self.fast_buffer is not None:
            self.fast_buffer.drop()
        super().clean_up()

    def activate_version(self, new_version: int) -> None:
        """Retire rows of older versions (contract 5), after loading what is buffered."""
        self.load()
        active = self.target.active_versions.get(self.stream_name)
        self.target.active_versions[self.stream_name] = max(active or new_version, new_version)
        self.stats.deleted += self.target.destination.activate_version(
            self.plan,
            self.columns,
            new_version,
            hard_delete=self.hard_delete,
        )
