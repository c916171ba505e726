"""The destinations: one folder per dialect, each holding all of that dialect's SQL.

:func:`open_destination` picks one from a SQLAlchemy URL. ``postgresql://``
and ``postgres://`` mean the installed psycopg 3 driver.
"""

from __future__ import annotations

import importlib
import typing as t

import sqlalchemy as sa

from target_sequenced.core.errors import ConfigError
from target_sequenced.destinations.sql import DEFAULT_RETRY_SECONDS, SqlDestination

if t.TYPE_CHECKING:
    import logging

    from target_sequenced.destinations.capabilities import Capabilities

_MODULES = {
    "duckdb": "target_sequenced.destinations.duckdb",
    "postgresql": "target_sequenced.destinations.postgres",
}
_DRIVERS = {"postgresql": "psycopg"}


def supported() -> list[str]:
    """Backend names accepted in ``sqlalchemy_url``."""
    return sorted(_MODULES)


def parse_url(url: str) -> sa.URL:
    """The URL, with ``postgres://`` and a driverless ``postgresql://`` meaning psycopg 3.

    Raises ConfigError for a URL SQLAlchemy cannot read or a dialect we do not load into.
    """
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as exc:
        msg = f"sqlalchemy_url: '{url}' is not a SQLAlchemy URL"
        raise ConfigError(msg) from exc
    backend = parsed.get_backend_name()
    if backend not in _MODULES:
        names = ", ".join(supported())
        msg = f"sqlalchemy_url: dialect '{backend}' is not supported; use one of {names}"
        raise ConfigError(msg)
    if backend in _DRIVERS and "+" not in parsed.drivername:
        parsed = parsed.set(drivername=f"{backend}+{_DRIVERS[backend]}")
    return parsed


def capabilities_for(backend: str) -> Capabilities:
    """The capabilities of a supported backend name."""
    return importlib.import_module(_MODULES[backend]).CAPABILITIES  # type: ignore[no-any-return]


def open_destination(
    url: str,
    schema: str | None,
    logger: logging.Logger,
    *,
    retry_seconds: float = DEFAULT_RETRY_SECONDS,
    memory_start: int | None = None,
) -> SqlDestination:
    """The destination a URL names (nothing connects yet)."""
    parsed = parse_url(url)
    return SqlDestination(
        parsed,
        capabilities_for(parsed.get_backend_name()),
        schema,
        logger,
        retry_seconds=retry_seconds,
        memory_start=memory_start,
    )
