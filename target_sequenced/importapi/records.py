"""A batch's upserts as the RECORD texts the core reads, the message's sequence in the record.

One shape, written two ways side by side: from each message's ``data`` as
the text it was sent (:func:`from_raw`, the usual batch that :mod:`.plain`
reads: Arrow joins the texts, no Python object per value, every number with
the digits it was sent with) and from parsed messages (:func:`encoded`, one
encoder call per record). ``tests/test_import_api_bulk.py`` holds both to the
same values.

The record's ``_sdc_sequence`` is the message's ``sequence`` (contract 2.1),
written first; a ``data`` holding its own ``_sdc_sequence`` is not written
from its text (:func:`.plain.read_plain` leaves it to the encoder, which drops it).
"""

from __future__ import annotations

import itertools
import typing as t

import pyarrow as pa
import simplejson

_ENCODE = simplejson.JSONEncoder(use_decimal=True, separators=(",", ":")).encode
_EMPTY_OBJECT = r"^\{[ \t\n\r]*\}$"
_MAX_OFFSET = 2**31 - 1
"""The most bytes an Arrow string array holds."""


def head(stream: str, version: int) -> str:
    """The text every RECORD of the batch starts with, up to its sequence."""
    return (
        f'{{"type":"RECORD","stream":{_ENCODE(stream)},"version":{_ENCODE(version)},'
        '"record":{"_sdc_sequence":'
    )


def from_raw(
    start: str,
    sequences: list[int],
    datas: t.Sequence[t.Any],
    extracted: list[str | None] | None,
) -> pa.Array | None:
    """The RECORD texts of messages given by their sequences and ``data`` texts.

    ``start``: :func:`head`; ``datas``: each ``data`` as UTF-8 JSON text, any
    bytes-like object; ``extracted``: each message's ``time_extracted`` (None:
    no message has one). None when a ``data`` is no JSON object.
    """
    # Imported here: Singer input never needs it, and its import is slow
    # (bench/README.md, "Measured choices").
    import pyarrow.compute as pc  # noqa: PLC0415

    lengths = [len(d) for d in datas]
    joined = b"".join(datas)
    if len(joined) > _MAX_OFFSET:
        return None
    offsets = pa.array(itertools.accumulate(lengths, initial=0), pa.int32())
    data = pa.StringArray.from_buffers(len(lengths), offsets.buffers()[1], pa.py_buffer(joined))
    if not pc.all(pc.starts_with(data, "{")).as_py():
        return None
    after: pa.Array | str = ""
    if extracted is not None:
        after = pa.array(
            ["" if e is None else f',"time_extracted":{_ENCODE(e)}' for e in extracted],
            pa.string(),
        )
    number = pc.cast(pa.array(sequences, pa.int64()), pa.string())
    # The record's members follow its sequence: each data without its "{".
    # Arrow's passes over the texts allocate as much again each; an empty
    # object, which has no members, costs one more pass only when there is one.
    texts = pc.binary_join_element_wise(
        start, number, ",", pc.utf8_slice_codeunits(data, 1), after, "}", ""
    )
    empty = pc.match_substring_regex(data, _EMPTY_OBJECT)
    if pc.any(empty).as_py():
        alone = pc.binary_join_element_wise(start, number, "}", after, "}", "")
        texts = pc.if_else(empty, alone, texts)
    return texts


def encoded(messages: list[dict], *, stream: str, version: int) -> t.Iterator[str]:
    """The batch's records as RECORD texts, one encoder call per record."""
    start = head(stream, version)
    for message in messages:
        data = {k: v for k, v in message["data"].items() if k != "_sdc_sequence"}
        body = _ENCODE(data)
        tail = "}" if body == "{}" else "," + body[1:]
        extracted = message.get("time_extracted")
        after = "" if extracted is None else f',"time_extracted":{_ENCODE(extracted)}'
        yield f"{start}{_ENCODE(message['sequence'])}{tail}{after}}}"
