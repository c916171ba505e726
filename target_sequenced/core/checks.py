"""JSON Schema validation compiled into one DuckDB condition over a value.

The bulk path decides which records are valid with these conditions; the
reference validator (``jsonschema`` with the schema's draft) only words the
message for a record they refuse, and decides alone for lossy lines and for
schemas using a construct listed in :data:`UNSUPPORTED`. ``tests/test_checks.py``
draws schemas and records with hypothesis and holds the two to the same
verdict.

Semantics follow ``jsonschema`` on records parsed the way the SDK parses them
(numbers with a fraction or exponent as ``Decimal``): ``1.0`` is not an
integer, ``1 == 1.0`` in ``enum``, ``multipleOf`` is exact decimal arithmetic,
lengths count code points, ``pattern`` searches (Python's regular expressions,
translated to RE2 by :mod:`target_sequenced.core.patterns`). Formats are
annotations unless :class:`Rules` asserts them (Stitch asserts ``date-time``).
Every keyword applies only to values of its JSON type, as in JSON Schema.
"""

from __future__ import annotations

import decimal
import typing as t
from dataclasses import dataclass

from target_sequenced.core.datetimes import STITCH, Grammar
from target_sequenced.core.fields import JSON_TYPE_NAMES, NUMBER_TYPES, Value, in_list
from target_sequenced.core.numbers import READ_SCALE, READ_TYPE
from target_sequenced.core.patterns import to_re2
from target_sequenced.core.schemas import Draft, SchemaDoc, Unsupported
from target_sequenced.core.sql import literal

UNSUPPORTED = frozenset(
    {
        "dependencies", "patternProperties", "uniqueItems", "contains", "propertyNames",
        "if", "then", "else", "dependentRequired", "dependentSchemas", "minContains",
        "maxContains", "unevaluatedItems", "unevaluatedProperties", "prefixItems",
        "$recursiveRef", "$dynamicRef",
    }
)  # fmt: skip
"""Assertion keywords the bulk checks leave to the reference validator (README)."""
ASSERTIONS = UNSUPPORTED | {
    "type", "enum", "const", "multipleOf", "minimum", "maximum", "exclusiveMinimum",
    "exclusiveMaximum", "minLength", "maxLength", "pattern", "format", "properties",
    "required", "additionalProperties", "minProperties", "maxProperties", "items",
    "minItems", "maxItems", "allOf", "anyOf", "oneOf", "not", "$ref", "additionalItems",
}  # fmt: skip
"""Every keyword that can make a value invalid."""

_LIMIT = decimal.Decimal(10) ** (20 - 1)
"""Every number of a line that is not lossy is below this in magnitude."""
_STEP = decimal.Decimal(1).scaleb(-READ_SCALE)


@dataclass(frozen=True)
class Rules:
    """What validation means for one input: the draft it imposes, and the formats it asserts.

    ``draft`` None: the schema's own (:func:`~target_sequenced.core.schemas.draft_of`).
    ``key_length_below``: a string key value must be shorter than this (None: any length).
    """

    draft: Draft | None = None
    formats: frozenset[str] = frozenset()
    date_time: Grammar = STITCH
    key_length_below: int | None = None


def _and(parts: list[str]) -> str:
    return "(" + " AND ".join(parts) + ")" if parts else "true"


def _guard(value: Value, types: tuple[str, ...], condition: str) -> str:
    """The condition for values of ``types``; values of other types pass."""
    return f"(NOT {in_list(value.type, types)} OR coalesce({condition}, false))"


def _decimal(value: object) -> decimal.Decimal:
    return value if isinstance(value, decimal.Decimal) else decimal.Decimal(str(value))


def _exact_literal(number: decimal.Decimal) -> str | None:
    """``number`` as a DECIMAL(38, 18) literal, or None when that type cannot hold it."""
    if abs(number) >= _LIMIT or number != number.quantize(_STEP, rounding=decimal.ROUND_DOWN):
        return None
    return f"CAST({literal(format(number, 'f'))} AS {READ_TYPE})"


def _compare(number: str, op: str, bound: object) -> str:
    """SQL ``number <op> bound``, exact for the numbers a non-lossy line holds.

    Such numbers have at most 18 decimals and stay below 10^19, so a bound
    beyond that range decides alone, and a bound with more decimals compares
    as the nearest 18-decimal step on the side that keeps the answer.
    """
    exact = _decimal(bound)
    if abs(exact) >= _LIMIT:
        below = exact > 0
        return "true" if (op in ("<", "<=")) == below else "false"
    as_sql = _exact_literal(exact)
    if as_sql is not None:
        return f"({number} {op} {as_sql})"
    down = exact.quantize(_STEP, rounding=decimal.ROUND_FLOOR)
    up = down + _STEP
    if op in (">", ">="):
        return f"({number} >= {_exact_literal(up)})"
    return f"({number} <= {_exact_literal(down)})"


class Compiler:
    """Compiles the schemas of one stream; :class:`Unsupported` when a construct is not covered."""

    def __init__(
        self, doc: SchemaDoc, rules: Rules, slot: t.Callable[[str], str] | None = None
    ) -> None:
        """One document, one set of rules; ``slot``: the json_type() of a path of the line."""
        self.doc = doc
        self.rules = rules
        self._slot = slot
        self._lambdas = 0

    def check(self, schema: object, value: Value) -> str:
        """SQL: TRUE when the present ``value`` is valid against ``schema``."""
        resolved = self.doc.resolve(schema)
        found = UNSUPPORTED.intersection(resolved)
        if found:
            raise Unsupported(f"keyword {min(found)!r}")
        parts = [
            *self._type(resolved, value),
            *self._enum(resolved, value),
            *self._numeric(resolved, value),
            *self._string(resolved, value),
            *self._object(resolved, value),
            *self._array(resolved, value),
            *self._combinators(resolved, value),
        ]
        return _and(parts)

    # -- keywords ------------------------------------------------------------

    def _type(self, schema: dict, value: Value) -> list[str]:
        declared = schema.get("type")
        if declared is None:
            return []
        names = [declared] if isinstance(declared, str) else list(declared)
        unknown = [n for n in names if n not in JSON_TYPE_NAMES]
        if unknown:
            raise Unsupported(f"type {unknown[0]!r}")
        return [in_list(value.type, [j for n in names for j in JSON_TYPE_NAMES[n]])]

    def _members(self, schema: dict) -> list[object] | None:
        if "const" in schema and self.doc.draft >= Draft.DRAFT6:
            return [schema["const"]]
        members = schema.get("enum")
        return members if isinstance(members, list) else None

    def _enum(self, schema: dict, value: Value) -> list[str]:
        members = self._members(schema)
        if members is None:
            return []
        return ["(" + " OR ".join([self._equals(value, m) for m in members] or ["false"]) + ")"]

    def _equals(self, value: Value, member: object) -> str:
        """SQL: ``value`` equals ``member`` as JSON Schema compares (``1 == 1.0``, not ``true``)."""
        if member is None:
            return f"({value.type} = 'NULL')"
        if isinstance(member, bool):
            boolean = value.boolean
            return (
                f"({value.type} = 'BOOLEAN' AND {boolean} = {str(member).lower()})"
                if boolean
                else "false"
            )
        if isinstance(member, (int, float, decimal.Decimal)):
            exact = _exact_literal(_decimal(member))
            if exact is None or value.number is None:
                return "false"  # no number of a non-lossy line equals it
            return f"({in_list(value.type, NUMBER_TYPES)} AND {value.number} = {exact})"
        if isinstance(member, str):
            if "\x00" in member:
                raise Unsupported("a NUL character in enum")
            text = value.text
            return f"({value.type} = 'VARCHAR' AND {text} = {literal(member)})" if text else "false"
        raise Unsupported("enum or const with an object or array")

    def _numeric(self, schema: dict, value: Value) -> list[str]:
        number = value.number
        parts: list[str] = []
        step = schema.get("multipleOf")
        if step is not None:
            exact = _exact_literal(_decimal(step))
            if exact is None:
                raise Unsupported(f"multipleOf {step}")
            parts.append(f"({number} % {exact} = 0)")
        parts += self._bounds(schema, number or "NULL")
        if not parts:
            return []
        return [_guard(value, NUMBER_TYPES, _and(parts) if number else "false")]

    def _bounds(self, schema: dict, number: str) -> list[str]:
        parts = []
        low, high = schema.get("minimum"), schema.get("maximum")
        low_x, high_x = schema.get("exclusiveMinimum"), schema.get("exclusiveMaximum")
        if self.doc.draft == Draft.DRAFT4:
            if low is not None:
                parts.append(_compare(number, ">" if low_x is True else ">=", low))
            if high is not None:
                parts.append(_compare(number, "<" if high_x is True else "<=", high))
            return parts
        for bound, op in ((low, ">="), (high, "<="), (low_x, ">"), (high_x, "<")):
            if bound is not None and not isinstance(bound, bool):
                parts.append(_compare(number, op, bound))
        return parts

    def _string(self, schema: dict, value: Value) -> list[str]:
        text = value.text
        parts: list[str] = []
        if "minLength" in schema:
            parts.append(f"(length({text}) >= {int(schema['minLength'])})")
        if "maxLength" in schema:
            parts.append(f"(length({text}) <= {int(schema['maxLength'])})")
        if "pattern" in schema:
            parts.append(f"regexp_matches({text}, {literal(to_re2(schema['pattern']))})")
        if schema.get("format") in self.rules.formats and schema.get("format") == "date-time":
            parts.append(self.rules.date_time.sql(str(text), value.instant))
        if not parts:
            return []
        return [_guard(value, ("VARCHAR",), _and(parts) if text else "false")]

    def _object(self, schema: dict, value: Value) -> list[str]:
        keywords = (
            "properties",
            "required",
            "additionalProperties",
            "minProperties",
            "maxProperties",
        )
        if not any(k in schema for k in keywords):
            return []
        json = value.json
        if json is None:
            return [_guard(value, ("OBJECT",), "false")]
        parts = []
        keys = f"json_keys({json})"
        properties = schema.get("properties") or {}
        required = schema.get("required")
        required = required if isinstance(required, list) else []
        named = list(dict.fromkeys([*properties, *required]))
        inner: list[str] = []
        # The object's members read in one parse, as JSON texts (NULL when
        # absent), bound to a name for the checks below. At a fixed place in
        # the line, a member's type comes from the line's one json_type()
        # call instead, and a member that only has its type checked needs
        # no parse of the object at all.
        members = self._lambda()
        for name, sub in properties.items():
            if sub is True or sub == {}:
                continue  # any value: nothing to check
            child = self._member_value(value, members, name)
            inner.append(f"({_absent(child)} OR {self.check(sub, child)})")
        inner += [f"NOT {_absent(self._member_value(value, members, r))}" for r in required]
        if inner:
            condition = _and(inner)
            if f"{members}." in condition:
                structure = "{" + ", ".join(f'{_json_string(n)}: "JSON"' for n in named) + "}"
                read = f"from_json({json}, {literal(structure)})"
                condition = f"list_transform([{read}], lambda {members}: {condition})[1]"
            parts.append(condition)
        extra = schema.get("additionalProperties", True)
        if extra is not True:
            parts.append(self._extra(json, keys, list(properties), extra=extra))
        if "minProperties" in schema:
            parts.append(f"(len({keys}) >= {int(schema['minProperties'])})")
        if "maxProperties" in schema:
            parts.append(f"(len({keys}) <= {int(schema['maxProperties'])})")
        return [_guard(value, ("OBJECT",), _and(parts))]

    def _member_value(self, value: Value, members: str, name: str) -> Value:
        """Member ``name`` of object ``value``, whose members lambda ``members`` binds."""
        read = f"{members}.{_member(name)}"
        if value.path is None or self._slot is None:
            return Value.of_json(read)
        path = value.path + _pointer(name)
        return Value.of_json(read, self._slot(path), path=path)

    def extra_keys(self, keys: str, declared: list[str]) -> str:
        """SQL: the object whose keys ``keys`` lists has none outside ``declared``."""
        return self._extra("", keys, declared, extra=False)

    def _extra(self, json: str, keys: str, declared: list[str], *, extra: object) -> str:
        """Keys outside ``properties``: refused (``false``) or checked against a schema."""
        var = self._lambda()
        outside = f"NOT {in_list(var, declared)}" if declared else "true"
        others = f"list_filter({keys}, lambda {var}: {outside})"
        if extra is False:
            return f"(len({others}) = 0)"
        lookup = f"'/' || replace(replace({var}, '~', '~0'), '/', '~1')"
        child = Value.of_json(f"json_extract({json}, {lookup})")
        condition = self.check(extra, child)
        return f"coalesce(list_bool_and(list_transform({others}, lambda {var}: {condition})), true)"

    def _array(self, schema: dict, value: Value) -> list[str]:
        if not any(k in schema for k in ("items", "minItems", "maxItems")):
            return []
        json = value.json
        if json is None:
            return [_guard(value, ("ARRAY",), "false")]
        parts = []
        items = schema.get("items", True)
        if isinstance(items, list):
            raise Unsupported("tuple items")
        if items is not True and items != {}:
            var = self._lambda()
            condition = self.check(items, Value.of_json(var))
            elements = f"json_extract({json}, '$[*]')"
            every = f"list_bool_and(list_transform({elements}, lambda {var}: {condition}))"
            parts.append(f"coalesce({every}, true)")
        if "minItems" in schema:
            parts.append(f"(json_array_length({json}) >= {int(schema['minItems'])})")
        if "maxItems" in schema:
            parts.append(f"(json_array_length({json}) <= {int(schema['maxItems'])})")
        return [_guard(value, ("ARRAY",), _and(parts))]

    def _combinators(self, schema: dict, value: Value) -> list[str]:
        parts = []
        if isinstance(schema.get("allOf"), list):
            parts += [f"coalesce({self.check(s, value)}, false)" for s in schema["allOf"]]
        if isinstance(schema.get("anyOf"), list):
            branches = [f"coalesce({self.check(s, value)}, false)" for s in schema["anyOf"]]
            parts.append("(" + " OR ".join(branches or ["false"]) + ")")
        if isinstance(schema.get("oneOf"), list):
            counted = [
                f"CAST(coalesce({self.check(s, value)}, false) AS INTEGER)" for s in schema["oneOf"]
            ]
            parts.append("((" + " + ".join(counted or ["0"]) + ") = 1)")
        if "not" in schema:
            parts.append(f"NOT coalesce({self.check(schema['not'], value)}, false)")
        return parts

    def _lambda(self) -> str:
        self._lambdas += 1
        return f"_x{self._lambdas}"


def _absent(member: Value) -> str:
    """SQL: an object's member is absent (its type, where the line's json_type() gives it)."""
    return f"({member.type if member.path else member.json} IS NULL)"


def _pointer(key: str) -> str:
    return "/" + key.replace("~", "~0").replace("/", "~1")


def _member(name: str) -> str:
    """A struct member as DuckDB SQL (``x."a b"``)."""
    return '"' + name.replace('"', '""') + '"'


def _json_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def allowed_types(schema: object, doc: SchemaDoc) -> frozenset[str]:
    """The JSON types a property's schema lets through (all of them when it does not say).

    Used to read the property as one SQL type; an unknown answer is all
    types, which reads it as JSON text.
    """
    everything = frozenset(JSON_TYPE_NAMES)
    try:
        resolved = doc.resolve(schema)
    except Unsupported:
        return everything
    found = everything
    declared = resolved.get("type")
    if declared is not None:
        names = {declared} if isinstance(declared, str) else set(declared)
        found = frozenset(names) & everything
        if "number" in found:
            found |= {"integer"}
    for combinator in ("anyOf", "oneOf"):
        branches = resolved.get(combinator)
        if isinstance(branches, list) and branches:
            union: frozenset[str] = frozenset()
            for branch in branches:
                union |= allowed_types(branch, doc)
            found &= union
    for branch in resolved.get("allOf") or []:
        found &= allowed_types(branch, doc)
    return found


def compile_property(schema: object, value: Value, compiler: Compiler) -> str:
    """SQL: the property's value is absent, or valid against its schema."""
    return f"({value.type} IS NULL OR coalesce({compiler.check(schema, value)}, false))"
