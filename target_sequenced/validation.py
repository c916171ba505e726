"""Record validation that reports every violation, located."""

from __future__ import annotations

import typing as t

import jsonschema
from singer_sdk.sinks.core import BaseJSONSchemaValidator

from target_sequenced.exceptions import InputError, shorten


def json_path(path: t.Iterable[object]) -> str:
    """Render a jsonschema error path as ``#/a/0/b``."""
    return "#/" + "/".join(str(part) for part in path)


class RecordValidator(BaseJSONSchemaValidator):
    """Validate a record against its stream's schema, listing all violations.

    ``locate`` returns where the record came from (stream, input line, record
    index), so the message points at what to fix.
    """

    def __init__(self, schema: dict[str, t.Any], locate: t.Callable[[], str]) -> None:
        """Compile the validator once per schema."""
        super().__init__(schema)
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
        try:
            cls.check_schema(schema)
        except jsonschema.SchemaError as exc:
            msg = f"invalid JSON Schema at {json_path(exc.path)}: {exc.message}"
            raise InputError(msg) from exc
        self._validator = cls(schema)
        self._locate = locate

    def validate(self, record: dict[str, t.Any]) -> None:
        """Raise :class:`InputError` naming every field that breaks the schema."""
        errors = sorted(self._validator.iter_errors(record), key=lambda e: list(e.path))
        if not errors:
            return
        details = "; ".join(f"{json_path(err.path)}: {shorten(err.message)}" for err in errors)
        msg = f"{self._locate()}: record does not conform to schema: {details}"
        raise InputError(msg, record)
