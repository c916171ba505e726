"""The Singer target: the SDK's command line, settings and message handling, over the core."""

from __future__ import annotations

import copy
import typing as t

from singer_sdk.helpers.capabilities import PluginCapabilities, TargetCapabilities
from singer_sdk.target_base import Target

from target_sequenced.core.errors import ConfigError
from target_sequenced.core.loader import Loader
from target_sequenced.destinations import open_destination
from target_sequenced.importapi.loading import PayloadLoader
from target_sequenced.singer import settings
from target_sequenced.singer.reader import LineReader
from target_sequenced.singer.sink import SequencedSink

if t.TYPE_CHECKING:
    from pathlib import PurePath


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
        # The SDK stops at its JSON Schema errors; ours adds unknown settings and
        # the checks a schema cannot say, and reports them all together.
        super().__init__(
            config=config, parse_env_config=parse_env_config, validate_config=False, **kwargs
        )
        if validate_config:
            self.check_settings(self.config)
        destination = open_destination(
            self.config.get("sqlalchemy_url") or settings.DEFAULT_URL,
            self.config.get("default_target_schema"),
            self.logger,
            retry_seconds=float(self.config.get("retry_seconds", settings.DEFAULT_RETRY_SECONDS)),
        )
        self.core = Loader(
            destination,
            settings.load_settings(self.config),
            emit_state=self._write_state_message,
            logger=self.logger,
        )
        # Sinks hand records to the core one after another.
        self.max_parallelism = 1
        mapped = bool(self.config.get("stream_maps") or self.config.get("flattening_enabled"))
        if isinstance(self.message_reader, LineReader):
            self.message_reader.bind(
                self.core,
                PayloadLoader(self.core),
                bulk=not mapped,
                flush=self._flush_sinks,
                counted=self._count_records,
            )

    @classmethod
    def check_settings(cls, config: t.Mapping[str, t.Any]) -> None:
        """Every problem with the settings at once (:class:`ConfigError`), the SDK's own too.

        The command and ``target-sequenced serve`` both read their settings through it.
        """
        schema = copy.deepcopy(cls.config_jsonschema)
        cls.append_builtin_config(schema)
        problems = settings.problems(config, schema)
        if problems:
            raise ConfigError("Config validation failed: " + "; ".join(problems), errors=problems)

    @classmethod
    def append_builtin_config(cls, config_jsonschema: dict) -> None:
        """Add the SDK's standard settings, less ``add_record_metadata``.

        System columns are part of the sequencing contract, so they cannot be
        turned off.
        """
        super().append_builtin_config(config_jsonschema)
        config_jsonschema["properties"].pop("add_record_metadata", None)

    def _count_records(self, stream: str, count: int) -> None:
        """Records that reached the core without the SDK's handler: its metric counts them too."""
        sink = self._sinks_active.get(stream)
        if sink is not None:
            sink.record_counter_metric.increment(count)

    def _flush_sinks(self) -> None:
        for sink in self._sinks_active.values():
            if isinstance(sink, SequencedSink):
                sink.flush()

    def process_endofpipe(self) -> None:
        """Load everything, emit the last STATE, then log one summary line per stream."""
        try:
            self._flush_sinks()
            self.core.finish()
            super().process_endofpipe()
        finally:
            self.core.log_summary()
            self.core.close()
