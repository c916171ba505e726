"""An SDK sink per stream that hands the stream's messages to the loading core.

The core owns buffering and version resolution; the sink is how the SDK's own
per-record machinery (stream maps, flattening, BATCH files, ACTIVATE_VERSION)
reaches it. Records that take this way are collected as they are (after the
stream map, before the SDK parses or validates them) and go to the core as
one batch of RECORD messages, checked by the same parse query as the lines the
reader hands it directly.
"""

from __future__ import annotations

import typing as t

from singer_sdk.sinks import Sink

from target_sequenced.core.batches import Texts, record_text
from target_sequenced.core.errors import InputError

if t.TYPE_CHECKING:
    from singer_sdk import Target
    from singer_sdk.sinks.core import BaseJSONSchemaValidator

    from target_sequenced.core.loader import Loader

PENDING_MAX = 10_000
"""Records collected before they go to the core as one batch."""


class _HoldsCore(t.Protocol):
    """What a sink needs of its target (the sink does not import the target: no circle)."""

    core: Loader


class SequencedSink(Sink):
    """Collects a stream's records for the core; the core buffers, resolves and loads them."""

    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: dict,
        key_properties: t.Sequence[str] | None,
    ) -> None:
        """Declare the stream to the core (a changed schema loads the old buffer first)."""
        self.core: Loader = t.cast("_HoldsCore", target).core
        self._pending: list[tuple[int, str]] = []
        super().__init__(target, stream_name, schema, key_properties)
        # Here, not in setup(): the SDK logs an error of its own for any
        # exception from setup(), and a refused schema is one located line.
        self.core.schema(
            self.stream_name,
            self.original_schema,
            list(self.key_properties),
            at=self.core.arrivals.position,
        )

    @property
    def include_sdc_metadata_properties(self) -> bool:
        """System columns are part of the sequencing contract: always on."""
        return True

    def get_validator(self) -> BaseJSONSchemaValidator | None:
        """None: the core validates (in bulk, with the schema's draft)."""
        return None

    # The SDK writes its own millisecond clock into `_sdc_sequence` in this
    # private hook, before any public hook sees the record, and only this hook
    # sees the message envelope (`version`, `time_extracted`). So the record is
    # taken here, as the stream map left it. Covered by tests/test_sdk_hooks.py,
    # which fails if an SDK upgrade stops calling it.
    def _add_sdc_metadata_to_record(self, record: dict, message: dict, context: dict) -> None:
        _ = context
        self._collect(record, message)

    def _collect(self, record: dict, envelope: t.Mapping[str, t.Any]) -> None:
        arrival = self.core.arrivals.next()
        self._pending.append((arrival, record_text(self.stream_name, dict(record), envelope)))
        if len(self._pending) >= PENDING_MAX:
            self.flush()

    def preprocess_record(self, record: dict, context: dict) -> dict:
        """Let a record without its key past the SDK's own check: the core reports it, located."""
        _ = context
        for prop in self.key_properties:
            record.setdefault(prop, None)
        return record

    def process_record(self, record: dict, context: dict) -> None:
        """Nothing: the record was collected as it arrived."""
        _ = record, context

    def process_batch(self, context: dict) -> None:
        """Hand collected records to the core; records from SDK BATCH files are collected first.

        ``Sink.process_batch_files`` reads BATCH files and hands their records
        here in ``context["records"]``.
        """
        for record in context.get("records", ()):
            if not isinstance(record, dict):
                msg = f"stream '{self.stream_name}': a BATCH file holds a line that is not a record"
                raise InputError(msg)
            self._collect(record, {})
        self.flush()

    def flush(self) -> None:
        """Send what is collected to the core, as one batch."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        arrivals, texts = zip(*pending, strict=True)
        if not self.core.add(self.stream_name, Texts.of(arrivals, texts)):
            msg = f"stream '{self.stream_name}': records of another stream in its batch"
            raise InputError(msg)

    def activate_version(self, new_version: int) -> None:
        """Retire rows of older versions (contract 5), after what is collected."""
        self.flush()
        self.core.activate_version(self.stream_name, new_version, at=self.core.arrivals.position)
