"""The words for a record the checks refused: located, naming the field and the rule.

``stream 'people', input line 4, record 1: record does not conform to schema:
#/age: 'old' is not of type 'null', 'integer'`` - the stream, the input line,
the record's index among the stream's records of the run, then each
violation: the schema's in the reference validator's words, every other
rule's (keys, sequences, dates, integers) as its check states it, with the
value found.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from target_sequenced.core.batches import index_of, line_of
from target_sequenced.core.errors import shorten
from target_sequenced.core.exact import column_value, json_text, parse
from target_sequenced.core.sequences import describe

if t.TYPE_CHECKING:
    from target_sequenced.core.batches import Batch
    from target_sequenced.core.buffer import StreamBuffer
    from target_sequenced.core.conversions import Check
    from target_sequenced.core.workspace import Workspace

REMEDY_SOURCE = (
    "load the stream into another table, replace the table's contents once "
    "(load_method: overwrite), or set sequence_sources_comparable: true if they do compare"
)


@dataclass(frozen=True)
class Invalid:
    """A refused record: where it arrived, why, and the record as received."""

    arrival: int
    message: str
    record: str
    """The RECORD's record as JSON text (for ``_sdc_rejected``)."""
    missing_key: bool = False
    """The first reason is a missing key (the SDK has its own error class for it)."""


Locate = t.Callable[[str, int, int], str]
"""Words where a refused record came from: its stream, arrival, and index among the stream's."""


def where(stream: str, arrival: int, index: int) -> str:
    """``stream 'x', input line N, record I`` (and the place within a line that brought several)."""
    within = index_of(arrival)
    line = f"input line {line_of(arrival)}" + (f" (item {within})" if within else "")
    return f"stream '{stream}', {line}, record {index}"


def shown(value: object) -> str:
    """A value found in a record, as the JSON it came as (``5000.5``, ``true``, ``"x"``)."""
    return shorten(json_text(value))


def _found(message: dict, record: dict, path: str) -> str:
    if path in ("version", "time_extracted"):
        return shown(message.get(path))
    if path == "#":
        return shown(message.get("record"))
    return shown(record.get(path[2:].replace("~1", "/").replace("~0", "~")))


def _under(path: str, named: set[str]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in named)


def _rule(check: Check, message: dict, record: dict) -> str:
    if check.text.startswith("Record is missing key property"):
        return check.text
    return f"{check.path}: {check.text}, found {_found(message, record, check.path)}"


def explain(
    workspace: Workspace,
    buffer: StreamBuffer,
    batch: Batch,
    arrivals: t.Sequence[int],
    indexes: t.Mapping[int, int],
    *,
    stream: str,
    table: str,
    source: str | None,
    locate: Locate = where,
) -> list[Invalid]:
    """Word why each row of ``arrivals`` (invalid rows still in ``buffer``) was refused.

    ``locate``: the adapter's words for where a record came from (:func:`where`: input lines).
    """
    listed = ", ".join(str(int(a)) for a in arrivals)
    rows = batch.rows_sql()
    texts = dict(workspace.run(f"SELECT _arrival, j FROM {rows} WHERE _arrival IN ({listed})"))
    query = buffer.query
    verdicts = dict(
        workspace.run(
            f"SELECT * FROM ({query.diagnose_sql(rows)}) WHERE _arrival IN ({listed})",
            {"stream": stream},
        )
    )
    found = []
    for arrival, row_source, schema_ok, numeric_ok, lossy in buffer.invalid_rows(arrivals):
        message = parse(texts[arrival])
        record = message.get("record") if isinstance(message, dict) else None
        record = record if isinstance(record, dict) else {}
        reasons = []
        errors: list[str] = []
        if not schema_ok:
            errors = buffer.reference.errors(record) if buffer.reference else []
            reasons.append(
                "record does not conform to schema: " + "; ".join(errors)
                if errors
                else "the bulk checks refused the record and the reference validator accepts it "
                "(a bug in target-sequenced: please report it with the record)"
            )
        checks = [c for c, ok in zip(query.checks, verdicts[arrival], strict=True) if not ok]
        if not schema_ok and errors:
            # A field the schema already refused gets no column rule on top.
            named = {error.split(": ", 1)[0] for error in errors}
            checks = [c for c in checks if not _under(c.path, named)]
        if lossy:
            checks = [c for c in checks if not c.numeric]
            if not numeric_ok:
                reasons += _exact_reasons(buffer, record)
        reasons += [_rule(c, message, record) for c in checks]
        if reasons[1:] and not errors and not schema_ok:
            # A number no column can hold reads as NULL, and a bound on it then
            # fails too: the loading rule that refused it is the reason.
            reasons.pop(0)
        if source and row_source != source and not reasons:
            reasons.append(
                f"its sequence comes from {describe(str(row_source))}, but table '{table}' holds "
                f"{describe(source)}: they do not compare, and every later version would be "
                f"dropped as stale; {REMEDY_SOURCE}"
            )
        text = "; ".join(reasons) or "refused by a check (no reason recorded)"
        found.append(
            Invalid(
                arrival,
                f"{locate(stream, arrival, indexes.get(arrival, 0))}: {text}",
                json_text(message.get("record")) if isinstance(message, dict) else texts[arrival],
                missing_key=bool(reasons)
                and reasons[0].startswith("Record is missing key property"),
            )
        )
    return found


def _exact_reasons(buffer: StreamBuffer, record: dict) -> list[str]:
    reasons = []
    for col in buffer.columns:
        if col.name in buffer.query.numeric:
            _, error = column_value(col, record.get(col.prop))
            if error:
                reasons.append(f"#/{col.prop}: {error}, found {shown(record.get(col.prop))}")
    return reasons


REJECT = "on_invalid_record: reject (the record goes to table _sdc_rejected)"


def remedy_of(message: str) -> str:
    """What a user can do about an invalid record besides fixing it at its source."""
    fixes = ["fix the record at its source", f"{REJECT} to load the rest"]
    if "does not conform to schema" in message:
        fixes.append("validate_records: false to load records without their schema's checks")
    return ", or ".join(fixes)
