"""Per-stream counters for the end-of-run summary."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class StreamStats:
    """What happened to the versions of one stream during a run.

    Each version is counted once, as if it had been loaded on its own:

    - ``received``: the stream's records read;
    - ``inserted``: versions of keys the table did not hold;
    - ``updated``: versions that replaced an older one (stored, or earlier in
      the run);
    - ``replayed``: versions equal to the greatest before them (stored, or
      earlier in the run): the same version sent again, written again by the
      tie rule (the later arrival wins) but no update;
    - ``stale``: versions older than one already held or stored, dropped;
    - ``deleted``: rows marked deleted (``_sdc_deleted_at``), or removed with
      ``hard_delete``, by a delete version or by ACTIVATE_VERSION;
    - ``restored``: of those updated or replayed, the ones that brought back a
      row marked deleted (a full sync's ACTIVATE_VERSION retires the rows at
      its start, and its records restore the ones still there): ``deleted``
      minus ``restored`` is what the run left deleted, when it started with
      none;
    - ``ignored_old_version``: records of a table version below the active one;
    - ``rejected``: records written to ``_sdc_rejected``.
    """

    received: int = 0
    inserted: int = 0
    updated: int = 0
    stale: int = 0
    deleted: int = 0
    ignored_old_version: int = 0
    rejected: int = 0
    replayed: int = 0
    restored: int = 0

    def summary(self, stream: str) -> str:
        """One log line for the run summary."""
        return (
            f"stream '{stream}': received={self.received} inserted={self.inserted} "
            f"updated={self.updated} stale={self.stale} deleted={self.deleted} "
            f"ignored_old_version={self.ignored_old_version} rejected={self.rejected} "
            f"replayed={self.replayed} restored={self.restored}"
        )
