"""The Import API translator: spec section 7 vectors as Singer messages or Stitch texts.

Pure: no database, no HTTP. Vector numbers refer to ``spec/import-api.md`` section 7.
"""

from __future__ import annotations

import copy
import decimal
import typing as t

import pytest

from target_sequenced.core.errors import InputError, PayloadError
from target_sequenced.core.kinds import Kind, kind_of
from target_sequenced.importapi.stitch_validation import is_date_time, validator_for
from target_sequenced.importapi.translate import Translator, shape_of
from tests.core_harness import parse

FAILED = "Request failed validation:"
SCHEMA: dict[str, t.Any] = {
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "updated_at": {"type": "string", "format": "date-time"},
    }
}
DATA = {"id": 1, "name": "Finn", "updated_at": "2020-01-13T21:25:03+0000"}
S = {
    "table_name": "customers",
    "schema": SCHEMA,
    "key_names": ["id"],
    "messages": [{"action": "upsert", "sequence": 100, "data": DATA}],
}
SCHEMA_MSG = {"type": "SCHEMA", "stream": "customers", "schema": SCHEMA, "key_properties": ["id"]}


def body(**changes: t.Any) -> dict:
    """S with top-level keys replaced (``None`` removes the key)."""
    out = copy.deepcopy(S)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def with_data(**changes: t.Any) -> dict:
    """S with its one message's data changed (``...`` removes the property)."""
    data = {**DATA, **changes}
    data = {k: v for k, v in data.items() if v is not ...}
    return body(messages=[{"action": "upsert", "sequence": 100, "data": data}])


def record(data: dict, sequence: int, version: int = 0, stream: str = "customers") -> dict:
    return {
        "type": "RECORD",
        "stream": stream,
        "record": {**data, "_sdc_sequence": sequence},
        "version": version,
    }


def upsert(sequence: int, **data: t.Any) -> dict:
    return {"action": "upsert", "sequence": sequence, "data": data}


def conform(index: int, *violations: str) -> str:
    """A record's schema error: its violations one per line, as in Stitch's production form."""
    return "\n".join([f"Record {index} did not conform to schema:", *violations])


def failed(*parts: str) -> str:
    """An envelope error whose parts everit joins with spaces."""
    return FAILED + " ".join(parts)


def errors_of(payload: object, translator: Translator | None = None) -> list[str]:
    with pytest.raises(PayloadError) as caught:
        (translator or Translator()).translate(payload)
    assert str(caught.value) == "\n".join(caught.value.errors)
    return caught.value.errors


# --- success vectors --------------------------------------------------------


def test_vector_1_base_body() -> None:
    assert Translator().translate(body()) == [SCHEMA_MSG, record(DATA, 100)]


def test_vector_6_table_version_and_bookmark_names() -> None:
    out = Translator().translate(body(table_version=3, bookmark_names=["updated_at"]))
    assert out == [{**SCHEMA_MSG, "bookmark_properties": ["updated_at"]}, record(DATA, 100, 3)]


def test_vector_14_greatest_sequence_is_accepted() -> None:
    payload = body(messages=[upsert(2**63 - 1, id=1)])
    assert Translator().translate(payload) == [SCHEMA_MSG, record({"id": 1}, 2**63 - 1)]


def test_vector_18_activate_version_keeps_its_position() -> None:
    payload = body(messages=[upsert(100, id=1), {"action": "activate_version", "sequence": 101}])
    assert Translator().translate(payload) == [
        SCHEMA_MSG,
        record({"id": 1}, 100),
        {"type": "ACTIVATE_VERSION", "stream": "customers", "version": 0},
    ]
    versioned = body(
        table_version=5,
        messages=[{"action": "activate_version", "sequence": 1}, upsert(2, id=1)],
    )
    assert Translator().translate(versioned) == [
        SCHEMA_MSG,
        {"type": "ACTIVATE_VERSION", "stream": "customers", "version": 5},
        record({"id": 1}, 2, 5),
    ]


def test_vector_30_33_every_version_is_passed_on_with_its_sequence() -> None:
    translator = Translator()
    one = body(messages=[upsert(200, id=2, name="A"), upsert(100, id=2, name="B")])
    assert translator.translate(one) == [
        SCHEMA_MSG,
        record({"id": 2, "name": "A"}, 200),
        record({"id": 2, "name": "B"}, 100),
    ]
    # 31/32: later payloads for the same table and schema emit no SCHEMA again.
    assert translator.translate(body(messages=[upsert(101, id=10, name="canceled")])) == [
        record({"id": 10, "name": "canceled"}, 101)
    ]
    assert translator.translate(body(messages=[upsert(99, id=10, name="new")])) == [
        record({"id": 10, "name": "new"}, 99)
    ]
    assert translator.translate(body(messages=[upsert(90, id=22)])) == [record({"id": 22}, 90)]
    ties = body(messages=[upsert(500, id=3, name="X"), upsert(500, id=3, name="Y")])
    assert translator.translate(ties) == [
        record({"id": 3, "name": "X"}, 500),
        record({"id": 3, "name": "Y"}, 500),
    ]


@pytest.mark.parametrize("keys", [None, []], ids=["absent", "empty"])
def test_vectors_34_35_no_key_names_means_no_key(keys: list | None) -> None:
    translator = Translator()
    payload = body(key_names=keys)
    schema_msg = {**SCHEMA_MSG, "key_properties": []}
    assert translator.translate(payload) == [schema_msg, record(DATA, 100)]
    assert translator.translate(payload) == [record(DATA, 100)]


def test_schema_is_emitted_again_only_when_schema_or_keys_change() -> None:
    translator = Translator()
    translator.translate(body())
    assert translator.translate(body(table_version=2)) == [record(DATA, 100, 2)]
    changed_keys = translator.translate(body(key_names=["id", "name"]))
    assert changed_keys == [{**SCHEMA_MSG, "key_properties": ["id", "name"]}, record(DATA, 100)]
    wider = copy.deepcopy(SCHEMA)
    wider["properties"]["age"] = {"type": ["null", "integer"]}
    out = translator.translate(body(schema=wider, key_names=["id", "name"]))
    assert out[0] == {**SCHEMA_MSG, "schema": wider, "key_properties": ["id", "name"]}
    assert len(out) == 2


def test_sequence_and_time_extracted_come_from_the_message() -> None:
    message = {
        "action": "upsert",
        "sequence": 7,
        "data": {"id": 1, "_sdc_sequence": 3},
        "time_extracted": "2024-01-02T03:04:05.123456Z",
    }
    out = Translator().translate(body(messages=[message]))
    assert out[1] == {**record({"id": 1}, 7), "time_extracted": "2024-01-02T03:04:05.123456Z"}


def test_other_tables_and_negative_sequences() -> None:
    payload = body(table_name="other", messages=[upsert(-(2**63), id=1)])
    out = Translator().translate(payload)
    assert out == [{**SCHEMA_MSG, "stream": "other"}, record({"id": 1}, -(2**63), stream="other")]


# --- batch errors -----------------------------------------------------------

BAD_BATCHES: list[tuple[str, dict, list[str]]] = [
    ("2", body(table_name=None), [f"{FAILED}#: required key [table_name] not found"]),
    ("3", body(schema=None), [f"{FAILED}#: required key [schema] not found"]),
    ("4", body(messages=None), [f"{FAILED}#: required key [messages] not found"]),
    ("5", body(foo=1), [f"{FAILED}#: extraneous key [foo] is not permitted"]),
    ("7", body(schema=[]), [f"{FAILED}#/schema: expected type: JSONObject, found: JSONArray"]),
    ("8", body(table_name=5), [f"{FAILED}#/table_name: expected type: String, found: Integer"]),
    (
        "9",
        with_data(id="one"),
        ["Record 0 did not conform to schema:\n#/id: expected type: Integer, found: String"],
    ),
    (
        "10",
        with_data(id=1.0),
        ["Record 0 did not conform to schema:\n#/id: expected type: Integer, found: Number"],
    ),
    (
        "10-decimal",
        with_data(id=decimal.Decimal("1.0")),
        ["Record 0 did not conform to schema:\n#/id: expected type: Integer, found: Number"],
    ),
    ("11", with_data(id=...), ["Record is missing key property id"]),
    (
        "12",
        body(
            schema={"properties": {"id": {"type": ["null", "integer"]}}},
            messages=[upsert(100, id=None)],
        ),
        ["Record is missing key property id"],
    ),
    (
        "13",
        body(schema={"properties": {"id": {"type": "integer"}, "name": {"type": "strng"}}}),
        ["Invalid JSON schema: unknown type: [strng]"],
    ),
    (
        "15",
        body(messages=[upsert(2**63, id=1)]),
        [f"{FAILED}#: sequence can not be above 9223372036854775807"],
    ),
    (
        "15-below",
        body(messages=[upsert(-(2**63) - 1, id=1)]),
        [f"{FAILED}#: sequence can not be below -9223372036854775808"],
    ),
    (
        "16",
        body(messages=[{"action": "upsert", "data": {"id": 1}}]),
        [f"{FAILED}#/messages/0: required key [sequence] not found"],
    ),
    (
        "16-no-action",
        body(messages=[{"sequence": 1, "data": {"id": 1}}]),
        [
            failed(
                "#/messages/0: #: 0 subschemas matched instead of one",
                "#/messages/0: 2 schema violations found",
                "#/messages/0: required key [action] not found",
                "#/messages/0: extraneous key [data] is not permitted",
                "#/messages/0: required key [action] not found",
            )
        ],
    ),
    (
        "17",
        body(messages=[{"action": "delete", "sequence": 1, "data": {"id": 1}}]),
        [
            failed(
                "#/messages/0: #: 0 subschemas matched instead of one",
                "#/messages/0: 2 schema violations found",
                "#/messages/0/action: delete is not a valid enum value",
                "#/messages/0: extraneous key [data] is not permitted",
                "#/messages/0/action: delete is not a valid enum value",
            )
        ],
    ),
    (
        "19",
        body(messages=[upsert(1, id=1), {"action": "activate_version", "sequence": 2, "data": {}}]),
        [f"{FAILED}#/messages/1: extraneous key [data] is not permitted"],
    ),
    (
        "20",
        body(messages=[upsert(i, id=i) for i in range(20_001)]),
        [f"{FAILED}#/messages: expected maximum item count: 20000, found: 20001"],
    ),
    ("21", body(messages=[]), [f"{FAILED}#/messages: expected minimum item count: 1, found: 0"]),
    ("36", body(key_names=["missing_col"]), ["Record is missing key property missing_col"]),
    (
        "37",
        body(
            schema={
                "properties": {
                    "id": {"type": "integer"},
                    "addr": {"type": "object", "properties": {"city": {"type": "string"}}},
                }
            },
            key_names=["addr"],
            messages=[upsert(1, id=1, addr={"city": "Oslo"})],
        ),
        [
            (
                f"{FAILED}#/key_names/0: key property [addr] must have a scalar type "
                "(string, integer, number, boolean), found: object"
            )
        ],
    ),
    (
        "38",
        body(key_names=["name"], messages=[upsert(1, id=1, name="n" * 256)]),
        ["Record 0: string key property name must be shorter than 256 characters, found: 256"],
    ),
    (
        "48",
        body(schema={**SCHEMA, "additionalProperties": False}, messages=[upsert(1, id=1, x=2)]),
        ["Record 0 did not conform to schema:\n#: extraneous key [x] is not permitted"],
    ),
]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [pytest.param(p, e, id=v) for v, p, e in BAD_BATCHES],
)
def test_bad_batches(payload: dict, expected: list[str]) -> None:
    assert errors_of(payload) == expected


MORE_BAD_BATCHES: list[tuple[str, dict, list[str]]] = [
    (
        "nullable",
        body(
            schema={"properties": {"id": {"type": "integer"}, "n": {"type": ["null", "integer"]}}},
            messages=[upsert(1, id=1, n="x")],
        ),
        [
            conform(
                0,
                "#/n: #: no subschema matched out of the total 2 subschemas",
                "#/n: expected: null, found: String",
                "#/n: expected type: Integer, found: String",
            )
        ],
    ),
    (
        "boolean-is-no-number",
        body(
            schema={"properties": {"id": {"type": "integer"}, "x": {"type": "number"}}},
            messages=[upsert(1, id=True, x=False)],
        ),
        [
            conform(
                0,
                "#/id: expected type: Integer, found: Boolean",
                "#/x: expected type: Number, found: Boolean",
            )
        ],
    ),
    (
        "bad-date-time",
        with_data(updated_at="2020-01-13"),
        [conform(0, "#/updated_at: [2020-01-13] is not a valid date-time")],
    ),
    (
        "nested-and-required",
        body(
            schema={
                "properties": {
                    "id": {"type": "integer"},
                    "addr": {"type": "object", "required": ["city"]},
                    "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 1},
                }
            },
            messages=[upsert(1, id=1, addr={}, tags=[1, "a"])],
        ),
        [
            conform(
                0,
                "#/addr: required key [city] not found",
                "#/tags/0: expected type: String, found: Integer",
                "#/tags: expected maximum item count: 1, found: 2",
            )
        ],
    ),
    (
        "schema-and-key-violations",
        body(messages=[upsert(1, id="a"), upsert(2, id=None), upsert(3, name=5)]),
        [
            "Record 0 did not conform to schema:\n#/id: expected type: Integer, found: String",
            "Record 1 did not conform to schema:\n#/id: expected type: Integer, found: null",
            "Record is missing key property id",
            "Record 2 did not conform to schema:\n#/name: expected type: String, found: Integer",
        ],
    ),
    (
        "envelope-types",
        body(key_names="id", bookmark_names=[1], table_version="3"),
        [
            f"{FAILED}#/key_names: expected type: JSONArray, found: String",
            f"{FAILED}#/bookmark_names/0: expected type: String, found: Integer",
            f"{FAILED}#/table_version: expected type: Integer, found: String",
        ],
    ),
    (
        "message-types",
        body(
            messages=[
                {"action": "upsert", "sequence": True, "data": [], "time_extracted": "now"},
                "x",
                {"action": "activate_version", "sequence": 1.5},
            ]
        ),
        [
            f"{FAILED}#/messages/0/sequence: expected type: Integer, found: Boolean",
            f"{FAILED}#/messages/0/data: expected type: JSONObject, found: JSONArray",
            f"{FAILED}#/messages/0/time_extracted: [now] is not a valid date-time",
            f"{FAILED}#/messages/1: expected type: JSONObject, found: String",
            f"{FAILED}#/messages/2/sequence: expected type: Integer, found: Number",
        ],
    ),
    (
        "undeclared-key-sent-in-every-record",
        body(key_names=["code"], messages=[upsert(1, id=1, code="a")]),
        [f"{FAILED}#/key_names/0: key property [code] is not a top-level property of #/schema"],
    ),
    (
        "schema-not-a-schema",
        body(schema={"properties": {"id": True}}),
        [
            (
                "Invalid JSON schema: #/properties/id: "
                "expected type is one of JSONObject, found: Boolean"
            )
        ],
    ),
]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [pytest.param(p, e, id=v) for v, p, e in MORE_BAD_BATCHES],
)
def test_more_bad_batches(payload: dict, expected: list[str]) -> None:
    assert errors_of(payload) == expected


def test_errors_are_capped_at_twenty_and_deduplicated() -> None:
    messages = [upsert(i, id=str(i)) for i in range(25)] + [upsert(99, name="x")] * 3
    errors = errors_of(body(messages=messages))
    assert errors[:2] == [
        "Record 0 did not conform to schema:\n#/id: expected type: Integer, found: String",
        "Record 1 did not conform to schema:\n#/id: expected type: Integer, found: String",
    ]
    assert len(errors) == 21
    assert errors[-1] == "... and 6 more"  # 25 schema texts + one missing-key text


def test_payload_error_is_an_input_error_naming_the_table() -> None:
    with pytest.raises(PayloadError) as caught:
        Translator().translate(with_data(id="one"))
    assert isinstance(caught.value, InputError)
    assert caught.value.table == "customers"


def test_a_failed_payload_changes_no_state() -> None:
    translator = Translator()
    errors_of(body(messages=[upsert(1, id="x")]), translator)
    assert translator.translate(body()) == [SCHEMA_MSG, record(DATA, 100)]


def test_boundary_batch_of_20000_messages_is_accepted() -> None:
    out = Translator().translate(body(messages=[upsert(i, id=i) for i in range(20_000)]))
    assert len(out) == 20_001


@pytest.mark.parametrize("payload", [5, "x", None])
def test_a_payload_that_is_no_object(payload: object) -> None:
    found = "Integer" if payload == 5 else "String" if payload == "x" else "null"
    assert errors_of(payload) == [f"{FAILED}#: expected type: JSONObject, found: {found}"]


# --- push -------------------------------------------------------------------


def push(sequence: object = 1, table: str = "t", **overrides: t.Any) -> dict:
    element: dict[str, t.Any] = {
        "client_id": 7723,
        "table_name": table,
        "sequence": sequence,
        "action": "upsert",
        "key_names": ["id"],
        "data": {"id": sequence},
    }
    for key, value in overrides.items():
        if value is ...:
            element.pop(key)
        else:
            element[key] = value
    return element


def push_schema(keys: list[str], stream: str = "t", **types: list[str]) -> dict:
    properties = {name: {"type": ["null", *kinds]} for name, kinds in types.items()}
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": {"type": "object", "properties": properties},
        "key_properties": keys,
    }


def test_push_synthesizes_a_schema_from_value_types() -> None:
    data = {"id": 1, "name": "a", "score": 1.5, "ok": True, "n": None, "tags": ["x"], "o": {}}
    out = Translator().translate([push(data=data, table_version=4)])
    schema = push_schema(
        ["id"],
        id=["integer"],
        name=["string"],
        score=["number"],
        ok=["boolean"],
        tags=["array"],
        o=["object"],
    )
    assert out == [schema, record(data, 1, 4, stream="t")]


def test_push_types_widen_across_payloads_and_tables_interleave() -> None:
    translator = Translator()
    first = translator.translate([push(1, data={"id": 1, "cost": 10}), push(2, table="u")])
    assert first == [
        push_schema(["id"], id=["integer"], cost=["integer"]),
        record({"id": 1, "cost": 10}, 1, stream="t"),
        push_schema(["id"], stream="u", id=["integer"]),
        record({"id": 2}, 2, stream="u"),
    ]
    # same types: no SCHEMA; vector 62 (3.14 then 10): integer and number give number
    assert translator.translate([push(3, data={"id": 3, "cost": 5})]) == [
        record({"id": 3, "cost": 5}, 3, stream="t")
    ]
    second = translator.translate([push(4, data={"id": 4, "cost": 3.14}), push(5)])
    assert second == [
        push_schema(["id"], id=["integer"], cost=["number"]),
        record({"id": 4, "cost": 3.14}, 4, stream="t"),
        record({"id": 5}, 5, stream="t"),
    ]
    # a string after numbers: a type list that columns.kind_of widens to a string column
    third = translator.translate(push(6, data={"id": 6, "cost": "free"}))
    assert third == [
        push_schema(["id"], id=["integer"], cost=["number", "string"]),
        record({"id": 6, "cost": "free"}, 6, stream="t"),
    ]


def test_push_key_change_emits_a_schema_where_it_happens() -> None:
    out = Translator().translate([push(1), push(2, key_names=[]), push(3, key_names=[])])
    assert out == [
        push_schema(["id"], id=["integer"]),
        record({"id": 1}, 1, stream="t"),
        push_schema([], id=["integer"]),
        record({"id": 2}, 2, stream="t"),
        record({"id": 3}, 3, stream="t"),
    ]


BAD_PUSHES: list[tuple[str, object, list[str]]] = [
    (
        "54",
        [push(1), push(2, client_id=7724)],
        ["The batch contains data points for multiple clients. Only client_id 7723 is allowed"],
    ),
    ("55", [push(client_id=...)], ["#/0: client_id: can't be blank"]),
    (
        "57",
        [push(key_names=..., key_properties=["id"])],
        ["#/0: key_properties: unknown key", "#/0: key_names: can't be blank"],
    ),
    ("58", [push(data=[1])], ["#/0: data must be an object"]),
    ("59", [push(data={"id": None})], ["#/0: keys cannot not be null in data"]),
    ("60", [push(sequence="abc")], ["#/0: sequence: should be an integer"]),
    ("missing-key", [push(data={"x": 1})], ["#/0: data must include keys"]),
    (
        "long-key",
        [push(key_names=["k"], data={"k": "k" * 1025})],
        ["#/0: String keys cannot be longer than 1024 characters"],
    ),
    (
        "object-key",
        [push(data={"id": {}})],
        ["#/0: keys must be strings, numbers or booleans in data"],
    ),
    ("single-element", push(action="switch_view"), ["#: action: should be upsert"]),
    (
        "sequence-range",
        [push(2**63), push(1, table_version="x")],
        [
            "#/0: sequence can not be above 9223372036854775807",
            "#/1: table_version: should be an integer",
        ],
    ),
    ("no-record", [1], ["#/0: An array of records is expected"]),
    ("empty", [], ["#: expected minimum item count: 1, found: 0"]),
]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [pytest.param(p, e, id=v) for v, p, e in BAD_PUSHES],
)
def test_bad_pushes(payload: object, expected: list[str]) -> None:
    assert errors_of(payload) == expected


def test_push_key_of_1024_characters_is_accepted() -> None:
    out = Translator().translate([push(key_names=["k"], data={"k": "k" * 1024})])
    assert out[1]["record"]["k"] == "k" * 1024


# --- shapes, date-times, validator cache -----------------------------------


@pytest.mark.parametrize(
    ("value", "shape"),
    [
        ({"type": "RECORD", "stream": "s", "record": {}}, "singer"),
        (S, "batch"),
        ([], "push"),
        ({"client_id": 1, "data": {}}, "push"),
        ({"table_name": "t"}, None),
        ({"client_id": 1}, None),
        ("x", None),
        (None, None),
    ],
)
def test_shape_of(value: object, shape: str | None) -> None:
    assert shape_of(value) == shape


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("2020-01-13T21:25:03+0000", True),
        ("2018-04-30T17:00:00Z", True),
        ("2018-04-30T17:00:00+00:00", True),
        ("2024-01-02T03:04:05.123456Z", True),
        ("2024-02-29T23:59:59-07:30", True),
        ("2023-02-29T00:00:00Z", False),
        ("2018-04-30T17:00:00", False),
        ("2018-04-30 17:00:00Z", False),
        ("2018-04-30", False),
        ("2018-04-30T25:00:00Z", False),
        ("2018-04-30T17:00:00+24:00", False),
        ("yesterday", False),
    ],
)
def test_date_time(text: str, valid: bool) -> None:
    assert is_date_time(text) is valid


def test_validator_is_compiled_once_per_schema() -> None:
    first = validator_for(copy.deepcopy(SCHEMA))
    assert validator_for(copy.deepcopy(SCHEMA)) is first
    assert validator_for({"properties": {}}) is not first


def test_push_type_mixes_map_to_columns_that_hold_every_value() -> None:
    values = [7, 1.5, "x", True, {"a": 1}, [1]]
    out = Translator().translate(
        [push(i + 1, data={"id": i, "v": v}) for i, v in enumerate(values)]
    )
    prop = out[0]["schema"]["properties"]["v"]
    assert prop == {"type": ["null", "boolean", "number", "string", "object", "array"]}
    assert kind_of(prop) is Kind.STRING
    records = [m["record"] for m in out if m["type"] == "RECORD"]
    parsed = parse({"properties": {"id": {"type": "integer"}, "v": prop}}, records)
    assert [r["v"] for r in parsed.rows] == ["7", "1.5", "x", "true", '{"a":1}', "[1]"]
    only_json = Translator().translate(
        [push(1, data={"id": 1, "o": {}}), push(2, data={"id": 2, "o": []})]
    )
    assert kind_of(only_json[0]["schema"]["properties"]["o"]) is Kind.JSON


def test_a_consumer_mutating_emitted_schemas_causes_no_new_schema() -> None:
    translator = Translator()
    for out in (translator.translate(body()), translator.translate([push(1)])):
        out[0]["schema"].setdefault("properties", {})["_sdc_sequence"] = {"type": "integer"}
    assert translator.translate(body()) == [record(DATA, 100)]
    assert translator.translate([push(2)]) == [record({"id": 2}, 2, stream="t")]
