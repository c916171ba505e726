"""One transaction per load, run again when the database says a retry can cure it.

A deadlock, a serialization failure, a DDL race with a concurrent creator, a
connection the server closed (a restart) or cannot accept yet, a DuckDB file
another process has open: the
transaction committed nothing, and replaying a load changes nothing, so it
runs again after a backoff, each time logged at WARNING, until it succeeds or
``retry_seconds`` have passed. A lost connection is only retried once this
process has connected: a wrong host, port or password fails at once.
DuckDB refusing work for want of memory under a limit we set reconnects with
twice the limit (:mod:`target_sequenced.destinations.memory`); the system
refusing memory stops the run (:class:`OutOfMemoryError`, exit 4).
"""

from __future__ import annotations

import random
import time
import typing as t

import sqlalchemy as sa

from target_sequenced.core.errors import DestinationError, OutOfMemoryError

if t.TYPE_CHECKING:
    import logging

    from sqlalchemy.engine import Connection, Engine

    from target_sequenced.destinations.capabilities import Capabilities
    from target_sequenced.destinations.memory import MemoryLimit

T = t.TypeVar("T")
FIRST_DELAY = 0.1
MAX_DELAY = 5.0


def driver_error(exc: BaseException) -> BaseException:
    """The driver's own error inside an SQLAlchemy wrapper, or ``exc`` itself."""
    if isinstance(exc, sa.exc.DBAPIError) and exc.orig is not None:
        return exc.orig
    return exc


def first_line(exc: BaseException) -> str:
    """The first line of an error's message (drivers add context lines)."""
    text = str(driver_error(exc)).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class Transactions:
    """Runs work in transactions on one engine, retrying what may succeed again."""

    def __init__(
        self,
        caps: Capabilities,
        engine: t.Callable[[], Engine],
        discard: t.Callable[[], None],
        memory: MemoryLimit,
        logger: logging.Logger,
        *,
        retry_seconds: float,
        sleep: t.Callable[[float], None] = time.sleep,
    ) -> None:
        """``engine`` gives the engine (made anew after ``discard``)."""
        self.caps = caps
        self._engine = engine
        self._discard = discard
        self.memory = memory
        self.logger = logger
        self.retry_seconds = retry_seconds
        self._sleep = sleep
        self.connected = False

    @property
    def errors(self) -> tuple[type[Exception], ...]:
        """What a transaction's failure can raise."""
        return (sa.exc.DBAPIError, *self.caps.driver_errors)

    def run(self, work: t.Callable[[Connection], T], *, table: str, what: str) -> T:
        """Run ``work`` in one transaction; :class:`DestinationError` when it cannot commit."""
        start = time.monotonic()
        attempt = 0
        while True:
            try:
                with self._engine().begin() as conn:
                    result = work(conn)
            except self.errors as exc:
                if self._grow_memory(exc):
                    continue
                refused = self._find(exc, self._refused_memory)
                if refused is not None:
                    raise OutOfMemoryError.from_exception(refused) from exc
                if self._find(exc, self.caps.is_out_of_memory) is not None:
                    # The database's limit, which cannot grow (the URL's, or its default).
                    said = f"table '{table}': {what} was rolled back: {first_line(exc)}"
                    raise OutOfMemoryError(said) from exc
                reason = self.caps.transient(exc)
                lost = self.caps.lost_connection(exc)
                elapsed = time.monotonic() - start
                unreachable = lost or self.caps.cannot_open(exc)
                if not self.connected and unreachable:
                    raise DestinationError(
                        f"cannot reach the destination: {first_line(exc)}",
                        remedy="check sqlalchemy_url: host, port, user, password, path",
                    ) from exc
                if reason is None or elapsed >= self.retry_seconds:
                    raise DestinationError(
                        f"table '{table}': {what} was rolled back: {first_line(exc)}",
                        remedy=""
                        if reason is None
                        else f"still {reason} after {self.retry_seconds:g} s; a larger "
                        "retry_seconds waits longer",
                    ) from exc
                attempt += 1
                delay = min(MAX_DELAY, FIRST_DELAY * 2**attempt) * (0.5 + random.random())  # noqa: S311
                delay = min(delay, max(self.retry_seconds - elapsed, 0.0))
                self.logger.warning(
                    "table '%s': %s failed on %s (%s); nothing was committed, running it "
                    "again in %.1f s (attempt %d, giving up %d s after the first)",
                    table,
                    what,
                    reason,
                    first_line(exc),
                    delay,
                    attempt + 1,
                    self.retry_seconds,
                )
                if lost or unreachable:
                    self._discard()
                self._sleep(delay)
                continue
            self.connected = True
            return result

    def _grow_memory(self, exc: BaseException) -> bool:
        """Reconnect with a larger memory limit if the database ran out of ours."""
        reason = self._find(exc, self.caps.is_out_of_memory)
        if reason is None:
            return False
        was = self.memory.describe()
        if not self.memory.grow():
            return False
        self.logger.warning(
            "The database ran out of its memory limit (%s); nothing was committed. "
            "Reconnecting with %s and running the transaction again. Error: %s",
            was,
            self.memory.describe(),
            str(reason).splitlines()[0],
        )
        self._discard()
        return True

    def _refused_memory(self, err: BaseException) -> bool:
        return isinstance(err, MemoryError) or self.caps.refused_by_machine(err)

    @staticmethod
    def _find(
        exc: BaseException, matches: t.Callable[[BaseException], bool]
    ) -> BaseException | None:
        """The error behind ``exc`` that ``matches`` (out of memory, say), if any.

        Also found among the errors ``exc`` happened during: once a statement
        runs out of memory, the clean-up that follows it in the same
        transaction (unregistering a scan, say) fails with "transaction is
        aborted", and that is the error that reaches us.
        """
        seen: set[int] = set()
        todo: list[BaseException | None] = [exc]
        while todo:
            err = todo.pop()
            if err is None or id(err) in seen:
                continue
            seen.add(id(err))
            if matches(err):
                return err
            todo += [driver_error(err), err.__cause__, err.__context__]
        return None
