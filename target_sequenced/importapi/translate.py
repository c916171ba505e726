"""Stitch Import API payloads (``spec/import-api.md``) as Singer messages. Pure: no I/O.

A batch object (spec 1.1) becomes a SCHEMA (only when its schema or keys differ
from the last ones emitted for the table), one RECORD per ``upsert`` with the
message's ``sequence`` in ``_sdc_sequence`` (contract 2.1, read back by rule
2.2; it overrides any ``_sdc_sequence`` in ``data``) and an ACTIVATE_VERSION per
``activate_version``. Push records (spec 1.2) have no schema: one is
synthesized per table from the JSON types seen (spec 2.3). A payload is checked
whole before anything is emitted; every violation is raised in one
:class:`PayloadError` (at most 20 texts, then ``... and N more``).

Decisions (spec 9 and [SILENT] points):

- Versions (4.3, 9.3): every RECORD carries ``version`` = ``table_version``, or
  0 when the payload has none (vector 1 stores ``_sdc_table_version`` 0); so does
  ACTIVATE_VERSION. Push elements follow the same rule.
- ``key_names`` (9.1): optional on batch, absent means ``[]`` (append-only).
  Push requires it but accepts ``[]``.
- String key length (9.2): each endpoint keeps its documented limit: batch keys
  must be shorter than 256 characters, push keys at most 1,024.
- Validator (9.4): Draft 4 semantics, everit wording (:mod:`stitch_validation`).
- Checks run in stages, and the first stage with violations is reported whole:
  the request envelope (``Request failed validation:...``), then the schema
  (``Invalid JSON schema:...``), then the records, then ``key_names`` against
  the schema (top-level, scalar). Records come before the key declaration so
  that a key neither declared nor sent reads ``Record is missing key property K``
  (vector 36). Identical texts are reported once.
- Messages (9.10): an ``action`` of ``upsert`` or ``activate_version`` selects
  its shape and each violation is its own text; any other ``action`` gets
  everit's ``oneOf`` text over both closed shapes (the docs' example).
  ``messages`` must hold 1..20,000 items (everit item-count wording); a
  ``sequence`` must fit a signed 64-bit integer (``can not be above``/``below``).
- Push: unknown element keys are refused (``<key>: unknown key``, as in the
  docs' 422 reason); texts are the docs' reasons prefixed by the element's
  location (``#/3: data must be an object``).
- Push typing: a property's declared types are those of its non-null values,
  accumulated over the run; integer with number is ``number``; every property
  is nullable. Other mixes stay a type list that ``columns.kind_of`` widens to
  a string column (objects and arrays stored as their JSON text, booleans as
  ``true``/``false``); objects and arrays alone are JSON columns. A property
  seen only as ``null`` is left out of the schema (Stitch creates no column for
  it). Push key values must be scalars (our rule and wording).
- Routing: a list, or an object with ``client_id`` and no ``messages``, is push
  (a single element is accepted; the HTTP layer alone demands an array, vector
  53); any other object is a batch, so a partial one gets Stitch's texts.
"""

from __future__ import annotations

import copy
import typing as t

from target_sequenced.core.errors import PayloadError
from target_sequenced.importapi.payload_rules import (
    FAILED,
    batch_envelope_errors,
    batch_key_errors,
    batch_record_errors,
    push_errors,
)
from target_sequenced.importapi.stitch_validation import type_name, validator_for

Shape = t.Literal["singer", "batch", "push"]
Message = dict[str, t.Any]

MAX_ERRORS = 20
_JSON_TYPES = ("boolean", "integer", "number", "string", "object", "array")


def shape_of(value: object) -> Shape | None:
    """Tell which kind of input a parsed JSON value is, if any."""
    if isinstance(value, list):
        return "push"
    if not isinstance(value, dict):
        return None
    if "type" in value:
        return "singer"
    if "table_name" in value and "messages" in value:
        return "batch"
    if "client_id" in value and "data" in value:
        return "push"
    return None


def _dedupe(texts: list[str]) -> list[str]:
    return list(dict.fromkeys(texts))


def _capped(texts: list[str]) -> list[str]:
    texts = _dedupe(texts)
    if len(texts) <= MAX_ERRORS:
        return texts
    return [*texts[:MAX_ERRORS], f"... and {len(texts) - MAX_ERRORS} more"]


def _record(stream: str, message: dict, version: int) -> Message:
    record = {**message["data"], "_sdc_sequence": message["sequence"]}
    out: Message = {"type": "RECORD", "stream": stream, "record": record, "version": version}
    if "time_extracted" in message:
        out["time_extracted"] = message["time_extracted"]
    return out


def _schema_message(stream: str, schema: dict, keys: list[str]) -> Message:
    return {"type": "SCHEMA", "stream": stream, "schema": schema, "key_properties": keys}


def _json_type(value: object) -> str | None:
    name = type_name(value)
    return {"String": "string", "Integer": "integer", "Number": "number", "Boolean": "boolean",
            "JSONObject": "object", "JSONArray": "array"}.get(name)  # fmt: skip


def _property_schema(types: set[str]) -> dict[str, t.Any]:
    if "number" in types:
        types = types - {"integer"}
    return {"type": ["null", *(name for name in _JSON_TYPES if name in types)]}


class Translator:
    """Translates Import API payloads; stateful across the payloads of one run.

    Remembers the last schema and keys emitted per table (and, for push, the
    types seen per table and property).
    """

    def __init__(self) -> None:
        """Start with no table known."""
        self._emitted: dict[str, tuple[dict, list[str]]] = {}
        self._push_types: dict[str, dict[str, set[str]]] = {}

    def translate(
        self, value: object, *, conformity: bool = True, endpoint: Shape | None = None
    ) -> list[Message]:
        """Import API payload (batch object or push records) -> Singer messages, in order.

        A list, or an object with ``client_id`` and no ``messages``, is push
        records; any other object is a batch. Nothing is emitted (and no state
        changes) unless the whole payload is valid.

        ``conformity=False`` (a batch of upserts only) leaves the records
        against their schema, and their keys (present, short enough), to the
        loading core's bulk checks (Draft 4, ``date-time`` and the key length,
        as :data:`.loading.STITCH_BATCH` sets them), and the
        records themselves to the caller: only a SCHEMA, if one is due, is
        returned. The caller must then ask :meth:`conformity_errors` for
        Stitch's words when the core refuses a record, and :meth:`forget` what
        this payload taught if it is refused.

        ``endpoint``: the payload came to that endpoint (HTTP), so it is read
        as that kind whatever its shape; None: told by its shape (stdin).

        Raises:
            PayloadError: the payload breaks the API's rules; every violation is listed.
        """
        if endpoint == "push" or (
            endpoint is None
            and (
                isinstance(value, list)
                or (isinstance(value, dict) and "client_id" in value and "messages" not in value)
            )
        ):
            return self._push(t.cast("list | dict", value))
        if not isinstance(value, dict):
            raise PayloadError([f"{FAILED}#: expected type: JSONObject, found: {type_name(value)}"])
        return self._batch(value, conformity=conformity)

    def conformity_errors(self, payload: dict) -> list[str]:
        """Stitch's words for a valid-looking batch whose records the core refused (maybe none)."""
        keys: list[str] = payload.get("key_names", [])
        return _capped(batch_record_errors(payload["schema"], keys, payload["messages"]))

    def remembered(self) -> tuple[dict, dict]:
        """What the translator knows of the tables, to restore with :meth:`forget`."""
        return dict(self._emitted), self._push_types

    def forget(self, known: tuple[dict, dict]) -> None:
        """Back to what :meth:`remembered` returned (a refused payload taught nothing)."""
        self._emitted, self._push_types = known

    def _batch(self, payload: dict, *, conformity: bool) -> list[Message]:
        name = payload.get("table_name")
        table = name if isinstance(name, str) else None
        keys: list[str] = payload.get("key_names", [])

        def records() -> list[str]:
            if conformity:
                return batch_record_errors(payload["schema"], keys, payload["messages"])
            # The records, their keys too, are the core's checks (the caller's).
            return validator_for(payload["schema"]).schema_errors

        def declaration() -> list[str]:
            found = batch_key_errors(payload["schema"], keys)
            if found and not conformity:
                # The records' violations come first, as when they are checked here.
                return batch_record_errors(payload["schema"], keys, payload["messages"]) or found
            return found

        for stage in (lambda: batch_envelope_errors(payload), records, declaration):
            if texts := stage():
                raise PayloadError(_capped(texts), table)
        out = self._schema_due(payload)
        if not conformity:
            return out  # the caller takes the records from the payload
        stream: str = payload["table_name"]
        version = payload.get("table_version", 0)
        for message in payload["messages"]:
            if message["action"] == "upsert":
                out.append(_record(stream, message, version))
            else:
                out.append({"type": "ACTIVATE_VERSION", "stream": stream, "version": version})
        return out

    def plain_head(self, head: dict) -> list[Message] | None:
        """The SCHEMA a plain batch (:mod:`.plain`) needs first, if any; not its records.

        ``head``: the batch's fields but its messages, whose envelope holds.
        As ``translate(conformity=False)``, the records are left to the bulk
        checks; the keys they send too (present, short enough: the core's key
        checks under :data:`.loading.STITCH_BATCH`). None when the schema or the
        key declaration breaks a rule: only the whole payload can say which
        violations Stitch reports first (the records' keys come before the
        declaration), so it is read the usual way.
        """
        schema, keys = head["schema"], head.get("key_names", [])
        if validator_for(schema).schema_errors or batch_key_errors(schema, keys):
            return None
        return self._schema_due(head)

    def _schema_due(self, payload: dict) -> list[Message]:
        """The batch's SCHEMA when its schema or keys differ from the table's last ones."""
        stream: str = payload["table_name"]
        schema, keys = payload["schema"], payload.get("key_names", [])
        if self._emitted.get(stream) == (schema, keys):
            return []
        message = _schema_message(stream, schema, keys)
        if "bookmark_names" in payload:
            message["bookmark_properties"] = payload["bookmark_names"]
        self._emitted[stream] = (copy.deepcopy(schema), list(keys))
        return [message]

    def _push(self, value: list | dict) -> list[Message]:
        elements = value if isinstance(value, list) else [value]
        if texts := push_errors(value):
            names = {
                e["table_name"]
                for e in elements
                if isinstance(e, dict) and isinstance(e.get("table_name"), str)
            }
            raise PayloadError(_capped(texts), names.pop() if len(names) == 1 else None)
        types = {
            name: {prop: set(seen) for prop, seen in props.items()}
            for name, props in self._push_types.items()
        }
        for element in elements:
            props = types.setdefault(element["table_name"], {})
            for prop, item in element["data"].items():
                found = props.setdefault(prop, set())
                if (kind := _json_type(item)) is not None:
                    found.add(kind)
        schemas = {
            name: {
                "type": "object",
                "properties": {p: _property_schema(s) for p, s in props.items() if s},
            }
            for name, props in types.items()
        }
        emitted = dict(self._emitted)
        out: list[Message] = []
        for element in elements:
            stream, keys = element["table_name"], list(element["key_names"])
            if emitted.get(stream) != (schemas[stream], keys):
                out.append(_schema_message(stream, copy.deepcopy(schemas[stream]), keys))
                emitted[stream] = (copy.deepcopy(schemas[stream]), keys)
            out.append(_record(stream, element, element.get("table_version") or 0))
        self._push_types, self._emitted = types, emitted
        return out
