#!/usr/bin/env python3
"""Rewrite a stream that bench/generate.py wrote (the simple shape) in another input form.

The records stay the same (keys, versions, values, order), so the expected table is the source
stream's; only the way they are sent changes:

  tap  the same Singer lines, but the SCHEMA message is shaped like a real singer-io/SDK tap's
       (Draft 4 with "$schema", anyOf, enum, multipleOf, minimum/maximum with the boolean
       exclusiveMinimum/exclusiveMaximum, maxLength, pattern, required, additionalProperties
       false, local $ref to definitions, type lists in both orders); the RECORD and STATE
       lines are copied byte for byte.
  api  Stitch Import API batch objects (POST /v2/import/batch bodies), one JSON object per
       line, 20,000 messages per batch in the source's order, each record's _sdc_sequence
       moved to the message's "sequence"; a STATE line after each batch, as in
       examples/customers-batches.jsonl.

Standard library only, except --validate (jsonschema, in the project's virtualenv), which
checks every record of a tap stream against its schema, numbers read as Decimal as the SDK and
the loader read them (so multipleOf 0.01 is exact decimal arithmetic, not float division).

  variants.py --form tap --source b.singer.jsonl --out b.tap.jsonl
  variants.py --form api --source b.singer.jsonl --out b.api.jsonl
  variants.py --validate b.tap.jsonl
"""

from __future__ import annotations

import argparse
import decimal
import json
import sys
import typing as t
from pathlib import Path

from generate import COLOURS, KEY, SEQUENCE, STREAM, VERSION

BATCH_MESSAGES = 20_000  # Stitch's limit per batch request
FORMS = ("tap", "api")
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def tap_schema() -> dict[str, t.Any]:
    """The simple shape's schema as a tap would declare it; every record of b satisfies it.

    Draft 4 because singer-io taps validate with Draft 4 (singer-python) and Stitch does too;
    one schema cannot also hold Draft 6's numeric exclusiveMinimum, which Draft 4 forbids.
    """
    return {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "type": "object",
        "additionalProperties": False,
        "required": [KEY, SEQUENCE, "name", VERSION],
        "definitions": {
            "timestamp": {"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]},
            "colour": {"type": ["null", "string"], "enum": [*COLOURS, None]},
        },
        "properties": {
            KEY: {"type": "integer", "minimum": 0, "exclusiveMinimum": True},
            SEQUENCE: {"type": ["integer", "null"], "minimum": 0},
            # generate.py: f"item {key} {three syllables}", at most 21 characters for b
            "name": {"type": "string", "maxLength": 64, "pattern": "^item [0-9]+ [a-z]+$"},
            "category": {"$ref": "#/definitions/colour"},
            # generate.py rounds a float in [0, 100,000) to two decimals
            "amount": {
                "type": ["null", "number"],
                "multipleOf": 0.01,
                "minimum": 0,
                "maximum": 100_000,
            },
            # generate.py draws an integer from -1,000 to 100,000
            "qty": {
                "type": ["null", "integer"],
                "minimum": -1_000,
                "maximum": 100_001,
                "exclusiveMaximum": True,
            },
            "active": {"type": ["boolean", "null"]},
            VERSION: {"$ref": "#/definitions/timestamp"},
        },
    }


def api_schema(singer_schema: dict[str, t.Any]) -> dict[str, t.Any]:
    """The Import API batch's schema: the Singer one without _sdc_sequence (the message's
    `sequence` carries it), as bare `properties` like Stitch's examples."""
    props = {k: v for k, v in singer_schema["properties"].items() if k != SEQUENCE}
    return {"properties": props}


def _first_schema(line: str) -> dict[str, t.Any]:
    message = json.loads(line)
    if message.get("type") != "SCHEMA" or message.get("stream") != STREAM:
        raise SystemExit(f"the source's first line is not the SCHEMA of {STREAM!r}")
    return message


def write_tap(source: Path, out: Path) -> int:
    """Write the tap form; return the number of lines copied after the SCHEMA."""
    with source.open(encoding="utf-8") as src, out.open("w", encoding="utf-8", newline="\n") as dst:
        message = _first_schema(src.readline())
        message["schema"] = tap_schema()
        dst.write(_JSON(message) + "\n")
        copied = 0
        for line in src:
            dst.write(line)
            copied += 1
    return copied


def write_api(source: Path, out: Path) -> int:
    """Write the Import API form; return the number of batches."""
    batches = 0
    with source.open(encoding="utf-8") as src, out.open("w", encoding="utf-8", newline="\n") as dst:
        singer = _first_schema(src.readline())
        head = {
            "table_name": STREAM,
            "schema": api_schema(singer["schema"]),
            "key_names": singer["key_properties"],
        }
        messages: list[dict[str, t.Any]] = []
        state: str | None = None

        def flush() -> None:
            nonlocal batches
            # json.dumps' default separators, as a client's HTTP library would send the body
            dst.write(json.dumps({**head, "messages": messages}, ensure_ascii=False) + "\n")
            if state is not None:
                dst.write(state)
            messages.clear()
            batches += 1

        for line in src:
            message = json.loads(line)
            if message["type"] == "STATE":
                state = line  # the latest one goes after the batch that covers it
                continue
            if message["type"] != "RECORD":
                raise SystemExit(f"unexpected {message['type']} line in {source}")
            if len(messages) == BATCH_MESSAGES:
                flush()  # only now: a STATE right after the batch's last record is its own
                state = None
            data = message["record"]
            # time_extracted is optional in a batch message: left out
            messages.append({"action": "upsert", "sequence": data.pop(SEQUENCE), "data": data})
        if messages:
            flush()
        elif state is not None:
            dst.write(state)
    return batches


def validate(path: Path) -> int:
    """Check every RECORD of a tap stream against its SCHEMA; return the number of failures."""
    import jsonschema  # noqa: PLC0415  (only this mode needs it)

    with path.open(encoding="utf-8") as f:
        # Numbers as Decimal in both the schema and the records: multipleOf 0.01 exactly.
        schema = json.loads(f.readline(), parse_float=decimal.Decimal)["schema"]
        validator_class = jsonschema.validators.validator_for(schema)
        validator_class.check_schema(schema)
        validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
        records = failures = 0
        for line in f:
            message = json.loads(line, parse_float=decimal.Decimal)
            if message["type"] != "RECORD":
                continue
            records += 1
            for error in validator.iter_errors(message["record"]):
                failures += 1
                if failures <= 10:
                    print(f"record {records}: {error.message}", file=sys.stderr)
    print(
        f"variants.py: {records} records against {validator_class.__name__}: {failures} errors",
        file=sys.stderr,
    )
    return failures


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--form", choices=FORMS, help="the form to write")
    ap.add_argument("--source", type=Path, help="a simple-shape stream from generate.py")
    ap.add_argument("--out", type=Path, help="where the rewritten stream goes")
    ap.add_argument("--validate", type=Path, metavar="TAP_STREAM", help="check a tap stream")
    args = ap.parse_args(argv)
    if args.validate is None and not (args.form and args.source and args.out):
        ap.error("give --form, --source and --out, or --validate")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.validate is not None:
        return 1 if validate(args.validate) else 0
    if args.form == "tap":
        lines = write_tap(args.source, args.out)
        print(f"variants.py: tap SCHEMA + {lines} lines -> {args.out}", file=sys.stderr)
    else:
        batches = write_api(args.source, args.out)
        print(f"variants.py: {batches} Import API batches -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
