"""What Stitch's Import API rejects, worded as Stitch words it (``spec/import-api.md``).

Two parts: records against the user's JSON Schema (:func:`validator_for`), and
the requests themselves (:func:`batch_envelope_errors`,
:func:`batch_record_errors`, :func:`batch_key_errors`, :func:`push_errors`),
whose rules and choices :mod:`target_sequenced.translate` documents.

Semantics are JSON Schema Draft 4 (``jsonschema.Draft4Validator``): ``1.0`` is
not an integer, booleans are not numbers. Of the formats only ``date-time`` is
checked (as Stitch does); it accepts RFC 3339 with ``Z``, ``+hh:mm`` or
``+hhmm`` offsets (the docs' own examples use ``2020-01-13T21:25:03+0000``)
and rejects anything without a zone.

Violations are worded like the everit validator whose texts Stitch returns
(spec 1.1 [FIELD]), one line each, located by JSON pointer (``#`` is the root):

- ``#/age: expected type: Integer, found: String`` (names ``String``,
  ``Integer``, ``Number``, ``Boolean``, ``JSONObject``, ``JSONArray``; a
  ``null`` alternative reads ``expected: null, found: String``);
- a type list or ``anyOf`` that fails is everit's multi-line form: the line
  ``#/x: #: no subschema matched out of the total 2 subschemas`` followed by one
  line per alternative;
- ``#: required key [x] not found``, ``#: extraneous key [x] is not permitted``;
- ``#/at: [yesterday] is not a valid date-time``;
- other keywords in everit's wording (``expected maxLength: 3, actual: 5``, ...),
  or jsonschema's message where everit's is not known.

A schema Stitch would refuse gives ``Invalid JSON schema: unknown type: [strng]``
(everit's text) or ``Invalid JSON schema: #/<where>: <problem>``.
"""

from __future__ import annotations

import json
import re
import typing as t
from collections import OrderedDict

import jsonschema
import referencing.exceptions

from target_sequenced.core.datetimes import STITCH
from target_sequenced.core.errors import shorten
from target_sequenced.core.numbers import INT64_MAX, INT64_MIN

if t.TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from jsonschema.exceptions import ValidationError

TYPE_NAMES = {
    "string": "String",
    "integer": "Integer",
    "number": "Number",
    "boolean": "Boolean",
    "object": "JSONObject",
    "array": "JSONArray",
    "null": "null",
}
_SCHEMA_LISTS = ("anyOf", "allOf", "oneOf")
_SCHEMA_MAPS = ("properties", "patternProperties", "definitions")
_SCHEMA_ONES = ("not", "additionalProperties", "additionalItems")
_CACHE_SIZE = 256


def is_date_time(value: str) -> bool:
    """Tell whether ``value`` is a date-time as Stitch reads one (``core.datetimes.STITCH``)."""
    return STITCH.matches(value)


_PY_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "Boolean"),
    (int, "Integer"),
    (str, "String"),
    (dict, "JSONObject"),
    (list, "JSONArray"),
)


def type_name(value: object) -> str:
    """Everit's name for the JSON type of a value (other numbers are ``Number``)."""
    if value is None:
        return "null"
    return next((name for cls, name in _PY_TYPES if isinstance(value, cls)), "Number")


def pointer(path: Iterable[object]) -> str:
    """Render a location as a JSON pointer: ``#`` for the root, else ``#/a/0/b``."""
    parts = [str(part).replace("~", "~0").replace("/", "~1") for part in path]
    return "#/" + "/".join(parts) if parts else "#"


def render(value: object) -> str:
    """Show a value in a message as everit does (strings bare), cut to a readable length."""
    if isinstance(value, str):
        return shorten(value)
    return shorten(json.dumps(value, default=str, separators=(",", ":")))


def _expected(types: str) -> str:
    return "expected: null" if types == "null" else f"expected type: {TYPE_NAMES[types]}"


def _schema_problems(schema: object) -> list[str]:
    """Return the ``Invalid JSON schema`` texts for a user schema (none when usable)."""
    unknown: list[str] = []
    _unknown_types(schema, unknown)
    if unknown:
        return [f"Invalid JSON schema: unknown type: [{name}]" for name in unknown]
    meta = jsonschema.Draft4Validator(jsonschema.Draft4Validator.META_SCHEMA)
    problems = []
    for error in meta.iter_errors(schema):
        where = pointer(error.absolute_path)
        if error.validator == "type":
            wanted = error.validator_value
            names = [wanted] if isinstance(wanted, str) else list(wanted)
            expected = ", ".join(TYPE_NAMES.get(name, name) for name in names)
            found = type_name(error.instance)
            problems.append(
                f"Invalid JSON schema: {where}: expected type is one of {expected}, found: {found}"
            )
        else:
            problems.append(f"Invalid JSON schema: {where}: {shorten(error.message)}")
    return problems


def _unknown_types(schema: object, found: list[str]) -> None:
    """Collect type names Draft 4 does not know, depth first, each once."""
    if isinstance(schema, list):
        for item in schema:
            _unknown_types(item, found)
        return
    if not isinstance(schema, dict):
        return
    declared = schema.get("type")
    names = [declared] if isinstance(declared, str) else declared
    if isinstance(names, list):
        found += [n for n in dict.fromkeys(names) if isinstance(n, str) and n not in TYPE_NAMES]
        found[:] = list(dict.fromkeys(found))
    _unknown_types(_subschemas(schema), found)


def _subschemas(schema: dict) -> list[object]:
    """The schemas (or lists of schemas) directly inside ``schema``."""
    inner: list[object] = [schema.get(key) for key in (*_SCHEMA_LISTS, *_SCHEMA_ONES, "items")]
    for key in _SCHEMA_MAPS:
        children = schema.get(key)
        if isinstance(children, dict):
            inner += children.values()
    dependencies = schema.get("dependencies")
    if isinstance(dependencies, dict):
        inner += [d for d in dependencies.values() if isinstance(d, dict)]
    return inner


class _Lines:
    """Turns jsonschema errors into everit lines, each required/extraneous key once."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str, str]] = set()

    def of(self, errors: Iterable[ValidationError]) -> Iterator[str]:
        for error in errors:
            yield from self.one(error)

    def one(self, error: ValidationError) -> Iterator[str]:
        where = pointer(error.absolute_path)
        keyword, wanted, value = error.validator, error.validator_value, error.instance
        if keyword == "type":
            yield from self._type(where, wanted, value)
        elif keyword == "required":
            yield from self._keys(where, "required", [k for k in wanted if k not in value])
        elif keyword == "additionalProperties":
            yield from self._keys(where, "extraneous", self._extra(error))
        elif keyword == "anyOf":
            yield f"{where}: #: no subschema matched out of the total {len(wanted)} subschemas"
            yield from self.of(error.context or ())
        elif keyword == "oneOf":
            failed = {e.schema_path[0] for e in error.context or () if e.schema_path}
            yield f"{where}: #: {len(wanted) - len(failed)} subschemas matched instead of one"
            yield from self.of(error.context or ())
        elif keyword == "format":
            yield f"{where}: [{render(value)}] is not a valid {wanted}"
        else:
            text = _KEYWORD_TEXTS.get(str(keyword))
            if text is None:
                yield f"{where}: {shorten(error.message)}"
                return
            exclusive = bool(error.schema.get(f"exclusive{str(keyword).capitalize()}"))
            size = len(value) if isinstance(value, (str, list, dict)) else 0
            yield f"{where}: " + text(render(value), render(wanted), size, exclusive)

    @staticmethod
    def _type(where: str, wanted: object, value: object) -> Iterator[str]:
        found = type_name(value)
        names = [wanted] if isinstance(wanted, str) else list(t.cast("list[str]", wanted))
        if len(names) == 1:
            yield f"{where}: {_expected(names[0])}, found: {found}"
            return
        yield f"{where}: #: no subschema matched out of the total {len(names)} subschemas"
        for name in names:
            yield f"{where}: {_expected(name)}, found: {found}"

    def _keys(self, where: str, kind: str, keys: Iterable[str]) -> Iterator[str]:
        for key in keys:
            if (where, kind, key) in self.seen:
                continue
            self.seen.add((where, kind, key))
            if kind == "required":
                yield f"{where}: required key [{key}] not found"
            else:
                yield f"{where}: extraneous key [{key}] is not permitted"

    @staticmethod
    def _extra(error: ValidationError) -> list[str]:
        declared = error.schema.get("properties") or {}
        patterns = list(error.schema.get("patternProperties") or {})
        return [
            key
            for key in error.instance
            if key not in declared and not any(re.search(p, key) for p in patterns)
        ]


def _minimum(value: str, limit: str, _size: int, exclusive: bool) -> str:  # noqa: FBT001
    return f"{value} is not greater {'than' if exclusive else 'or equal to'} {limit}"


def _maximum(value: str, limit: str, _size: int, exclusive: bool) -> str:  # noqa: FBT001
    return f"{value} is not less {'than' if exclusive else 'or equal to'} {limit}"


_KEYWORD_TEXTS: dict[str, t.Callable[[str, str, int, bool], str]] = {
    "minimum": _minimum,
    "maximum": _maximum,
    "minLength": lambda _v, limit, size, _x: f"expected minLength: {limit}, actual: {size}",
    "maxLength": lambda _v, limit, size, _x: f"expected maxLength: {limit}, actual: {size}",
    "minItems": lambda _v, limit, size, _x: f"expected minimum item count: {limit}, found: {size}",
    "maxItems": lambda _v, limit, size, _x: f"expected maximum item count: {limit}, found: {size}",
    "minProperties": lambda _v, limit, size, _x: f"minimum size: [{limit}], found: [{size}]",
    "maxProperties": lambda _v, limit, size, _x: f"maximum size: [{limit}], found: [{size}]",
    "pattern": lambda value, limit, _s, _x: f"string [{value}] does not match pattern {limit}",
    "enum": lambda value, _l, _s, _x: f"{value} is not a valid enum value",
    "multipleOf": lambda value, limit, _s, _x: f"{value} is not a multiple of {limit}",
    "uniqueItems": lambda _v, _l, _s, _x: "array items are not unique",
}


class InvalidSchemaError(Exception):
    """The user's schema cannot be used; ``args[0]`` is the Stitch-worded text."""


class StitchValidator:
    """A compiled user schema: its problems, and the violations of a record."""

    def __init__(self, schema: dict[str, t.Any]) -> None:
        """Check the schema once; compile a Draft 4 validator when it is usable."""
        self.schema_errors = _schema_problems(schema)
        checker = jsonschema.FormatChecker(formats=())
        checker.checks("date-time")(lambda value: not isinstance(value, str) or is_date_time(value))
        self._validator = jsonschema.Draft4Validator(schema, format_checker=checker)

    def violations(self, record: object) -> list[str]:
        """Return the record's violations, one everit-worded line each (empty: valid).

        Raises:
            InvalidSchemaError: the schema holds a ``$ref`` that cannot be resolved.
        """
        try:
            return list(_Lines().of(self._validator.iter_errors(record)))
        except referencing.exceptions.Unresolvable as exc:
            ref = getattr(exc, "ref", str(exc))
            msg = f"Invalid JSON schema: unresolvable $ref: {shorten(str(ref))}"
            raise InvalidSchemaError(msg) from exc


_compiled: OrderedDict[str, StitchValidator] = OrderedDict()


def validator_for(schema: dict[str, t.Any]) -> StitchValidator:
    """Return the compiled validator of ``schema``; equal schemas share one (LRU cache)."""
    key = json.dumps(schema, sort_keys=True, default=repr)
    found = _compiled.get(key)
    if found is None:
        found = _compiled[key] = StitchValidator(schema)
        if len(_compiled) > _CACHE_SIZE:
            _compiled.popitem(last=False)
    else:
        _compiled.move_to_end(key)
    return found


# Request validation: the batch envelope and messages (everit wording, each text
# a whole ``Request failed validation:...`` error), the batch's records and keys,
# and push elements (the push endpoint's 422 reasons, located by ``#/<index>``).

MAX_MESSAGES = 20_000
BATCH_KEY_LIMIT = 256  # batch string keys must be shorter than this
PUSH_KEY_LIMIT = 1024  # push string keys may be this long
FAILED = "Request failed validation:"
BATCH_KEYS = ("table_name", "schema", "messages", "key_names", "table_version", "bookmark_names")
_REQUIRED = ("table_name", "schema", "messages")
_SHAPES = {"activate_version": ("action", "sequence"), "upsert": ("action", "sequence", "data")}
_SCALARS = frozenset({"string", "integer", "number", "boolean"})
PUSH_KEYS = ("client_id", "table_name", "sequence", "action", "key_names", "data", "table_version")


def _is_int(value: object) -> t.TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _range(name: str, value: int) -> str | None:
    if value > INT64_MAX:
        return f"#: {name} can not be above {INT64_MAX}"
    if value < INT64_MIN:
        return f"#: {name} can not be below {INT64_MIN}"
    return None


def _strings(where: str, value: object) -> list[str]:
    """Violations of an array of strings (``key_names``, ``bookmark_names``)."""
    if not isinstance(value, list):
        return [f"{where}: expected type: JSONArray, found: {type_name(value)}"]
    found = [
        f"{where}/{i}: expected type: String, found: {type_name(item)}"
        for i, item in enumerate(value)
        if not isinstance(item, str)
    ]
    if not found and len(set(value)) != len(value):
        found.append(f"{where}: array items are not unique")
    return found


def _message_shape(where: str, message: dict, shape: str) -> list[str]:
    """Violations of one message against the closed shape ``shape`` (everit order)."""
    allowed = (*_SHAPES[shape], "time_extracted") if shape == "upsert" else _SHAPES[shape]
    found = [f"{where}: required key [{k}] not found" for k in _SHAPES[shape] if k not in message]
    action = message.get("action", shape)
    if action != shape:
        found.append(f"{where}/action: {render(action)} is not a valid enum value")
    if "sequence" in message and not _is_int(message["sequence"]):
        found.append(
            f"{where}/sequence: expected type: Integer, found: {type_name(message['sequence'])}"
        )
    if "data" in message and shape == "upsert" and not isinstance(message["data"], dict):
        found.append(
            f"{where}/data: expected type: JSONObject, found: {type_name(message['data'])}"
        )
    extracted = message.get("time_extracted")
    if "time_extracted" in message and shape == "upsert":
        if not isinstance(extracted, str):
            found.append(
                f"{where}/time_extracted: expected type: String, found: {type_name(extracted)}"
            )
        elif not is_date_time(extracted):
            found.append(f"{where}/time_extracted: [{render(extracted)}] is not a valid date-time")
    found += [
        f"{where}: extraneous key [{k}] is not permitted" for k in message if k not in allowed
    ]
    return found


def _message_errors(index: int, message: object) -> list[str]:
    """Envelope violations of ``messages[index]``, each a full ``Request failed`` text."""
    where = pointer(("messages", index))
    if not isinstance(message, dict):
        return [f"{FAILED}{where}: expected type: JSONObject, found: {type_name(message)}"]
    action = message.get("action")
    if isinstance(action, str) and action in _SHAPES:
        texts = [FAILED + text for text in _message_shape(where, message, str(action))]
    else:
        parts = [f"{where}: #: 0 subschemas matched instead of one"]
        for shape in ("activate_version", "upsert"):
            found = _message_shape(where, message, shape)
            if len(found) > 1:
                parts.append(f"{where}: {len(found)} schema violations found")
            parts += found
        texts = [FAILED + " ".join(parts)]
    sequence = message.get("sequence")
    if _is_int(sequence) and (text := _range("sequence", sequence)):
        texts.append(FAILED + text)
    return texts


def batch_envelope_errors(payload: dict) -> list[str]:
    """Violations of the batch request schema (stage 1)."""
    texts = [FAILED + text for text in _top_level_errors(payload)]
    if "messages" not in payload:
        return texts
    messages = payload["messages"]
    if not isinstance(messages, list):
        texts.append(f"{FAILED}#/messages: expected type: JSONArray, found: {type_name(messages)}")
        return texts
    texts += [FAILED + text for text in _count_errors("#/messages", len(messages))]
    for index, message in enumerate(messages):
        texts += _message_errors(index, message)
    return texts


def _top_level_errors(payload: dict) -> list[str]:
    found = [f"#: required key [{key}] not found" for key in _REQUIRED if key not in payload]
    found += [f"#: extraneous key [{k}] is not permitted" for k in payload if k not in BATCH_KEYS]
    name = payload.get("table_name", "")
    if not isinstance(name, str):
        found.append(f"#/table_name: expected type: String, found: {type_name(name)}")
    elif "table_name" in payload and not name:
        found.append("#/table_name: expected minLength: 1, actual: 0")
    if not isinstance(payload.get("schema", {}), dict):
        found.append(f"#/schema: expected type: JSONObject, found: {type_name(payload['schema'])}")
    for key in ("key_names", "bookmark_names"):
        if key in payload:
            found += _strings(f"#/{key}", payload[key])
    if "table_version" in payload:
        version = payload["table_version"]
        if not _is_int(version):
            found.append(f"#/table_version: expected type: Integer, found: {type_name(version)}")
        elif text := _range("table_version", version):
            found.append(text)
    return found


def _count_errors(where: str, count: int) -> list[str]:
    if count < 1:
        return [f"{where}: expected minimum item count: 1, found: {count}"]
    if count > MAX_MESSAGES:
        return [f"{where}: expected maximum item count: {MAX_MESSAGES}, found: {count}"]
    return []


def batch_record_errors(schema: dict, keys: list[str], messages: list[dict]) -> list[str]:
    """Violations of the records: schema conformity, then key presence and length."""
    validator = validator_for(schema)
    if validator.schema_errors:
        return validator.schema_errors
    texts: list[str] = []
    for index, message in enumerate(messages):
        if message["action"] != "upsert":
            continue
        data = message["data"]
        try:
            lines = validator.violations(data)
        except InvalidSchemaError as exc:
            return [str(exc)]
        if lines:
            texts.append("\n".join([f"Record {index} did not conform to schema:", *lines]))
        for key in keys:
            value = data.get(key)
            if value is None:
                texts.append(f"Record is missing key property {key}")
            elif isinstance(value, str) and len(value) >= BATCH_KEY_LIMIT:
                texts.append(
                    f"Record {index}: string key property {key} must be shorter than "
                    f"{BATCH_KEY_LIMIT} characters, found: {len(value)}"
                )
    return texts


def _types_of(schema: object) -> set[str] | None:
    """The non-null types a property schema allows, or None when it allows any."""
    if not isinstance(schema, dict):
        return None
    branches = schema.get("anyOf") or schema.get("oneOf")
    if isinstance(branches, list):
        found: set[str] = set()
        for branch in branches:
            types = _types_of(branch)
            if types is None:
                return None
            found |= types
        return found
    declared = schema.get("type")
    if declared is None:
        return None
    names = {declared} if isinstance(declared, str) else set(declared)
    return names - {"null"}


def batch_key_errors(schema: dict, keys: list[str]) -> list[str]:
    """Each key must be a top-level property of the schema with scalar types (stage 4)."""
    properties = schema.get("properties")
    properties = properties if isinstance(properties, dict) else {}
    texts = []
    for index, key in enumerate(keys):
        where = f"{FAILED}#/key_names/{index}: key property [{key}]"
        if key not in properties:
            texts.append(f"{where} is not a top-level property of #/schema")
            continue
        types = _types_of(properties[key])
        if not types or not types <= _SCALARS:
            shown = "any" if types is None else ", ".join(sorted(types)) or "null"
            texts.append(
                f"{where} must have a scalar type (string, integer, number, boolean), "
                f"found: {shown}"
            )
    return texts


def push_errors(value: list | dict) -> list[str]:
    """Violations of push records (a list of elements, or one element)."""
    elements = value if isinstance(value, list) else [value]
    texts = _count_errors("#", len(elements))
    client: list[int] = []
    for index, element in enumerate(elements):
        texts += _push_errors(index if isinstance(value, list) else None, element, client)
    return texts


def _push_errors(index: int | None, element: object, client: list[int]) -> list[str]:
    """Violations of one push element, worded as the push endpoint's 422 reasons.

    ``client`` holds the first valid ``client_id`` seen; the others must equal it.
    """
    where = pointer(() if index is None else (index,)) + ": "
    if not isinstance(element, dict):
        return [where + "An array of records is expected"]
    found = [f"{k}: unknown key" for k in element if k not in PUSH_KEYS]
    found += [f"{k}: can't be blank" for k in PUSH_KEYS[:-1] if element.get(k) in (None, "")]
    found += _push_field_errors(element)
    keys, data = element.get("key_names"), element.get("data")
    if keys is not None and _strings("#", keys):
        found.append("key_names: should be an array of strings")
    elif data is not None and not isinstance(data, dict):
        found.append("data must be an object")
    elif isinstance(data, dict) and isinstance(keys, list):
        found += _push_key_errors(data, keys)
    texts = [where + text for text in found]
    client_id = element.get("client_id")
    if _is_int(client_id):
        if not client:
            client.append(client_id)
        if client_id != client[0]:
            texts.append(
                "The batch contains data points for multiple clients. "
                f"Only client_id {client[0]} is allowed"
            )
    return texts


def _push_field_errors(element: dict) -> list[str]:
    """Type violations of a push element's scalar fields (blank ones are reported apart)."""
    found = []
    client_id, sequence = element.get("client_id"), element.get("sequence")
    if client_id is not None and not _is_int(client_id):
        found.append("client_id: should be an integer")
    if element.get("table_name") and not isinstance(element["table_name"], str):
        found.append("table_name: should be a string")
    if sequence is not None and not _is_int(sequence):
        found.append("sequence: should be an integer")
    elif _is_int(sequence) and (text := _range("sequence", sequence)):
        found.append(text.removeprefix("#: "))
    version = element.get("table_version")
    if version is not None and not (_is_int(version) and _range("table_version", version) is None):
        found.append("table_version: should be an integer")
    if element.get("action") not in (None, "", "upsert"):
        found.append("action: should be upsert")
    return found


def _push_key_errors(data: dict, keys: list[str]) -> list[str]:
    if any(key not in data for key in keys):
        return ["data must include keys"]
    values = [data[key] for key in keys]
    if any(value is None for value in values):
        return ["keys cannot not be null in data"]
    if any(isinstance(value, (dict, list)) for value in values):
        return ["keys must be strings, numbers or booleans in data"]
    if any(isinstance(value, str) and len(value) > PUSH_KEY_LIMIT for value in values):
        return [f"String keys cannot be longer than {PUSH_KEY_LIMIT} characters"]
    return []
