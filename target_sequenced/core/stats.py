"""Per-stream counters for the end-of-run summary."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class StreamStats:
    """What happened to the versions of one stream during a run.

    Each version is counted once, as if it had been loaded on its own: a
    version replaced inside a buffer by a newer one counts as ``updated``, one
    older than a version already held or stored counts as ``stale``.
    """

    received: int = 0
    inserted: int = 0
    updated: int = 0
    stale: int = 0
    deleted: int = 0
    ignored_old_version: int = 0
    rejected: int = 0

    def summary(self, stream: str) -> str:
        """One log line for the run summary."""
        return (
            f"stream '{stream}': received={self.received} inserted={self.inserted} "
            f"updated={self.updated} stale={self.stale} deleted={self.deleted} "
            f"ignored_old_version={self.ignored_old_version} rejected={self.rejected}"
        )
