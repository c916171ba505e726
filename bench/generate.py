#!/usr/bin/env python3
"""Write a deterministic Singer stream and the table a correct target must end with.

Standard library only. The same arguments give byte-identical files on any CPython 3.10+.

Every RECORD carries a distinct integer ``_sdc_sequence`` (milliseconds since the epoch,
increasing in "source" order by 1 to 3 per version) and ``updated_at`` is that same instant as
a date-time string, so a stored row's ``updated_at`` tells which version it is even when a
loader overwrites ``_sdc_sequence``. Source order is: each key once (in random order), then
versions of random keys. ``--shuffle`` makes the arrival order a random permutation of that.

The expected file is JSON lines: a header object (stream, key, sequence and version column,
schema, generator arguments), then per key, in key order, the record with the greatest
``_sdc_sequence``.

Output is streamed: the plan is kept in integer arrays and records are built while they are
written; only the winning version of each key is kept (as its JSON text) until the end.

Examples (the benchmark's scenarios):
  generate.py --records 200000 --keys 50000 --shuffle --out b.jsonl --expect b.expect.jsonl
  generate.py --records 50000 --keys 12500 --wide --out c.jsonl --expect c.expect.jsonl
  generate.py --records 2000000 --keys 500000 --shuffle --out d.jsonl --expect d.expect.jsonl
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import typing as t
from array import array
from pathlib import Path

SEQUENCE_START = 1_700_000_000_000  # ms since the epoch: 2023-11-14T22:13:20Z
STREAM = "bench_items"
KEY = "id"
SEQUENCE = "_sdc_sequence"
VERSION = "updated_at"

COLOURS = ("red", "orange", "yellow", "green", "blue", "indigo", "violet", "black")
SYLLABLES = (
    "ka", "lo", "mi", "nu", "pe", "ra", "si", "to", "va", "ze",
    "bri", "cor", "dan", "fel", "gon", "hal",
)  # fmt: skip
# Strings that text/CSV/COPY based loaders tend to damage. "" must stay "", not NULL.
AWKWARD = (
    "",
    "NULL",
    "\\N",
    "null",
    'say "cheese"',
    "it's",
    "two\nlines",
    "windows\r\nline",
    "col1\tcol2",
    "C:\\temp\\new",
    "trailing backslash \\",
    "a,b,c",
    "  spaces around  ",
    '{"looks": "like json"}',
    "naïve café ß",
    "日本語テキスト",
    "emoji 🎉🚀 mixed",
)

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def instant(ms: int) -> str:
    """Format milliseconds since the epoch as ISO 8601 UTC, e.g. 2023-11-14T22:13:20.005+00:00."""
    when = _EPOCH + dt.timedelta(milliseconds=ms)
    return f"{when:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}+00:00"


def _opt(kind: str, **extra: str) -> dict[str, t.Any]:
    return {"type": [kind, "null"], **extra}


def simple_schema() -> dict[str, t.Any]:
    """The 8-column shape: key, sequence, 2 strings, number, integer, boolean, date-time."""
    return {
        "type": "object",
        "properties": {
            KEY: {"type": "integer"},
            SEQUENCE: _opt("integer"),
            "name": _opt("string"),
            "category": _opt("string"),
            "amount": _opt("number"),
            "qty": _opt("integer"),
            "active": _opt("boolean"),
            VERSION: _opt("string", format="date-time"),
        },
    }


def wide_schema() -> dict[str, t.Any]:
    """The 30-column shape: strings (awkward ones too), numbers, integers, booleans, 3 date-times,
    2 nested objects, 2 arrays, and 2 columns that are almost always null."""
    props: dict[str, t.Any] = {KEY: {"type": "integer"}, SEQUENCE: _opt("integer")}
    for name in ("title", "colour", "summary", "awkward", "opt_a", "opt_b", "opt_c", "opt_d"):
        props[name] = _opt("string")
    for name in ("price", "ratio", "score", "weight", "drift"):
        props[name] = _opt("number")
    for name in ("int32", "percent", "big53", "rank"):
        props[name] = _opt("integer")
    props["enabled"] = _opt("boolean")
    props["verified"] = _opt("boolean")
    props[VERSION] = _opt("string", format="date-time")
    props["created_at"] = _opt("string", format="date-time")
    props["expires_at"] = _opt("string", format="date-time")
    props["profile"] = {
        "type": ["object", "null"],
        "properties": {
            "level": _opt("integer"),
            "nick": _opt("string"),
            "geo": {
                "type": ["object", "null"],
                "properties": {
                    "lat": _opt("number"),
                    "path": {"type": ["array", "null"], "items": {"type": "integer"}},
                },
            },
        },
    }
    props["settings"] = {
        "type": ["object", "null"],
        "properties": {
            "beta": _opt("boolean"),
            "labels": {"type": ["object", "null"], "additionalProperties": {"type": "string"}},
        },
    }
    props["tags"] = {"type": ["array", "null"], "items": {"type": "string"}}
    props["lines"] = {
        "type": ["array", "null"],
        "items": {
            "type": "object",
            "properties": {"sku": _opt("string"), "units": _opt("integer")},
        },
    }
    props["rare_text"] = _opt("string")
    props["rare_number"] = _opt("number")
    return {"type": "object", "properties": props}


class Values:
    """Column values for one version of a key, drawn from one shared random source."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def word(self) -> str:
        pick = self.rng.choice
        return pick(SYLLABLES) + pick(SYLLABLES) + pick(SYLLABLES)

    def short_word(self) -> str:
        pick = self.rng.choice
        return pick(SYLLABLES) + pick(SYLLABLES)

    def simple(self, key: int, seq: int) -> dict[str, t.Any]:
        rnd = self.rng.random
        return {
            "name": f"item {key} {self.word()}",
            "category": None if rnd() < 0.01 else self.rng.choice(COLOURS),
            "amount": None if rnd() < 0.01 else round(rnd() * 100_000, 2),
            "qty": None if rnd() < 0.01 else self.rng.randint(-1_000, 100_000),
            "active": None if rnd() < 0.01 else rnd() < 0.5,
            VERSION: instant(seq),
        }

    def wide(self, key: int, seq: int) -> dict[str, t.Any]:
        rng = self.rng
        rnd = rng.random
        return {
            "title": f"item {key} {self.word()}",
            "colour": rng.choice(COLOURS),
            "summary": " ".join(self.short_word() for _ in range(rng.randint(2, 12))),
            "awkward": rng.choice(AWKWARD),
            "opt_a": None if rnd() < 0.9 else f"{self.word()}#{rng.randint(0, 999)}",
            "opt_b": None if rnd() < 0.9 else f"{self.word()}#{rng.randint(0, 999)}",
            "opt_c": None if rnd() < 0.9 else rng.choice(AWKWARD),
            "opt_d": None if rnd() < 0.9 else self.word(),
            "price": round(rng.uniform(-1e6, 1e6), 4),
            "ratio": round(rnd(), 6),
            "score": float(rng.randint(0, 10_000)),
            "weight": None if rnd() < 0.7 else round(rnd() * 100, 2),
            "drift": None if rnd() < 0.7 else round(rng.gauss(0, 1_000), 3),
            "int32": rng.randint(-(2**31), 2**31 - 1),
            "percent": rng.randint(0, 100),
            "big53": rng.randint(-(2**53), 2**53),
            "rank": None if rnd() < 0.8 else rng.randint(0, 10),
            "enabled": rnd() < 0.5,
            "verified": None if rnd() < 0.5 else rnd() < 0.5,
            VERSION: instant(seq),
            "created_at": instant(seq - rng.randint(0, 10**10)),
            "expires_at": None if rnd() < 0.6 else instant(seq + rng.randint(0, 10**9)),
            "profile": {
                "level": rng.randint(0, 1_000),
                "nick": self.word(),
                "geo": {
                    "lat": round(rng.uniform(-90, 90), 5),
                    "path": [rng.randint(0, 9) for _ in range(rng.randint(0, 4))],
                },
            },
            "settings": None
            if rnd() < 0.5
            else {
                "beta": rnd() < 0.5,
                "labels": {self.word(): self.word() for _ in range(rng.randint(0, 3))},
            },
            "tags": [self.short_word() for _ in range(rng.randint(0, 5))],
            "lines": None
            if rnd() < 0.3
            else [
                {"sku": self.word(), "units": rng.randint(0, 100)} for _ in range(rng.randint(1, 3))
            ],
            "rare_text": None if rnd() < 0.99 else rng.choice(AWKWARD),
            "rare_number": None if rnd() < 0.99 else round(rnd(), 3),
        }


def plan(rng: random.Random, records: int, keys: int) -> tuple[array, array, array]:
    """Return (key, sequence) per version in source order and, per key, its last version's index."""
    key_of = array("q", range(1, keys + 1))
    rng.shuffle(key_of)  # the insert phase: every key once, in random order
    draw = rng.randrange
    key_of.extend(draw(keys) + 1 for _ in range(records - len(key_of)))
    seq_of = array("q", bytes(8 * records))
    last = array("q", bytes(8 * (keys + 1)))
    seq = SEQUENCE_START
    for i in range(records):
        seq += draw(1, 4)
        seq_of[i] = seq
        last[key_of[i]] = i  # sequences increase in source order: the last version wins
    return key_of, seq_of, last


def generate(args: argparse.Namespace) -> dict[str, int]:
    """Write the stream and the expected file; return counts."""
    if args.keys < 1 or args.records < args.keys:
        raise SystemExit("need 1 <= --keys <= --records (every key gets at least one version)")
    rng = random.Random(args.seed)  # noqa: S311  (test data, reproducible on purpose)
    schema = wide_schema() if args.wide else simple_schema()
    values = Values(rng)
    make = values.wide if args.wide else values.simple
    key_of, seq_of, last = plan(rng, args.records, args.keys)
    order = array("q", range(args.records))
    if args.shuffle:
        rng.shuffle(order)

    winners: list[str | None] = [None] * (args.keys + 1)
    states = 0
    with Path(args.out).open("w", encoding="utf-8", newline="\n") as out:
        write = out.write
        write(
            _JSON({"type": "SCHEMA", "stream": STREAM, "schema": schema, "key_properties": [KEY]})
            + "\n"
        )
        for n, i in enumerate(order, 1):
            key = key_of[i]
            seq = seq_of[i]
            record = {KEY: key, SEQUENCE: seq, **make(key, seq)}
            text = _JSON(record)
            if last[key] == i:
                winners[key] = text
            write(
                f'{{"type":"RECORD","stream":"{STREAM}","record":{text},'
                f'"time_extracted":"{record[VERSION]}"}}\n'
            )
            if args.state_every and n % args.state_every == 0:
                states += 1
                write(_JSON({"type": "STATE", "value": {"position": {STREAM: n}}}) + "\n")
        write(_JSON({"type": "STATE", "value": {"position": {STREAM: args.records}}}) + "\n")

    header = {
        "stream": STREAM,
        "key": KEY,
        "sequence": SEQUENCE,
        "version": VERSION,
        "schema": schema,
        "generator": {
            "records": args.records,
            "keys": args.keys,
            "shuffle": args.shuffle,
            "wide": args.wide,
            "seed": args.seed,
        },
    }
    with Path(args.expect).open("w", encoding="utf-8", newline="\n") as exp:
        exp.write(_JSON(header) + "\n")
        exp.writelines(f"{winner}\n" for winner in winners[1:])
    return {"records": args.records, "keys": args.keys, "states": states + 1}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--records", type=int, required=True, help="RECORD messages to write")
    ap.add_argument("--keys", type=int, required=True, help="distinct keys (ids 1..KEYS)")
    ap.add_argument("--shuffle", action="store_true", help="versions arrive in random order")
    ap.add_argument("--wide", action="store_true", help="the 30-column shape")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--state-every", type=int, default=10_000, help="a STATE every N records")
    ap.add_argument("--out", required=True, help="the Singer stream (JSON lines)")
    ap.add_argument("--expect", required=True, help="the expected final table (JSON lines)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    counts = generate(args)
    print(
        f"generate.py: {counts['records']} records, {counts['keys']} keys, "
        f"{counts['states']} STATE -> {args.out}; expected table -> {args.expect}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
