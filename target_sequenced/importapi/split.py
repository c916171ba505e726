"""A batch line's upserts as the core's RECORD texts, split out of the line by DuckDB.

Encoding 20,000 records one by one in Python is the slow part of a batch;
DuckDB cuts the ``data`` objects out of the line's text in one query and
writes each after its ``_sdc_sequence``. It writes a number with a fraction
back from its double, which keeps its value only when
:func:`.numbers.survives_double` says so: the reader hands over the line's
text only then (:func:`.exact.parse_noting`). Other lines, and the rarer
shapes this does not cover (``time_extracted`` on a message,
``_sdc_sequence`` inside ``data``), take the per-record encoding.
"""

from __future__ import annotations

import typing as t

import duckdb
import simplejson

if t.TYPE_CHECKING:
    import pyarrow as pa

    from target_sequenced.core.workspace import Workspace

_ENCODE = simplejson.JSONEncoder(use_decimal=True, separators=(",", ":")).encode

_SPLIT = """SELECT $base + i AS _arrival, i AS _pos,
  $head || s || CASE WHEN d = '{}' THEN '}' ELSE ',' || substr(d, 2) END || '}' AS j
FROM (
  SELECT unnest(range(len(ds))) AS i, unnest(ds) AS d, unnest(ss) AS s
  FROM (
    SELECT CAST(json_extract($line, '$.messages[*].data') AS VARCHAR[]) AS ds,
      json_extract_string($line, '$.messages[*].sequence') AS ss
  )
)
ORDER BY i"""


def head(stream: str, version: int) -> str:
    """The text every RECORD of the batch starts with, up to its sequence."""
    return (
        f'{{"type":"RECORD","stream":{_ENCODE(stream)},"version":{_ENCODE(version)},'
        '"record":{"_sdc_sequence":'
    )


def split(
    workspace: Workspace, line: str, messages: list[dict], *, stream: str, version: int, base: int
) -> pa.Table | None:
    """The batch's records as ``(_arrival, _pos, j)`` from arrival ``base``; None: encode them."""
    if any("time_extracted" in m or "_sdc_sequence" in m["data"] for m in messages):
        return None
    try:
        table = workspace.arrow(_SPLIT, {"line": line, "head": head(stream, version), "base": base})
    except duckdb.Error:
        # Text DuckDB's JSON reader refuses (a lone surrogate escape, say) is
        # left to the encoder, which gives the core what Python parsed.
        return None
    return table if table.num_rows == len(messages) else None


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
