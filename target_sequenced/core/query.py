"""A stream's plan compiled into the one DuckDB query that parses, checks and converts its lines.

The query reads RECORD lines from a relation ``(_arrival, _pos, j)``: the
line's arrival (its place in the input), its position for generated
sequences, and the line's JSON text. For each line of the stream it gives
the buffer's row: every column's value, and the verdicts

- ``_ok_schema``: valid against the stream's schema (:mod:`.checks`);
- ``_ok_num``: every check that reads numbers holds (``numeric`` checks);
- ``_ok_other``: every other check holds (keys, sequence, envelope, dates);
- ``_lossy``: the line holds a number the bulk read could change, so the
  exact parse decides the schema and numeric verdicts and gives the numeric
  values (:mod:`.exact`);
- ``_ignored``: its version is below the stream's active one (contract 5);
- ``_source``: where its sequence came from (:mod:`.sequences`).

:meth:`ParseQuery.diagnose_sql` evaluates each check alone for the lines that
failed, to word the error.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from target_sequenced.core.checks import (
    ASSERTIONS,
    Compiler,
    Rules,
    allowed_types,
    compile_property,
)
from target_sequenced.core.conversions import Check, ColumnRead, column_read, key_checks
from target_sequenced.core.envelope import envelope_sql
from target_sequenced.core.fields import Fields, Value
from target_sequenced.core.kinds import STRING_FORMATS
from target_sequenced.core.numbers import lossy_sql
from target_sequenced.core.schemas import Unsupported
from target_sequenced.core.sequences import sequence_sql, sources
from target_sequenced.core.sql import literal, pointer, quote
from target_sequenced.core.system import DELETED_AT, SEQUENCE

if t.TYPE_CHECKING:
    from target_sequenced.core.plan import StreamPlan
    from target_sequenced.core.system import Column

FLAGS = ("_arrival", "_ok_schema", "_ok_num", "_ok_other", "_lossy", "_ignored", "_source")
_ROOT_KEYWORDS = frozenset({"properties", "required", "type", "additionalProperties"})


@dataclass(frozen=True)
class ParseQuery:
    """The compiled query of one stream, and what the checks are."""

    select: str
    """``SELECT ...`` of the buffer's row; ``{rows}`` stands for the relation of lines."""
    inner: str
    """The same query with ``{select}`` for what it selects."""
    checks: tuple[Check, ...]
    """Every check but the schema's, in the order :meth:`diagnose_sql` lists them."""
    columns: tuple[Column, ...]
    numeric: frozenset[str]
    """Columns whose value the exact parse gives on a lossy line."""
    reference: str | None
    """Why the reference validator decides every line's schema verdict (None: the SQL does)."""
    sources: tuple[str, ...] = ()
    """Sequence source names; a row's ``_source`` is an index into them."""

    def sql(self, rows: str) -> str:
        """The query over a relation of lines."""
        return self.select.replace("{rows}", rows)

    def diagnose_sql(self, rows: str) -> str:
        """The query that lists each check's verdict for lines of the relation."""
        verdicts = ", ".join(f"coalesce({c.sql}, false)" for c in self.checks) or "true"
        return self.inner.replace("{rows}", rows).replace(
            "{select}", f"_arrival, [{verdicts}] AS _verdicts"
        )


def _check_root(
    plan: StreamPlan, compiler: Compiler, fields: Fields, reads: dict[str, Value]
) -> str:
    """SQL: the record is valid against the root schema."""
    root = plan.doc.resolve(plan.schema)
    parts = []
    properties = root.get("properties") or {}
    for prop, sub in properties.items():
        value = reads.get(prop) or _any_read(fields, prop)
        parts.append(compile_property(sub, value, compiler))
    for prop in root.get("required") or []:
        value = reads.get(prop) or _any_read(fields, prop)
        parts.append(f"({value.type} IS NOT NULL)")
    rest = {k: v for k, v in root.items() if k not in _ROOT_KEYWORDS}
    extra = root.get("additionalProperties", True)
    record: Value | None = None
    asserted = any(k in rest for k in ASSERTIONS)
    if extra is False and not asserted:
        # The common closed record: only its keys are needed, read without
        # extracting the record's text first.
        keys = compiler.extra_keys("json_keys(j, '/record')", list(properties))
        parts.append(f"({fields.slot('/record')} <> 'OBJECT' OR {keys})")
        extra = True
    if extra is not True or asserted:
        record = Value.of_json(
            fields.lift("_record", "json_extract(j, '/record')"), fields.slot("/record")
        )
    if extra is not True and record is not None:
        parts.append(
            compiler.check(
                {"properties": dict.fromkeys(properties, True), "additionalProperties": extra},
                record,
            )
        )
    if record is not None and asserted:
        parts.append(compiler.check(rest, record))
    return "(" + " AND ".join(parts) + ")" if parts else "true"


def _any_read(fields: Fields, prop: str) -> Value:
    """A property that is no column: read as JSON text (its own lookup if read otherwise)."""
    if prop in fields.struct and fields.struct[prop] != "JSON":
        found = fields.lift(
            f"_j_{len(fields.lifted)}", f"json_extract(j, {literal(pointer('record', prop))})"
        )
        return Value.of_json(found)
    return fields.record_property(prop, "JSON")


def compile_query(
    plan: StreamPlan,
    rules: Rules,
    *,
    sequence_property: str | None,
    validate: bool,
    nul_ok: bool,
) -> ParseQuery:
    """Compile the parse query of a stream's plan."""
    fields = Fields()
    compiler = Compiler(plan.doc, rules, fields.slot)
    reads: dict[str, Value] = {}
    column_reads: list[ColumnRead] = []
    for col in plan.user_columns:
        sub = plan.properties.get(col.name)
        sub = sub if isinstance(sub, dict) else {}
        fmt = sub.get("format") if sub.get("format") in STRING_FORMATS else None
        read = column_read(
            fields,
            col.name,
            col.kind,
            col.prop,
            allowed_types(sub, plan.doc),
            string_format=fmt,
            nul_ok=nul_ok,
        )
        column_reads.append(read)
        reads[col.prop] = read.read
    own = fields.record_property(SEQUENCE, "BIGINT")
    reads[SEQUENCE] = own
    prop = None
    if sequence_property:
        prop = reads.get(sequence_property) or _any_read(fields, sequence_property)
    sequence, source, sequence_checks = sequence_sql(own, prop, sequence_property)
    system_values, envelope_checks, version = envelope_sql(fields)
    reads[DELETED_AT] = fields.record_property(DELETED_AT, "VARCHAR")

    reference = None
    schema_ok = "true"
    if validate:
        try:
            schema_ok = _check_root(plan, compiler, fields, reads)
        except (Unsupported, ValueError) as exc:
            reference, schema_ok = str(exc), "true"
    by_name = {r.name: r for r in column_reads}
    keys = [c for k in plan.key for c in key_checks(by_name[k], rules.key_length_below)]
    checks = (
        *envelope_checks,
        *keys,
        *sequence_checks,
        *(c for r in column_reads for c in r.checks),
    )
    values = {r.name: r.value for r in column_reads} | system_values | {SEQUENCE: sequence}
    numeric = frozenset(r.name for r in column_reads if r.numeric)
    # Numbers reach a column as DuckDB writes them back when it is read as JSON
    # text, or when nothing checks that a text column holds only strings.
    written_back = not validate or any(r.read.json is not None for r in column_reads)
    lossy = "true" if reference else lossy_sql("j", written_back=written_back)

    def verdict(which: t.Iterable[Check]) -> str:
        found = [c.sql for c in which]
        return "coalesce(" + " AND ".join(found) + ", false)" if found else "true"

    selected = [f"{values[col.name]} AS {quote(col.name)}" for col in plan.columns]
    selected += [
        "_arrival",
        f"coalesce({schema_ok}, false) AS _ok_schema",
        f"{verdict(c for c in checks if c.numeric)} AS _ok_num",
        f"{verdict(c for c in checks if not c.numeric)} AS _ok_other",
        f"{lossy} AS _lossy",
        f"coalesce({version} < CAST($active AS BIGINT), false) AS _ignored",
        f"{source} AS _source",
    ]
    lifted = ",\n    ".join(f"{expr} AS {name}" for name, expr in fields.lifted.items())
    paths = "[" + ", ".join(literal(p) for p in fields.paths) + "]"
    inner = f"""SELECT {{select}}
FROM (
  SELECT _arrival, _pos, j,
    {lifted}
  FROM (
    SELECT _arrival, _pos, j,
      json_type(j, {paths}) AS _t,
      from_json(j, {literal(fields.structure())}) AS _m
    FROM {{rows}}
  )
  WHERE _m.type = 'RECORD' AND _m.stream = $stream AND _t[1] = 'VARCHAR' AND _t[2] = 'VARCHAR'
)"""
    select = inner.replace("{select}", ",\n  ".join(selected))
    return ParseQuery(
        select, inner, tuple(checks), plan.columns, numeric, reference, sources(sequence_property)
    )
