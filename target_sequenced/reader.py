"""Reads the input in chunks of lines and routes them, tracking line numbers.

RECORD lines are recognised by the prefix Singer libraries write
(``{"type": "RECORD", "stream": "...``); runs of them between other messages
go to the target's bulk path by stream, with the chunk registered in the
workspace as an Arrow table. Every other line, and any RECORD the bulk path
declines, is dispatched one by one exactly like the SDK's reader does, and
lines that are Import API payloads are translated first. STATE lines inside a
run are handled after the run's records: the SDK only emits STATE after a full
drain, so this only ever makes an emitted STATE later, never earlier than the
records before it.
"""

from __future__ import annotations

import logging
import typing as t
from collections import Counter, defaultdict

from singer_sdk.singerlib.encoding import SimpleSingerReader
from singer_sdk.singerlib.exceptions import InvalidInputLine

from target_sequenced.chunks import Chunk, Segment, read_ahead
from target_sequenced.exceptions import InputError, PayloadError
from target_sequenced.translate import Translator, shape_of

if t.TYPE_CHECKING:
    from target_sequenced.target import TargetSequenced

logger = logging.getLogger("target-sequenced")


class LineReader(SimpleSingerReader):
    """Reads Singer messages like the SDK's reader, counts lines (from 1), and batches runs.

    Errors name the line: sinks read :attr:`line_number`, and any error that
    escapes a message handler is logged with the line and the message type.
    """

    def __init__(self) -> None:
        """Start before the first line."""
        super().__init__()
        self.line_number = 0
        self.target: TargetSequenced | None = None
        self.translator = Translator()

    def bind(self, target: TargetSequenced) -> None:
        """Route runs of RECORD lines to ``target``'s fast path."""
        self.target = target

    def process_lines(
        self,
        file_input: t.IO[str] | None,
        callbacks: dict[str, t.Callable[[dict], None]],
    ) -> t.Counter[str]:
        """Dispatch every line to its callback, as the SDK does, runs of records in bulk."""
        stats: dict[str, int] = defaultdict(int)
        bulk = self.target is not None and self.target.fast_path_enabled
        if self.target is not None:
            self.target.open_soon()
        for chunk in read_ahead(file_input or self.default_input, bulk=bulk):
            if not self._process_chunk(chunk, callbacks, stats):
                for number, line in chunk.numbered():
                    self._dispatch(line, number, callbacks, stats)
            self.line_number = chunk.base + len(chunk)
        return Counter(**stats)

    def _dispatch(
        self,
        line: bytes | bytearray,
        number: int,
        callbacks: dict[str, t.Callable[[dict], None]],
        stats: dict[str, int],
    ) -> None:
        """Handle one line: a Singer message as the SDK's reader does, a payload translated."""
        self.line_number = number
        try:
            text = line.decode()
        except UnicodeDecodeError as exc:
            msg = f"input line {number}: not UTF-8 text ({exc.reason} at byte {exc.start})"
            raise InputError(msg) from exc
        self._current_message = text
        if not text.strip():
            return
        try:
            value: t.Any = self.deserialize_json(text)
        except InvalidInputLine as exc:
            msg = f"input line {number}: {exc}"
            raise InvalidInputLine(msg) from exc
        shape = shape_of(value)
        if shape == "singer":
            self._dispatch_message(value, number, callbacks, stats)
            return
        if shape is None:
            msg = (
                f"input line {number}: neither a Singer message (an object with 'type'), "
                "an Import API batch (an object with 'table_name' and 'messages') nor "
                "push records (an array, or an object with 'client_id' and 'data')"
            )
            raise InputError(msg)
        self._translate(value, number, callbacks, stats)

    def _translate(
        self,
        payload: object,
        number: int,
        callbacks: dict[str, t.Callable[[dict], None]],
        stats: dict[str, int],
    ) -> None:
        """Load an Import API payload: all of it, or (on any violation) none of it.

        Before an invalid payload stops the run, everything before it is
        committed, so the error points at the one line to fix.
        """
        try:
            messages = self.translator.translate(payload)
        except PayloadError as exc:
            if self.target is not None:
                self.target.drain_all()
            where = f"input line {number}" + (f", table '{exc.table}'" if exc.table else "")
            msg = f"{where}: Import API payload rejected, nothing of it was loaded:\n{exc}"
            raise PayloadError([msg], exc.table) from exc
        for message in messages:
            self._dispatch_message(message, number, callbacks, stats)

    def _dispatch_message(
        self,
        message: dict,
        number: int,
        callbacks: dict[str, t.Callable[[dict], None]],
        stats: dict[str, int],
    ) -> None:
        """Hand one Singer message to its callback, as the SDK's reader does."""
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
                number,
                message_type,
                message.get("stream", ""),
            )
            raise
        stats[message_type] += 1

    def _process_chunk(
        self,
        chunk: Chunk,
        callbacks: dict[str, t.Callable[[dict], None]],
        stats: dict[str, int],
    ) -> bool:
        """Process a chunk with runs of records in bulk; False if it must go line by line."""
        if self.target is None or chunk.table is None:
            return False
        con = self.target.workspace.con
        con.register("chunk", chunk.table)
        try:
            self._walk(chunk, callbacks, stats)
        finally:
            con.unregister("chunk")
        return True

    def _walk(
        self,
        chunk: Chunk,
        callbacks: dict[str, t.Callable[[dict], None]],
        stats: dict[str, int],
    ) -> None:
        """Load each segment's runs by stream, then its STATE lines, then the line that ends it."""

        def one(number: int) -> None:
            self._dispatch(chunk.line(number), number, callbacks, stats)

        for segment in chunk.segments:
            self._flush(segment, one, stats)
            if segment.other is not None:
                one(segment.other)

    def _flush(
        self,
        segment: Segment,
        one: t.Callable[[int], None],
        stats: dict[str, int],
    ) -> None:
        """Load a segment's records by stream, then handle the STATE lines met among them."""
        if self.target is not None:
            for stream, numbers in segment.runs.items():
                self.line_number = numbers[0]
                stats["RECORD"] += self.target.process_record_run(stream, numbers, one)
        for number in segment.states:
            one(number)
