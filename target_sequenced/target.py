"""The Singer target: routes messages to sinks and guards the contract's invariants."""

from __future__ import annotations

import typing as t

from singer_sdk.helpers.capabilities import PluginCapabilities, TargetCapabilities
from singer_sdk.target_base import Target
from sqlalchemy.engine.default import DefaultDialect

from target_sequenced import settings
from target_sequenced.connector import Destination
from target_sequenced.exceptions import ConfigError
from target_sequenced.reader import LineReader
from target_sequenced.sequencing import SequenceClock
from target_sequenced.sinks import SequencedSink
from target_sequenced.stats import StreamStats
from target_sequenced.workspace import Workspace

if t.TYPE_CHECKING:
    from pathlib import PurePath

    from singer_sdk.sinks import Sink


MIN_BULK_RUN = 64
"""Shorter runs of records go one by one: a bulk run costs a few milliseconds of SQL."""


class TargetSequenced(Target):
    """Loads Singer streams into SQL so that, per key, the greatest sequence wins."""

    name = "target-sequenced"
    config_jsonschema = settings.CONFIG_SCHEMA
    default_sink_class = SequencedSink
    message_reader_class = LineReader
    capabilities: t.ClassVar[list] = [
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
        PluginCapabilities.STRUCTURED_LOGGING,
        PluginCapabilities.ACTIVATE_VERSION,
        PluginCapabilities.BATCH,
        TargetCapabilities.VALIDATE_RECORDS,
        TargetCapabilities.TARGET_SCHEMA,
        TargetCapabilities.HARD_DELETE,
    ]

    def __init__(
        self,
        *,
        config: dict | PurePath | str | list[PurePath | str] | None = None,
        parse_env_config: bool = False,
        validate_config: bool = True,
        **kwargs: t.Any,  # noqa: ANN401 - passed through to the SDK unchanged
    ) -> None:
        """Validate the settings (every problem at once); connect lazily."""
        # The SDK stops at its JSON Schema errors; ours adds the checks a schema
        # cannot say, and reports both together.
        super().__init__(
            config=config,
            parse_env_config=parse_env_config,
            validate_config=False,
            **kwargs,
        )
        if validate_config:
            schema = self.config_jsonschema
            self.append_builtin_config(schema)
            problems = settings.problems(self.config, schema)
            if problems:
                raise ConfigError(
                    "Config validation failed: " + "; ".join(problems),
                    errors=problems,
                    schema=schema,
                )
        self.destination = Destination(
            self.config.get("sqlalchemy_url") or settings.DEFAULT_URL,
            self.config.get("default_target_schema"),
            self.logger,
        )
        self.clock = SequenceClock()
        self.stats: dict[str, StreamStats] = {}
        self.active_versions: dict[str, int] = {}
        self.overwritten: set[str] = set()
        # Sinks load one after another: loads of one run never race each other.
        self.max_parallelism = 1
        # Stream maps and flattening rewrite records in Python, one by one.
        self.fast_path_enabled = not (
            self.config.get("stream_maps") or self.config.get("flattening_enabled")
        )
        self.workspace = Workspace()
        # Standard SQL quoting, which DuckDB uses. duckdb-engine's dialect would
        # start a DuckDB instance to list reserved words (15 ms), which quoting
        # an identifier never consults.
        self.workspace_dialect = DefaultDialect()
        if isinstance(self.message_reader, LineReader):
            self.message_reader.bind(self)

    @classmethod
    def append_builtin_config(cls, config_jsonschema: dict) -> None:
        """Add the SDK's standard settings, less ``add_record_metadata``.

        System columns are part of the sequencing contract, so they cannot be
        turned off.
        """
        super().append_builtin_config(config_jsonschema)
        config_jsonschema["properties"].pop("add_record_metadata", None)

    def open_soon(self) -> None:
        """Open the destination, and the workspace if the bulk path is on, in threads.

        Called as reading starts: both take DuckDB or the network tens of
        milliseconds, which then overlap with reading the first chunk.
        """
        self.destination.open_soon()
        if self.fast_path_enabled:
            self.workspace.open_soon()

    @property
    def line_number(self) -> int:
        """The input line being processed (1-based)."""
        reader = self.message_reader
        return reader.line_number if isinstance(reader, LineReader) else 0

    def process_record_run(
        self,
        stream: str,
        lines: list[int],
        per_record: t.Callable[[int], None],
    ) -> int:
        """Load RECORD lines of one stream through the fast path, in batch-sized pieces.

        ``lines`` are input line numbers of the reader's current chunk, in
        order. A piece the fast path cannot take (no sink yet, a schema or a
        record it is not sure about) goes line by line to ``per_record``, in
        its place, so arrival order is kept. Returns how many went in bulk.
        """
        sink = self._sinks_active.get(stream) if self.fast_path_enabled else None
        if (
            not isinstance(sink, SequencedSink)
            or sink.fast_query is None
            or len(lines) < MIN_BULK_RUN
        ):
            for line in lines:
                per_record(line)
            return 0
        bulk = 0
        start = 0
        while start < len(lines):
            room = max(sink.max_size - sink.current_size, 1)
            piece = lines[start : start + room]
            start += len(piece)
            if not sink.add_run(piece[0], piece[-1], len(piece)):
                for line in piece:
                    per_record(line)
                continue
            bulk += len(piece)
            if sink.is_full:
                self.drain_one(sink)
        self._handle_max_record_age()
        return bulk

    def stream_stats(self, stream: str) -> StreamStats:
        """Counters of a stream, kept across the sinks a SCHEMA change creates."""
        return self.stats.setdefault(stream, StreamStats())

    def get_sink(
        self,
        stream_name: str,
        *,
        record: dict | None = None,
        schema: dict | None = None,
        key_properties: t.Sequence[str] | None = None,
    ) -> Sink:
        """Load a replaced sink's buffer before the new sink takes over.

        The SDK keeps a sink whose schema changed until the next full drain, so
        its older versions would be written after newer ones; on ties the later
        arrival must win (contract 3), so the old buffer goes first, now.
        """
        if schema is not None:
            existing = self._sinks_active.get(stream_name)
            if existing is not None and (
                existing.original_schema != schema
                or existing.key_properties != (key_properties or [])
            ):
                self.drain_one(existing)
        return super().get_sink(
            stream_name,
            record=record,
            schema=schema,
            key_properties=key_properties,
        )

    def process_endofpipe(self) -> None:
        """Drain everything, then log one summary line per stream."""
        try:
            super().process_endofpipe()
        finally:
            for stream, stats in self.stats.items():
                self.logger.info("Summary: %s", stats.summary(stream))
            self.destination.dispose()
            self.workspace.close()


if __name__ == "__main__":
    TargetSequenced.cli()
