"""A Singer reader that knows which input line it is on."""

from __future__ import annotations

import logging
import typing as t
from collections import Counter, defaultdict

from singer_sdk.singerlib.encoding import SimpleSingerReader

logger = logging.getLogger("target-sequenced")


class LineReader(SimpleSingerReader):
    """Reads Singer messages like the SDK's reader and counts lines (from 1).

    Errors name the line: sinks read :attr:`line_number`, and any error that
    escapes a message handler is logged with the line and the message type.
    """

    def __init__(self) -> None:
        """Start before the first line."""
        super().__init__()
        self.line_number = 0

    def process_lines(
        self,
        file_input: t.IO[str] | None,
        callbacks: dict[str, t.Callable[[dict], None]],
    ) -> t.Counter[str]:
        """Dispatch each line to its callback, as the SDK does, tracking the line."""
        stats: dict[str, int] = defaultdict(int)
        for line in file_input or self.default_input:
            self.line_number += 1
            self._current_message = line
            if not line.strip():
                continue
            message = self.deserialize_json(line)
            self.assert_line_requires(message, requires={"type"})
            message_type = message["type"]
            callback = callbacks.get(message_type)
            try:
                if callback is None:
                    self._process_unknown_message(message)
                else:
                    callback(message)
            except Exception:
                logger.error(  # noqa: TRY400 - the caller logs the traceback
                    "Failed on input line %d (%s message for stream '%s')",
                    self.line_number,
                    message_type,
                    message.get("stream", ""),
                )
                raise
            stats[message_type] += 1
        return Counter(**stats)
