"""What requests to ``target-sequenced serve`` leave in the tables, on both dialects.

Each test starts a server over ``db``, sends requests with a plain HTTP
client, stops the server with SIGTERM (exit 0) and reads the rows back.
"""

from __future__ import annotations

import copy
import threading
import typing as t
from decimal import Decimal

from tests.serving import (
    CLIENT,
    Server,
    assert_greatest,
    batch,
    overlapping_batches,
    serving,
    write_config,
)
from tests.test_server import S

if t.TYPE_CHECKING:
    from pathlib import Path

    from tests.helpers import Db


def _started(db: Db, tmp_path: Path, **config: t.Any) -> t.ContextManager[Server]:
    path = write_config(tmp_path / "config.json", db.config(**config))
    return serving(path, tmp_path / "server.log")


def _message(seq: int, **data: object) -> dict:
    return {"action": "upsert", "sequence": seq, "data": data}


def test_batches_follow_the_sequencing_contract(db: Db, tmp_path: Path) -> None:
    """Vectors 1, 6, 14, 30 to 33: per key the greatest sequence, whatever the order."""
    with _started(db, tmp_path) as server:
        first = copy.deepcopy(S)
        first["messages"] += [
            _message(200, id=2, name="A", updated_at="2020-01-01T00:00:00Z"),  # 30
            _message(100, id=2, name="B", updated_at="2020-01-01T00:00:00Z"),
            _message(500, id=3, name="X", updated_at="2020-01-01T00:00:00Z"),  # 33
            _message(500, id=3, name="Y", updated_at="2020-01-01T00:00:00Z"),
            _message(101, id=10, name="canceled", updated_at="2020-01-01T00:00:00Z"),  # 31
            _message(9223372036854775807, id=4, name="max", updated_at="2018-04-30T17:00:00Z"),
        ]
        assert server.post("/v2/import/batch", first).status == 201
        later = copy.deepcopy(S)
        later["messages"] = [
            _message(99, id=10, name="new", updated_at="2020-01-01T00:00:00Z"),  # 31: older
            _message(90, id=22, name="fresh", updated_at="2020-01-01T00:00:00Z"),  # 32
        ]
        later.update(table_version=0, bookmark_names=["updated_at"])  # 6
        assert server.post("/v2/import/batch", later).status == 201
        assert server.stop() == 0
    rows = db.rows("customers", columns="id, name, _sdc_sequence, _sdc_table_version")
    assert [(r["id"], r["name"], r["_sdc_sequence"], r["_sdc_table_version"]) for r in rows] == [
        (1, "Finn", 100, 0),
        (2, "A", 200, 0),
        (3, "Y", 500, 0),
        (4, "max", 9223372036854775807, 0),
        (10, "canceled", 101, 0),
        (22, "fresh", 90, 0),
    ]
    assert "Stopped: every request answered" in (tmp_path / "server.log").read_text()


def test_a_full_table_version_retires_the_older_rows(db: Db, tmp_path: Path) -> None:
    """Vector 49: version 5 activated; the version-4 row is retired (soft delete)."""
    with _started(db, tmp_path) as server:
        old = batch("t", [{"id": 3, "_seq": 1}], table_version=4)
        assert server.post("/v2/import/batch", old).status == 201
        new = batch("t", [{"id": 1, "_seq": 2}, {"id": 2, "_seq": 2}], table_version=5)
        assert server.post("/v2/import/batch", new).status == 201
        activate = batch("t", [{"id": 1, "_seq": 3}], table_version=5)
        activate["messages"].append({"action": "activate_version", "sequence": 4})
        assert server.post("/v2/import/batch", activate).status == 201
        assert server.stop() == 0
    rows = db.rows("t", columns="id, _sdc_table_version, _sdc_deleted_at")
    assert [(r["id"], r["_sdc_table_version"], r["_sdc_deleted_at"] is None) for r in rows] == [
        (1, 5, True),
        (2, 5, True),
        (3, 4, False),
    ]


def test_push_json_and_transit_and_validate_writes_nothing(db: Db, tmp_path: Path) -> None:
    """Push typed by values (JSON, and Transit as the Python client sends it); validate alone."""
    element = {"client_id": CLIENT, "table_name": "users", "sequence": 1, "action": "upsert",
               "key_names": ["id"], "data": {"id": 1, "name": "a", "score": 1.5}}  # fmt: skip
    with _started(db, tmp_path) as server:
        valid = server.post("/v2/import/validate", [dict(element, table_name="never")])
        assert valid.status == 200
        assert valid.json == {"status": "OK", "message": "Batch is valid!"}
        assert server.post("/v2/import/push", [element]).status == 201
        transit = (
            '[["^ ","action","upsert","table_name","users","key_names",["id"],"sequence",2,'
            '"data",["^ ","id",2,"name","b","score",2.25,"ok",true,"n",null,'
            '"t","~m1574807395000"],"client_id",1234],'
            '["^ ","^0","upsert","^1","users","^2",["id"],"^3",3,"^4",["^ ","id",1,"^5","c"],'
            '"^7",1234]]'
        )
        reply = server.post("/v2/import/push", transit, content_type="application/transit+json")
        assert reply.status == 201, reply.text
        # An integer beyond 64 bits (Transit's ~n) breaks a loading rule: refused whole.
        big = transit.replace('"t","~m1574807395000"', '"big","~n1180591620717411303424"')
        reply = server.post("/v2/import/push", big, content_type="application/transit+json")
        assert reply.status == 422
        assert reply.json["errors"] == [
            {"reason": "stream 'users', record 0: #/big: integer outside the signed 64-bit "
             "range, found 1180591620717411303424"}
        ]  # fmt: skip
        assert server.stop() == 0
    rows = db.rows("users", columns="id, name, score, ok, t, _sdc_sequence")
    assert [
        (r["id"], r["name"], r["score"], r["ok"], r["t"], r["_sdc_sequence"]) for r in rows
    ] == [
        (1, "c", None, None, None, 3),
        (2, "b", Decimal("2.25"), True, "2019-11-26T22:29:55Z", 2),
    ]
    with db.engine.connect() as conn:
        tables = conn.dialect.get_table_names(conn, schema=db.schema)
    assert "never" not in tables


def test_a_refused_batch_leaves_nothing_and_the_next_loads(db: Db, tmp_path: Path) -> None:
    """An error reply: nothing of the request written; the server goes on."""
    with _started(db, tmp_path) as server:
        assert server.post("/v2/import/batch", batch("t", [{"id": 1, "_seq": 1}])).status == 201
        bad = batch("t", [{"id": 2, "_seq": 2}, {"id": 3, "_seq": 3}])
        bad["messages"][1]["data"]["id"] = "three"
        reply = server.post("/v2/import/batch", bad)
        assert reply.status == 400
        assert reply.json["error"].startswith("Record 1 did not conform to schema:")
        too_big = batch("t", [{"id": 4, "_seq": 4}])
        too_big["messages"][0]["data"]["id"] = 2**64  # a loading rule, not the API's
        reply = server.post("/v2/import/batch", too_big)
        assert reply.status == 400, reply.text
        assert "#/id" in reply.json["error"]
        assert server.post("/v2/import/batch", batch("t", [{"id": 5, "_seq": 5}])).status == 201
        assert server.stop() == 0
    assert [r["id"] for r in db.rows("t")] == [1, 5]


def test_concurrent_clients_with_overlapping_keys_end_at_the_greatest_sequence(
    db: Db, tmp_path: Path
) -> None:
    """16 clients, 3 tables, every key sent 6 times with shuffled sequences, in parallel."""
    tables = ("a", "b", "c")
    bodies, best = overlapping_batches(tables, keys=40, versions=6, seed=7)
    statuses: list[int] = []
    with _started(db, tmp_path) as server:

        def client(mine: list[dict]) -> None:
            statuses.extend(server.post("/v2/import/batch", body).status for body in mine)

        threads = [threading.Thread(target=client, args=(bodies[i::16],)) for i in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert server.stop() == 0
    assert statuses == [201] * len(bodies)
    assert_greatest(db, tables, best)


def test_refused_requests_among_concurrent_ones_leave_the_others_whole(
    db: Db, tmp_path: Path
) -> None:
    """Concurrent requests for one table load as groups: a refused one takes nothing else down.

    Every sixth batch breaks the API's rules (a string id), every sixth from the third on a
    loading rule (an id beyond 64 bits); 12 clients send 96 batches of distinct keys at once.
    """

    def body(i: int) -> dict:
        sent = batch("t", [{"id": 10 * i + j, "_seq": 1} for j in range(10)])
        if i % 6 == 0:
            sent["messages"][4]["data"]["id"] = "bad"
        elif i % 6 == 3:
            sent["messages"][7]["data"]["id"] = 2**64
        return sent

    statuses: dict[int, int] = {}
    with _started(db, tmp_path) as server:

        def client(mine: list[int]) -> None:
            for i in mine:
                statuses[i] = server.post("/v2/import/batch", body(i)).status

        threads = [
            threading.Thread(target=client, args=(list(range(c, 96, 12)),)) for c in range(12)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert server.stop() == 0
    assert statuses == {i: 400 if i % 3 == 0 else 201 for i in range(96)}
    stored = {r["id"] for r in db.rows("t")}
    assert stored == {10 * i + j for i in range(96) if i % 3 for j in range(10)}


def test_a_batch_without_keys_appends_every_version(db: Db, tmp_path: Path) -> None:
    """Vectors 34 and 35: no key_names (absent, or []) is append-only: each request its rows."""
    with _started(db, tmp_path) as server:
        keyless = copy.deepcopy(S)
        keyless.pop("key_names")
        assert server.post("/v2/import/batch", keyless).status == 201
        assert server.post("/v2/import/batch", keyless).status == 201
        empty = dict(copy.deepcopy(S), key_names=[])
        assert server.post("/v2/import/batch", empty).status == 201
        assert server.stop() == 0
    rows = db.rows("customers", order_by="_sdc_sequence", columns="id, name, _sdc_sequence")
    assert [(r["id"], r["name"], r["_sdc_sequence"]) for r in rows] == [(1, "Finn", 100)] * 3
