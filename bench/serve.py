#!/usr/bin/env python3
"""Benchmark ``target-sequenced serve``: batches/s, records/s and latency at 1, 4 and 16 clients.

The records are bench scenario b's (200,000 versions of 50,000 keys, shuffled), as Import API
batches (``variants.py --form api``) cut into bodies of ``--batch-messages`` messages: 20,000
by default, what target-stitch sends for records of this size (its cap is 20,000 messages or
4 MB, and 20,000 of these make 2.9 MB); smaller bodies measure the cost per request.
For each destination (a DuckDB file; PostgreSQL with
``--pg``) and each number of clients: a fresh table, a fresh server, the clients post every
body ``--rounds`` times (2: the second round replays the first, which changes nothing) over
kept-alive connections (bodies encoded before the clock starts), then the table
is checked against the expected one (bench/check.py). In the same run, the stdin path loads the
same records (the api file, 20,000 messages per line) into a fresh table: the ratio is the
server's records/s over the stdin path's.

  bench/serve.sh [--clients 1,4,16] [--pg] [--batch-messages 20000]

Latency is each request's time from sending its body to reading the answer, as the client sees it.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import typing as t
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import check  # noqa: E402
from run import (  # noqa: E402
    FORMS,
    PG_SCHEMA,
    Input,
    Postgres,
    ensure_input,
    ensure_variant,
    postgres_server,
    say,
)

TOKEN = "bench-token"  # noqa: S105 - a local benchmark's
EXE = Path(sys.executable).with_name("target-sequenced")
assert "api" in FORMS  # noqa: S101


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bodies(api: Path, per_body: int) -> list[tuple[bytes, int]]:
    """Every batch line cut into bodies of ``per_body`` messages, encoded; with their counts."""
    out = []
    for line in api.read_text(encoding="utf-8").splitlines():
        value = json.loads(line)
        if "messages" not in value:
            continue  # a STATE line
        messages = value["messages"]
        for start in range(0, len(messages), per_body):
            part = dict(value, messages=messages[start : start + per_body])
            out.append((json.dumps(part, separators=(",", ":")).encode(), len(part["messages"])))
    return out


@contextlib.contextmanager
def server(config: Path, log: Path) -> t.Iterator[int]:
    port = free_port()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(EXE), "serve", "--config", str(config), "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                with contextlib.suppress(OSError):
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    conn.request("GET", "/v2/import/status")
                    if conn.getresponse().status == 200:
                        break
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the server did not start; see {log}")
                time.sleep(0.1)
            yield port
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=120)


def post_all(port: int, work: list[tuple[bytes, int]], clients: int) -> tuple[float, list[float]]:
    """Every body posted once by ``clients`` threads; the wall time and each latency."""
    todo: queue.Queue[tuple[bytes, int]] = queue.Queue()
    for item in work:
        todo.put(item)
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        while True:
            try:
                body, _ = todo.get_nowait()
            except queue.Empty:
                return
            start = time.perf_counter()
            conn.request("POST", "/v2/import/batch", body=body, headers=headers)
            reply = conn.getresponse()
            text = reply.read()
            took = time.perf_counter() - start
            with lock:
                latencies.append(took)
                if reply.status != 201:
                    failures.append(f"{reply.status} {text[:200]!r}")

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    if failures:
        raise SystemExit(f"{len(failures)} requests failed, first: {failures[0]}")
    return wall, latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def reset(dest: Path | Postgres) -> None:
    if isinstance(dest, Postgres):
        dest.reset()
    else:
        for path in (dest, dest.with_name(dest.name + ".wal")):
            path.unlink(missing_ok=True)


def checked(dest: Path | Postgres, expected: check.Expected) -> str:
    if isinstance(dest, Postgres):
        result = check.check_postgres(dest.url, expected, schema=PG_SCHEMA, strict_sequence=True)
    else:
        result = check.check_duckdb(dest, expected, schema="main", strict_sequence=True)
    return result.summary()


def config_for(dest: Path | Postgres, path: Path, workers: int | None) -> Path:
    url = dest.url if isinstance(dest, Postgres) else f"duckdb:///{dest}"
    schema = PG_SCHEMA if isinstance(dest, Postgres) else "main"
    config = {"sqlalchemy_url": url, "default_target_schema": schema, "api_tokens": {TOKEN: 1}}
    if workers:
        config["api_workers"] = workers
    path.write_text(json.dumps(config))
    return path


def stdin_run(dest: Path | Postgres, api: Path, work: Path) -> float:
    reset(dest)
    config = config_for(dest, work / "stdin.json", None)
    start = time.perf_counter()
    with api.open("rb") as stdin, (work / "stdin.log").open("w") as log:
        subprocess.run(
            [str(EXE), "--config", str(config)], stdin=stdin, stdout=subprocess.DEVNULL,
            stderr=log, check=True,
        )  # fmt: skip
    return time.perf_counter() - start


def bench(dest: Path | Postgres, name: str, args: argparse.Namespace, files: dict) -> list[str]:
    work = args.bench_dir / "work"
    work.mkdir(parents=True, exist_ok=True)
    expected = check.load_expected(files["expect"])
    posts = bodies(files["api"], args.batch_messages) * args.rounds
    records = sum(n for _, n in posts)
    stdin_s = stdin_run(dest, files["api"], work)
    stdin_rate = records / args.rounds / stdin_s
    say(f"  {name} stdin: {stdin_s:.2f} s, {stdin_rate:,.0f} records/s; {checked(dest, expected)}")
    stdin_row = (
        f"| {name} | stdin (one process, 20,000 per line) | | {stdin_s:.2f} s "
        f"| | {stdin_rate:,.0f} | | | 1.00 |"
    )
    lines = [stdin_row]
    for clients in args.clients:
        reset(dest)
        config = config_for(dest, work / f"serve-{name}-{clients}.json", args.workers)
        with server(config, work / f"serve-{name}-{clients}.log") as port:
            wall, latencies = post_all(port, posts, clients)
        rate = records / wall
        p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
        say(f"  {name} {clients:>2} clients: {wall:.2f} s, {len(posts) / wall:.1f} batches/s, "
            f"{rate:,.0f} records/s, p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms; "
            f"{checked(dest, expected)}")  # fmt: skip
        lines.append(
            f"| {name} | {clients} | {len(posts)} | {wall:.2f} s | {len(posts) / wall:.1f} | "
            f"{rate:,.0f} | {p50 * 1000:.0f} ms | {p99 * 1000:.0f} ms | {rate / stdin_rate:.2f} |"
        )
    return lines


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument("--batch-messages", type=int, default=20_000)
    parser.add_argument(
        "--rounds", type=int, default=2, help="times every body is sent (a replay changes nothing)"
    )
    parser.add_argument("--workers", type=int, default=None, help="api_workers (default: its own)")
    parser.add_argument("--pg", action="store_true", help="also PostgreSQL (a throwaway server)")
    parser.add_argument(
        "--bench-dir",
        type=Path,
        default=Path(os.environ.get("TMPDIR", "/tmp")) / "target-sequenced-bench",  # noqa: S108
    )
    args = parser.parse_args(argv)
    args.clients = [int(c) for c in args.clients.split(",")]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    inp = Input(records=200_000, keys=50_000, shuffle=True, wide=False, form="api")
    _, expect = ensure_input(inp.source, args.bench_dir)
    api, _ = ensure_variant(inp, args.bench_dir)
    files = {"api": api, "expect": expect}
    header = [
        f"bodies of {args.batch_messages} messages",
        "| destination | clients | batches | wall | batches/s | records/s | p50 | p99 | vs stdin |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines = bench(args.bench_dir / "work" / "serve.duckdb", "DuckDB", args, files)
    if args.pg:
        with postgres_server() as pg:
            lines += bench(pg, "PostgreSQL", args, files)
    print("\n".join(header + lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
