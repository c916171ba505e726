"""Payloads applied to the destination, committed before the reply, concurrent ones together.

A 2xx means committed: the request's records are in the destination's
tables (or, with ``on_invalid_record: reject``, in ``_sdc_rejected``) when
the server answers, so a batch that got a 2xx survives anything that happens
to the process afterwards, and one that got an error left nothing behind.
There is no spool to lose or to replay.

The loading is the stdin path's: a loading core
(:class:`~target_sequenced.core.loader.Loader`) fed by
:class:`~target_sequenced.importapi.loading.PayloadLoader`, each request one
input line of it. The server has no loading or validation rules of its own.

**Group commit.** Requests for one table are applied one group after
another. While a group loads, the requests that arrive for its table wait;
the next group takes all of them (up to ``batch_size_rows`` records, so the
group is one transaction) and commits them together, and each request is
answered when its group has committed. A request whose payload breaks the
API's rules is taken back alone (its line added nothing); one whose record
breaks a loading rule stops the group there: the requests before it commit,
it is refused, and the ones after it go on in the next group. A destination
that fails fails the whole group (503), of which nothing was written.

**Concurrency.** Each of ``workers`` open destinations keeps its core from
group to group (compiled streams, workspace) until an error discards it.
Groups of different tables run side by side up to ``workers``; a push
naming several tables is a group of its own, its tables locked in name
order. Across processes (several servers in front of one PostgreSQL
database) the database applies the sequence guard in each upsert (contract
section 3), so the tables stay correct whatever order loads commit in.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import queue
import threading
import typing as t
from dataclasses import dataclass, field

from target_sequenced.core.batches import index_of
from target_sequenced.core.errors import InputError, PayloadError
from target_sequenced.core.loader import Loader
from target_sequenced.destinations import open_destination
from target_sequenced.importapi.loading import PayloadLoader
from target_sequenced.importapi.plain import PlainPayload

if t.TYPE_CHECKING:
    import logging

    from target_sequenced.core.streams import LoadSettings
    from target_sequenced.destinations.sql import SqlDestination
    from target_sequenced.importapi.translate import Shape


NEVER = 2**62
"""A core's ``batch_size_rows`` here: it loads when its group ends, not before."""


@dataclass
class _Request:
    payload: object
    endpoint: Shape
    size: int
    table: str
    done: threading.Event = field(default_factory=threading.Event)
    records: int = 0
    error: BaseException | None = None
    line: int = 0

    def finish(self, error: BaseException | None = None) -> None:
        self.error = error
        self.done.set()


class _Worker:
    """One destination, and the core that last loaded through it (kept while nothing fails)."""

    def __init__(self, destination: SqlDestination) -> None:
        self.destination = destination
        self.core: Loader | None = None
        self.payloads: PayloadLoader | None = None
        self.lines = 0

    def fresh(self, settings: LoadSettings, logger: logging.Logger) -> tuple[Loader, PayloadLoader]:
        if self.core is None or self.payloads is None:
            self.core = Loader(
                self.destination, settings, emit_state=_no_state, logger=logger, locate=_in_request
            )
            self.payloads = PayloadLoader(self.core)
        return self.core, self.payloads

    def discard(self) -> None:
        """After a stop or a failure: the next group gets a new core."""
        if self.core is not None:
            self.core.close(keep_destination=True)
        self.core = self.payloads = None


class Applier:
    """A pool of open destinations, each with its core; a queue and a lock per table."""

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
        """Open ``workers`` destinations (each connects on first use).

        ``settings.batch_size_rows`` caps a group; the cores load only at a
        group's end, so that a group is one transaction.
        """
        self.group_rows = settings.batch_size_rows
        self.settings = dataclasses.replace(settings, batch_size_rows=NEVER)
        self.logger = logger
        self._free: queue.Queue[_Worker] = queue.Queue()
        self._all = [
            _Worker(open_destination(url, schema, logger, retry_seconds=retry_seconds))
            for _ in range(workers)
        ]
        for worker in self._all:
            self._free.put(worker)
        self._locks: dict[str, threading.Lock] = {}
        self._waiting: dict[str, collections.deque[_Request]] = collections.defaultdict(
            collections.deque
        )
        self._guard = threading.Lock()

    def apply(self, payload: object, tables: t.Iterable[str], endpoint: Shape) -> int:
        """Load one payload; its record count once committed. Raises what the core raises.

        ``payload``: the body parsed, or a :class:`~target_sequenced.importapi.plain.PlainPayload`.
        """
        names = sorted(set(tables))
        request = _Request(payload, endpoint, _size(payload), names[0] if names else "")
        if len(names) != 1:
            with self._locked(names):
                self._run([request])
        else:
            (table,) = names
            with self._guard:
                self._waiting[table].append(request)
            while not request.done.is_set():
                with self._locked(names):
                    group = self._take(table)
                    if group:
                        self._run(group)
        if request.error is not None:
            raise request.error
        return request.records

    def _take(self, table: str) -> list[_Request]:
        """The table's waiting requests, oldest first, as many as one transaction holds."""
        group: list[_Request] = []
        size = 0
        with self._guard:
            waiting = self._waiting[table]
            while waiting and (not group or size + waiting[0].size <= self.group_rows):
                request = waiting.popleft()
                group.append(request)
                size += request.size
        return group

    def _run(self, group: list[_Request]) -> None:
        """Load a group in one core and commit it; answer each request, or put it back."""
        with self._worker() as worker:
            added = self._add(worker, group)
            if added is not None:
                self._commit(worker, added)

    def _add(self, worker: _Worker, group: list[_Request]) -> list[_Request] | None:
        """Each request's payload into the core; the ones added (None: the core failed)."""
        core, payloads = worker.fresh(self.settings, self.logger)
        added: list[_Request] = []
        for request in group:
            worker.lines += 1
            request.line = worker.lines
            core.arrivals.receiving(request.line)
            try:
                request.records = payloads.load(
                    request.payload, request.line, endpoint=request.endpoint
                )
            except PayloadError as exc:
                request.finish(exc)  # taken back whole; the others go on
                continue
            except BaseException as exc:  # noqa: BLE001 - handed to the request's caller
                # Nothing is committed before the group's finish: this request
                # fails, the ones added before it wait for the next group.
                worker.discard()
                request.finish(exc)
                self._wait_again(added)
                return None
            added.append(request)
        return added

    def _commit(self, worker: _Worker, added: list[_Request]) -> None:
        """The group's one transaction; then every request is answered or waits again."""
        assert worker.core is not None  # noqa: S101 - _add made it
        core = worker.core
        try:
            core.finish()
        except InputError as exc:
            # A record stopped the core at its line: what came before is committed.
            stopped = core.stopped_line
            worker.discard()
            for request in added:
                if stopped is None or request.line == stopped:
                    request.finish(exc)
                elif request.line < stopped:
                    request.finish()
            self._wait_again([r for r in added if stopped is not None and r.line > stopped])
            return
        except BaseException as exc:  # noqa: BLE001 - handed to the requests' callers
            worker.discard()  # nothing of the group was written
            for request in added:
                request.finish(exc)
            return
        for request in added:
            request.finish()

    def _wait_again(self, requests: list[_Request]) -> None:
        """Back at the head of their table's queue, in their order."""
        if requests:
            with self._guard:
                self._waiting[requests[0].table].extendleft(reversed(requests))

    @contextlib.contextmanager
    def _worker(self) -> t.Iterator[_Worker]:
        worker = self._free.get()
        try:
            yield worker
        finally:
            self._free.put(worker)

    @contextlib.contextmanager
    def _locked(self, tables: list[str]) -> t.Iterator[None]:
        with self._guard:
            locks = [self._locks.setdefault(name, threading.Lock()) for name in tables]
        with contextlib.ExitStack() as stack:
            for lock in locks:
                stack.enter_context(lock)
            yield

    def close(self) -> None:
        """Close every core and destination."""
        for worker in self._all:
            worker.discard()
            worker.destination.close()


def _size(payload: object) -> int:
    """Records a payload brings (its messages, or its push elements)."""
    if isinstance(payload, PlainPayload):
        return payload.count
    if isinstance(payload, dict):
        messages = payload.get("messages")
        return len(messages) if isinstance(messages, list) else 1
    return len(payload) if isinstance(payload, list) else 1


def _in_request(stream: str, arrival: int, _index: int) -> str:
    """Where a refused record came from: its index in its request.

    A request is one input line of a core that lives across requests, so the
    place among the line's records is the record's index in the request.
    """
    return f"stream '{stream}', record {index_of(arrival)}"


def _no_state(_value: object) -> None:
    """Payloads carry no STATE."""
