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

import pyarrow as pa
from singer_sdk.singerlib.encoding import SimpleSingerReader
from singer_sdk.singerlib.exceptions import InvalidInputLine

from target_sequenced.exceptions import InputError, PayloadError
from target_sequenced.translate import Translator, shape_of
from target_sequenced.workspace import lines_to_arrow

if t.TYPE_CHECKING:
    from target_sequenced.target import TargetSequenced

logger = logging.getLogger("target-sequenced")

CHUNK_BYTES = 4 * 2**20
"""Input read per chunk; memory use grows with it, not with the input."""
SCAN_ROWS = 512
"""Lines per Arrow record batch of a chunk: DuckDB's unit of parallel work."""


def read_chunks(source: t.IO[str], chunk_bytes: int = CHUNK_BYTES) -> t.Iterator[list[bytes]]:
    """The input's lines, as bytes, a chunk at a time."""
    binary = getattr(source, "buffer", None)
    while True:
        if binary is not None:
            lines: list[bytes] = binary.readlines(chunk_bytes)
        else:
            lines = [line.encode() for line in source.readlines(chunk_bytes)]
        if not lines:
            return
        yield lines


_RECORD_PREFIXES = (b'{"type":"RECORD","stream":"', b'{"type": "RECORD", "stream": "')
_STATE_PREFIXES = (b'{"type":"STATE",', b'{"type": "STATE", ')


def record_prefix(line: bytes) -> bytes | None:
    """A RECORD line's start through its stream name's closing quote, if written the usual way.

    Only a hint: the bulk path checks ``type`` and ``stream`` of every line it
    takes, and a line written otherwise simply goes the per-line way.
    """
    for prefix in _RECORD_PREFIXES:
        if line.startswith(prefix):
            end = line.find(b'"', len(prefix))
            return line[: end + 1] if end > 0 else None
    return None


def prefix_stream(prefix: bytes, names: dict[bytes, str | None]) -> str | None:
    """The stream a :func:`record_prefix` names (None if it is escaped), cached in ``names``."""
    if prefix not in names:
        raw = prefix[prefix.index(b'"stream"') :].split(b'"', 3)[3][:-1]
        names[prefix] = None if b"\\" in raw else raw.decode()
    return names[prefix]


def is_state(line: bytes) -> bool:
    """Whether a line is a STATE message written the usual way (a hint, as above)."""
    return line.startswith(_STATE_PREFIXES)


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
        for lines in read_chunks(file_input or self.default_input):
            base = self.line_number
            if not self._process_chunk(lines, base, callbacks, stats):
                for offset, line in enumerate(lines, start=1):
                    self._dispatch(line, base + offset, callbacks, stats)
            self.line_number = base + len(lines)
        return Counter(**stats)

    def _dispatch(
        self,
        line: bytes,
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
        lines: list[bytes],
        base: int,
        callbacks: dict[str, t.Callable[[dict], None]],
        stats: dict[str, int],
    ) -> bool:
        """Process a chunk with runs of records in bulk; False if it must go line by line."""
        target = self.target
        if target is None or not target.fast_path_enabled:
            return False
        try:
            chunk = pa.table(
                {
                    "line": pa.array(range(base + 1, base + len(lines) + 1), pa.int64()),
                    "j": lines_to_arrow(lines),
                },
            )
        except pa.ArrowException:
            return False  # not UTF-8 somewhere: the per-line path names the line
        # Several record batches, so that DuckDB scans them on every core.
        chunk = pa.Table.from_batches(chunk.to_batches(max_chunksize=SCAN_ROWS))
        con = target.workspace.con
        con.register("chunk", chunk)
        try:
            self._walk(lines, base, callbacks, stats)
        finally:
            con.unregister("chunk")
        return True

    def _walk(
        self,
        lines: list[bytes],
        base: int,
        callbacks: dict[str, t.Callable[[dict], None]],
        stats: dict[str, int],
    ) -> None:
        """Gather runs of RECORD lines by stream; dispatch everything else in order."""

        def one(number: int) -> None:
            self._dispatch(lines[number - base - 1], number, callbacks, stats)

        stream_names: dict[bytes, str | None] = {}
        run: dict[str, list[int]] = {}
        states: list[int] = []
        hot, hot_run = b"\x00", []  # the last stream's prefix: most lines start with it
        for number, line in enumerate(lines, start=base + 1):
            if line.startswith(hot):
                hot_run.append(number)
                continue
            prefix = record_prefix(line)
            stream = None if prefix is None else prefix_stream(prefix, stream_names)
            if prefix is not None and stream is not None:
                hot, hot_run = prefix, run.setdefault(stream, [])
                hot_run.append(number)
                continue
            if is_state(line):
                states.append(number)
                continue
            self._flush(run, states, one, stats)
            run, states = {}, []
            hot, hot_run = b"\x00", []
            one(number)
        self._flush(run, states, one, stats)

    def _flush(
        self,
        run: dict[str, list[int]],
        states: list[int],
        one: t.Callable[[int], None],
        stats: dict[str, int],
    ) -> None:
        """Load a run's records by stream, then handle the STATE lines met inside it."""
        if self.target is not None:
            for stream, numbers in run.items():
                self.line_number = numbers[0]
                stats["RECORD"] += self.target.process_record_run(stream, numbers, one)
        for number in states:
            one(number)
