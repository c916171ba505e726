"""The input, a chunk of lines at a time, each prepared in a thread while the one before loads.

A chunk is one block of bytes that ends at a line's end, plus the offsets of
its lines. Reading it, wrapping it as the Arrow table the workspace scans
(without copying), and sorting its lines into runs of RECORDs by stream all
happen in a background thread: that is Python work, and it overlaps with
DuckDB parsing the chunk before, which runs without the GIL. At most two
chunks are alive, the one being processed and the next (measured: bench/README.md,
"Measured choices").
"""

from __future__ import annotations

import array
import os
import queue
import select
import stat
import threading
import typing as t
from dataclasses import dataclass, field

if t.TYPE_CHECKING:
    import io

import pyarrow as pa

from target_sequenced.core.batches import SCAN_ROWS

CHUNK_BYTES = 6 * 2**20
"""Input read per chunk; memory use grows with it, not with the input.

Each chunk is one parse query, which DuckDB plans anew: larger chunks plan
fewer queries and hold more memory (the sizes measured: bench/README.md,
"Measured choices").
"""
STATE_SPLIT = 1024
"""The fewest records after which a STATE line ends a segment (a segment costs a query a stream)."""

_RECORD_PREFIXES = (b'{"type":"RECORD","stream":"', b'{"type": "RECORD", "stream": "')
_STATE_PREFIXES = (b'{"type":"STATE",', b'{"type": "STATE", ')


IDLE_SECONDS = 0.2
"""How long a pipe may stay quiet before what it sent so far is processed."""


def _fill(binary: io.BufferedIOBase, block: bytearray, fd: int | None) -> int:
    """Read into ``block`` until it is full, the input ends, or a pipe stays quiet a while.

    A file fills the block at once; a pipe is read as data comes, so a tap
    that sends a few records and waits still has them loaded (and their
    STATE emitted) instead of waiting for a block's worth.
    """
    if fd is None:
        return binary.readinto(block)
    view = memoryview(block)
    filled = 0
    while filled < len(block):
        if filled and not select.select([fd], [], [], IDLE_SECONDS)[0]:
            break
        count = binary.readinto1(view[filled:])
        if not count:
            break
        filled += count
    return filled


def _pipe(binary: object) -> int | None:
    """The descriptor of a pipe or socket to wait on, or None for a file (or no descriptor)."""
    try:
        fd = binary.fileno()  # type: ignore[attr-defined]
        mode = os.fstat(fd).st_mode
    except (AttributeError, OSError, ValueError):
        return None
    return fd if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode) else None


def read_blocks(source: t.IO[str], size: int) -> t.Iterator[bytes | bytearray]:
    """The input as blocks of at most about ``size`` bytes, each ending where a line does.

    From a binary stream each block is read into one buffer, which is then
    shrunk to what was read and grown by the rest of its last line, in place
    where the allocator can: reading a block and then adding that rest
    (``data += readline()``) copied every block once more.
    """
    binary = getattr(source, "buffer", None)
    fd = _pipe(binary) if binary is not None and hasattr(binary, "readinto1") else None
    while True:
        data: bytes | bytearray
        if binary is not None:
            block = bytearray(size)
            del block[_fill(binary, block, fd) :]
            if block and not block.endswith(b"\n"):
                block += binary.readline()
            data = block
        else:
            text = source.read(size)
            if text and not text.endswith("\n"):
                text += source.readline()
            data = text.encode()
        if not data:
            return
        yield data


def line_offsets(data: bytes | bytearray) -> array.array[int]:
    """Where each line of ``data`` starts, and where the last one ends (just after its newline).

    Found with ``bytes.find``: ``data.split`` was slower and held a copy of
    every line meanwhile.
    """
    offsets = array.array("q", [0])
    find, add = data.find, offsets.append
    end = find(b"\n")
    while end >= 0:
        add(end + 1)
        end = find(b"\n", end + 1)
    if offsets[-1] != len(data):
        add(len(data))  # the last line lacks its newline
    return offsets


@dataclass
class Segment:
    """Lines that look like RECORDs, by stream, and STATE lines among them; then one other line."""

    runs: dict[str, list[int]] = field(default_factory=dict)
    states: list[int] = field(default_factory=list)
    other: int | None = None
    """The line that ends the segment, handled on its own (None for the chunk's last segment)."""


@dataclass(frozen=True)
class Chunk:
    """Lines of the input, numbered from ``base + 1``."""

    data: bytes | bytearray
    offsets: array.array[int]
    base: int
    table: pa.Table | None = None
    """Columns ``line`` and ``j`` for the bulk path; None if a line is not UTF-8."""
    segments: list[Segment] = field(default_factory=list)
    ahead: dict[int, object] = field(default_factory=dict)
    """What the reader's ``ahead`` made of lines that end segments, by line number."""

    def __len__(self) -> int:
        """How many lines."""
        return len(self.offsets) - 1

    def line(self, number: int) -> bytes | bytearray:
        """One line (a copy), by its number in the input."""
        index = number - self.base - 1
        return self.data[self.offsets[index] : self.offsets[index + 1]]

    def numbered(self) -> t.Iterator[tuple[int, bytes | bytearray]]:
        """Every line with its number."""
        for number in range(self.base + 1, self.base + len(self) + 1):
            yield number, self.line(number)


def record_stream(
    data: bytes | bytearray, start: int, end: int, names: dict[bytes, str | None]
) -> bytes | None:
    """The prefix of the RECORD line ``data[start:end]``, through its stream name; else None.

    That is, if the line is written the usual way.

    Only a hint: the bulk path checks ``type`` and ``stream`` of every line it
    takes, and a line written otherwise simply goes the per-line way. The
    stream a prefix names is cached in ``names`` (None if the name is escaped).
    """
    for prefix in _RECORD_PREFIXES:
        if data.startswith(prefix, start):
            quote = data.find(b'"', start + len(prefix), end)
            if quote < 0:
                return None
            found = bytes(data[start : quote + 1])
            if found not in names:
                raw = found[len(prefix) : -1]
                names[found] = None if b"\\" in raw else raw.decode()
            return found
    return None


def segments(
    data: bytes | bytearray, offsets: array.array[int], base: int, split: int = STATE_SPLIT
) -> list[Segment]:
    """Sort a chunk's lines (numbered from ``base + 1``) into segments, in input order.

    A STATE line after ``split`` records ends its segment too, so the core
    hears of a STATE soon after its records and can emit it at the next
    commit; nearer STATE lines wait for the segment's end (never too early).
    """
    found = [Segment()]
    names: dict[bytes, str | None] = {}
    hot, hot_run = b"\x00", []  # the last stream's prefix: most lines start with it
    records = 0
    for index, start in enumerate(offsets[:-1]):
        number = base + 1 + index
        if data.startswith(hot, start):
            hot_run.append(number)
            records += 1
            continue
        prefix = record_stream(data, start, offsets[index + 1], names)
        stream = None if prefix is None else names[prefix]
        if prefix is not None and stream is not None:
            hot, hot_run = prefix, found[-1].runs.setdefault(stream, [])
            hot_run.append(number)
            records += 1
            continue
        if data.startswith(_STATE_PREFIXES, start):
            found[-1].states.append(number)
            if records < split:
                continue
        else:
            found[-1].other = number
        found.append(Segment())
        hot, hot_run = b"\x00", []
        records = 0
    return found


Ahead = t.Callable[[bytes | bytearray], object | None]
"""Work on a line that ends a segment (valid UTF-8), in the reading thread (None: nothing kept)."""


def prepare(
    data: bytes | bytearray,
    base: int,
    *,
    bulk: bool,
    split: int = STATE_SPLIT,
    ahead: Ahead | None = None,
) -> Chunk:
    """A chunk, with its Arrow table, its segments and ``ahead``'s work when ``bulk``."""
    offsets = line_offsets(data)
    if not bulk:
        return Chunk(data, offsets, base)
    count = len(offsets) - 1
    strings = pa.Array.from_buffers(
        pa.large_string(), count, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )
    try:
        strings.validate(full=True)
    except pa.ArrowInvalid:
        return Chunk(data, offsets, base)  # not UTF-8: the per-line path names the line
    numbers = array.array("q", range(base + 1, base + count + 1))
    lines = pa.Array.from_buffers(pa.int64(), count, [None, pa.py_buffer(numbers)])
    table = pa.table({"line": lines, "j": strings})
    # Several record batches, so that DuckDB scans them on every core.
    table = pa.Table.from_batches(table.to_batches(max_chunksize=SCAN_ROWS))
    chunk = Chunk(data, offsets, base, table, segments(data, offsets, base, split))
    if ahead is not None:
        for segment in chunk.segments:
            if segment.other is not None:
                found = ahead(chunk.line(segment.other))
                if found is not None:
                    chunk.ahead[segment.other] = found
    return chunk


_END = object()


def read_ahead(
    source: t.IO[str], *, bulk: bool, split: int = STATE_SPLIT, ahead: Ahead | None = None
) -> t.Iterator[Chunk]:
    """The input's chunks; the next one is read and prepared while the caller uses one.

    ``ahead`` runs on each line that ends a segment of a bulk chunk, in the
    reading thread (:func:`prepare`): work on such a line that needs no state,
    done while DuckDB loads the chunk before.

    Stopping early (an error while a chunk is processed) stops the reading
    thread after the chunk it is reading. An error while reading is raised
    here, after the chunks before it.
    """
    ready: queue.Queue[object] = queue.Queue()
    slots = threading.Semaphore(2)  # chunks alive: the caller's and the next
    stop = threading.Event()

    def produce() -> None:
        base = 0
        try:
            for data in _paced(read_blocks(source, CHUNK_BYTES), slots, stop):
                chunk = prepare(data, base, bulk=bulk, split=split, ahead=ahead)
                ready.put(chunk)
                base += len(chunk)
        except BaseException as exc:  # noqa: BLE001 - raised again in the consumer
            ready.put(exc)
        else:
            ready.put(_END)

    threading.Thread(target=produce, name="target-sequenced-read-ahead", daemon=True).start()
    try:
        while True:
            item = ready.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield t.cast("Chunk", item)
            slots.release()
    finally:
        stop.set()
        slots.release()


def _paced(
    blocks: t.Iterator[bytes | bytearray], slots: threading.Semaphore, stop: threading.Event
) -> t.Iterator[bytes | bytearray]:
    """Take a slot before reading each block; end when the consumer has stopped."""
    while True:
        slots.acquire()
        if stop.is_set():
            return
        block = next(blocks, None)
        if block is None:
            return
        yield block
