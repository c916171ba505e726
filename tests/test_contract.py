"""The sequencing contract (design/sequencing.md), rule by rule, on both dialects.

Each test loads Singer messages into a real DuckDB file or PostgreSQL schema and
reads the rows back.
"""

from __future__ import annotations

import random

import pytest

from target_sequenced.singer.target import TargetSequenced
from tests.helpers import (
    Db,
    lines,
    record,
    run_target,
    run_target_failing,
    run_target_with_stats,
    schema,
    state,
)

pytestmark = pytest.mark.usefixtures("record_path")

S = "items"
PROPS = {"id": {"type": "integer"}, "name": {"type": ["null", "string"]}}


def versions(*pairs: tuple[int, int, str]) -> list[dict]:
    """RECORD messages from (id, sequence, name) triples."""
    return [record(S, {"id": i, "_sdc_sequence": seq, "name": n}) for i, seq, n in pairs]


def final(db: Db, table: str = S) -> dict[int, tuple[int, str]]:
    """id -> (sequence, name) as stored."""
    return {r["id"]: (r["_sdc_sequence"], r["name"]) for r in db.rows(table)}


def expected_winners(msgs: list[dict]) -> dict[int, tuple[int, str]]:
    """Reference resolution: greatest (sequence, arrival) per key."""
    best: dict[int, tuple[int, str]] = {}
    for m in msgs:
        rec = m["record"]
        held = best.get(rec["id"])
        if held is None or rec["_sdc_sequence"] >= held[0]:
            best[rec["id"]] = (rec["_sdc_sequence"], rec["name"])
    return best


def shuffled_versions(n_keys: int, per_key: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    pairs = [(k, k * 1000 + v, f"k{k}v{v}") for k in range(1, n_keys + 1) for v in range(per_key)]
    rng.shuffle(pairs)
    return versions(*pairs)


# -- section 3: which version wins --------------------------------------------


def test_shuffled_versions_in_one_buffer(db: Db) -> None:
    msgs = shuffled_versions(n_keys=20, per_key=5, seed=1)
    run_target(db.config(), lines(schema(S, PROPS), *msgs))
    got = final(db)
    assert got == {k: (k * 1000 + 4, f"k{k}v4") for k in range(1, 21)}


def test_shuffled_versions_across_drains(db: Db) -> None:
    msgs = shuffled_versions(n_keys=20, per_key=5, seed=2)
    run_target(db.config(batch_size_rows=3), lines(schema(S, PROPS), *msgs))
    assert final(db) == {k: (k * 1000 + 4, f"k{k}v4") for k in range(1, 21)}


def test_shuffled_versions_across_runs(db: Db) -> None:
    msgs = shuffled_versions(n_keys=20, per_key=5, seed=3)
    for chunk in (msgs[:30], msgs[30:60], msgs[60:]):
        run_target(db.config(), lines(schema(S, PROPS), *chunk))
    assert final(db) == {k: (k * 1000 + 4, f"k{k}v4") for k in range(1, 21)}


def test_older_version_in_a_later_run_is_stale(db: Db) -> None:
    run_target(db.config(), lines(schema(S, PROPS), *versions((1, 20, "new"))))
    run_target(db.config(), lines(schema(S, PROPS), *versions((1, 10, "old"), (2, 5, "b"))))
    assert final(db) == {1: (20, "new"), 2: (5, "b")}


def test_stored_row_without_a_sequence_is_replaced(db: Db) -> None:
    """A row another tool wrote, with no sequence, loses to any version; its neighbour does not."""
    run_target(db.config(), lines(schema(S, PROPS), *versions((1, 20, "ours"), (2, 30, "kept"))))
    with db.engine.begin() as conn:
        q = conn.dialect.identifier_preparer.quote_identifier
        conn.exec_driver_sql(
            f"UPDATE {q(db.schema)}.{q(S)} SET _sdc_sequence = NULL, name = 'foreign' WHERE id = 1",
        )
    _, stats = run_target_with_stats(
        db.config(), lines(schema(S, PROPS), *versions((1, 5, "loaded"), (2, 10, "older")))
    )
    assert final(db) == {1: (5, "loaded"), 2: (30, "kept")}
    assert (stats[S]["updated"], stats[S]["stale"], stats[S]["inserted"]) == (1, 1, 0)
    assert len(db.rows(S)) == 2


@pytest.mark.parametrize("batch_size_rows", [1, 2, 1000])
def test_ties_go_to_the_later_arrival(db: Db, batch_size_rows: int) -> None:
    msgs = versions(
        (1, 7, "first"), (2, 3, "x"), (1, 7, "second"), (1, 6, "older"), (1, 7, "third")
    )
    run_target(db.config(batch_size_rows=batch_size_rows), lines(schema(S, PROPS), *msgs))
    assert final(db) == {1: (7, "third"), 2: (3, "x")}


def test_ties_across_runs_go_to_the_later_run(db: Db) -> None:
    run_target(db.config(), lines(schema(S, PROPS), *versions((1, 7, "run1"))))
    run_target(db.config(), lines(schema(S, PROPS), *versions((1, 7, "run2"))))
    assert final(db) == {1: (7, "run2")}


def test_outcome_does_not_depend_on_batch_size(db: Db) -> None:
    msgs = shuffled_versions(n_keys=15, per_key=4, seed=4)
    msgs += versions((3, 3002, "tie-late"))  # ties with an earlier arrival
    expected = expected_winners(msgs)
    run_target(db.config(batch_size_rows=7), lines(schema(S, PROPS), *msgs))
    assert final(db) == expected
    assert expected[3] == (3003, "k3v3")


def test_replaying_loaded_input_changes_nothing(db: Db) -> None:
    text = lines(schema(S, PROPS), *shuffled_versions(n_keys=10, per_key=3, seed=5))
    run_target(db.config(), text)
    first = db.rows(S, columns="id, name, _sdc_sequence")
    run_target(db.config(batch_size_rows=4), text)
    assert db.rows(S, columns="id, name, _sdc_sequence") == first


def test_schema_message_between_versions_keeps_order(db: Db) -> None:
    """The SDK drains a replaced sink late; ties must still go to the later arrival."""
    wider = {**PROPS, "extra": {"type": ["null", "string"]}}
    msgs = [
        schema(S, PROPS),
        *versions((1, 5, "before"), (2, 9, "newer-before")),
        schema(S, wider),
        record(S, {"id": 1, "_sdc_sequence": 5, "name": "after", "extra": "e"}),
        record(S, {"id": 2, "_sdc_sequence": 8, "name": "older-after", "extra": "e"}),
    ]
    run_target(db.config(), lines(*msgs))
    rows = {r["id"]: (r["_sdc_sequence"], r["name"], r["extra"]) for r in db.rows(S)}
    assert rows == {1: (5, "after", "e"), 2: (9, "newer-before", None)}


def test_composite_keys_compare_typed_values(db: Db) -> None:
    props = {"a": {"type": "integer"}, "b": {"type": "string"}, "v": {"type": "string"}}
    msgs = [
        schema("pairs", props, key=["a", "b"]),
        record("pairs", {"a": 1, "b": "2", "v": "one-two", "_sdc_sequence": 1}),
        record("pairs", {"a": 12, "b": "", "v": "twelve-empty", "_sdc_sequence": 1}),
        record("pairs", {"a": 1, "b": "2", "v": "one-two-v2", "_sdc_sequence": 2}),
        record("pairs", {"a": 12, "b": "", "v": "twelve-empty-old", "_sdc_sequence": 0}),
    ]
    run_target(db.config(), lines(*msgs))
    got = [(r["a"], r["b"], r["v"]) for r in db.rows("pairs", order_by="a, b")]
    assert got == [(1, "2", "one-two-v2"), (12, "", "twelve-empty")]


def test_record_with_null_key_is_rejected(db: Db) -> None:
    nullable_id = {**PROPS, "id": {"type": ["null", "integer"]}}
    text = lines(schema(S, nullable_id), record(S, {"id": None, "name": "x", "_sdc_sequence": 1}))
    error, _ = run_target_failing(db.config(), text)
    assert "Record is missing key property id" in str(error)
    assert "stream 'items', input line 2, record 0" in str(error)


# -- section 4: other load methods and streams without a key ------------------


def test_append_only_keeps_every_version(db: Db) -> None:
    msgs = versions((1, 3, "c"), (1, 1, "a"), (2, 1, "x"), (1, 2, "b"))
    run_target(
        db.config(load_method="append-only", batch_size_rows=2), lines(schema(S, PROPS), *msgs)
    )
    got = [
        (r["id"], r["_sdc_sequence"], r["name"]) for r in db.rows(S, order_by="id, _sdc_sequence")
    ]
    assert got == [(1, 1, "a"), (1, 2, "b"), (1, 3, "c"), (2, 1, "x")]


def test_overwrite_replaces_the_table_once_per_run(db: Db) -> None:
    run_target(db.config(), lines(schema(S, PROPS), *versions((1, 1, "a"), (2, 1, "b"))))
    msgs = versions((3, 5, "c"), (3, 4, "c-old"), (4, 1, "d"), (3, 6, "c-new"))
    run_target(
        db.config(load_method="overwrite", batch_size_rows=2), lines(schema(S, PROPS), *msgs)
    )
    assert final(db) == {3: (6, "c-new"), 4: (1, "d")}


def test_stream_without_key_appends(db: Db) -> None:
    msgs = [
        schema("events", PROPS, key=[]),
        *[record("events", {"id": 1, "name": n}) for n in ("a", "b", "a")],
    ]
    run_target(db.config(), lines(*msgs))
    run_target(db.config(), lines(*msgs))
    names = [r["name"] for r in db.rows("events", order_by="_sdc_sequence")]
    assert names == ["a", "b", "a", "a", "b", "a"]


# -- section 5: versions and deletes ------------------------------------------


def test_activate_version_retires_older_versions(db: Db) -> None:
    msgs = [
        schema(S, PROPS),
        record(S, {"id": 1, "name": "v1-only", "_sdc_sequence": 1}, version=1),
        record(S, {"id": 2, "name": "v1", "_sdc_sequence": 1}, version=1),
        {"type": "ACTIVATE_VERSION", "stream": S, "version": 1},
        record(S, {"id": 2, "name": "v2", "_sdc_sequence": 2}, version=2),
        record(S, {"id": 3, "name": "v2", "_sdc_sequence": 2}, version=2),
        {"type": "ACTIVATE_VERSION", "stream": S, "version": 2},
        record(S, {"id": 4, "name": "late-v1", "_sdc_sequence": 3}, version=1),
    ]
    run_target(db.config(hard_delete=True), lines(*msgs))
    assert final(db) == {2: (2, "v2"), 3: (2, "v2")}


def test_activate_version_soft_deletes_by_default(db: Db) -> None:
    msgs = [
        schema(S, PROPS),
        record(S, {"id": 1, "name": "old", "_sdc_sequence": 1}, version=1),
        record(S, {"id": 2, "name": "new", "_sdc_sequence": 1}, version=2),
        {"type": "ACTIVATE_VERSION", "stream": S, "version": 2},
    ]
    run_target(db.config(), lines(*msgs))
    rows = {r["id"]: r["_sdc_deleted_at"] is not None for r in db.rows(S)}
    assert rows == {1: True, 2: False}


@pytest.mark.parametrize("hard_delete", [False, True])
@pytest.mark.parametrize("batch_size_rows", [1, 1000])
def test_version_older_than_a_retired_row_stays_out(
    db: Db, batch_size_rows: int, hard_delete: bool
) -> None:
    # Found by tests/test_differential.py: a hard-retired row left no tombstone,
    # so the result depended on whether the delete at 5 had been loaded alone.
    msgs = [
        schema(S, PROPS),
        _delete(1, 5),
        *versions((1, 7, "v7")),
        {"type": "ACTIVATE_VERSION", "stream": S, "version": 1},
        *versions((1, 3, "v3")),
    ]
    config = db.config(hard_delete=hard_delete, batch_size_rows=batch_size_rows)
    run_target(config, lines(*msgs))
    alive = {r["id"]: r["name"] for r in db.rows(S) if r["_sdc_deleted_at"] is None}
    assert alive == {}


def test_overwrite_forgets_the_tombstones_of_earlier_runs(db: Db) -> None:
    run_target(db.config(hard_delete=True), lines(schema(S, PROPS), _delete(1, 5)))
    run_target(
        db.config(hard_delete=True, load_method="overwrite"),
        lines(schema(S, PROPS), *versions((1, 3, "fresh"))),
    )
    assert final(db) == {1: (3, "fresh")}


def _delete(i: int, seq: int) -> dict:
    return record(S, {"id": i, "_sdc_sequence": seq, "_sdc_deleted_at": "2024-01-01T00:00:00Z"})


@pytest.mark.parametrize("batch_size_rows", [1, 1000])
def test_older_delete_does_not_remove_newer_row(db: Db, batch_size_rows: int) -> None:
    msgs = [schema(S, PROPS), *versions((1, 10, "kept")), _delete(1, 5)]
    run_target(db.config(hard_delete=True, batch_size_rows=batch_size_rows), lines(*msgs))
    assert final(db) == {1: (10, "kept")}


@pytest.mark.parametrize("batch_size_rows", [1, 1000])
def test_newer_delete_removes_row_hard(db: Db, batch_size_rows: int) -> None:
    msgs = [schema(S, PROPS), *versions((1, 10, "gone"), (2, 1, "stays")), _delete(1, 11)]
    run_target(db.config(hard_delete=True, batch_size_rows=batch_size_rows), lines(*msgs))
    assert final(db) == {2: (1, "stays")}


def test_older_upsert_does_not_resurrect_soft_deleted_key(db: Db) -> None:
    run_target(db.config(), lines(schema(S, PROPS), *versions((1, 10, "v")), _delete(1, 20)))
    run_target(db.config(), lines(schema(S, PROPS), *versions((1, 15, "older-than-delete"))))
    rows = db.rows(S)
    assert [(r["id"], r["_sdc_sequence"], r["_sdc_deleted_at"] is not None) for r in rows] == [
        (1, 20, True),
    ]


# -- section 7: STATE ---------------------------------------------------------


def test_state_is_emitted_only_after_commit(db: Db) -> None:
    """A bad record after a STATE: what came before it is committed, the STATE before it
    comes out, the one after never (contract 7, as updated by issue 11 item 6)."""
    text = lines(
        schema(S, PROPS),
        *versions((1, 1, "a")),
        state({"n": 1}),
        *versions((2, 1, "b")),
        record(S, {"id": 3, "_sdc_sequence": 1, "name": 42}),
        state({"n": 2}),
    )
    error, states = run_target_failing(db.config(), text)
    assert "#/name" in str(error)
    assert "input line 5" in str(error)
    assert states == [{"n": 1}]
    assert final(db) == {1: (1, "a"), 2: (1, "b")}


def test_state_follows_its_records_into_the_table(db: Db) -> None:
    text = lines(
        schema(S, PROPS),
        *versions((1, 1, "a")),
        state({"n": 1}),
        *versions((2, 1, "b")),
        state({"n": 2}),
    )
    states = run_target(db.config(batch_size_rows=1), text)
    assert states[-1] == {"n": 2}
    assert final(db) == {1: (1, "a"), 2: (1, "b")}


def test_every_state_comes_out_after_the_commit_of_the_records_before_it(
    db: Db, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL a load's commit runs in a thread while the next records are read
    (core/inflight.py): each STATE, as it comes out, finds its records in the table."""
    if db.dialect != "postgresql":
        pytest.skip("commits run apart on a server only; DuckDB's stay on the loader's thread")
    messages = [schema(S, PROPS)]
    for i in range(6000):
        messages.append(record(S, {"id": i % 40, "_sdc_sequence": i, "name": f"v{i}"}))
        if i % 250 == 249:
            messages.append(state({"n": i + 1}))
    checked: list[int] = []
    original = TargetSequenced._write_state_message

    def write(self: TargetSequenced, value: dict) -> None:
        sent = value["n"]  # records 0 .. sent - 1 came before it
        stored = {k: seq for k, (seq, _name) in final(db).items()}
        assert all(stored.get(i % 40, -1) >= i for i in range(sent)), sent
        checked.append(sent)
        original(self, value)

    monkeypatch.setattr(TargetSequenced, "_write_state_message", write)
    states = run_target(db.config(batch_size_rows=400), lines(*messages))
    assert states[-1] == {"n": 6000}
    assert len(checked) >= 4  # loads along the way, each STATE checked as it came out


def test_failed_load_keeps_committed_loads(db: Db) -> None:
    """Everything before the bad line is committed, and its STATE emitted (contract 7)."""
    text = lines(
        schema(S, PROPS),
        *versions((1, 1, "a"), (2, 1, "b")),
        state({"n": 1}),
        *versions((3, 1, "c")),
        record(S, {"id": 4, "_sdc_sequence": 2**63, "name": "overflow"}),
    )
    error, states = run_target_failing(db.config(batch_size_rows=2), text)
    assert "outside the signed 64-bit range" in str(error)
    assert "input line 6" in str(error)
    assert final(db) == {1: (1, "a"), 2: (1, "b"), 3: (1, "c")}
    assert states == [{"n": 1}]


def test_older_upsert_does_not_resurrect_hard_deleted_key(db: Db) -> None:
    config = db.config(hard_delete=True)
    run_target(
        config, lines(schema(S, PROPS), *versions((1, 10, "v"), (2, 10, "w")), _delete(1, 20))
    )
    assert final(db) == {2: (10, "w")}
    run_target(config, lines(schema(S, PROPS), *versions((1, 15, "older-than-delete"))))
    assert final(db) == {2: (10, "w")}
    run_target(
        config, lines(schema(S, PROPS), *versions((1, 20, "tie-later-arrival"), (2, 5, "old")))
    )
    assert final(db) == {1: (20, "tie-later-arrival"), 2: (10, "w")}


def test_hard_delete_tombstones_compare_typed_composite_keys(db: Db) -> None:
    props = {"a": {"type": "integer"}, "b": {"type": "string"}, "v": {"type": "string"}}
    config = db.config(hard_delete=True)
    deleted_at = "2024-01-01T00:00:00Z"
    first = [
        schema("pairs", props, key=["a", "b"]),
        record(
            "pairs", {"a": 1, "b": "2", "v": "x", "_sdc_sequence": 5, "_sdc_deleted_at": deleted_at}
        ),
    ]
    run_target(config, lines(*first))
    late = [
        schema("pairs", props, key=["a", "b"]),
        record("pairs", {"a": 1, "b": "2", "v": "buried", "_sdc_sequence": 4}),
        record("pairs", {"a": 12, "b": "", "v": "distinct key", "_sdc_sequence": 4}),
    ]
    run_target(config, lines(*late))
    assert [(r["a"], r["b"], r["v"]) for r in db.rows("pairs", order_by="a, b")] == [
        (12, "", "distinct key")
    ]


@pytest.mark.parametrize("hard_delete", [False, True])
def test_a_first_load_into_an_empty_table_counts_like_any_other(
    db: Db, *, hard_delete: bool
) -> None:
    """One batch into a new table, then the same versions again into the stored table."""
    msgs = [
        schema(S, PROPS),
        *versions((1, 5, "newest"), (1, 3, "stale"), (2, 1, "only")),
        _delete(3, 2),
        *versions((3, 1, "older than its delete")),
    ]
    config = db.config(hard_delete=hard_delete)
    _, first = run_target_with_stats(config, lines(*msgs))
    assert first[S] == {
        "received": 5,
        "inserted": 3,  # ids 1, 2 and the delete of id 3
        "updated": 0,
        "stale": 2,  # id 1 at 3, id 3 at 1
        "deleted": 1,
        "ignored_old_version": 0,
        "rejected": 0,
        "replayed": 0,
        "restored": 0,
    }
    expected = {1: (5, "newest"), 2: (1, "only")}
    assert final(db) == (expected if hard_delete else {**expected, 3: (2, None)})
    _, again = run_target_with_stats(config, lines(*msgs))
    # Ties with stored rows win (incoming >= stored), and count as replayed (issue
    # 13: the same versions again are no update). A hard-deleted key has no row,
    # so its delete, tied with its tombstone, is a new key again.
    assert again[S] == {
        "received": 5,
        "inserted": 1 if hard_delete else 0,
        "updated": 0,
        "stale": 2,
        "deleted": 1,
        "ignored_old_version": 0,
        "rejected": 0,
        "replayed": 2 if hard_delete else 3,
        "restored": 0,
    }
    assert final(db) == (expected if hard_delete else {**expected, 3: (2, None)})


@pytest.mark.parametrize("batch_size_rows", [1, 3, 1000])
def test_summary_counts_every_version_once(db: Db, batch_size_rows: int) -> None:
    run_target(db.config(), lines(schema(S, PROPS), *versions((1, 50, "stored"))))
    msgs = [
        schema(S, PROPS),
        *versions((1, 10, "stale vs stored"), (2, 1, "new"), (2, 3, "update"), (2, 2, "stale")),
        _delete(3, 1),
        record(S, {"id": 4, "name": "old version", "_sdc_sequence": 1}, version=1),
        {"type": "ACTIVATE_VERSION", "stream": S, "version": 2},
        record(S, {"id": 5, "name": "ignored", "_sdc_sequence": 1}, version=1),
    ]
    _, stats = run_target_with_stats(db.config(batch_size_rows=batch_size_rows), lines(*msgs))
    assert stats[S] == {
        "received": 7,
        "inserted": 3,  # ids 2, 3 (a delete of an unseen key is stored, soft), 4
        "updated": 1,
        "stale": 2,
        # the delete of id 3, then ACTIVATE_VERSION 2 retires ids 1, 2, 4 (no version)
        # and id 3 is already marked
        "deleted": 4,
        "ignored_old_version": 1,
        "rejected": 0,
        "replayed": 0,
        "restored": 0,
    }


def test_rows_an_activate_version_retired_and_its_records_brought_back_count_as_restored(
    db: Db,
) -> None:
    """Issue 13: a full sync (ACTIVATE_VERSION, its records, ACTIVATE_VERSION again) of 2 of 3
    stored keys: 3 rows retired at its start, 2 restored by its records, 1 left deleted."""
    run_target(
        db.config(), lines(schema(S, PROPS), *versions((1, 1, "a"), (2, 1, "b"), (3, 1, "c")))
    )
    sync = [
        schema(S, PROPS),
        {"type": "ACTIVATE_VERSION", "stream": S, "version": 5},
        record(S, {"id": 1, "name": "a2", "_sdc_sequence": 2}, version=5),
        record(S, {"id": 2, "name": "b2", "_sdc_sequence": 2}, version=5),
        {"type": "ACTIVATE_VERSION", "stream": S, "version": 5},
    ]
    _, stats = run_target_with_stats(db.config(), lines(*sync))
    assert (stats[S]["deleted"], stats[S]["restored"], stats[S]["updated"]) == (3, 2, 2)
    deleted = {r["id"]: r["_sdc_deleted_at"] is not None for r in db.rows(S)}
    assert deleted == {1: False, 2: False, 3: True}


@pytest.mark.parametrize("batch_size_rows", [1, 2, 1000])
def test_a_version_sent_again_counts_as_replayed_whatever_the_loads(
    db: Db, batch_size_rows: int
) -> None:
    """Issue 13: each version against the greatest before it (stored, or earlier in the run):
    equal is replayed, not updated, wherever the loads fall."""
    config = db.config(batch_size_rows=batch_size_rows)
    text = lines(schema(S, PROPS), *versions((1, 5, "a"), (2, 7, "b"), (3, 1, "c")))
    _, first = run_target_with_stats(config, text)
    _, again = run_target_with_stats(config, text)
    assert (first[S]["inserted"], first[S]["updated"], first[S]["replayed"]) == (3, 0, 0)
    assert (again[S]["inserted"], again[S]["updated"], again[S]["replayed"]) == (0, 0, 3)
    # Inside one run: a tie with an earlier version of the run, one newer, one older.
    mixed = versions((1, 6, "a2"), (1, 6, "a2"), (2, 7, "b"), (4, 3, "d"), (4, 3, "d"), (1, 2, "x"))
    _, third = run_target_with_stats(config, lines(schema(S, PROPS), *mixed))
    counts = {k: third[S][k] for k in ("inserted", "updated", "replayed", "stale")}
    assert counts == {"inserted": 1, "updated": 1, "replayed": 3, "stale": 1}
    assert final(db) == {1: (6, "a2"), 2: (7, "b"), 3: (1, "c"), 4: (3, "d")}
