"""``target-sequenced serve`` in a real process, and a plain HTTP client (the standard library)."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import typing as t
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

EXE = str(Path(sys.executable).with_name("target-sequenced"))
TOKEN = "good-token"  # noqa: S105 - the tests' own
CLIENT = 1234
START_TIMEOUT = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self) -> t.Any:
        return json.loads(self.text)


@dataclass
class Server:
    """A running server: its base URL, process and log file."""

    base: str
    process: subprocess.Popen
    log: Path

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | object | None = None,
        *,
        token: str | None = TOKEN,
        content_type: str | None = "application/json",
        headers: dict[str, str] | None = None,
    ) -> Reply:
        data: t.Any = None
        if isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode()
        elif hasattr(body, "__next__"):
            data = body  # sent chunked, without a Content-Length
        elif body is not None:
            data = json.dumps(body).encode()
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if content_type is not None:
            sent["Content-Type"] = content_type
        request = urllib.request.Request(  # noqa: S310 - http://127.0.0.1 only
            self.base + path, data=data, method=method, headers=sent
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310 - http://127.0.0.1
                return Reply(response.status, dict(response.headers), response.read().decode())
        except urllib.error.HTTPError as error:
            return Reply(error.code, dict(error.headers), error.read().decode())

    def post(self, path: str, body: object, **kwargs: t.Any) -> Reply:
        return self.request("POST", path, body, **kwargs)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Signal the server and wait for it; its exit status."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=60)


def write_config(path: Path, config: dict) -> Path:
    path.write_text(json.dumps({"api_tokens": {TOKEN: CLIENT}, **config}))
    return path


@contextlib.contextmanager
def serving(config_path: Path, log: Path, port: int | None = None) -> t.Iterator[Server]:
    """Start a server on a free port; stop it (SIGTERM) afterwards."""
    port = port or free_port()
    handle = log.open("ab")
    process = subprocess.Popen(
        [EXE, "serve", "--config", str(config_path), "--port", str(port)],
        stdout=handle,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited: {log.read_text()[-3000:]}")
            with contextlib.suppress(OSError):
                if server.request("GET", "/v2/import/status", token=None).status == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {log.read_text()[-3000:]}")
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        handle.close()


def batch(
    table: str, records: list[dict], *, keys: t.Sequence[str] = ("id",), **extra: t.Any
) -> dict:
    """A batch body: ``records`` as ``(sequence, data)`` dicts with ``_seq`` for the sequence."""
    props = {}
    for record in records:
        for name, value in record.items():
            if name == "_seq":
                continue
            kind = "integer" if isinstance(value, int) else "string"
            props[name] = {"type": ["null", kind]}
    messages = [
        {
            "action": "upsert",
            "sequence": r["_seq"],
            "data": {k: v for k, v in r.items() if k != "_seq"},
        }
        for r in records
    ]
    return {
        "table_name": table,
        "schema": {"properties": props},
        "key_names": list(keys),
        "messages": messages,
        **extra,
    }


def overlapping_batches(
    tables: t.Sequence[str], *, keys: int, versions: int, seed: int, per_batch: int = 24
) -> tuple[list[dict], dict[tuple[str, int], int]]:
    """Batches holding every key ``versions`` times with shuffled sequences; the greatest per key.

    A row's ``v`` is ``<table><key>-<sequence>``, so a row shows which version it holds.
    """
    rng = random.Random(seed)
    work = [
        (table, key, seq)
        for table in tables
        for key in range(keys)
        for seq in rng.sample(range(1, 1000), versions)
    ]
    rng.shuffle(work)
    best: dict[tuple[str, int], int] = {}
    for table, key, seq in work:
        best[table, key] = max(best.get((table, key), 0), seq)
    bodies = []
    for start in range(0, len(work), per_batch):
        chunk = work[start : start + per_batch]
        for table in tables:
            records = [
                {"id": k, "v": f"{tb}{k}-{s}", "_seq": s} for tb, k, s in chunk if tb == table
            ]
            if records:
                bodies.append(batch(table, records))
    return bodies, best


def assert_greatest(db: t.Any, tables: t.Sequence[str], best: dict[tuple[str, int], int]) -> None:
    """Each table holds, per key, the version with the greatest sequence."""
    for table in tables:
        rows = db.rows(table, columns="id, v, _sdc_sequence")
        assert {r["id"]: r["_sdc_sequence"] for r in rows} == {
            k: s for (tb, k), s in best.items() if tb == table
        }
        assert all(r["v"] == f"{table}{r['id']}-{r['_sdc_sequence']}" for r in rows)
