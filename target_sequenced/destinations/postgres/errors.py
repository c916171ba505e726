"""Which PostgreSQL errors a retry can cure.

A transaction that deadlocked or lost a serialization race, a connection the
server closed (a restart, ``pg_terminate_backend``) or could not accept yet
(starting up), and a DDL statement that lost a race with a concurrent
creator (``CREATE SCHEMA``/``CREATE TABLE IF NOT EXISTS`` or ``ADD COLUMN``
run by two writers at once) all fail without committing anything; replaying
a load changes nothing, so running it again is safe.
"""

from __future__ import annotations

import psycopg

_RETRY = {
    "40P01": "a deadlock",
    "40001": "a serialization failure",
    "23505": "a concurrent creator of the same object",
    "42P07": "a table created concurrently",
    "42P06": "a schema created concurrently",
    "42701": "a column added concurrently",
    "57P01": "the server shutting down the connection",
    "57P02": "the server shutting down the connection",
    "57P03": "the server not accepting connections yet",
    "25006": "a read-only server (a failover in progress)",
}


def _driver(exc: BaseException) -> BaseException:
    return getattr(exc, "orig", None) or exc


def _catalog_constraint(err: BaseException) -> bool:
    """Whether a unique violation is on a system catalog (two creators of one object)."""
    diag = getattr(err, "diag", None)
    name = getattr(diag, "constraint_name", None) or ""
    return name.startswith("pg_") or "pg_" in str(err).split("constraint", 1)[-1][:40]


def lost_connection(exc: BaseException) -> bool:
    """Whether the connection is gone: reconnect before retrying."""
    err = _driver(exc)
    state = getattr(err, "sqlstate", None) or ""
    if state.startswith("08") or state in ("57P01", "57P02", "57P03"):
        return True
    return isinstance(err, psycopg.OperationalError) and not state


def transient(exc: BaseException) -> str | None:
    """Why running the transaction again may succeed, or None."""
    err = _driver(exc)
    state = getattr(err, "sqlstate", None) or ""
    if state == "23505" and not _catalog_constraint(err):
        return None  # a user table's key: a retry would fail the same way
    if state in _RETRY:
        return _RETRY[state]
    if lost_connection(exc):
        return "a lost connection"
    if getattr(exc, "connection_invalidated", False):
        return "a lost connection"
    return None
