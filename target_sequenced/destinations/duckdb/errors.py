"""DuckDB's errors: which a retry can cure, and which mean the machine refused memory."""

from __future__ import annotations

import duckdb

_OUT_OF_MEMORY = ("Out of Memory", "could not allocate", "failed to allocate", "failed to pin")
_MACHINE_REFUSED = ("bad allocation", "Allocation failure")
"""How DuckDB words an allocation the system refused, as opposed to its own limit."""


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether DuckDB refused work for want of memory under its limit.

    Besides ``OutOfMemoryException`` (a statement), a commit that cannot
    allocate fails as a ``TransactionException``, and a checkpoint that cannot
    invalidates the database: every later statement raises ``FatalException``
    naming the original error. In every case the transaction that raised did
    not commit (``CommitTransaction`` in DuckDB's
    ``duck_transaction_manager.cpp``: a failed commit is rolled back, and a
    commit whose checkpoint fails either returned success, its changes in the
    WAL, or skipped the WAL and reports the error), and only a new instance
    can run the next statement.
    """
    return _memory_error(exc) and not refused_by_machine(exc)


def refused_by_machine(exc: BaseException) -> bool:
    """Whether the system refused DuckDB an allocation (``ulimit -v``, a container's limit).

    A larger limit cannot help then: the run stops (exit 4), the load rolled back.
    """
    return _memory_error(exc) and any(marker in str(exc) for marker in _MACHINE_REFUSED)


def _memory_error(exc: BaseException) -> bool:
    if isinstance(exc, duckdb.OutOfMemoryException):
        return True
    if isinstance(exc, (duckdb.TransactionException, duckdb.FatalException)):
        return any(marker in str(exc) for marker in _OUT_OF_MEMORY)
    return False


def transient(exc: BaseException) -> str | None:
    """The file's lock, held by another process: DuckDB has one writer per file.

    The other run ends and lets go, so the open is tried again, up to
    ``retry_seconds``. (Memory is retried by the limit's growth, not here.)
    """
    err = getattr(exc, "orig", None) or exc
    if isinstance(err, duckdb.IOException) and "Could not set lock" in str(err):
        return "a lock on the file held by another process (DuckDB has one writer per file)"
    return None


def lost_connection(exc: BaseException) -> bool:
    """An embedded database does not lose its connection."""
    _ = exc
    return False


def cannot_open(exc: BaseException) -> bool:
    """The file could not be opened (a missing directory, no permission)."""
    err = getattr(exc, "orig", None) or exc
    return isinstance(err, duckdb.IOException) and transient(err) is None
