"""The OpenAPI document of the served API (``GET /openapi.json``), from the request rules."""

from __future__ import annotations

import typing as t

from target_sequenced.importapi.payload_rules import BATCH_KEYS, MAX_MESSAGES, PUSH_KEYS

_ERROR = {"$ref": "#/components/schemas/Error"}


def _json(schema: dict[str, t.Any], description: str) -> dict[str, t.Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, t.Any]:
    words = {
        400: "Malformed body, or the payload breaks the API's rules (Stitch's texts)",
        401: "No known bearer token (push: no client_id)",
        403: "The client_id is not the token's",
        405: "Method not allowed on this path",
        413: "Body over the limit",
        415: "Unsupported content type",
        422: "Push elements break the API's rules (one reason each)",
        503: "The destination could not take the load; nothing was written, retry",
    }
    return {str(code): _json(_ERROR, words[code]) for code in codes}


def _message() -> dict[str, t.Any]:
    return {
        "type": "object",
        "required": ["action", "sequence"],
        "properties": {
            "action": {"type": "string", "enum": ["upsert", "activate_version"]},
            "sequence": {"type": "integer", "format": "int64"},
            "data": {"type": "object"},
            "time_extracted": {"type": "string", "format": "date-time"},
        },
        "additionalProperties": False,
    }


def document(version: str, max_body_bytes: int) -> dict[str, t.Any]:
    """The document; ``max_body_bytes`` is the server's body limit."""
    batch: dict[str, t.Any] = {
        "type": "object",
        "required": ["table_name", "schema", "messages"],
        "properties": {
            "table_name": {"type": "string"},
            "schema": {"type": "object"},
            "messages": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_MESSAGES,
                "items": _message(),
            },
            "key_names": {"type": "array", "items": {"type": "string"}},
            "table_version": {"type": "integer", "format": "int64"},
            "bookmark_names": {"type": "array", "items": {"type": "string"}},
        },
        "additionalProperties": False,
    }
    assert set(batch["properties"]) == set(BATCH_KEYS)  # noqa: S101 - the rules' own list
    element: dict[str, t.Any] = {
        "type": "object",
        "required": ["client_id", "table_name", "sequence", "action", "key_names", "data"],
        "properties": {
            "client_id": {"type": "integer"},
            "table_name": {"type": "string"},
            "sequence": {"type": "integer", "format": "int64"},
            "action": {"type": "string", "enum": ["upsert"]},
            "key_names": {"type": "array", "items": {"type": "string"}},
            "data": {"type": "object"},
            "table_version": {"type": "integer", "format": "int64"},
        },
        "additionalProperties": False,
    }
    assert set(element["properties"]) == set(PUSH_KEYS)  # noqa: S101 - the rules' own list
    push_body = {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Push"}},
            "application/transit+json": {"schema": {"type": "string"}},
        },
    }
    status_body = {"$ref": "#/components/schemas/BatchStatus"}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "target-sequenced Import API",
            "version": version,
            "description": (
                "Stitch's Import API v2, self-hosted: a 2xx means the records are committed "
                f"to the destination. Bodies up to {max_body_bytes} bytes."
            ),
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Batch": batch,
                "Push": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": MAX_MESSAGES,
                    "items": element,
                },
                "BatchStatus": {
                    "type": "object",
                    "required": ["status", "message"],
                    "properties": {"status": {"type": "string"}, "message": {"type": "string"}},
                },
                "Error": {"type": "object"},
                "ApiStatus": {
                    "type": "object",
                    "required": ["name", "status"],
                    "properties": {
                        "name": {"type": "string"},
                        "version": {"type": "string"},
                        "revision": {"type": ["string", "null"]},
                        "status": {"type": "string"},
                        "reason": {"type": ["string", "null"]},
                    },
                },
            },
        },
        "security": [{"bearer": []}],
        "paths": {
            "/v2/import/batch": {
                "post": {
                    "summary": "Load one table's records with their JSON Schema",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Batch"}}
                        },
                    },
                    "responses": {
                        "201": _json(status_body, "Committed"),
                        **_errors(400, 401, 413, 415, 503),
                    },
                }
            },
            "/v2/import/push": {
                "post": {
                    "summary": "Load records of any tables, typed by their values",
                    "requestBody": push_body,
                    "responses": {
                        "201": _json(status_body, "Committed"),
                        **_errors(400, 401, 403, 413, 415, 422, 503),
                    },
                }
            },
            "/v2/import/validate": {
                "post": {
                    "summary": "Check push records; nothing is written",
                    "requestBody": push_body,
                    "responses": {
                        "200": _json(status_body, "Valid"),
                        **_errors(400, 401, 403, 413, 415, 422),
                    },
                }
            },
            "/v2/import/status": {
                "get": {
                    "summary": "Whether the API takes requests (no token needed)",
                    "security": [],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/ApiStatus"}, "Up"),
                    },
                }
            },
        },
    }
