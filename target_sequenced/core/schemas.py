"""A stream's JSON Schema: which draft it follows, and its local ``$ref`` resolved.

The draft decides what a few keywords mean (``exclusiveMaximum`` a boolean in
Draft 4, a number later; whether ``$ref`` ignores its siblings). A schema
names its draft with ``$schema``. Singer taps rarely do, so without it a
schema that uses Draft 4's boolean ``exclusiveMinimum``/``exclusiveMaximum``
(singer-io taps and Stitch clients send those) is read as Draft 4, and any
other as Draft 7. Stitch's Import API always validates with Draft 4.
"""

from __future__ import annotations

import enum
import typing as t
import urllib.parse

import jsonschema


class Unsupported(Exception):  # noqa: N818 - a verdict, not a failure
    """A schema construct the bulk checks do not express; the reference validator checks it."""


class Draft(enum.IntEnum):
    """JSON Schema drafts, in order."""

    DRAFT4 = 4
    DRAFT6 = 6
    DRAFT7 = 7
    DRAFT2019 = 2019
    DRAFT2020 = 2020


_BY_URI = (
    ("draft-04", Draft.DRAFT4),
    ("draft-06", Draft.DRAFT6),
    ("draft-07", Draft.DRAFT7),
    ("2019-09", Draft.DRAFT2019),
    ("2020-12", Draft.DRAFT2020),
)
VALIDATORS: dict[Draft, type[jsonschema.protocols.Validator]] = {
    Draft.DRAFT4: jsonschema.Draft4Validator,
    Draft.DRAFT6: jsonschema.Draft6Validator,
    Draft.DRAFT7: jsonschema.Draft7Validator,
    Draft.DRAFT2019: jsonschema.Draft201909Validator,
    Draft.DRAFT2020: jsonschema.Draft202012Validator,
}


def _uses_boolean_exclusive(schema: object) -> bool:
    if isinstance(schema, list):
        return any(_uses_boolean_exclusive(item) for item in schema)
    if not isinstance(schema, dict):
        return False
    for key, value in schema.items():
        if key in ("exclusiveMinimum", "exclusiveMaximum") and isinstance(value, bool):
            return True
        if key not in ("enum", "const", "default", "examples") and _uses_boolean_exclusive(value):
            return True
    return False


def draft_of(schema: t.Mapping[str, t.Any], default: Draft | None = None) -> Draft:
    """The draft a schema follows (module docstring); ``default`` overrides the guess."""
    declared = schema.get("$schema")
    if isinstance(declared, str):
        for marker, draft in _BY_URI:
            if marker in declared:
                return draft
    if default is not None:
        return default
    return Draft.DRAFT4 if _uses_boolean_exclusive(schema) else Draft.DRAFT7


def _pointer_parts(fragment: str) -> list[str]:
    parts = urllib.parse.unquote(fragment).split("/")[1:]
    return [part.replace("~1", "/").replace("~0", "~") for part in parts]


class SchemaDoc:
    """A root schema, its draft, and local references followed on demand."""

    def __init__(self, root: t.Mapping[str, t.Any], draft: Draft) -> None:
        """Keep the root; references are resolved as checks meet them."""
        self.root = root
        self.draft = draft

    def _follow(self, ref: str) -> object:
        """What a local reference (``#/definitions/x``) points at."""
        target: object = self.root
        for part in _pointer_parts(ref[1:]):
            if isinstance(target, dict) and part in target:
                target = target[part]
            elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
                target = target[int(part)]
            else:
                msg = f"$ref {ref!r} points at nothing"
                raise Unsupported(msg)
        return target

    def resolve(self, schema: object, seen: tuple[str, ...] = ()) -> dict[str, t.Any]:
        """The schema with its ``$ref`` followed (local references only).

        Up to Draft 7 a ``$ref`` replaces its siblings; from 2019-09 they apply
        too, as an ``allOf``. Cycles and references outside the document are
        :class:`Unsupported`.
        """
        if schema is True:
            return {}
        if schema is False:
            return {"not": {}}
        if not isinstance(schema, dict):
            msg = f"schema {schema!r}"
            raise Unsupported(msg)
        ref = schema.get("$ref")
        if ref is None:
            return schema
        if not isinstance(ref, str) or not ref.startswith("#"):
            msg = f"$ref {ref!r}"
            raise Unsupported(msg)
        if ref in seen:
            msg = f"recursive $ref {ref!r}"
            raise Unsupported(msg)
        target = self._follow(ref)
        resolved = self.resolve(target, (*seen, ref))
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        if self.draft < Draft.DRAFT2019 or not siblings:
            return resolved
        return {"allOf": [resolved, siblings]}
