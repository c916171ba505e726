"""A load committing in a thread while the next records are read: one at a time.

A database server (PostgreSQL) does a load's work in its own processes, and
the loader's thread only waits for it; meanwhile the next records can be
parsed. :class:`InFlight` runs one load's commit in a thread and hands its
result back on the loader's thread when the loader next waits for it, which
it does before anything else touches the destination or depends on what the
load did (another load, a SCHEMA, ACTIVATE_VERSION, a stop, the end). The
STATE a load makes safe is emitted only then, after its commit; until then
:attr:`InFlight.oldest` holds the earliest arrival it carries, so no STATE
after it passes (contract 7).

An embedded database (DuckDB) works on the loader's own cores and memory: its
loads stay on the loader's thread.
"""

from __future__ import annotations

import threading
import typing as t

if t.TYPE_CHECKING:
    from target_sequenced.core.destination import LoadResult


class InFlight:
    """At most one commit running in a thread."""

    def __init__(self) -> None:
        """Nothing runs until :meth:`start`."""
        self._thread: threading.Thread | None = None
        self._landed: t.Callable[[LoadResult], None] = lambda _result: None
        self._result: LoadResult | None = None
        self._error: BaseException | None = None
        self.oldest: int | None = None
        """The earliest arrival the running load carries (None: none runs)."""

    def run(
        self,
        commit: t.Callable[[], LoadResult],
        landed: t.Callable[[LoadResult], None],
        oldest: int | None,
        *,
        apart: bool,
    ) -> None:
        """After the running commit: ``landed(commit())`` now, or (``apart``) in a thread.

        Apart, :meth:`wait` hands the result to ``landed`` (or raises the error).
        """
        self.wait()
        if not apart:
            landed(commit())
            return

        def run() -> None:
            try:
                self._result = commit()
            except BaseException as exc:  # noqa: BLE001 - raised again by wait()
                self._error = exc

        self._landed, self.oldest = landed, oldest
        self._result = self._error = None
        self._thread = threading.Thread(target=run, name="target-sequenced-commit", daemon=True)
        self._thread.start()

    def wait(self) -> None:
        """Wait for the running commit: hand its result on, or raise its error."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        thread.join()
        self.oldest = None
        error, result = self._error, self._result
        self._error = self._result = None
        if error is not None:
            raise error
        self._landed(t.cast("LoadResult", result))
