"""Work started in a thread now and waited for at first use: opening a database early."""

from __future__ import annotations

import threading
import typing as t


class Opening:
    """At most one thread at a time, joined by :meth:`wait`."""

    def __init__(self, name: str) -> None:
        """Nothing runs until :meth:`start`."""
        self.name = name
        self._thread: threading.Thread | None = None

    def start(self, work: t.Callable[[], None]) -> None:
        """Run ``work`` in a thread, unless one is already running."""
        if self._thread is None:
            self._thread = threading.Thread(target=work, name=self.name, daemon=True)
            self._thread.start()

    def wait(self) -> None:
        """Wait for the thread, if any."""
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
