"""What Stitch's Import API rejects in a request, in Stitch's words (``spec/import-api.md``).

The batch envelope and its messages (everit wording, each text a whole
``Request failed validation:...`` error), the batch's records and keys, and
push elements (the push endpoint's 422 reasons, located by ``#/<index>``).
Records against their schema are :mod:`.stitch_validation`'s; the choices are
documented in :mod:`.translate`.
"""

from __future__ import annotations

import typing as t

import msgspec

from target_sequenced.core.numbers import INT64_MAX, INT64_MIN
from target_sequenced.importapi.stitch_validation import (
    InvalidSchemaError,
    is_date_time,
    pointer,
    render,
    type_name,
    validator_for,
)

MAX_MESSAGES = 20_000
BATCH_KEY_LIMIT = 256  # batch string keys must be shorter than this
PUSH_KEY_LIMIT = 1024  # push string keys may be this long
FAILED = "Request failed validation:"
BATCH_KEYS = ("table_name", "schema", "messages", "key_names", "table_version", "bookmark_names")
_REQUIRED = ("table_name", "schema", "messages")
_SHAPES = {"activate_version": ("action", "sequence"), "upsert": ("action", "sequence", "data")}
_SCALARS = frozenset({"string", "integer", "number", "boolean"})
PUSH_KEYS = ("client_id", "table_name", "sequence", "action", "key_names", "data", "table_version")


def is_integer(value: object) -> t.TypeGuard[int]:
    """A JSON integer (a bool is none)."""
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
    if "sequence" in message and not is_integer(message["sequence"]):
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


def _plain_upsert(message: object) -> bool:
    """An upsert with exactly its three keys, each of its type and range: nothing to word.

    Most messages are such; anything else takes :func:`_message_errors`'s full rules.
    """
    if type(message) is not dict or len(message) != 3:  # noqa: PLR2004 - the three keys
        return False
    sequence = message.get("sequence")
    return (
        message.get("action") == "upsert"
        and type(sequence) is int
        and INT64_MIN <= sequence <= INT64_MAX
        and type(message.get("data")) is dict
    )


class PlainUpsert(msgspec.Struct, forbid_unknown_fields=True):
    """:func:`_plain_upsert` as a type msgspec decodes, ``data`` kept as its JSON text.

    A batch is read this way first (:mod:`.plain`). What this type takes, with
    ``data`` an object and a ``time_extracted`` that :func:`is_date_time`
    accepts, is a message :func:`_message_errors` has no words for; anything
    else is left to them. ``tests/test_payload_rules.py`` runs both on one table.
    """

    action: t.Literal["upsert"]
    sequence: t.Annotated[int, msgspec.Meta(ge=INT64_MIN, le=INT64_MAX)]
    data: msgspec.Raw
    time_extracted: str | msgspec.UnsetType = msgspec.UNSET


class PlainBatch(msgspec.Struct, forbid_unknown_fields=True):
    """A batch of :class:`PlainUpsert` messages; its other fields as their JSON texts.

    The fields are :data:`BATCH_KEYS`, the first three required: an object
    with others is left to :func:`batch_envelope_errors`, which words them.
    """

    table_name: msgspec.Raw
    schema: msgspec.Raw
    messages: list[PlainUpsert]
    key_names: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET
    table_version: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET
    bookmark_names: msgspec.Raw | msgspec.UnsetType = msgspec.UNSET


def _message_errors(index: int, message: object) -> list[str]:
    """Envelope violations of ``messages[index]``, each a full ``Request failed`` text."""
    if _plain_upsert(message):
        return []
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
    if is_integer(sequence) and (text := _range("sequence", sequence)):
        texts.append(FAILED + text)
    return texts


def head_errors(head: dict, count: int) -> list[str]:
    """Violations of a batch's fields, and of how many messages it holds.

    ``head``: the batch's fields; its messages, if there, are not looked at.
    """
    texts = [FAILED + text for text in _top_level_errors({**head, "messages": ()})]
    return texts + [FAILED + text for text in _count_errors("#/messages", count)]


def batch_envelope_errors(payload: dict) -> list[str]:
    """Violations of the batch request schema (stage 1)."""
    if "messages" not in payload:
        return [FAILED + text for text in _top_level_errors(payload)]
    messages = payload["messages"]
    if not isinstance(messages, list):
        texts = [FAILED + text for text in _top_level_errors(payload)]
        texts.append(f"{FAILED}#/messages: expected type: JSONArray, found: {type_name(messages)}")
        return texts
    texts = head_errors(payload, len(messages))
    if all(map(_plain_upsert, messages)):
        return texts  # the usual batch: no message to word
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
        if not is_integer(version):
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
        texts += _key_errors(index, data, keys)
    return texts


def _key_fine(value: object) -> bool:
    """A key value Stitch takes: present, not null, a string shorter than the limit."""
    return value is not None and not (isinstance(value, str) and len(value) >= BATCH_KEY_LIMIT)


def _key_errors(index: int, data: dict, keys: list[str]) -> list[str]:
    texts = []
    for key in keys:
        value = data.get(key)
        if _key_fine(value):
            continue
        if value is None:
            texts.append(f"Record is missing key property {key}")
        else:
            texts.append(
                f"Record {index}: string key property {key} must be shorter than "
                f"{BATCH_KEY_LIMIT} characters, found: {len(t.cast('str', value))}"
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
    if is_integer(client_id):
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
    if client_id is not None and not is_integer(client_id):
        found.append("client_id: should be an integer")
    if element.get("table_name") and not isinstance(element["table_name"], str):
        found.append("table_name: should be a string")
    if sequence is not None and not is_integer(sequence):
        found.append("sequence: should be an integer")
    elif is_integer(sequence) and (text := _range("sequence", sequence)):
        found.append(text.removeprefix("#: "))
    version = element.get("table_version")
    if version is not None and not (
        is_integer(version) and _range("table_version", version) is None
    ):
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
