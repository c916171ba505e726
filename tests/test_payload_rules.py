"""The envelope rules in their two forms, run on one table; the batch key rule on the load path.

A message is read plain (``payload_rules.PlainUpsert``, decoded by msgspec)
only when the worded rules (``_message_errors``) have nothing to say of it:
the same table of messages goes through both. A batch read plain leaves its
records' keys to the core's key checks (``Rules.key_length_below``), which
must refuse what Stitch's key rule refuses, in Stitch's words.
"""

from __future__ import annotations

import json
import typing as t

import msgspec
import pytest

from target_sequenced.core.errors import PayloadError
from target_sequenced.importapi.payload_rules import (
    BATCH_KEY_LIMIT,
    PlainUpsert,
    _message_errors,
)
from target_sequenced.importapi.stitch_validation import is_date_time
from tests.helpers import Db, run_target, run_target_failing

_DECODE = msgspec.json.Decoder(PlainUpsert).decode

MESSAGES: list[object] = [
    {"action": "upsert", "sequence": 1, "data": {"id": 1}},
    {"action": "upsert", "sequence": -(2**63), "data": {}},
    {"action": "upsert", "sequence": 2**63 - 1, "data": {"a": [1, {"b": None}]}},
    {"action": "upsert", "sequence": 2**63, "data": {}},
    {"action": "upsert", "sequence": -(2**63) - 1, "data": {}},
    {"action": "upsert", "sequence": 1.0, "data": {}},
    {"action": "upsert", "sequence": True, "data": {}},
    {"action": "upsert", "sequence": "1", "data": {}},
    {"action": "upsert", "sequence": None, "data": {}},
    {"action": "upsert", "data": {}},
    {"action": "upsert", "sequence": 1},
    {"sequence": 1, "data": {}},
    {"action": "Upsert", "sequence": 1, "data": {}},
    {"action": "activate_version", "sequence": 1},
    {"action": "activate_version", "sequence": 1, "data": {}},
    {"action": None, "sequence": 1, "data": {}},
    {"action": "upsert", "sequence": 1, "data": [1]},
    {"action": "upsert", "sequence": 1, "data": "x"},
    {"action": "upsert", "sequence": 1, "data": None},
    {"action": "upsert", "sequence": 1, "data": {}, "time_extracted": "2021-05-06T07:08:09Z"},
    {"action": "upsert", "sequence": 1, "data": {}, "time_extracted": "2021-05-06"},
    {"action": "upsert", "sequence": 1, "data": {}, "time_extracted": "yesterday"},
    {"action": "upsert", "sequence": 1, "data": {}, "time_extracted": None},
    {"action": "upsert", "sequence": 1, "data": {}, "time_extracted": 5},
    {"action": "upsert", "sequence": 1, "data": {}, "extra": 1},
    {"action": "upsert", "sequence": 1, "data": {}, "table_name": "t"},
    [],
    "upsert",
    None,
]


def _plain(message: object) -> bool:
    """The plain reading: decoded as PlainUpsert, ``data`` an object, a date-time extracted."""
    try:
        decoded = _DECODE(json.dumps(message))
    except msgspec.MsgspecError:
        return False
    extracted = decoded.time_extracted
    return bytes(decoded.data).startswith(b"{") and (
        extracted is msgspec.UNSET or is_date_time(t.cast("str", extracted))
    )


@pytest.mark.parametrize("message", MESSAGES, ids=[json.dumps(m) for m in MESSAGES])
def test_a_message_is_read_plain_exactly_when_it_is_an_upsert_the_rules_have_no_words_for(
    message: object,
) -> None:
    upsert = isinstance(message, dict) and message.get("action") == "upsert"
    assert _plain(message) is (upsert and _message_errors(0, message) == [])


def test_the_table_holds_both_answers() -> None:
    answers = [_plain(m) for m in MESSAGES]
    assert True in answers
    assert False in answers


def _batch(*keys: object) -> str:
    messages = [{"action": "upsert", "sequence": n, "data": {"k": k}} for n, k in enumerate(keys)]
    schema = {"properties": {"k": {"type": ["string", "integer"]}}}
    payload = {"table_name": "t", "schema": schema, "key_names": ["k"], "messages": messages}
    return json.dumps(payload) + "\n"


def test_a_batch_key_of_255_characters_loads(db: Db) -> None:
    key = "k" * (BATCH_KEY_LIMIT - 1)
    run_target(db.config(), _batch(key, 7))
    assert sorted(str(r["k"]) for r in db.rows("t", order_by="k")) == sorted([key, "7"])


@pytest.mark.parametrize("length", [BATCH_KEY_LIMIT, 1000])
def test_a_batch_key_of_256_characters_or_more_refuses_the_batch(db: Db, length: int) -> None:
    error, _ = run_target_failing(db.config(), _batch("a", "k" * length))
    assert isinstance(error, PayloadError)
    assert (
        f"Record 1: string key property k must be shorter than 256 characters, found: {length}"
        in str(error)
    )
    assert "t" not in db.tables()  # nothing of the batch, not even its table


def test_characters_are_code_points_as_stitch_counts_them(db: Db) -> None:
    key = "é" * (BATCH_KEY_LIMIT - 1)  # 510 bytes, 255 code points
    run_target(db.config(), _batch(key))
    assert [r["k"] for r in db.rows("t", order_by="k")] == [key]


def test_a_push_key_longer_than_a_batch_may_send_loads(db: Db) -> None:
    element = {
        "client_id": 1,
        "table_name": "t",
        "sequence": 1,
        "action": "upsert",
        "key_names": ["k"],
        "data": {"k": "k" * 1000},
    }
    run_target(db.config(), json.dumps([element]) + "\n")
    assert [r["k"] for r in db.rows("t", order_by="k")] == ["k" * 1000]
