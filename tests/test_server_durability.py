"""What a 2xx promises, tested by force: SIGKILL under load, and two servers on one database.

A 2xx means committed (``server/applier.py``): a server killed with SIGKILL
while clients send loses none of the batches it answered 2xx, and loads none
of those it refused. A request that got no answer at all (its connection cut
by the kill) may or may not have committed; sending it again is harmless,
since a version replayed changes nothing (contract section 3).
"""

from __future__ import annotations

import signal
import threading
import time
import typing as t
import urllib.error

import pytest

from tests.serving import (
    Server,
    assert_greatest,
    batch,
    overlapping_batches,
    serving,
    write_config,
)

if t.TYPE_CHECKING:
    from pathlib import Path

    from tests.helpers import Db


def _body(i: int) -> dict:
    """Batch i holds keys 10i..10i+9 at sequence i + 1; every fifth is refused (a string id)."""
    sent = batch("t", [{"id": 10 * i + j, "_seq": i + 1} for j in range(10)])
    if i % 5 == 4:
        sent["messages"][3]["data"]["id"] = "bad"
    return sent


def _send_until_killed(server: Server, *, clients: int, answered: int) -> dict[int, str]:
    """Clients send batches until ``answered`` got 201, then the server gets SIGKILL."""
    outcomes: dict[int, str] = {}
    lock = threading.Lock()
    stop = threading.Event()
    counter = iter(range(10**6))

    def client() -> None:
        while not stop.is_set():
            with lock:
                i = next(counter)
            try:
                outcome = str(server.post("/v2/import/batch", _body(i)).status)
            except (urllib.error.URLError, ConnectionError, OSError):
                outcome = "no answer"
            with lock:
                outcomes[i] = outcome

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while sum(o == "201" for o in list(outcomes.values())) < answered:
        assert time.monotonic() < deadline, outcomes
        time.sleep(0.05)
    assert server.stop(signal.SIGKILL) == -signal.SIGKILL
    stop.set()
    for thread in threads:
        thread.join()
    return outcomes


def test_sigkill_under_load_loses_no_batch_that_got_a_2xx(db: Db, tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.json", db.config())
    with serving(config, tmp_path / "server.log") as server:
        outcomes = _send_until_killed(server, clients=4, answered=40)

    # After a restart (DuckDB replays its WAL), read what the table holds.
    with serving(config, tmp_path / "server.log") as server:
        assert server.request("GET", "/v2/import/status", token=None).status == 200
        assert server.stop() == 0
    stored = {r["id"]: r["_sdc_sequence"] for r in db.rows("t", columns="id, _sdc_sequence")}
    answered = [i for i, o in outcomes.items() if o == "201"]
    refused = [i for i, o in outcomes.items() if o == "400"]
    assert len(answered) >= 40
    assert refused, outcomes
    assert set(outcomes.values()) <= {"201", "400", "no answer"}
    for i in answered:
        assert all(stored.get(10 * i + j) == i + 1 for j in range(10)), i
    for i in refused:
        assert all(10 * i + j not in stored for j in range(10)), i


@pytest.mark.parametrize("dialect", ["postgresql"], indirect=True)
def test_two_servers_on_one_postgresql_database_stay_correct(db: Db, tmp_path: Path) -> None:
    """Two processes, 8 clients sending to either, overlapping keys, shuffled sequences."""
    config = write_config(tmp_path / "config.json", db.config())
    tables = ("a", "b")
    bodies, best = overlapping_batches(tables, keys=60, versions=8, seed=11, per_batch=30)
    statuses: list[int] = []
    with (
        serving(config, tmp_path / "one.log") as one,
        serving(config, tmp_path / "two.log") as two,
    ):

        def client(i: int) -> None:
            server = one if i % 2 else two
            statuses.extend(server.post("/v2/import/batch", b).status for b in bodies[i::8])

        threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert one.stop() == 0
        assert two.stop() == 0
    assert statuses == [201] * len(bodies)
    assert_greatest(db, tables, best)
    for log in ("one.log", "two.log"):
        assert " 201 table=" in (tmp_path / log).read_text()
