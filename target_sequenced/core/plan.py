"""A stream's table, planned from its SCHEMA message and the table as stored.

Properties become columns named by :mod:`target_sequenced.core.names`, of the
kind their schema asks for, widened with the kind a stored column already has
(a column never narrows). The key is the stream's key properties; the table
has it as its primary key unless the stream appends.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

import jsonschema

from target_sequenced.core.errors import SchemaError
from target_sequenced.core.kinds import Kind, kind_of, widen
from target_sequenced.core.names import conform_name, conform_names
from target_sequenced.core.numbers import declared_scale
from target_sequenced.core.schemas import VALIDATORS, Draft, SchemaDoc, draft_of
from target_sequenced.core.system import SDK_ONLY_METADATA, SYSTEM_COLUMNS, SYSTEM_NAMES, Column


@dataclass(frozen=True)
class StreamPlan:
    """What a stream's table holds and how its key is made."""

    stream: str
    table: str
    schema: t.Mapping[str, t.Any]
    key_properties: tuple[str, ...]
    columns: tuple[Column, ...]
    """User columns, then the system columns."""
    key: tuple[str, ...]
    """Key column names; the table's primary key when ``unique_key``."""
    unique_key: bool
    doc: SchemaDoc
    properties: dict[str, t.Any] = field(default_factory=dict)
    """Column name -> the property's schema."""
    scales: dict[str, int] = field(default_factory=dict)
    """Number columns whose schema declares their decimals."""

    @property
    def user_columns(self) -> tuple[Column, ...]:
        """The columns that come from record properties."""
        return tuple(col for col in self.columns if not col.is_system)


def check_schema(stream: str, schema: t.Mapping[str, t.Any], draft: Draft) -> None:
    """Raise :class:`InputError` when the schema is not valid JSON Schema of its draft."""
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        msg = f"stream '{stream}': the SCHEMA message's schema has no 'properties' object"
        raise SchemaError(msg)
    try:
        VALIDATORS[draft].check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "#/" + "/".join(str(p) for p in exc.absolute_path)
        msg = (
            f"stream '{stream}': invalid JSON Schema (draft {draft.value}) at {where}: "
            f"{exc.message}"
        )
        raise SchemaError(msg) from exc


def build_plan(
    stream: str,
    schema: t.Mapping[str, t.Any],
    key_properties: t.Sequence[str],
    *,
    appends: bool,
    max_identifier_length: int,
    stored: t.Mapping[str, Kind] | None = None,
    draft: Draft | None = None,
) -> StreamPlan:
    """Derive the table of a stream; ``stored`` are the kinds of the table's existing columns."""
    doc = SchemaDoc(schema, draft_of(schema, draft))
    check_schema(stream, schema, doc.draft)
    properties: dict[str, t.Any] = dict(schema["properties"])
    user_props = [
        name
        for name in properties
        if name not in SDK_ONLY_METADATA and conform_name(name) not in SYSTEM_NAMES
    ]
    mapped = conform_names(stream, user_props, max_identifier_length)
    missing = [k for k in key_properties if k not in mapped]
    if missing:
        msg = (
            f"stream '{stream}': key properties {missing} are not declared in the "
            "schema's top-level properties"
        )
        raise SchemaError(msg)
    stored = stored or {}
    columns = []
    scales = {}
    for name in user_props:
        column = mapped[name]
        sub = properties[name]
        kind = kind_of(sub if isinstance(sub, dict) else {}, doc)
        if column in stored:
            kind = widen(stored[column], kind)
        columns.append(Column(column, kind, name))
        scale = declared_scale(sub) if isinstance(sub, dict) else None
        if kind is Kind.NUMBER and scale is not None:
            scales[column] = scale
    return StreamPlan(
        stream=stream,
        table=conform_name(stream, max_identifier_length),
        schema=schema,
        key_properties=tuple(key_properties),
        columns=(*columns, *SYSTEM_COLUMNS),
        key=tuple(mapped[k] for k in key_properties),
        unique_key=not appends and bool(key_properties),
        doc=doc,
        properties={mapped[n]: properties[n] for n in user_props},
        scales=scales,
    )
