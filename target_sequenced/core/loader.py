"""The loading core: streams, their buffers, loads, STATE, and stopping at bad input.

Adapters (the Singer target, the Import API, the HTTP server) feed it SCHEMA
information, batches of RECORD messages (:mod:`.batches`), ACTIVATE_VERSION
and STATE, each with its arrival; the loader does the rest. It knows nothing
of the SDK or of where lines come from.

Stopping (contract 7): an invalid record under ``on_invalid_record: fail``
marks a stop at its line. At the next :meth:`Loader.settle` (the adapter
calls it before anything with effects, and after each group of batches)
everything that arrived before that line is committed, the STATE that
covers it is emitted, and the record's error is raised; nothing of the line
or after it is written. Under ``reject`` the record goes to ``_sdc_rejected``
in the transaction of its stream's next load, and the run goes on. On a
server, a load the run goes on after commits in a thread (:mod:`.inflight`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import typing as t
from dataclasses import dataclass

from target_sequenced.core.batches import Arrivals, arrival, line_of
from target_sequenced.core.buffer import MalformedError
from target_sequenced.core.checks import Rules
from target_sequenced.core.errors import (
    InvalidRecordError,
    MissingKeyError,
    RecordBeforeSchemaError,
    out_of_memory_while,
)
from target_sequenced.core.inflight import InFlight
from target_sequenced.core.progress import Progress
from target_sequenced.core.sequences import SequenceClock
from target_sequenced.core.states import PendingStates
from target_sequenced.core.stats import StreamStats
from target_sequenced.core.streams import LoadSettings, Stream, make_stream
from target_sequenced.core.verdicts import Locate, explain, remedy_of, where
from target_sequenced.core.workspace import Workspace

if t.TYPE_CHECKING:
    import logging

    from target_sequenced.core.batches import Batch
    from target_sequenced.core.destination import Destination, LoadResult

Whole = t.Callable[[list[int]], None]
"""Told the arrivals the checks refused in an all-or-nothing batch; raises to refuse it whole."""


SINGER_RULES = Rules()
"""Singer input: the schema's draft (guessed when it names none), formats as annotations."""


@dataclass
class _Stop:
    at: int
    error: Exception


class Loader:
    """Streams, buffers and loads of one run into one destination."""

    def __init__(
        self,
        destination: Destination,
        settings: LoadSettings,
        *,
        emit_state: t.Callable[[t.Any], None],
        logger: logging.Logger,
        workspace: Workspace | None = None,
        locate: Locate = where,
    ) -> None:
        """Nothing is read or created until the first SCHEMA."""
        self.destination = destination
        self.settings = settings
        self.emit_state = emit_state
        self.logger = logger
        self.workspace = workspace or Workspace()
        self.locate = locate
        self.clock = SequenceClock()
        self.streams: dict[str, Stream] = {}
        self.stats: dict[str, StreamStats] = {}
        self.active_versions: dict[str, int] = {}
        self.overwritten: set[str] = set()
        self.states = PendingStates()
        self._stop: _Stop | None = None
        self.arrivals = Arrivals()
        self.progress = Progress(settings.progress_seconds, logger)
        self.in_flight = InFlight()

    # -- what adapters send --------------------------------------------------

    def schema(
        self,
        stream: str,
        schema: t.Mapping[str, t.Any],
        key_properties: t.Sequence[str],
        *,
        at: int,
        rules: Rules = SINGER_RULES,
    ) -> None:
        """A stream's schema, key and rules; a change first loads what the old ones buffered."""
        existing = self.streams.get(stream)
        key = tuple(key_properties or ())
        if (
            existing is not None
            and existing.plan.schema == schema
            and existing.plan.key_properties == key
            and existing.rules == rules
        ):
            return
        self.settle()
        self.in_flight.wait()  # the stored table, as a commit running leaves it
        if existing is not None:
            self._load(existing)
        self.streams[stream] = make_stream(
            stream,
            schema,
            key,
            at=at,
            rules=rules,
            settings=self.settings,
            destination=self.destination,
            workspace=self.workspace,
            stats=self.stats.setdefault(stream, StreamStats()),
            existing=existing,
            logger=self.logger,
        )

    def stream(self, stream: str) -> Stream | None:
        """What the core holds of a stream (to :meth:`restore` after a refused payload)."""
        return self.streams.get(stream)

    def restore(self, stream: str, held: Stream | None) -> None:
        """Back to a stream as :meth:`stream` gave it: a refused payload's SCHEMA is undone.

        Its records are already taken back (``add(whole=...)``); what a SCHEMA
        change loaded before them stays loaded, as it came before the payload.
        """
        current = self.streams.get(stream)
        if current is not None and current is not held:
            current.buffer.drop()
        if held is None:
            self.streams.pop(stream, None)
        else:
            self.streams[stream] = held

    def open_soon(self, *, create: bool = False) -> None:
        """Open destination (``create``: a file not made yet too) and workspace, in threads."""
        if (opener := getattr(self.destination, "open_soon", None)) is not None:
            opener(create=create)
        self.workspace.open_soon()

    def knows(self, stream: str) -> bool:
        """Whether the stream had its SCHEMA."""
        return stream in self.streams

    def require(self, stream: str, *, at: int) -> None:
        """Raise :class:`InputError` unless the stream had its SCHEMA."""
        if stream not in self.streams:
            msg = (
                f"input line {line_of(at)}: a RECORD for stream '{stream}' came before its "
                "SCHEMA message"
            )
            raise RecordBeforeSchemaError(
                msg, remedy="the tap must send a SCHEMA message for each stream first"
            )

    def buffered(self) -> int:
        """Rows waiting in every stream's buffer."""
        return sum(len(s.buffer) for s in self.streams.values())

    def room(self, stream: str) -> int:
        """Records the buffers take before the next load."""
        _ = stream
        return max(self.settings.batch_size_rows - self.buffered(), 1)

    def add(self, stream: str, batch: Batch, *, whole: Whole | None = None) -> bool:
        """Parse a batch of the stream's RECORD messages into its buffer.

        Returns False, keeping nothing, when the batch holds another count of
        the stream's RECORDs than ``batch.count``, or a line that is not JSON
        (the caller then sends its lines one by one). Raises
        :class:`InputError` for a stream without a SCHEMA.

        ``whole``: the batch is one payload, all or nothing. When the checks
        refuse any of its records, ``whole`` is called first: if it raises, the
        batch is taken back entirely and the error propagates; if it returns,
        the refusals follow ``on_invalid_record`` as any record's do.
        """
        low, _ = batch.bounds
        self.require(stream, at=low)
        state = self.streams[stream]
        if self._stop is not None and low >= self._stop.at:
            return True
        with self.workspace.readable(batch) as readable:
            added = self._add(state, readable, whole)
        self.progress.tick(self.stats)
        return added

    def _add(self, state: Stream, batch: Batch, whole: Whole | None) -> bool:
        stream = state.name
        comparable = self.settings.sequence_sources_comparable
        source = None if comparable else state.source
        ignored_before = state.stats.ignored_old_version
        reading = f"reading stream '{stream}' at input line {line_of(batch.bounds[0])}"
        try:
            with out_of_memory_while(reading):
                added = state.buffer.add(
                    batch,
                    stream=stream,
                    clock=self.clock.reserve(batch.positions),
                    received_at=dt.datetime.now(tz=dt.timezone.utc),
                    active_version=self.active_versions.get(stream),
                    source=source,
                    first_decides=not comparable,
                )
        except MalformedError:
            # Nothing of the batch was kept: its lines go one by one, the good
            # ones are kept and the bad one is named (and stops the run).
            return False
        if added.mismatched:
            return False
        if added.invalid and whole is not None:
            try:
                whole(added.invalid)
            except Exception:
                ignored = state.stats.ignored_old_version - ignored_before
                state.buffer.withdraw(batch.bounds, added, ignored)
                raise
        if added.invalid:
            base = state.stats.received - added.received
            indexes = {a: base + i for a, i in added.indexes.items()}
            self._refused(state, batch, added.invalid, indexes, added.source)
        if state.source is None:
            state.source = state.buffer.first_source()
        if len(state.buffer):
            self.open_soon(create=True)  # a commit follows: its connection opens meanwhile
        if self.buffered() >= self.settings.batch_size_rows and self._stop is None:
            self._load_all()
        return True

    def _load_all(self) -> None:
        """Load every stream's buffer, the one holding the oldest record first.

        The buffers fill together (``batch_size_rows`` counts them all), so a
        STATE that came after their records is safe after this round.
        """
        waiting = [s for s in self.streams.values() if len(s.buffer) or s.rejected]
        for state in sorted(waiting, key=lambda s: s.buffer.oldest or 0):
            self._load(state, soon=True)

    def _refused(
        self,
        state: Stream,
        batch: Batch,
        arrivals: list[int],
        indexes: dict[int, int],
        source: str | None,
    ) -> None:
        found = explain(
            self.workspace,
            state.buffer,
            batch,
            arrivals,
            indexes,
            stream=state.name,
            table=state.plan.table,
            source=source,
            locate=self.locate,
        )
        state.buffer.discard(arrivals)
        if self.settings.on_invalid_record == "reject":
            state.rejected += found
            state.stats.rejected += len(found)
            for invalid in found:
                self.logger.warning("Rejected: %s", invalid.message)
            return
        first = found[0]
        kind = MissingKeyError if first.missing_key else InvalidRecordError
        self.stop_at(
            arrival(line_of(first.arrival)), kind(first.message, remedy=remedy_of(first.message))
        )

    def activate_version(self, stream: str, version: int, *, at: int) -> None:
        """ACTIVATE_VERSION: load the buffer, then retire older versions' rows (contract 5)."""
        _ = at
        self.settle()
        state = self.streams.get(stream)
        if state is None:
            msg = (
                f"input line {line_of(at)}: ACTIVATE_VERSION for stream '{stream}' "
                "came before its SCHEMA"
            )
            raise RecordBeforeSchemaError(msg)
        self._load(state)
        active = self.active_versions.get(stream)
        self.active_versions[stream] = max(active or version, version)
        state.stats.deleted += self.destination.activate_version(
            state.plan, version, hard_delete=self.settings.hard_delete
        )

    def state(self, value: t.Any, *, at: int) -> None:  # noqa: ANN401 - any JSON value
        """A STATE message: emitted once everything before it is committed."""
        if self._stop is not None and at > self._stop.at:
            return
        self.states.received(at, value)
        if not any(len(s.buffer) or s.rejected for s in self.streams.values()):
            self._emit()

    def stop_at(self, at: int, error: Exception) -> None:
        """Stop the run at arrival ``at`` (the earliest stop wins) with ``error``."""
        if self._stop is None or at < self._stop.at:
            self._stop = _Stop(at, error)

    @property
    def stopped_line(self) -> int | None:
        """The input line the run stops at (None: no stop)."""
        return None if self._stop is None else line_of(self._stop.at)

    def settle(self) -> None:
        """Act on a pending stop: commit what arrived before it, emit its STATE, raise."""
        stop = self._stop
        if stop is None:
            return
        self.states.before(stop.at)
        for state in self.streams.values():
            self._load(state, before=stop.at)
        self._emit()
        self.log_summary()  # what was committed before the stop, rejected records too
        raise stop.error

    def log_summary(self) -> None:
        """One summary line per stream: what the run did to its table."""
        for stream, stats in self.stats.items():
            self.logger.info("Summary: %s", stats.summary(stream))

    def finish(self) -> None:
        """End of input: load everything, emit the last STATE."""
        self.settle()
        for state in self.streams.values():
            self._load(state)
        self._emit()

    def close(self, *, keep_destination: bool = False) -> None:
        """Free the workspace; close the destination unless it is kept for the next core."""
        with contextlib.suppress(Exception):  # a run that ends in an error: its commit's moot
            self.in_flight.wait()
        try:
            for state in self.streams.values():
                with contextlib.suppress(Exception):
                    state.buffer.drop()
            self.workspace.close()
        finally:
            if not keep_destination:
                self.destination.close()

    # -- loads -----------------------------------------------------------------

    def _load(self, state: Stream, before: int | None = None, *, soon: bool = False) -> None:
        """Load the stream's buffer (and, the first time, create its table even if empty).

        ``soon``: the run goes on at once, so a server's commit runs apart (:mod:`.inflight`).
        """
        self.in_flight.wait()
        replace_all = (
            self.settings.load_method == "overwrite" and state.name not in self.overwritten
        )
        oldest = state.buffer.oldest
        load = state.next_load(
            before, replace_all=replace_all, hard_delete=self.settings.hard_delete
        )
        if load is None:
            return
        since = f" (its records from input line {line_of(oldest)})" if oldest is not None else ""

        def commit() -> LoadResult:
            with out_of_memory_while(f"loading stream '{state.name}'{since}"):
                return self.destination.load(load)

        def landed(done: LoadResult) -> None:
            state.loaded(load, done)
            if replace_all:
                self.overwritten.add(state.name)
            self._emit()

        apart = soon and getattr(self.destination, "commits_apart", False)
        self.in_flight.run(commit, landed, oldest, apart=apart)

    def _emit(self) -> None:
        waiting = [s.buffer.oldest for s in self.streams.values() if s.buffer.oldest is not None]
        waiting += [r.arrival for s in self.streams.values() for r in s.rejected]
        waiting += [] if self.in_flight.oldest is None else [self.in_flight.oldest]
        value = self.states.safe(min(waiting) if waiting else None)
        if value is not None:
            self.emit_state(value)
