"""Import API batches read plain and read parsed give the same outcome (hypothesis).

A batch line is read plain (``importapi/plain.py``) when its envelope holds;
otherwise, or with the plain reading switched off here, it is parsed and
checked by the translator. Drawn batches, valid or breaking the API's rules
(keys missing, null or too long, records against their schema, sequences out
of range, bad ``time_extracted``, extraneous keys, ``activate_version``), are
loaded both ways into DuckDB: the error (none, or its text), the STATE
messages and the rows must be the same.
"""

from __future__ import annotations

import json
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import simplejson
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import target_sequenced.singer.reader as reader_module
from tests.helpers import Db, run_target_failing, run_target_with_stats

if TYPE_CHECKING:
    import pytest

SYSTEM = ("_sdc_received_at", "_sdc_batched_at")
KEY = st.one_of(
    st.integers(-3, 6),
    st.sampled_from(["k", "k" * 255, "k" * 256, None, True]),
)
DATA = st.fixed_dictionaries(
    {},
    optional={
        "id": KEY,
        "name": st.one_of(st.none(), st.text(max_size=5), st.integers(0, 3)),
        "amount": st.one_of(
            st.none(),
            st.integers(-5, 5),
            st.sampled_from([Decimal("1.5"), Decimal("0.1234567890123456789"), Decimal("1e300")]),
            st.just("x"),
        ),
        "doc": st.one_of(st.none(), st.dictionaries(st.sampled_from("ab"), st.integers(0, 2))),
        "_sdc_sequence": st.integers(0, 9),
    },
)
# A broken envelope is drawn rarely: a batch that breaks it is refused before its records count.
UPSERT = st.builds(
    lambda data, sequence, extra: {"action": "upsert", "sequence": sequence, "data": data, **extra},
    DATA,
    st.one_of(*[st.integers(0, 50)] * 12, st.sampled_from([2**63, -(2**63) - 1, True, 1.5, "7"])),
    st.one_of(
        *[st.just({})] * 8,
        st.just({"time_extracted": "2021-05-06T07:08:09Z"}),
        st.sampled_from([{"time_extracted": "yesterday"}, {"time_extracted": None}, {"extra": 1}]),
    ),
)
MESSAGE = st.one_of(
    *[UPSERT] * 6,
    st.builds(lambda n: {"action": "activate_version", "sequence": n}, st.integers(0, 50)),
)
ID_TYPES = st.sampled_from([{"type": "integer"}, {"type": ["integer", "string"]}, {}])
BATCH = st.builds(
    lambda id_type, keys, messages, version: {
        "table_name": "t",
        "schema": {
            "properties": {
                "id": id_type,
                "name": {"type": ["null", "string"]},
                "amount": {"type": ["null", "number"]},
                "doc": {"type": ["null", "object"]},
            }
        },
        "key_names": keys,
        "messages": messages,
        **version,
    },
    ID_TYPES,
    st.sampled_from([["id"], [], ["name"]]),
    st.lists(MESSAGE, min_size=1, max_size=6),
    st.sampled_from([{}, {"table_version": 3}]),
)


def _outcome(text: str, folder: Path, name: str) -> tuple[str | None, list, list[dict]]:
    db = Db("duckdb", f"duckdb:///{folder / name}.duckdb", "main")
    config = db.config()
    try:
        states, _ = run_target_with_stats(config, text)
        error = None
    except Exception:  # noqa: BLE001 - compared below, as the failing run reports it
        failure, states = run_target_failing(config, text)
        error = str(failure)
    rows = []
    if (folder / f"{name}.duckdb").exists() and "t" in db.tables():
        rows = [
            {k: v for k, v in row.items() if k not in SYSTEM}
            for row in db.rows("t", order_by="_sdc_sequence, id")
        ]
    db.dispose()
    return error, states, rows


def _both_ways(text: str, monkeypatch: pytest.MonkeyPatch) -> tuple[tuple, tuple]:
    """The outcome of ``text`` read plain, and with the plain reading switched off."""
    with tempfile.TemporaryDirectory() as folder:
        plain = _outcome(text, Path(folder), "plain")
        with monkeypatch.context() as patch:
            patch.setattr(reader_module, "read_plain", lambda _text: None)
            parsed = _outcome(text, Path(folder), "parsed")
    return plain, parsed


KEY_AND_SCHEMA = {
    "table_name": "t",
    "schema": {"properties": {"id": {"type": "integer"}, "name": {"type": ["null", "string"]}}},
    "key_names": ["id"],
    "messages": [
        {"action": "upsert", "sequence": 1, "data": {"name": "a"}},
        {"action": "upsert", "sequence": 2, "data": {"id": 2, "name": 5}},
    ],
}
"""A key missing in one record and a schema broken in another: Stitch words both."""


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(BATCH, min_size=1, max_size=3))
@example(batches=[KEY_AND_SCHEMA])
def test_a_batch_read_plain_or_parsed_ends_the_same(
    batches: list[dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "".join(
        simplejson.dumps(b, use_decimal=True)
        + "\n"
        + json.dumps({"type": "STATE", "value": i})
        + "\n"
        for i, b in enumerate(batches)
    )
    plain, parsed = _both_ways(text, monkeypatch)
    assert plain == parsed


def test_the_drawn_batches_include_plain_ones() -> None:
    found: list[bool] = []

    @settings(max_examples=40, deadline=None)
    @given(batch=BATCH)
    def draw(batch: dict) -> None:
        found.append(
            reader_module.read_plain(simplejson.dumps(batch, use_decimal=True)) is not None
        )

    draw()
    assert True in found
    assert False in found


def test_a_name_repeated_in_data_keeps_its_first_value_both_ways(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # README, "Choices where the contract is silent".
    batch = (
        '{"table_name": "t", "schema": {"properties": {"id": {"type": "integer"}, '
        '"name": {"type": ["null", "string"]}}}, "key_names": ["id"], "messages": ['
        '{"action": "upsert", "sequence": 1, "data": {"id": 1, "name": "first", "name": "last"}}]}'
    )
    plain, parsed = _both_ways(batch + "\n", monkeypatch)
    assert plain == parsed
    assert [(r["id"], r["name"]) for r in plain[2]] == [(1, "first")]
