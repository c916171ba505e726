"""Reads the input in chunks of lines and hands them to the loading core, by line number.

RECORD lines are recognised by the prefix Singer libraries write
(``{"type": "RECORD", "stream": "...``); runs of them between other messages
go to the core in bulk, by stream, read straight from the chunk that the
workspace scans as an Arrow table. Every other line is parsed here: STATE goes
to the core, SCHEMA, ACTIVATE_VERSION and BATCH to the SDK's handlers (stream
maps and flattening apply there), Import API payloads to their translator. A
RECORD that is not written the usual way goes to the core as its own text.

STATE lines inside a run are handled after the run's records (before the core
settles): the core emits a STATE only once every record that arrived before
it is committed, so this changes nothing.

Any error at a line stops the run there (contract 7): the core commits what
arrived before the line, emits the STATE that covers it, and the error is
raised. Before a line with effects (SCHEMA, ACTIVATE_VERSION, ...) the core
settles, so a bad record never lets a later line's effect through.
"""

from __future__ import annotations

import contextlib
import typing as t
from collections import Counter, defaultdict

from singer_sdk.singerlib.encoding import SimpleSingerReader

from target_sequenced.core.batches import Lines, Texts, arrival
from target_sequenced.core.errors import InputError, InvalidLineError, SchemaError
from target_sequenced.core.exact import parse_line
from target_sequenced.importapi.plain import PlainPayload, read_plain
from target_sequenced.importapi.translate import shape_of
from target_sequenced.singer.chunks import STATE_SPLIT, Chunk, read_ahead
from target_sequenced.singer.errors import for_the_sdk

if t.TYPE_CHECKING:
    from target_sequenced.core.loader import Loader
    from target_sequenced.importapi.loading import PayloadLoader

PER_LINE_BELOW = 1
"""Runs shorter than this go line by line (tests raise it to cover that way)."""
CHUNK_RELATION = "chunk"
MESSAGE_TYPES = ("RECORD", "SCHEMA", "STATE", "ACTIVATE_VERSION", "BATCH")

Callbacks = dict[str, t.Callable[[dict], None]]


class LineReader(SimpleSingerReader):
    """Reads Singer messages (and Import API payloads) for the core, counting lines from 1."""

    def __init__(self) -> None:
        """Start before the first line; :meth:`bind` connects the core."""
        super().__init__()
        self.line_number = 0
        self.core: Loader | None = None
        self.payloads: PayloadLoader | None = None
        self.bulk = True
        self.flush: t.Callable[[], None] = lambda: None
        self.counted: t.Callable[[str, int], None] = lambda _stream, _count: None
        """Told the records of a stream that went to the core in bulk (the SDK's metric)."""
        self._pending: dict[str, list[tuple[int, str]]] = defaultdict(list)
        self._states_ahead: list[tuple[int, bytes | bytearray]] = []
        """The segment's STATE lines, handed on after its runs (or before a stop in them)."""
        self._stats: dict[str, int] = defaultdict(int)

    def bind(
        self,
        core: Loader,
        payloads: PayloadLoader,
        *,
        bulk: bool,
        flush: t.Callable[[], None],
        counted: t.Callable[[str, int], None] | None = None,
    ) -> None:
        """Feed ``core``; ``bulk``: records need no stream map, so lines go to it directly."""
        self.core = core
        self.payloads = payloads
        self.bulk = bulk
        self.flush = flush
        if counted is not None:
            self.counted = counted

    @property
    def _core(self) -> Loader:
        if self.core is None:
            msg = "the reader is not bound to a loading core"
            raise RuntimeError(msg)
        return self.core

    def process_lines(self, file_input: t.IO[str] | None, callbacks: Callbacks) -> t.Counter[str]:
        """Read every line; return how many messages of each type there were."""
        self._stats = defaultdict(int)
        core = self._core
        core.open_soon()
        try:
            # A STATE every quarter of a load's worth of records reaches the core
            # in time to come out after that load (contract 7).
            split = max(STATE_SPLIT, core.settings.batch_size_rows // 4)
            source = file_input or self.default_input
            # Lines of a bulk chunk, which alone are read ahead, are known to be UTF-8.
            ahead = read_plain if self.payloads is not None else None
            for chunk in read_ahead(source, bulk=self.bulk, split=split, ahead=ahead):
                if chunk.table is None:
                    for number, line in chunk.numbered():
                        self._line(line, number, callbacks)
                else:
                    with core.workspace.registered(CHUNK_RELATION, chunk.table):
                        self._chunk(chunk, callbacks)
                self.line_number = chunk.base + len(chunk)
            self._settle()
        except BaseException as exc:
            # The run ends here: the SDK will not reach process_endofpipe, and the
            # threads that open the destination and the workspace must not be
            # left running as the process exits.
            core.close()
            if isinstance(exc, InputError):
                raise for_the_sdk(exc) from exc
            raise
        return Counter(**self._stats)

    def _chunk(self, chunk: Chunk, callbacks: Callbacks) -> None:
        """Each segment's runs in bulk, then its STATE lines, then the line that ends it."""
        for segment in chunk.segments:
            self._states_ahead = [(n, chunk.line(n)) for n in segment.states]
            for stream, numbers in segment.runs.items():
                self._run(chunk, stream, numbers, callbacks)
            states, self._states_ahead = self._states_ahead, []
            for number, line in states:
                self._line(line, number, callbacks)
            self._settle()
            if segment.other is not None:
                number = segment.other
                ahead = chunk.ahead.get(number)
                # A line read ahead needs no copy of its own.
                line = chunk.line(number) if ahead is None else b""
                self._line(line, number, callbacks, ahead)

    def _run(self, chunk: Chunk, stream: str, numbers: list[int], callbacks: Callbacks) -> None:
        core = self._core
        if not core.knows(stream) or len(numbers) < PER_LINE_BELOW:
            for number in numbers:
                self._line(chunk.line(number), number, callbacks)
            return
        start = 0
        while start < len(numbers):
            piece = numbers[start : start + core.room(stream)]
            start += len(piece)
            self.line_number = piece[0]
            if core.add(stream, Lines(CHUNK_RELATION, piece[0], piece[-1], len(piece))):
                self._stats["RECORD"] += len(piece)
                self.counted(stream, len(piece))
                continue
            for number in piece:
                self._line(chunk.line(number), number, callbacks)

    def _settle(self) -> None:
        """Send every collected record to the core, then let it act on a stop."""
        self._send_pending()
        self._core.settle()

    def _send_pending(self) -> None:
        """Send the records collected line by line (and the sinks') to the core."""
        core = self._core
        for stream, pending in self._pending.items():
            if pending:
                arrivals, texts = zip(*pending, strict=True)
                if not core.add(stream, Texts.of(arrivals, texts)):
                    msg = f"stream '{stream}': a line read as its RECORD is not one"
                    raise InputError(msg)
                self.counted(stream, len(pending))
        self._pending.clear()
        self.flush()

    def _line(
        self, line: bytes | bytearray, number: int, callbacks: Callbacks, ahead: object = None
    ) -> None:
        """Handle one line (``ahead``: what the reading thread made of it); an error stops there."""
        self.line_number = number
        core = self._core
        core.arrivals.receiving(number)
        try:
            self._dispatch(line, number, callbacks, ahead)
        except InputError as exc:
            core.stop_at(arrival(number), exc)
            # The segment's STATE lines before this one arrived before it.
            states, self._states_ahead = self._states_ahead, []
            for earlier, text in states:
                if earlier < number:
                    with contextlib.suppress(InputError):
                        self._line(text, earlier, callbacks)
            self._settle()
            raise

    def _dispatch(
        self, line: bytes | bytearray, number: int, callbacks: Callbacks, ahead: object
    ) -> None:
        if self.payloads is not None and isinstance(ahead, PlainPayload):
            self._settle()
            self._stats["RECORD"] += self.payloads.load(ahead, number)
            return
        try:
            text = line.decode()
        except UnicodeDecodeError as exc:
            msg = f"input line {number}: not UTF-8 text ({exc.reason} at byte {exc.start})"
            raise InvalidLineError(msg) from exc
        if not text.strip():
            return
        if self.payloads is not None and (plain := read_plain(text)) is not None:
            self._settle()
            self._stats["RECORD"] += self.payloads.load(plain, number)
            return
        value = parse_line(text, number)
        shape = shape_of(value)
        if shape is None:
            msg = (
                f"input line {number}: neither a Singer message (an object with 'type'), "
                "an Import API batch (an object with 'table_name' and 'messages') nor "
                "push records (an array, or an object with 'client_id' and 'data')"
            )
            raise InvalidLineError(msg)
        if shape != "singer":
            self._settle()
            if self.payloads is not None:
                self._stats["RECORD"] += self.payloads.load(value, number)
            return
        self._message(value, text, number, callbacks)

    def _message(self, message: dict, text: str, number: int, callbacks: Callbacks) -> None:
        kind = message.get("type")
        core = self._core
        if kind == "RECORD" and self.bulk:
            stream = message.get("stream")
            if not isinstance(stream, str) or not isinstance(message.get("record"), dict):
                msg = f"input line {number}: a RECORD needs a 'stream' name and a 'record' object"
                raise InvalidLineError(msg)
            core.require(stream, at=arrival(number))
            self._pending[stream].append((arrival(number), text))
            self._stats["RECORD"] += 1
            return
        if kind == "STATE":
            if "value" not in message:
                msg = f"input line {number}: a STATE message needs a 'value'"
                raise InvalidLineError(msg)
            self._send_pending()  # a STATE waits for every record before it
            core.state(message["value"], at=arrival(number))
            self._stats["STATE"] += 1
            return
        if kind not in MESSAGE_TYPES:
            msg = f"input line {number}: unknown message type {kind!r}"
            raise InvalidLineError(msg)
        if kind == "SCHEMA":
            _check_schema_message(message, number)
        if kind != "RECORD":
            self._settle()
        callbacks[str(kind)](message)
        self._stats[str(kind)] += 1


def _check_schema_message(message: dict, number: int) -> None:
    """The SCHEMA's shape, before the SDK's own check stops the run with a traceback."""
    stream, schema = message.get("stream"), message.get("schema")
    where = f"input line {number}"
    if not isinstance(stream, str):
        msg = f"{where}: a SCHEMA needs a 'stream' name"
        raise SchemaError(msg)
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        found = type(schema).__name__ if not isinstance(schema, dict) else "no 'properties' object"
        msg = (
            f"stream '{stream}', {where}: a SCHEMA's 'schema' must be a JSON Schema object "
            f"with 'properties' (an object), found {found}"
        )
        raise SchemaError(msg, remedy="the tap must describe the stream's record properties")
