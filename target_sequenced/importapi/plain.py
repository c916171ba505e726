"""The usual Import API batch read in one typed parse: its envelope checked, its records cut out.

msgspec decodes the text as :class:`.payload_rules.PlainBatch`: every message
an upsert whose types and ranges hold, its ``data`` kept as the text it was
sent. The batch's other fields are parsed (they are small) and checked by the
same rules as any batch's (:func:`.payload_rules.head_errors`). Its records
then reach the core as RECORD texts (:func:`.records.from_raw`) that the bulk
checks read, with no Python object made per value.

Anything else is no *plain* batch, and is read the usual way
(:func:`.exact.parse`, then :mod:`.translate`), which words every violation:
a text msgspec refuses, a violation of the envelope, an ``activate_version``
message, a ``time_extracted`` that is no date-time, a ``data`` that is no
object or that holds its own ``_sdc_sequence``.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass

import msgspec
import pyarrow as pa

from target_sequenced.core.exact import parse, parse_line
from target_sequenced.importapi.payload_rules import BATCH_KEYS, PlainBatch, head_errors
from target_sequenced.importapi.records import from_raw, head
from target_sequenced.importapi.stitch_validation import is_date_time

_DECODE = msgspec.json.Decoder(PlainBatch).decode
_HEAD = tuple(name for name in BATCH_KEYS if name != "messages")
_OWN_SEQUENCE = '"_sdc_sequence"'
_ESCAPED_LETTER = r"\\u00(?:5[fF]|6[1-9a-fA-F]|7[0-9aA])"
"""An escaped ``_`` or ``a``-``z``, which can spell ``_sdc_sequence`` (``_sdc\\u005fsequence``)."""
_IN_TEXT = re.compile(_ESCAPED_LETTER)
_IN_BYTES = re.compile(_ESCAPED_LETTER.encode())


@dataclass(frozen=True)
class PlainPayload:
    """A batch of upserts whose envelope holds: its fields, and its records' RECORD texts."""

    text: str | bytes | bytearray
    """As :func:`read_plain` was given it."""
    head: dict[str, t.Any]
    """Every field but ``messages``, parsed as :func:`.exact.parse` parses."""
    count: int
    """How many messages (each an upsert)."""
    texts: pa.Array | None
    """The records' RECORD texts, in order (None: a ``data`` is no object; encode them)."""

    @property
    def table(self) -> str:
        """The batch's ``table_name``."""
        return t.cast("str", self.head["table_name"])

    def records(self, base: int) -> pa.Table | None:
        """The records as ``(_arrival, _pos, j)`` from arrival ``base``; None: encode them."""
        if self.texts is None:
            return None
        return pa.table(
            {
                "_arrival": pa.array(range(base, base + self.count), pa.int64()),
                "_pos": pa.array(range(self.count), pa.int64()),
                "j": self.texts,
            }
        )

    def parsed(self, line: int) -> t.Any:  # noqa: ANN401 - any JSON value
        """The whole batch parsed, read from input line ``line`` (to word its violations).

        Raises:
            InvalidLineError: Python's JSON parser refuses what msgspec read.
        """
        return parse_line(self.text, line)


def read_plain(text: str | bytes | bytearray) -> PlainPayload | None:
    """``text`` as a plain batch, or None when it is not one (read it the usual way).

    ``text``: a str, or bytes known to be UTF-8 (msgspec leaves what it keeps
    as raw text unchecked). Pure, so the Singer reader calls it ahead, in the
    thread that reads the input.
    """
    try:
        decoded = _DECODE(text)
        fields = {name: getattr(decoded, name) for name in _HEAD}
        found = {k: parse(bytes(v)) for k, v in fields.items() if v is not msgspec.UNSET}
    except (msgspec.MsgspecError, ValueError, RecursionError):
        return None
    messages = decoded.messages
    if head_errors(found, len(messages)):
        return None
    extracted = [m.time_extracted for m in messages]
    given = [e for e in extracted if e is not msgspec.UNSET]
    if not all(is_date_time(t.cast("str", e)) for e in given):
        return None
    if _may_hold_sequence(text) and any(_holds_sequence(bytes(m.data)) for m in messages):
        return None
    texts = from_raw(
        head(t.cast("str", found["table_name"]), found.get("table_version", 0)),
        [m.sequence for m in messages],
        [m.data for m in messages],
        [None if e is msgspec.UNSET else t.cast("str", e) for e in extracted] if given else None,
    )
    return PlainPayload(text, found, len(messages), texts)


def _may_hold_sequence(text: str | bytes | bytearray) -> bool:
    """Whether some ``data`` of the batch may hold ``_sdc_sequence`` (each is then looked at)."""
    if isinstance(text, str):
        return _OWN_SEQUENCE in text or _IN_TEXT.search(text) is not None
    return _OWN_SEQUENCE.encode() in text or _IN_BYTES.search(text) is not None


def _holds_sequence(data: bytes) -> bool:
    """Whether a ``data`` text may hold ``_sdc_sequence`` among its members (parsed to tell)."""
    if _OWN_SEQUENCE.encode() not in data and b"\\u00" not in data:
        return False
    try:
        found = parse(data)
    except (ValueError, RecursionError):
        return True
    return isinstance(found, dict) and "_sdc_sequence" in found
