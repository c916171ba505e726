"""Progress lines of a long run: per stream, at a steady interval, what arrived and what is loaded.

A line reads ``Progress: stream 's': received=N loaded=M (R records/s)``:
``received`` counts the stream's records read so far, ``loaded`` those whose
load has committed (inserted, updated or stale, as in the summary), and the
rate is records received per second since the previous line. The interval is
the ``progress_seconds`` setting; 0 turns the lines off.
"""

from __future__ import annotations

import time
import typing as t

if t.TYPE_CHECKING:
    import logging

    from target_sequenced.core.stats import StreamStats


class Progress:
    """Logs each stream's counts when ``interval`` seconds have passed since the last lines."""

    def __init__(
        self,
        interval: float,
        logger: logging.Logger,
        clock: t.Callable[[], float] = time.monotonic,
    ) -> None:
        """Nothing is logged before the first interval is over."""
        self.interval = interval
        self.logger = logger
        self._clock = clock
        self._since = clock()
        self._received: dict[str, int] = {}

    def tick(self, stats: t.Mapping[str, StreamStats]) -> None:
        """Log the lines if they are due (cheap otherwise: one clock reading)."""
        if self.interval <= 0:
            return
        now = self._clock()
        elapsed = now - self._since
        if elapsed < self.interval:
            return
        for stream, counts in stats.items():
            before = self._received.get(stream, 0)
            if counts.received == before:
                continue  # nothing new: no line
            rate = (counts.received - before) / elapsed if elapsed > 0 else 0.0
            self.logger.info(
                "Progress: stream '%s': received=%d loaded=%d (%.0f records/s)",
                stream,
                counts.received,
                counts.inserted + counts.updated + counts.stale,
                rate,
            )
            self._received[stream] = counts.received
        self._since = now
