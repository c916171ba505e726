"""Which DuckDB errors a retry can cure: running out of the memory limit we set."""

from __future__ import annotations

import duckdb

_OUT_OF_MEMORY = ("Out of Memory", "could not allocate", "failed to allocate", "failed to pin")


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
    if isinstance(exc, duckdb.OutOfMemoryException):
        return True
    if isinstance(exc, (duckdb.TransactionException, duckdb.FatalException)):
        return any(marker in str(exc) for marker in _OUT_OF_MEMORY)
    return False


def transient(exc: BaseException) -> str | None:
    """DuckDB has one writer per file: only memory (handled by the limit's growth) is retried."""
    _ = exc
    return None


def lost_connection(exc: BaseException) -> bool:
    """An embedded database does not lose its connection."""
    _ = exc
    return False


def cannot_open(exc: BaseException) -> bool:
    """The file could not be opened (a missing directory, a lock held by another process)."""
    err = getattr(exc, "orig", None) or exc
    return isinstance(err, duckdb.IOException)
