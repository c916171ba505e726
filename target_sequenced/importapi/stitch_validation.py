"""What Stitch's Import API rejects, worded as Stitch words it (``spec/import-api.md``).

Records against the user's JSON Schema (:func:`validator_for`); the requests
themselves are :mod:`.payload_rules`, and the choices are documented in
:mod:`.translate`.

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
