"""The destination's memory limit: small at first, raised when a load needs more.

An embedded database (DuckDB) caches table blocks and sizes its checkpoints
by its memory limit, which defaults to most of the machine's memory. Left
there, the process grew with the table (bench scenario d). Starting at
:data:`START` (and dropping the workspace's buffer table after each take), it
stays flat, at the same speed (bench/README.md, "Measured choices").

A limit can be too small for a large table: the database then refuses a
statement (out of memory), the transaction rolls back, and the destination
reconnects with twice the limit and runs the transaction again (see
``Destination``). Growth stops at the database's own default. A limit set in
the URL (``?memory_limit=...``) is the user's: it is never changed.
"""

from __future__ import annotations

import os
import re
import typing as t

if t.TYPE_CHECKING:
    from sqlalchemy.engine import URL

    from target_sequenced.destinations.capabilities import Capabilities

START = 64 * 2**20
"""Bytes the limit starts at (64 MiB)."""

_UNITS = {"": 1, "b": 1, "byte": 1, "bytes": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_UNITS |= {"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40, "pib": 2**50}
_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-z]*)\s*")


def parse_size(text: str) -> int:
    """Bytes of a size as databases print it (``18.8 GiB``, ``64MB``, ``1000 bytes``)."""
    match = _SIZE.fullmatch(text.lower())
    if match is None or match.group(2) not in _UNITS:
        msg = f"not a size: {text!r}"
        raise ValueError(msg)
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def physical_memory() -> int | None:
    """Bytes of memory the machine has (None where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


class MemoryLimit:
    """The limit this process applies to the destination, and its growth."""

    def __init__(self, caps: Capabilities, url: URL, start: int = START) -> None:
        """Ours to set unless the dialect has no such setting or the URL sets one."""
        names = caps.memory_limit_settings
        ours = bool(names) and not any(name in url.query for name in names)
        self.setting = names[0] if names else ""
        self.bytes: int | None = start if ours else None
        """The limit applied at the next connection; None: not ours to set, or
        the database's default."""
        self._default: int | None = None

    def _stop_at_default(self) -> None:
        """Past the database's default (or, before it is known, the machine's memory): off."""
        ceiling = self._default if self._default is not None else physical_memory()
        if self.bytes is not None and ceiling is not None and self.bytes >= ceiling:
            self.bytes = None

    def on_connect(self, dbapi_connection: t.Any, _record: object = None) -> None:  # noqa: ANN401
        """Apply the limit to a new connection (an SQLAlchemy ``connect`` listener)."""
        if self.bytes is None:
            return
        if self._default is None:
            [(value,)] = dbapi_connection.execute(
                f"SELECT current_setting('{self.setting}')",
            ).fetchall()
            self._default = parse_size(str(value))
        self._stop_at_default()
        if self.bytes is None:
            return
        dbapi_connection.execute(f"SET {self.setting} = '{self.bytes:d}B'").fetchall()

    def grow(self) -> bool:
        """Double the limit for the next connection; False when it is not ours or already off."""
        if self.bytes is None:
            return False
        self.bytes *= 2
        self._stop_at_default()
        return True

    def describe(self) -> str:
        """The limit in words, for log lines."""
        if self.bytes is None:
            return "the database's default"
        return f"{self.bytes / 2**20:.0f} MiB"
