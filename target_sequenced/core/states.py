"""STATE messages, held until the records received before them are committed (contract 7).

A STATE is *safe* once no record that arrived before it waits in a buffer.
After every commit the loader asks for the newest safe STATE and emits it,
so a long run checkpoints as it goes and a crash replays at most what was
not yet committed.
"""

from __future__ import annotations

import copy
import typing as t
from collections import deque


class PendingStates:
    """STATEs received and not yet emitted, each with the arrival it came at."""

    def __init__(self) -> None:
        """Nothing received."""
        self._pending: deque[tuple[int, t.Any]] = deque()
        self._last: t.Any = None

    def received(self, at: int, value: t.Any) -> None:  # noqa: ANN401 - any JSON value
        """A STATE arrived at ``at``: every record before it must be committed first."""
        self._pending.append((at, copy.deepcopy(value)))

    def safe(self, oldest_waiting: int | None) -> t.Any | None:  # noqa: ANN401
        """The newest STATE that no waiting record precedes, if it is one not emitted yet.

        ``oldest_waiting``: the lowest arrival still buffered (None: none is).
        """
        newest = None
        while self._pending and (oldest_waiting is None or self._pending[0][0] <= oldest_waiting):
            _, newest = self._pending.popleft()
        if newest is None or newest == self._last:
            return None
        self._last = newest
        return newest

    def before(self, at: int) -> None:
        """Forget every STATE that arrived after ``at``: the run stops there."""
        self._pending = deque((a, v) for a, v in self._pending if a <= at)
