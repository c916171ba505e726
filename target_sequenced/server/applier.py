"""Payloads applied to the destination: one core per request, committed before the reply.

A 2xx means committed: the request's records are in the destination's
tables (or, with ``on_invalid_record: reject``, in ``_sdc_rejected``) when
the server answers, so a batch that got a 2xx survives anything that happens
to the process afterwards, and one that got an error left nothing behind.
There is no spool to lose or to replay.

Each request gets a fresh loading core (:class:`~target_sequenced.core.loader.Loader`)
over one of ``workers`` open destinations, the same core the stdin path
uses, fed by the same :class:`~target_sequenced.importapi.loading.PayloadLoader`:
the server has no loading or validation rules of its own. The payload is the
core's only input line, so any refusal leaves nothing of it written.

Requests for one table are applied one after another (a lock per table, taken
in name order when a push names several), so they do not fight over its rows.
Requests for different tables run side by side up to ``workers``. Across
processes (several servers in front of one PostgreSQL database) the database
applies the sequence guard in each upsert (contract section 3), so the
tables stay correct whatever order their loads commit in.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import typing as t
from dataclasses import dataclass

from target_sequenced.core.loader import Loader
from target_sequenced.destinations import open_destination
from target_sequenced.importapi.loading import PayloadLoader

if t.TYPE_CHECKING:
    import logging

    from target_sequenced.core.streams import LoadSettings
    from target_sequenced.destinations.sql import SqlDestination
    from target_sequenced.importapi.translate import Shape


@dataclass(frozen=True)
class Applied:
    """What a request did: its records, and the tables' counters."""

    records: int
    summaries: tuple[str, ...]


class Applier:
    """A pool of open destinations and one lock per table."""

    def __init__(
        self,
        url: str,
        schema: str | None,
        settings: LoadSettings,
        logger: logging.Logger,
        *,
        workers: int,
        retry_seconds: float,
    ) -> None:
        """Open ``workers`` destinations (each connects on first use)."""
        self.settings = settings
        self.logger = logger
        self._free: queue.Queue[SqlDestination] = queue.Queue()
        self._all = [
            open_destination(url, schema, logger, retry_seconds=retry_seconds)
            for _ in range(workers)
        ]
        for destination in self._all:
            self._free.put(destination)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def apply(
        self, payload: object, text: str | None, tables: t.Iterable[str], endpoint: Shape
    ) -> Applied:
        """Load one payload, committed when this returns; raises what the core raises.

        ``text``: the body as received, when its numbers survive DuckDB's
        reading (:func:`~target_sequenced.core.exact.parse_noting`), else None.
        """
        with self._tables_locked(sorted(set(tables))), self._destination() as destination:
            core = Loader(destination, self.settings, emit_state=_no_state, logger=self.logger)
            try:
                core.receiving(1)
                records = PayloadLoader(core).load(payload, 1, text, endpoint=endpoint)
                core.finish()
                summaries = tuple(stats.summary(name) for name, stats in core.stats.items())
                return Applied(records, summaries)
            finally:
                core.close(keep_destination=True)

    @contextlib.contextmanager
    def _destination(self) -> t.Iterator[SqlDestination]:
        destination = self._free.get()
        try:
            yield destination
        finally:
            self._free.put(destination)

    @contextlib.contextmanager
    def _tables_locked(self, tables: list[str]) -> t.Iterator[None]:
        with self._guard:
            locks = [self._locks.setdefault(name, threading.Lock()) for name in tables]
        with contextlib.ExitStack() as stack:
            for lock in locks:
                stack.enter_context(lock)
            yield

    def close(self) -> None:
        """Close every destination."""
        for destination in self._all:
            destination.close()


def _no_state(_value: object) -> None:
    """Payloads carry no STATE."""
