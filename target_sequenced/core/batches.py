"""Batches of RECORD messages as the core takes them: JSON texts with their arrivals.

An *arrival* orders everything the target receives: ``line * 2**24 + index``,
the input line and the record's place among those one line brings (an
Import API payload, a BATCH message's files, a record a stream map splits).
Two batch shapes reach the core, both read by the same parse query:

- :class:`Lines`: RECORD lines of the input chunk registered in the
  workspace, between two line numbers (other streams' lines among them are
  skipped by the query);
- :class:`Texts`: RECORD messages as JSON texts in an Arrow table, for
  messages that did not arrive as such lines.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from dataclasses import dataclass

import pyarrow as pa
import simplejson

from target_sequenced.core.errors import InputError

SCAN_ROWS = 512
"""Rows per Arrow record batch of a batch the workspace scans (one core scans one at a time)."""
ARRIVAL_STEP = 2**24
"""Arrivals per input line: the records one line can bring."""


def _default(value: object) -> object:
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    msg = f"cannot write {type(value).__name__} as JSON"
    raise TypeError(msg)


def record_text(stream: str, record: t.Mapping[str, t.Any], envelope: t.Mapping[str, t.Any]) -> str:
    """A RECORD message as JSON text, numbers with every digit they had.

    ``envelope`` gives the message's ``version`` and ``time_extracted``, if any.
    """
    message: dict[str, t.Any] = {"type": "RECORD", "stream": stream, "record": record}
    for name in ("version", "time_extracted"):
        if envelope.get(name) is not None:
            message[name] = envelope[name]
    return simplejson.dumps(message, use_decimal=True, default=_default, separators=(",", ":"))


def arrival(line: int, index: int = 0) -> int:
    """The arrival of the ``index``-th record an input line brings."""
    return line * ARRIVAL_STEP + index


def line_of(arrival_: int) -> int:
    """The input line an arrival came from."""
    return arrival_ // ARRIVAL_STEP


def index_of(arrival_: int) -> int:
    """The place of a record among those its line brought."""
    return arrival_ % ARRIVAL_STEP


class Arrivals:
    """The arrivals of the records the input line being handled brings, one after another."""

    def __init__(self) -> None:
        """Before the first line."""
        self.position = 0
        """The arrival of the input line being handled."""
        self._index = 0

    def receiving(self, line: int) -> None:
        """The adapter handles input line ``line`` next."""
        self.position = arrival(line)
        self._index = 0

    def next(self, count: int = 1) -> int:
        """The first of the arrivals of the next ``count`` records the line brings."""
        found = self.position + self._index
        self._index += count
        if self._index >= ARRIVAL_STEP:
            where = f"input line {line_of(self.position)}"
            raise InputError(f"{where}: more than {ARRIVAL_STEP - 1} records from one line")
        return found


@dataclass(frozen=True)
class Lines:
    """Lines ``first`` to ``last`` of workspace relation ``relation``; ``count`` of the stream's."""

    relation: str
    first: int
    last: int
    count: int

    @property
    def positions(self) -> int:
        """Generated sequences to reserve: one per line of the range."""
        return self.last - self.first + 1

    @property
    def bounds(self) -> tuple[int, int]:
        """The lowest and highest arrival the batch can hold."""
        return arrival(self.first), arrival(self.last + 1) - 1

    def rows_sql(self) -> str:
        """The relation ``(_arrival, _pos, j)`` of the batch."""
        return (
            f"(SELECT line * {ARRIVAL_STEP} AS _arrival, line - {self.first:d} AS _pos, j "
            f"FROM {self.relation} WHERE line BETWEEN {self.first:d} AND {self.last:d})"
        )


@dataclass(frozen=True)
class Texts:
    """RECORD messages as JSON texts (column ``j``) with their arrivals (``_arrival``), in order."""

    table: pa.Table
    relation: str = ""
    """The name it is registered under in the workspace, once it is."""

    @classmethod
    def of(cls, arrivals: t.Sequence[int], texts: t.Sequence[str]) -> Texts:
        """A batch from arrivals and texts."""
        return cls.of_table(
            pa.table(
                {
                    "_arrival": pa.array(arrivals, pa.int64()),
                    "_pos": pa.array(range(len(texts)), pa.int64()),
                    "j": pa.array(texts, pa.string()),
                }
            )
        )

    @classmethod
    def of_table(cls, table: pa.Table) -> Texts:
        """A batch from a table of ``_arrival``, ``_pos`` and ``j``."""
        # Several record batches, so that DuckDB scans them on every core.
        return cls(pa.Table.from_batches(table.to_batches(max_chunksize=SCAN_ROWS)))

    @property
    def count(self) -> int:
        """How many messages."""
        return self.table.num_rows

    @property
    def positions(self) -> int:
        """Generated sequences to reserve: one per message."""
        return self.table.num_rows

    @property
    def bounds(self) -> tuple[int, int]:
        """The lowest and highest arrival of the batch."""
        arrivals = self.table.column("_arrival")
        return int(arrivals[0].as_py()), int(arrivals[-1].as_py())

    def rows_sql(self) -> str:
        """The relation ``(_arrival, _pos, j)`` of the batch."""
        return f"(SELECT _arrival, _pos, j FROM {self.relation})"


Batch = Lines | Texts
