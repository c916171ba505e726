"""The bad-input corpus: what the command says, prints and writes for each bad input.

``tests/badinput/`` holds one input per case, ``NN-short-name.jsonl``, piped
byte for byte into ``target-sequenced --config`` as a real process (the
invalid UTF-8 and byte-order-mark files are binary on purpose: keep your
editor off them). A bad case starts with good lines, a SCHEMA, two RECORDs
and a STATE (for Import API cases, a good payload and a STATE), then comes
the bad line, then a good RECORD and a STATE that must never take effect.
For every case ``CASES`` states, and the test checks:

- the exit status (README, "When something goes wrong": 1 for bad input);
- the one ERROR record on stderr (a message can run over several lines, an
  Import API refusal does), which must hold every expected text: the
  location (``input line N``, ``record K``, ``(item K)``), the stream or
  table, the field path (``#/a/1``) and the rule; and no traceback;
- the STATE lines on stdout: those the committed lines cover, none past the
  bad line;
- every table afterwards (system tables aside), row by row with exact values:
  what came before the bad line is committed, nothing of it or after it is
  written. A run that commits nothing leaves no DuckDB file.

Some inputs the program accepts although they may look bad (CRLF line
endings, blank lines, reserved words, a 10 MB string): those cases are
controls that assert the rows loaded. Inputs too large to commit (a 10 MB
string, an object nested 5,000 deep, a batch of 20,001 messages) are built by
``GENERATED``, numbered in the files' sequence. Each case runs on DuckDB, and
on PostgreSQL when it writes rows or concerns text, types or names
(``dialects``); ``postgresql`` holds what PostgreSQL does differently (it
refuses NUL in text).

To add a case: write ``tests/badinput/NN-short-name.jsonl`` with the next
free number (a good prelude, the bad line, a good tail), add its ``Case`` to
``CASES`` under the same name, run this file, and before copying the ERROR
text the run prints into the case, check that it names the location and the
rule. Where the behaviour looks wrong, give the case ``xfail=`` with the
reason and the expected (right) outcome: it runs as
``xfail(strict=True)``, so a fix shows up as a failure until the mark goes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
import subprocess
import sys
import typing as t
from decimal import Decimal
from pathlib import Path

import pytest

if t.TYPE_CHECKING:
    from tests.helpers import Db

EXE = str(Path(sys.executable).with_name("target-sequenced"))
CORPUS = Path(__file__).parent / "badinput"
BOTH = ("duckdb", "postgresql")
DUCKDB = ("duckdb",)
LOG_RECORD = re.compile(r"^(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} \| )", re.MULTILINE)


@dataclasses.dataclass(frozen=True)
class Case:
    """What one input must do."""

    exit: int
    error: tuple[str, ...]
    """Texts the one ERROR record must contain; empty: no ERROR at all."""
    states: list[dict]
    """The STATE values on stdout, in order."""
    rows: dict[str, list[dict[str, t.Any]]]
    """Every table afterwards (system tables aside) and its rows, ordered by ``id``."""
    dialects: tuple[str, ...] = BOTH
    select: dict[str, str] = dataclasses.field(default_factory=dict)
    """A table's select list, where its plain columns are not what to compare."""
    types: dict[str, tuple[str, str]] = dataclasses.field(default_factory=dict)
    """``table.column``: its type on DuckDB and on PostgreSQL."""
    postgresql: dict[str, t.Any] = dataclasses.field(default_factory=dict)
    """Fields that differ on PostgreSQL."""
    xfail: str = ""
    """Why the program's behaviour looks wrong; the fields say what is right."""


# -- expected rows and messages ----------------------------------------------------------------


def person(id_: int, name: str, seq: int, **more: t.Any) -> dict[str, t.Any]:
    """A record of stream ``people`` as sent, which is also its row as read back."""
    return {"id": id_, "name": name, **more, "_sdc_sequence": seq}


def customer(id_: int, name: str, seq: int, updated_at: dt.datetime | None = None) -> dict:
    return {"id": id_, "name": name, "updated_at": updated_at, "_sdc_sequence": seq}


def cut(name: str) -> str:
    """A name over 63 characters as the README says it is cut: 54 of them, ``_``, SHA-1."""
    digest = hashlib.sha1(name.encode()).hexdigest()  # noqa: S324 - the product's naming rule
    return f"{name[:54]}_{digest[:8]}"


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - compared with SQL's md5()


B1, B2, B3 = {"bookmark": 1}, {"bookmark": 2}, {"bookmark": 3}
ADA, GRACE, AFTER = person(1, "Ada", 1), person(2, "Grace", 2), person(9, "after", 9)
PEOPLE = {"people": [ADA, GRACE]}
UTC = dt.timezone.utc
CUSTOMERS = {
    "customers": [
        customer(1, "Finn", 100, dt.datetime(2020, 1, 13, 21, 25, 3, tzinfo=UTC)),
        customer(2, "Jake", 101, dt.datetime(2020, 1, 13, 21, 26, 3, tzinfo=UTC)),
    ]
}
ORDERS = {
    "orders": [
        {"id": 1, "cost": Decimal("3.5"), "_sdc_sequence": 1},
        {"id": 2, "cost": Decimal(10), "_sdc_sequence": 2},
    ]
}
RECORD_5 = "stream 'people', input line 5, record 2: "
SCHEMA_ERROR = "record does not conform to schema: "
SEQUENCE = (
    "#/_sdc_sequence: must be an integer; another type, or a value outside the signed 64-bit "
    "range, makes the record invalid (contract 2.2), found "
)
NUL = "PostgreSQL cannot store the character U+0000 (NUL) in text"
API_3 = "input line 3, table 'customers': Import API payload rejected, nothing of it was loaded:\n"
PUSH_3 = "input line 3, table 'orders': Import API payload rejected, nothing of it was loaded:\n"


def not_a_message(line: int) -> str:
    return (
        f"input line {line}: neither a Singer message (an object with 'type'), an Import API "
        "batch (an object with 'table_name' and 'messages') nor push records (an array, or an "
        "object with 'client_id' and 'data')"
    )


def stops(*error: str, rows: dict | None = None, states: tuple = (B1,), **more: t.Any) -> Case:
    """Exit 1 at the bad line: the prelude committed, its STATE printed, nothing after."""
    return Case(1, error, list(states), PEOPLE if rows is None else rows, **more)


def loads(rows: dict, states: tuple = (B2,), **more: t.Any) -> Case:
    """A control: the input is accepted whole."""
    return Case(0, (), list(states), rows, **more)


# -- inputs built here rather than committed ------------------------------------------------

BIG = "x" * (10 * 2**20)
DEEP = '{"d":' * 4999 + '{"leaf":1}' + "}" * 4999
"""An object nested 5,000 deep, as compact JSON (``json.dumps`` cannot nest that far)."""


def _text(*lines: object) -> bytes:
    return "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines).encode()


def _people(extra: dict | None = None) -> dict:
    properties = {"id": {"type": "integer"}, "name": {"type": "string"}, **(extra or {})}
    return {
        "type": "SCHEMA",
        "stream": "people",
        "schema": {"type": "object", "properties": properties},
        "key_properties": ["id"],
    }


def _record(rec: dict) -> dict:
    return {"type": "RECORD", "stream": "people", "record": rec}


def _state(value: dict) -> dict:
    return {"type": "STATE", "value": value}


def _string_10_mb() -> bytes:
    return _text(
        _people(),
        _record(ADA),
        _record(GRACE),
        _state(B1),
        _record(person(3, BIG, 3)),
        _record(AFTER),
        _state(B2),
    )


def _nested_5000_deep() -> bytes:
    deep = '{"type": "RECORD", "stream": "people", "record": {"id": 3, "name": "deep", "doc": '
    return _text(
        _people({"doc": {}}),
        _record({**ADA, "doc": {"a": 1}}),
        _record({**GRACE, "doc": [1, "x"]}),
        _state(B1),
        deep + DEEP + ', "_sdc_sequence": 3}}',
        _record(AFTER),
        _state(B2),
    )


def _batch(messages: list[dict]) -> dict:
    properties = {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "updated_at": {"type": "string", "format": "date-time"},
    }
    return {
        "table_name": "customers",
        "schema": {"properties": properties},
        "key_names": ["id"],
        "messages": messages,
    }


def _upsert(sequence: int, **data: t.Any) -> dict:
    return {"action": "upsert", "sequence": sequence, "data": data}


def _messages_20001() -> bytes:
    return _text(
        _batch(
            [
                _upsert(100, id=1, name="Finn", updated_at="2020-01-13T21:25:03+0000"),
                _upsert(101, id=2, name="Jake", updated_at="2020-01-13T21:26:03+0000"),
            ]
        ),
        _state(B1),
        _batch([_upsert(200 + i, id=10 + i, name="n") for i in range(20_001)]),
        _batch([_upsert(109, id=9, name="after")]),
        _state(B2),
    )


GENERATED: dict[str, t.Callable[[], bytes]] = {
    "49-string-10-mb": _string_10_mb,
    "50-nested-5000-deep": _nested_5000_deep,
    "70-api-v20-20001-messages": _messages_20001,
}

# -- the cases ------------------------------------------------------------------------------

L100, L100B = "long_" + "x" * 95, "long_" + "x" * 94 + "y"
DEEP_200: dict = {"leaf": 1}
for _ in range(199):
    DEEP_200 = {"d": DEEP_200}

CASES: dict[str, Case] = {
    # -- lines that are no message
    "01-malformed-json": stops(
        "input line 5: not valid JSON (Expecting property name enclosed in double quotes "
        "at character 59)",
        dialects=DUCKDB,
    ),
    "02-truncated-json": stops(
        "input line 5: not valid JSON (Invalid control character at character 63)",
        dialects=DUCKDB,
    ),
    "03-truncated-last-line": stops(
        "input line 5: not valid JSON (Unterminated string starting at character 60)",
        dialects=DUCKDB,
    ),
    "04-invalid-utf8": stops("input line 5: not UTF-8 text (invalid continuation byte at byte 71)"),
    "05-bom-at-start": stops(
        "input line 1: not valid JSON (Unexpected UTF-8 BOM", rows={}, states=(), dialects=DUCKDB
    ),
    "06-bom-mid-input": stops(
        "input line 5: not valid JSON (Unexpected UTF-8 BOM", dialects=DUCKDB
    ),
    "07-crlf-line-endings": loads({"people": [ADA, GRACE, AFTER]}),
    "08-blank-lines": loads({"people": [ADA, GRACE, AFTER]}),
    "09-json-number": stops(not_a_message(5), dialects=DUCKDB),
    "10-json-string": stops(not_a_message(5), dialects=DUCKDB),
    "11-json-null": stops(not_a_message(5), dialects=DUCKDB),
    "12-json-true": stops(not_a_message(5), dialects=DUCKDB),
    "13-json-array-of-numbers": stops(
        "input line 5: Import API payload rejected, nothing of it was loaded:\n"
        "#/0: An array of records is expected\n#/1: An array of records is expected",
        dialects=DUCKDB,
    ),
    "14-two-objects-on-one-line": stops(
        "input line 5: not valid JSON (Extra data at character 93)", dialects=DUCKDB
    ),
    "15-nan-in-undeclared-property": stops(
        "input line 5: not valid JSON (NaN is not a JSON number)"
    ),
    "16-nan-in-number-column": stops(
        "input line 5: not valid JSON (NaN is not a JSON number)",
        rows={"people": [{**ADA, "score": Decimal("1.5")}, {**GRACE, "score": None}]},
    ),
    # DuckDB reads NaN and Infinity in any case (nan, -iNf), as values or array items.
    "86-lowercase-nan-in-undeclared-property": stops(
        "input line 5: not valid JSON (Expecting value at character 82)"
    ),
    "87-infinity-any-case-in-number-column": stops(
        "input line 5: not valid JSON (Expecting value at character 82)",
        rows={"people": [{**ADA, "score": Decimal("1.5")}, {**GRACE, "score": None}]},
    ),
    "88-infinity-in-an-array": stops(
        "input line 5: not valid JSON (Expecting value at character 87)"
    ),
    # RFC 8259 leaves duplicate names open; the first one is kept, on every path.
    "17-duplicate-json-key": loads({"people": [ADA, GRACE, person(3, "first", 3), AFTER]}),
    # -- messages
    "18-unknown-message-type": stops(
        "input line 5: unknown message type 'RECORDS'", dialects=DUCKDB
    ),
    "19-object-without-type": stops(not_a_message(5), dialects=DUCKDB),
    "20-record-without-stream": stops(
        "input line 5: a RECORD needs a 'stream' name and a 'record' object", dialects=DUCKDB
    ),
    "21-state-without-value": stops(
        "input line 5: a STATE message needs a 'value'", dialects=DUCKDB
    ),
    "22-record-before-schema": stops(
        "input line 5: a RECORD for stream 'pets' came before its SCHEMA message",
        dialects=DUCKDB,
    ),
    # -- schemas that cannot be used
    "23-schema-without-properties": stops(
        "stream 'pets', input line 5: a SCHEMA's 'schema' must be a JSON Schema object with "
        "'properties' (an object), found no 'properties' object"
    ),
    "24-schema-not-an-object": stops(
        "stream 'pets', input line 5: a SCHEMA's 'schema' must be a JSON Schema object with "
        "'properties' (an object), found list"
    ),
    "25-schema-unknown-type": stops(
        "stream 'pets', input line 5",
        "invalid JSON Schema (draft 7) at #/properties/kind/type: 'strng' is not valid under "
        "any of the given schemas",
    ),
    "26-key-not-in-schema": stops(
        "stream 'pets', input line 5",
        "key properties ['pet_id'] are not declared in the schema's top-level properties",
    ),
    "27-key-changes": stops(
        "stream 'people', input line 5: the SCHEMA's key ['name'] differs from table "
        "'people''s key ['id']"
    ),
    "28-names-collide": stops(
        "stream 'pets', input line 5",
        "properties 'a-b' and 'a_b' both map to column 'a_b'",
    ),
    # -- records that break their schema
    "29-wrong-type": stops(RECORD_5 + SCHEMA_ERROR + "#/name: 5 is not of type 'string'"),
    "30-enum": stops(RECORD_5 + SCHEMA_ERROR + "#/name: 'Linus' is not one of ['Ada', 'Grace']"),
    "31-max-length": stops(RECORD_5 + SCHEMA_ERROR + "#/name: 'Barbara' is too long"),
    "32-minimum": stops(
        RECORD_5 + SCHEMA_ERROR + "#/age: -1 is less than the minimum of 0",
        rows={"people": [{**ADA, "age": 36}, {**GRACE, "age": 0}]},
    ),
    "33-required": stops(RECORD_5 + SCHEMA_ERROR + "#/: 'name' is a required property"),
    "34-additional-properties-false": stops(
        RECORD_5 + SCHEMA_ERROR + "#/: Additional properties are not allowed "
        "('nick' was unexpected)"
    ),
    "35-nested-array-item": stops(
        RECORD_5 + SCHEMA_ERROR + "#/tags/1: 5 is not of type 'string'",
        rows={"people": [{**ADA, "tags": ["math"]}, {**GRACE, "tags": []}]},
    ),
    "36-missing-key": stops(RECORD_5 + "Record is missing key property id"),
    "37-null-key": stops(RECORD_5 + "Record is missing key property id"),
    "38-integer-beyond-64-bits": stops(
        RECORD_5 + "#/id: integer outside the signed 64-bit range, found 18446744073709551616"
    ),
    "39-bad-date-time": stops(
        RECORD_5 + '#/born: not a date-time, found "yesterday"',
        rows={
            "people": [
                {**ADA, "born": dt.datetime(1815, 12, 10, tzinfo=UTC)},
                {**GRACE, "born": dt.datetime(1906, 12, 9, 10, 30, tzinfo=UTC)},
            ]
        },
    ),
    # -- sequences
    "40-sequence-string": stops(RECORD_5 + SEQUENCE + '"3"'),
    "41-sequence-float": stops(RECORD_5 + SEQUENCE + "3.5"),
    "42-sequence-boolean": stops(RECORD_5 + SEQUENCE + "true"),
    "43-sequence-beyond-64-bits": stops(RECORD_5 + SEQUENCE + "9223372036854775808"),
    "44-sequence-source-changes": stops(
        RECORD_5 + "its sequence comes from sequences the target generated",
        "they do not compare",
    ),
    # -- values
    "45-nul-in-string": loads(
        {"people": [ADA, GRACE, person(3, "a\x00b", 3), AFTER]},
        postgresql={
            "exit": 1,
            "error": (RECORD_5 + "#/name: " + NUL + ', found "a\\u0000b"',),
            "states": [B1],
            "rows": PEOPLE,
        },
    ),
    "46-nul-in-json": loads(
        {
            "people": [
                {**ADA, "doc": {"k": "v"}},
                {**GRACE, "doc": None},
                person(3, "x", 3, doc={"k": ["a", "a\x00b"]}),
                {**AFTER, "doc": None},
            ]
        },
        postgresql={
            "exit": 1,
            "error": (RECORD_5 + "#/doc: " + NUL + ', found {"k":["a","a\\u0000b"]}',),
            "states": [B1],
            "rows": {"people": [{**ADA, "doc": {"k": "v"}}, {**GRACE, "doc": None}]},
        },
    ),
    "47-nested-200-deep": loads(
        {
            "people": [
                {**ADA, "doc": {"a": 1}},
                {**GRACE, "doc": [1, "x"]},
                person(3, "deep", 3, doc=DEEP_200),
                {**AFTER, "doc": None},
            ]
        }
    ),
    "48-huge-number": loads(
        {
            "people": [
                {**ADA, "score": "1.5"},
                {**GRACE, "score": None},
                person(3, "x", 3, score="1" + "0" * 400),
                {**AFTER, "score": None},
            ]
        },
        select={"people": "id, name, CAST(score AS VARCHAR) AS score, _sdc_sequence"},
    ),
    "49-string-10-mb": loads(
        {
            "people": [
                {"id": i, "name_length": len(name), "name_md5": md5(name), "_sdc_sequence": i}
                for i, name in ((1, "Ada"), (2, "Grace"), (3, BIG), (9, "after"))
            ]
        },
        select={"people": "id, length(name) AS name_length, md5(name) AS name_md5, _sdc_sequence"},
    ),
    "50-nested-5000-deep": loads(
        {
            "people": [
                {**ADA, "doc": '{"a":1}'},
                {**GRACE, "doc": '[1,"x"]'},
                person(3, "deep", 3, doc=DEEP),
                {**AFTER, "doc": None},
            ]
        },
        select={"people": "id, name, replace(CAST(doc AS VARCHAR), ' ', '') AS doc, _sdc_sequence"},
    ),
    # -- names and schema changes (controls)
    "51-reserved-words": loads(
        {"select": [{"id": 1, "select": "*", "from": 2, "order": True, "_sdc_sequence": 1}]},
        states=(B1,),
    ),
    "52-long-identifiers": loads(
        {
            cut("s" * 70): [
                {"id": 1, cut("c" * 64): "v", cut(L100): 1, cut(L100B): 2, "_sdc_sequence": 1}
            ]
        },
        states=(B1,),
    ),
    "53-type-changes": loads(
        {
            "t": [
                {"id": 1, "v": "7", "_sdc_sequence": 1},
                {"id": 2, "v": "seven", "_sdc_sequence": 2},
                {"id": 3, "v": '{"n":7}', "_sdc_sequence": 3},
            ]
        },
        states=(B1, B2, B3),
        types={"t.v": ("varchar", "text")},
    ),
    "54-empty-input": loads({}, states=(), dialects=DUCKDB),
    "55-only-state": loads({}, states=(B1, B2), dialects=DUCKDB),
    # -- Import API batches (spec section 7; vectors 2 and 4 lack what makes a line a batch)
    "56-api-v2-no-table-name": stops(not_a_message(3), rows=CUSTOMERS, dialects=DUCKDB),
    "57-api-v3-no-schema": stops(
        API_3 + "Request failed validation:#: required key [schema] not found",
        rows=CUSTOMERS,
        dialects=DUCKDB,
    ),
    "58-api-v4-no-messages": stops(not_a_message(3), rows=CUSTOMERS, dialects=DUCKDB),
    "59-api-v5-extraneous-key": stops(
        API_3 + "Request failed validation:#: extraneous key [foo] is not permitted",
        rows=CUSTOMERS,
        dialects=DUCKDB,
    ),
    "60-api-v7-schema-array": stops(
        API_3 + "Request failed validation:#/schema: expected type: JSONObject, found: JSONArray",
        rows=CUSTOMERS,
        dialects=DUCKDB,
    ),
    "61-api-v8-table-name-integer": stops(
        "input line 3: Import API payload rejected, nothing of it was loaded:\n"
        "Request failed validation:#/table_name: expected type: String, found: Integer",
        rows=CUSTOMERS,
        dialects=DUCKDB,
    ),
    "62-api-v9-record-wrong-type": stops(
        API_3 + "Record 0 did not conform to schema:\n#/id: expected type: Integer, found: String",
        rows=CUSTOMERS,
    ),
    "63-api-v11-missing-key": stops(API_3 + "Record is missing key property id", rows=CUSTOMERS),
    "64-api-v12-null-key": stops(API_3 + "Record is missing key property id", rows=CUSTOMERS),
    "65-api-v13-unknown-type": stops(
        API_3 + "Invalid JSON schema: unknown type: [strng]", rows=CUSTOMERS
    ),
    "66-api-v15-sequence-above-64-bits": stops(
        API_3 + "Request failed validation:#: sequence can not be above 9223372036854775807",
        rows=CUSTOMERS,
    ),
    "67-api-v16-no-sequence": stops(
        API_3 + "Request failed validation:#/messages/0: required key [sequence] not found",
        rows=CUSTOMERS,
        dialects=DUCKDB,
    ),
    "68-api-v17-action-delete": stops(
        API_3 + "Request failed validation:#/messages/0: #: 0 subschemas matched instead of one",
        "#/messages/0/action: delete is not a valid enum value",
        rows=CUSTOMERS,
        dialects=DUCKDB,
    ),
    "69-api-v19-activate-version-with-data": stops(
        API_3 + "Request failed validation:#/messages/1: extraneous key [data] is not permitted",
        rows=CUSTOMERS,
        dialects=DUCKDB,
    ),
    "70-api-v20-20001-messages": stops(
        API_3 + "Request failed validation:#/messages: expected maximum item count: 20000, "
        "found: 20001",
        rows=CUSTOMERS,
        dialects=DUCKDB,
    ),
    "71-api-v21-no-messages": stops(
        API_3 + "Request failed validation:#/messages: expected minimum item count: 1, found: 0",
        rows=CUSTOMERS,
        dialects=DUCKDB,
    ),
    "72-api-v28-truncated": stops(
        "input line 3: not valid JSON (Expecting value at character 16)",
        rows=CUSTOMERS,
        dialects=DUCKDB,
    ),
    "73-api-v36-key-not-in-schema": stops(
        API_3 + "Record is missing key property missing_col", rows=CUSTOMERS
    ),
    "74-api-v48-additional-properties-false": stops(
        API_3 + "Record 0 did not conform to schema:\n#: extraneous key [x] is not permitted",
        rows=CUSTOMERS,
    ),
    "75-api-second-record-bad": stops(
        API_3 + "Record 1 did not conform to schema:\n"
        "#/name: expected type: String, found: Integer",
        rows=CUSTOMERS,
    ),
    "76-api-v46-integer-beyond-64-bits": stops(
        "stream 'customers', input line 3 (item 1), record 3: #/id: integer outside the signed "
        "64-bit range, found 18446744073709551616",
        rows=CUSTOMERS,
    ),
    "77-api-nul-in-string": loads(
        {
            "customers": [
                *CUSTOMERS["customers"],
                customer(4, "ok", 103),
                customer(5, "a\x00b", 104),
                customer(9, "after", 109),
            ]
        },
        postgresql={
            "exit": 1,
            "error": ("stream 'customers', input line 3 (item 1), record 3: #/name: " + NUL,),
            "states": [B1],
            "rows": CUSTOMERS,
        },
    ),
    # -- push records (vector 53's object root is a push line on stdin; 56 needs a token)
    "78-push-v53-object-root": loads(
        {"orders": [*ORDERS["orders"], {"id": 4, "cost": Decimal("2.5"), "_sdc_sequence": 3}]}
    ),
    "79-push-v54-two-client-ids": stops(
        PUSH_3 + "The batch contains data points for multiple clients. Only client_id 7723 "
        "is allowed",
        rows=ORDERS,
        dialects=DUCKDB,
    ),
    "80-push-v55-no-client-id": stops(
        PUSH_3 + "#/0: client_id: can't be blank", rows=ORDERS, dialects=DUCKDB
    ),
    "81-push-v57-no-key-names": stops(
        PUSH_3 + "#/0: key_names: can't be blank", rows=ORDERS, dialects=DUCKDB
    ),
    "82-push-v58-data-not-object": stops(
        PUSH_3 + "#/0: data must be an object", rows=ORDERS, dialects=DUCKDB
    ),
    "83-push-v59-null-key": stops(PUSH_3 + "#/0: keys cannot not be null in data", rows=ORDERS),
    "84-push-v60-sequence-string": stops(
        PUSH_3 + "#/0: sequence: should be an integer", rows=ORDERS, dialects=DUCKDB
    ),
    "85-push-missing-key": stops(PUSH_3 + "#/0: data must include keys", rows=ORDERS),
}


# -- running a case ---------------------------------------------------------------------------


def _params() -> t.Iterator[t.Any]:
    for name, case in sorted(CASES.items()):
        marks = (
            [pytest.mark.xfail(strict=True, raises=AssertionError, reason=case.xfail)]
            if case.xfail
            else []
        )
        for dialect in case.dialects:
            yield pytest.param(name, dialect, id=f"{name}-{dialect}", marks=marks)


def _input(name: str) -> bytes:
    return GENERATED[name]() if name in GENERATED else (CORPUS / f"{name}.jsonl").read_bytes()


def _errors(stderr: str) -> list[str]:
    """The messages of the ERROR (and CRITICAL) log records, each with its continuation lines."""
    found = []
    for entry in LOG_RECORD.split(stderr):
        parts = entry.split(" | ", 3)
        if len(parts) == 4 and parts[1].strip() in {"ERROR", "CRITICAL"}:
            found.append(parts[3].rstrip("\n"))
    return found


def _check_error(case: Case, stderr: str) -> list[str]:
    problems = []
    errors = _errors(stderr)
    if "Traceback" in stderr:
        problems.append("a traceback on stderr")
    if len(errors) != (1 if case.error else 0):
        problems.append(f"{len(errors)} ERROR records, expected {1 if case.error else 0}")
    problems += [
        f"no ERROR record holds {text!r}"
        for text in case.error
        if not any(text in error for error in errors)
    ]
    return problems


def _check_tables(case: Case, db: Db) -> list[str]:
    if db.dialect == "duckdb" and not case.rows:
        path = Path(db.url.removeprefix("duckdb:///"))
        return ["a DuckDB file was left although nothing was committed"] if path.exists() else []
    problems = []
    tables = db.tables()
    if tables != set(case.rows):
        problems.append(f"tables {sorted(tables)}, expected {sorted(case.rows)}")
    quote = db.engine.dialect.identifier_preparer.quote
    for table, expected in case.rows.items():
        if table not in tables:
            continue
        columns = case.select.get(table) or (
            ", ".join(quote(c) for c in expected[0]) if expected else "*"
        )
        got = db.rows(table, columns=columns)
        if got != expected:
            problems.append(f"table {table!r}:\n  got      {got!r}\n  expected {expected!r}")
    for where, (on_duckdb, on_postgresql) in case.types.items():
        table, column = where.split(".")
        want = on_duckdb if db.dialect == "duckdb" else on_postgresql
        if (got_type := db.column_types(table).get(column)) != want:
            problems.append(f"{where} is {got_type!r}, expected {want!r}")
    return problems


@pytest.mark.parametrize(("name", "dialect"), list(_params()), indirect=["dialect"])
def test_bad_input(name: str, dialect: str, db: Db, tmp_path: Path) -> None:
    case = CASES[name]
    if db.dialect == "postgresql":
        case = dataclasses.replace(case, **case.postgresql)
    config = tmp_path / "config.json"
    config.write_text(json.dumps(db.config()))
    done = subprocess.run(
        [EXE, "--config", str(config)],
        input=_input(name),
        capture_output=True,
        timeout=120,
        check=False,
    )
    stderr = done.stderr.decode(errors="replace")
    problems = []
    if done.returncode != case.exit:
        problems.append(f"exit status {done.returncode}, expected {case.exit}")
    problems += _check_error(case, stderr)
    states = [json.loads(line) for line in done.stdout.decode().splitlines() if line.strip()]
    if states != case.states:
        problems.append(f"STATE lines {states}, expected {case.states}")
    problems += _check_tables(case, db)
    assert not problems, (
        "\n".join(problems)
        + "\n--- the ERROR records:\n"
        + "\n".join(error[:2000] for error in _errors(stderr))
    )


def test_every_case_has_one_input() -> None:
    files = {path.stem for path in CORPUS.iterdir()}
    assert all(path.suffix == ".jsonl" for path in CORPUS.iterdir())
    assert not files & set(GENERATED)
    assert files | set(GENERATED) == set(CASES)
    assert all(re.fullmatch(r"\d\d-[a-z0-9-]+", name) for name in CASES)
    numbers = [name[:2] for name in CASES]
    assert len(set(numbers)) == len(numbers) >= 60


def test_binary_cases_keep_their_bytes() -> None:
    """Editors that 'fix' encodings or line endings would quietly turn these into other cases."""
    assert b'"name": "caf\xe9", ' in (CORPUS / "04-invalid-utf8.jsonl").read_bytes()
    assert (CORPUS / "05-bom-at-start.jsonl").read_bytes().startswith(b"\xef\xbb\xbf{")
    assert (CORPUS / "06-bom-mid-input.jsonl").read_bytes().count(b"\n\xef\xbb\xbf{") == 1
    crlf = (CORPUS / "07-crlf-line-endings.jsonl").read_bytes()
    assert crlf.count(b"\r\n") == crlf.count(b"\n") == 6
    assert not (CORPUS / "03-truncated-last-line.jsonl").read_bytes().endswith(b"\n")
    assert (CORPUS / "54-empty-input.jsonl").read_bytes() == b""
    assert b"\\u0000" in (CORPUS / "45-nul-in-string.jsonl").read_bytes()
