"""A deterministic generator of Singer streams with known final tables.

Each scenario yields Singer messages and, per stream, the rows the destination
must hold afterwards: per key, the version with the greatest
``(sequence, arrival)``. Versions of a key are made in increasing sequence,
then delivered in an order the scenario chooses (in order, shuffled, or with
ties), so a loader that lets the last arrival win gets them wrong.

Only the standard library is used: the same arguments give the same messages
on every machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import typing as t
from dataclasses import dataclass, field

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
SEQ_BASE = 1_700_000_000_000
TRICKY = ["", "NULL", "\\N", "a,b", 'say "hi"', "line\nbreak", "tab\tend", "漢字 🚀", "  pad  "]
WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"]


def iso(ms: int) -> str:
    return (EPOCH + dt.timedelta(milliseconds=ms)).isoformat()


def simple_schema() -> dict:
    return {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "_sdc_sequence": {"type": ["null", "integer"]},
            "name": {"type": ["null", "string"]},
            "amount": {"type": ["null", "number"]},
            "qty": {"type": ["null", "integer"]},
            "active": {"type": ["null", "boolean"]},
            "updated_at": {"type": ["null", "string"], "format": "date-time"},
        },
    }


def wide_schema() -> dict:
    props: dict[str, dict] = {
        "id": {"type": "integer"},
        "_sdc_sequence": {"type": ["null", "integer"]},
    }
    props.update({f"s{i:02d}": {"type": ["null", "string"]} for i in range(1, 9)})
    props.update({f"n{i:02d}": {"type": ["null", "number"]} for i in range(1, 6)})
    props.update({f"i{i:02d}": {"type": ["null", "integer"]} for i in range(1, 5)})
    props.update({f"b{i:02d}": {"type": ["null", "boolean"]} for i in range(1, 3)})
    props["ts01"] = {"type": ["null", "string"], "format": "date-time"}
    props["obj01"] = {
        "type": ["null", "object"],
        "properties": {"a": {"type": ["null", "integer"]}, "tags": {"type": ["null", "array"]}},
    }
    props["arr01"] = {"type": ["null", "array"], "items": {"type": "string"}}
    return {"type": "object", "properties": props}


def simple_values(rng: random.Random, key: int, seq: int) -> dict:
    return {
        "name": f"name-{key}-{rng.choice(WORDS)}",
        "amount": round(rng.uniform(-1e5, 1e5), 2),
        "qty": rng.randint(-1000, 100_000),
        "active": rng.random() < 0.5,
        "updated_at": iso(seq),
    }


def wide_values(rng: random.Random, key: int, seq: int) -> dict:
    row: dict[str, t.Any] = {}
    for i in range(1, 9):
        row[f"s{i:02d}"] = None if rng.random() < 0.3 else rng.choice(TRICKY + WORDS) + str(key)
    row["s04"] = rng.choice(TRICKY)
    for i in range(1, 6):
        row[f"n{i:02d}"] = None if rng.random() < 0.3 else round(rng.uniform(-1e6, 1e6), 6)
    for i in range(1, 5):
        row[f"i{i:02d}"] = None if rng.random() < 0.3 else rng.randint(-(2**53), 2**53)
    for i in range(1, 3):
        row[f"b{i:02d}"] = None if rng.random() < 0.3 else rng.random() < 0.5
    row["ts01"] = iso(seq - rng.randint(0, 10**9))
    row["obj01"] = {
        "a": rng.randint(0, 9),
        "tags": [rng.choice(WORDS) for _ in range(rng.randint(0, 3))],
    }
    row["arr01"] = [rng.choice(TRICKY) for _ in range(rng.randint(0, 3))]
    return row


@dataclass
class Scenario:
    """What to generate; every field has a small default for tests."""

    records: int = 1000
    keys: int = 100
    streams: int = 1
    shuffle: bool = False
    ties: float = 0.0
    wide: bool = False
    seed: int = 1
    seq_base: int = SEQ_BASE
    state_every: int = 250
    stream_prefix: str = "gen_s"


@dataclass
class Generated:
    """Messages in arrival order and, per stream, the expected final rows by key."""

    messages: list[dict]
    expected: dict[str, dict[int, dict]] = field(default_factory=dict)
    schema: dict = field(default_factory=dict)

    def text(self) -> str:
        return "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in self.messages)


def generate(sc: Scenario, previous: dict[str, dict[int, dict]] | None = None) -> Generated:
    """Generate a scenario; ``previous`` continues the expected tables of an earlier run."""
    rng = random.Random(sc.seed)
    streams = [f"{sc.stream_prefix}{i}" for i in range(sc.streams)]
    schema = wide_schema() if sc.wide else simple_schema()
    make_values = wide_values if sc.wide else simple_values
    order = {s: rng.sample(range(1, sc.keys + 1), sc.keys) for s in streams}
    seen = dict.fromkeys(streams, 0)
    last_seq: dict[tuple[str, int], int] = {}
    seq = sc.seq_base
    source: list[tuple[str, dict]] = []
    for _ in range(sc.records):
        stream = rng.choice(streams)
        n = seen[stream]
        seen[stream] = n + 1
        key = order[stream][n] if n < sc.keys else rng.randint(1, sc.keys)
        seq += rng.randint(1, 3)
        this_seq = seq
        if sc.ties and (stream, key) in last_seq and rng.random() < sc.ties:
            this_seq = last_seq[(stream, key)]
        last_seq[(stream, key)] = this_seq
        source.append(
            (stream, {"id": key, "_sdc_sequence": this_seq, **make_values(rng, key, this_seq)})
        )
    arrival = list(source)
    if sc.shuffle:
        rng.shuffle(arrival)
    expected: dict[str, dict[int, dict]] = {s: dict((previous or {}).get(s, {})) for s in streams}
    for stream, rec in arrival:
        held = expected[stream].get(rec["id"])
        if held is None or rec["_sdc_sequence"] >= held["_sdc_sequence"]:
            expected[stream][rec["id"]] = rec
    messages: list[dict] = [
        {"type": "SCHEMA", "stream": s, "schema": schema, "key_properties": ["id"]} for s in streams
    ]
    for n, (stream, rec) in enumerate(arrival, 1):
        messages.append({"type": "RECORD", "stream": stream, "record": rec})
        if sc.state_every and n % sc.state_every == 0:
            messages.append({"type": "STATE", "value": {"records": n}})
    messages.append({"type": "STATE", "value": {"records": len(arrival), "done": True}})
    return Generated(messages, expected, schema)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--records", type=int, default=1000)
    ap.add_argument("--keys", type=int, default=100)
    ap.add_argument("--streams", type=int, default=1)
    ap.add_argument("--shuffle", action="store_true")
    ap.add_argument("--ties", type=float, default=0.0)
    ap.add_argument("--wide", action="store_true")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--seq-base", type=int, default=SEQ_BASE)
    ap.add_argument("--expect", help="write the expected rows (JSON) here")
    a = ap.parse_args(argv)
    sc = Scenario(a.records, a.keys, a.streams, a.shuffle, a.ties, a.wide, a.seed, a.seq_base)
    gen = generate(sc)
    sys.stdout.write(gen.text())
    if a.expect:
        with open(a.expect, "w", encoding="utf-8") as f:
            rows = {s: [rows[k] for k in sorted(rows)] for s, rows in gen.expected.items()}
            json.dump({"streams": rows}, f, ensure_ascii=False)


if __name__ == "__main__":
    main()
