"""A Singer stream on stdin loaded into DuckDB with dlt: the `dlt` peer of bench/run.py.

Run with the python of the virtualenv bench/setup_peers.sh made for dlt:

  $PEERS/dlt/bin/python bench/peers/dlt_load.py --config cfg.json < stream.singer.jsonl

cfg.json: {"path": DuckDB file, "dataset": schema (default "main"), "loads": 2}

dlt is not a Singer target, so this is the smallest adapter a user would write: the SCHEMA's
key_properties become the resource's primary_key, its JSON Schema types become column hints
(objects and arrays as `json` columns, `max_table_nesting=0`, so that nested values stay one
JSON column as in target-sequenced rather than `profile__geo__lat` columns and child tables),
RECORDs become rows unchanged, STATEs are echoed on stdout after the load that covers them.
The resource loads with `write_disposition="merge"` (dlt's default `delete-insert` strategy),
`primary_key` = the key, and the column hint `dedup_sort: "desc"` on `_sdc_sequence`: within
one load dlt de-duplicates the staging rows per key keeping the greatest `_sdc_sequence`
(https://dlthub.com/docs/general-usage/merge-loading, "delete-insert strategy").

The input is loaded in `loads` pipeline.run calls (default 2), split by bytes at line
boundaries: the first half of the file, then the rest. dlt then deletes a key's stored row and
inserts the later load's version whatever the two sequences are, which the checker shows as
stale keys. Loader files are parquet. dlt adds `_dlt_load_id` and `_dlt_id` columns (the
checker compares only the expected columns) and its own `_dlt_*` tables; its snake_case
naming leaves the benchmark's column names as they are.

One stream per input (the benchmark's inputs have one); the pipeline's working directory is a
temporary directory next to the DuckDB file, so every run starts afresh.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
import sys
import tempfile
import time
import typing as t
from io import BytesIO
from pathlib import Path

# dlt sends anonymous usage telemetry unless told not to; the benchmark runs offline.
os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

import dlt  # after the environment it reads
from dlt.common import json as dlt_json  # orjson, as dlt itself parses

SEQUENCE = "_sdc_sequence"


def say(text: str) -> None:
    print(f"dlt_load: {text}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ schema -> column hints
def _resolve(root: dict[str, t.Any], schema: object) -> dict[str, t.Any]:
    """A property schema with its local $ref followed (taps put shared types in definitions)."""
    seen: set[str] = set()
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
        ref = schema["$ref"]
        if not ref.startswith("#/") or ref in seen:
            return {}
        seen.add(ref)
        target: object = root
        for part in ref[2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        schema = target
    return schema if isinstance(schema, dict) else {}


def _types(root: dict[str, t.Any], schema: dict[str, t.Any]) -> tuple[set[str], str | None]:
    """The non-null JSON types a property allows and its format, anyOf/oneOf branches too."""
    declared = schema.get("type", [])
    types = {declared} if isinstance(declared, str) else set(declared)
    fmt = schema.get("format")
    for branch in [*schema.get("anyOf", []), *schema.get("oneOf", [])]:
        more, branch_fmt = _types(root, _resolve(root, branch))
        types |= more
        fmt = fmt or branch_fmt
    return types - {"null"}, fmt


def column_hints(schema: dict[str, t.Any]) -> dict[str, dict[str, t.Any]]:
    """dlt column hints from a Singer SCHEMA's JSON Schema; unknown shapes are left to dlt."""
    hints: dict[str, dict[str, t.Any]] = {}
    for name, prop in (schema.get("properties") or {}).items():
        types, fmt = _types(schema, _resolve(schema, prop))
        if types & {"object", "array"}:
            data_type = "json"
        elif types == {"string"}:
            data_type = "timestamp" if fmt == "date-time" else "text"
        elif types in ({"number"}, {"number", "integer"}):
            data_type = "double"
        elif types == {"integer"}:
            data_type = "bigint"
        elif types == {"boolean"}:
            data_type = "bool"
        else:
            continue
        hints[name] = {"data_type": data_type}
    # The greatest sequence wins within a load (dlt's dedup_sort column hint).
    hints[SEQUENCE] = {**hints.get(SEQUENCE, {"data_type": "bigint"}), "dedup_sort": "desc"}
    return hints


# ------------------------------------------------------------------ Singer input
class SingerInput:
    """Singer messages from a byte stream, read in consecutive byte ranges."""

    def __init__(self, raw: t.BinaryIO) -> None:
        self.raw = raw
        self.offset = 0
        self.stream: str | None = None
        self.schema: dict[str, t.Any] = {}
        self.key: list[str] = []
        self.state: object = None
        self.records = 0

    def _messages(self, until: int | None) -> t.Iterator[dict[str, t.Any]]:
        while until is None or self.offset < until:
            line = self.raw.readline()
            if not line:
                return
            self.offset += len(line)
            if line.strip():
                yield dlt_json.loadb(line)

    def read_schema(self) -> None:
        """Read up to the first SCHEMA (taps may send STATE first)."""
        for message in self._messages(None):
            kind = message.get("type")
            if kind == "SCHEMA":
                self.stream = message["stream"]
                self.schema = message["schema"]
                self.key = list(message.get("key_properties") or [])
                return
            if kind == "RECORD":
                raise SystemExit("dlt_load: a RECORD before any SCHEMA")
            if kind == "STATE":
                self.state = message["value"]
        raise SystemExit("dlt_load: no SCHEMA in the input")

    def rows(self, until: int | None) -> t.Iterator[dict[str, t.Any]]:
        """The records of the stream up to byte offset `until` (None: to the end)."""
        for message in self._messages(until):
            kind = message.get("type")
            if kind == "RECORD":
                if message.get("stream") != self.stream:
                    raise SystemExit(f"dlt_load: one stream only, got {message.get('stream')!r}")
                self.records += 1
                yield message["record"]
            elif kind == "STATE":
                self.state = message["value"]
            elif kind == "SCHEMA" and message.get("stream") != self.stream:
                raise SystemExit(f"dlt_load: one stream only, got {message.get('stream')!r}")


def _stdin() -> tuple[t.BinaryIO, int]:
    """Standard input and its size; a pipe is read whole first (the split needs the size)."""
    raw = sys.stdin.buffer
    info = os.fstat(raw.fileno())
    if stat.S_ISREG(info.st_mode):
        return raw, info.st_size
    data = raw.read()
    return BytesIO(data), len(data)


# ------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--config", required=True, type=Path)
    args = ap.parse_args(argv)
    config = json.loads(args.config.read_text())
    db = Path(config["path"]).resolve()
    loads = max(1, int(config.get("loads", 2)))

    raw, size = _stdin()
    reader = SingerInput(raw)
    reader.read_schema()
    if not reader.key:
        raise SystemExit("dlt_load: the SCHEMA has no key_properties (merge needs a key)")
    hints = column_hints(reader.schema)

    with tempfile.TemporaryDirectory(prefix="dlt-pipelines-", dir=db.parent) as work:
        pipeline = dlt.pipeline(
            pipeline_name="target_sequenced_bench",
            destination=dlt.destinations.duckdb(str(db)),
            dataset_name=config.get("dataset", "main"),
            pipelines_dir=work,
        )
        for n in range(1, loads + 1):
            until = None if n == loads else size * n // loads
            before, start = reader.records, time.perf_counter()
            resource = dlt.resource(
                reader.rows(until),
                name=reader.stream,
                table_name=reader.stream,
                write_disposition="merge",
                primary_key=reader.key,
                columns=hints,
                max_table_nesting=0,
            )
            pipeline.run(resource, loader_file_format="parquet")
            say(
                f"load {n}/{loads}: {reader.records - before:,} records in "
                f"{time.perf_counter() - start:.2f} s"
            )
            if reader.state is not None:
                print(json.dumps(reader.state), flush=True)  # a Singer target's STATE echo
    return 0


if __name__ == "__main__":
    sys.exit(main())
