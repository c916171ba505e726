"""The loading core's parse step on its own: records in, the buffer's rows and refusals out.

No destination: the records go through the stream's compiled parse query in a
real in-memory workspace, exactly as a load would take them, and the rows the
buffer holds (or the words of the refusals) are returned.
"""

from __future__ import annotations

import datetime as dt
import json
import typing as t
from dataclasses import dataclass

from target_sequenced.core.batches import Texts, arrival, record_text
from target_sequenced.core.buffer import StreamBuffer
from target_sequenced.core.exact import Reference
from target_sequenced.core.loader import SINGER_RULES
from target_sequenced.core.plan import build_plan
from target_sequenced.core.query import compile_query
from target_sequenced.core.stats import StreamStats
from target_sequenced.core.verdicts import explain
from target_sequenced.core.workspace import Workspace

if t.TYPE_CHECKING:
    from target_sequenced.core.checks import Rules

CLOCK = 10**18


@dataclass
class Parsed:
    rows: list[dict]
    """The buffer's rows after the batch (invalid ones removed), by arrival."""
    refused: list[str]
    """The words of each refused record."""
    winners: list[dict]
    """What a load would write: per key the greatest (sequence, arrival)."""
    candidates: list[dict]
    """Versions a load compares with the stored row to count them."""
    stats: StreamStats


def parse(
    schema: dict,
    records: t.Sequence[dict | str],
    *,
    key: t.Sequence[str] = ("id",),
    sequence_property: str | None = None,
    rules: Rules = SINGER_RULES,
    validate: bool = True,
    nul_ok: bool = True,
    appends: bool = False,
    source: str | None = None,
) -> Parsed:
    """Parse RECORD messages (a record dict, or a whole message as JSON text) of stream ``s``."""
    plan = build_plan(
        "s", {"type": "object", **schema}, list(key), appends=appends, max_identifier_length=63
    )
    query = compile_query(
        plan, rules, sequence_property=sequence_property, validate=validate, nul_ok=nul_ok
    )
    workspace = Workspace()
    stats = StreamStats()
    reference = Reference(plan.doc, rules) if validate else None
    buffer = StreamBuffer(workspace, query, reference, plan.key, keyed=plan.unique_key, stats=stats)
    texts = [r if isinstance(r, str) else record_text("s", r, {}) for r in records]
    arrivals = [arrival(line) for line in range(2, len(texts) + 2)]
    batch = Texts.of(arrivals, texts)
    name = workspace.temp_name("texts")
    try:
        with workspace.registered(name, batch.table):
            batch = Texts(batch.table, name)
            added = buffer.add(
                batch,
                stream="s",
                clock=CLOCK,
                received_at=dt.datetime.now(tz=dt.timezone.utc),
                active_version=None,
                source=source,
            )
            refused = []
            if added.invalid:
                found = explain(
                    workspace,
                    buffer,
                    batch,
                    added.invalid,
                    added.indexes,
                    stream="s",
                    table="s",
                    source=source,
                )
                refused = [f.message for f in found]
                buffer.discard(added.invalid)
        names = [c.name for c in plan.columns]
        columns = ", ".join(json.dumps(n) for n in names)
        table = buffer._table
        found = workspace.run(f"SELECT {columns}, _arrival FROM {table} ORDER BY _arrival")
        keys = [*names, "_arrival"]
        rows = [dict(zip(keys, row, strict=True)) for row in found] if buffer.rows else []
        taken, candidates, _ties = buffer.take()
        winners = taken.to_pylist()
    finally:
        workspace.close()
    return Parsed(
        rows, refused, winners, candidates.to_pylist() if candidates is not None else [], stats
    )
