"""Import API batches on the bulk path: the tables the same records give as Singer lines.

A batch of upserts reaches the core as one batch that the bulk checks validate.
The usual batch is read plain (``importapi/plain.py``): its records are cut
from the text as sent; any other is parsed and its records encoded in Python
(``importapi/records.py`` writes both). Either way the table must be what the
same records give as Singer RECORD lines (the message's ``sequence`` as
``_sdc_sequence``), which no part of the Import API touches.
"""

from __future__ import annotations

import typing as t
from decimal import Decimal

import pytest
import simplejson

from target_sequenced.core.errors import PayloadError
from target_sequenced.core.exact import parse
from target_sequenced.importapi.plain import read_plain
from target_sequenced.importapi.records import encoded
from tests.helpers import Db, record, run_target, run_target_failing, schema

PROPERTIES = {
    "id": {"type": "integer"},
    "name": {"type": ["null", "string"]},
    "amount": {"type": ["null", "number"]},
    "big": {"type": ["null", "integer"]},
    "doc": {"type": ["null", "object"]},
    "tags": {"type": ["null", "array"]},
    "at": {"type": ["null", "string"], "format": "date-time"},
}
AWKWARD = [
    {"id": 1, "name": 'quote " back \\ tab \t line \n end', "amount": Decimal("0.1")},
    {"id": 2, "name": "naïve 日本語 🎉 \u2028", "amount": Decimal("12345678901234.5")},
    {"id": 3, "name": None, "amount": None, "big": 9223372036854775807},
    {"id": 4, "doc": {"x": [1, Decimal("2.5"), {"y": None}], "s": 'a"b'}, "tags": ["a", 1, True]},
    {"id": 5, "at": "2020-01-13T21:25:03+0000", "amount": Decimal("1.5e300")},
    {"id": 6, "amount": Decimal("-0.0"), "big": -9223372036854775808, "doc": {}},
    {"id": 1, "name": "an older version of 1, sent later"},
]
"""Record 7 is key 1 again with a lower sequence (messages take 100 + their index)."""
LOSSY = [
    {"id": 7, "amount": Decimal("12345678901234.123456")},
    {"id": 8, "doc": {"n": Decimal("0.1234567890123456789")}},
]
SYSTEM = ("_sdc_received_at", "_sdc_batched_at")


def sequence(index: int, data: dict) -> int:
    return 10 if str(data.get("name")).startswith("an older") else 100 + index


def batch_text(records: list[dict], **extra: t.Any) -> str:
    messages = [
        {"action": "upsert", "sequence": sequence(n, r), "data": r, **extra}
        for n, r in enumerate(records)
    ]
    payload = {"table_name": "items", "schema": {"properties": PROPERTIES}, "key_names": ["id"]}
    return simplejson.dumps({**payload, "messages": messages}, use_decimal=True) + "\n"


def singer_text(records: list[dict], **extra: t.Any) -> str:
    props = {**PROPERTIES, "_sdc_sequence": {"type": ["null", "integer"]}}
    messages = [
        record("items_s", {**r, "_sdc_sequence": sequence(n, r)}, version=0, **extra)
        for n, r in enumerate(records)
    ]
    return (
        simplejson.dumps(schema("items_s", props, ["id"]))
        + "\n"
        + "".join(simplejson.dumps(m, use_decimal=True) + "\n" for m in messages)
    )


BATCHES = pytest.mark.parametrize(
    ("records", "extra"),
    [
        (AWKWARD, {}),
        (AWKWARD + LOSSY, {}),
        (AWKWARD, {"time_extracted": "2021-05-06T07:08:09Z"}),
    ],
    ids=["awkward", "numbers-a-double-cannot-hold", "time-extracted"],
)


def table(db: Db, name: str) -> list[dict]:
    return [{k: v for k, v in row.items() if k not in SYSTEM} for row in db.rows(name)]


@BATCHES
def test_a_batch_loads_as_its_records_would_as_singer_lines(
    db: Db, records: list[dict], extra: dict
) -> None:
    run_target(db.config(), batch_text(records, **extra) + singer_text(records, **extra))
    via_batch, via_singer = table(db, "items"), table(db, "items_s")
    assert via_batch == via_singer
    assert {r["id"]: r["_sdc_sequence"] for r in via_batch}[1] == 100


def test_data_holding_its_own_sdc_sequence_takes_the_message_sequence(db: Db) -> None:
    records = [{"id": 1, "name": "a", "_sdc_sequence": 999}, {"id": 1, "name": "b"}]
    messages = [
        {"action": "upsert", "sequence": s, "data": r}
        for s, r in zip((20, 10), records, strict=False)
    ]
    payload = {"table_name": "items", "schema": {"properties": PROPERTIES}, "key_names": ["id"]}
    run_target(db.config(), simplejson.dumps({**payload, "messages": messages}) + "\n")
    assert [(r["name"], r["_sdc_sequence"]) for r in db.rows("items")] == [("a", 20)]


@BATCHES
def test_a_plain_batch_gives_the_records_the_encoder_gives(
    records: list[dict], extra: dict
) -> None:
    text = batch_text(records, **extra)
    plain = read_plain(text)
    assert plain is not None
    found = plain.records(base=5)
    assert found is not None
    python = list(encoded(parse(text)["messages"], stream="items", version=0))
    assert found.column("_arrival").to_pylist() == list(range(5, 5 + len(records)))
    assert found.column("_pos").to_pylist() == list(range(len(records)))
    # Value for value, numbers with every digit they were sent with.
    assert [parse(j) for j in found.column("j").to_pylist()] == [parse(j) for j in python]


def _message_texts(*datas: str, extra: str = "") -> str:
    messages = ",".join(
        f'{{"action":"upsert","sequence":{n},"data":{d}{extra}}}' for n, d in enumerate(datas)
    )
    return (
        '{"table_name":"items","schema":{"properties":{"id":{"type":"integer"}}},'
        f'"key_names":["id"],"messages":[{messages}]}}'
    )


ONE = _message_texts('{"id":1}')


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        (_message_texts('{"id":1}', '{ "id" : 2 }'), True),
        (_message_texts('{"id":1,"name":"caf\\u00e9"}'), True),
        (_message_texts('{"id":1,"_sdc_sequence":5}'), False),
        (_message_texts('{"id":1,"_sdc\\u005fsequence":5}'), False),
        (_message_texts('{"id":1,"doc":{"_sdc_sequence":5}}'), True),
        (_message_texts('{"id":1}', extra=',"time_extracted":"2021-05-06T07:08:09Z"'), True),
        (_message_texts('{"id":1}', extra=',"time_extracted":"yesterday"'), False),
        (_message_texts('{"id":1}', extra=',"time_extracted":null'), False),
        (_message_texts('{"id":1}', extra=',"extra":1'), False),
        (ONE.replace('"upsert"', '"activate_version"'), False),
        (ONE.replace('"sequence":0', '"sequence":true'), False),
        (ONE.replace('"sequence":0', '"sequence":9223372036854775808'), False),
        (ONE.replace('"key_names":["id"]', '"key_names":["id","id"]'), False),
        (ONE.replace('"items"', '""'), False),
        (ONE.replace('{"table_name"', '{"client_id":1,"table_name"'), False),
        (_message_texts(), False),
        (ONE + " x", False),
        ('{"type":"STATE","value":{}}', False),
    ],
    ids=[
        "spaces", "escaped-letters", "own-sequence", "own-sequence-escaped",
        "nested-own-sequence", "time-extracted", "time-extracted-no-date-time",
        "time-extracted-null", "extraneous-key", "activate-version", "sequence-a-boolean",
        "sequence-beyond-64-bits", "keys-repeated", "table-name-empty", "client-id",
        "no-messages", "trailing-text", "singer",
    ],
)  # fmt: skip
def test_which_batches_are_read_plain(text: str, plain: bool) -> None:
    assert (read_plain(text) is not None) is plain
    assert (read_plain(bytearray(text.encode())) is not None) is plain  # as a chunk's line


def test_a_data_that_is_no_object_is_left_to_the_payload_rules(db: Db) -> None:
    text = _message_texts('{"id":1}', "[2]")
    plain = read_plain(text)
    assert plain is not None
    assert plain.records(base=0) is None  # the words are the translator's
    error, _ = run_target_failing(db.config(), text + "\n")
    assert "#/messages/1/data: expected type: JSONObject, found: JSONArray" in str(error)


def test_an_empty_data_with_spaces_loads_as_an_empty_record(db: Db) -> None:
    text = _message_texts('{"id":1}', "{ }", "{}").replace('"key_names":["id"]', '"key_names":[]')
    run_target(db.config(), text + "\n")
    rows = sorted(db.rows("items"), key=lambda r: r["_sdc_sequence"])
    assert [(r["id"], r["_sdc_sequence"]) for r in rows] == [(1, 0), (None, 1), (None, 2)]


def test_a_refused_batch_leaves_no_trace_not_even_its_new_column(db: Db) -> None:
    good = {"table_name": "items", "schema": {"properties": PROPERTIES}, "key_names": ["id"]}
    good["messages"] = [{"action": "upsert", "sequence": 1, "data": {"id": 1, "name": "a"}}]
    wider = {**PROPERTIES, "extra": {"type": ["null", "string"]}}
    bad = {"table_name": "items", "schema": {"properties": wider}, "key_names": ["id"]}
    bad["messages"] = [
        {"action": "upsert", "sequence": 2, "data": {"id": 2, "extra": "x"}},
        {"action": "upsert", "sequence": 3, "data": {"id": "three"}},
    ]
    error, _ = run_target_failing(
        db.config(batch_size_rows=1), simplejson.dumps(good) + "\n" + simplejson.dumps(bad) + "\n"
    )
    assert isinstance(error, PayloadError)
    assert "Record 1 did not conform to schema:\n#/id: expected type: Integer" in str(error)
    assert [(r["id"], r["name"]) for r in db.rows("items")] == [(1, "a")]
    assert "extra" not in db.column_types("items")


def test_a_loading_rule_in_a_batch_stops_at_its_item_by_default(db: Db) -> None:
    payload = {"table_name": "items", "schema": {"properties": PROPERTIES}, "key_names": ["id"]}
    payload["messages"] = [
        {"action": "upsert", "sequence": 1, "data": {"id": 1}},
        {"action": "upsert", "sequence": 2, "data": {"id": 2, "big": 2**64}},
    ]
    error, _ = run_target_failing(db.config(), simplejson.dumps(payload) + "\n")
    assert "input line 1 (item 1)" in str(error)
    assert "#/big: integer outside the signed 64-bit range" in str(error)


def test_a_batch_read_ahead_or_when_its_line_comes_loads_the_same(db: Db) -> None:
    # Without a stream map the reading thread reads batch lines ahead
    # (singer/chunks.py, ``ahead``); with one, each line is read as it comes.
    def text(suffix: str) -> str:
        first = batch_text(AWKWARD + LOSSY).replace('"items"', f'"items{suffix}"')
        return first + batch_text(LOSSY[::-1]).replace('"items"', f'"other{suffix}"')

    run_target(db.config(), text("_ahead"))
    run_target(db.config(flattening_enabled=True, flattening_max_depth=1), text("_later"))
    for name in ("items", "other"):
        assert table(db, f"{name}_ahead") == table(db, f"{name}_later")
        assert len(table(db, f"{name}_ahead")) >= len(LOSSY)
