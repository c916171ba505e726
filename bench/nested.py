"""Write a Singer stream whose records hold an object of scalars two levels deep.

    python bench/nested.py [RECORDS] > nested.jsonl

The input of a measured choice in bench/README.md (members' types read from
the line's one ``json_type()`` call): 200,000 records by default, one per
key, the same values each time. Standard library only.
"""

from __future__ import annotations

import json
import sys

SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "addr": {
            "type": ["object", "null"],
            "properties": {
                "street": {"type": ["string", "null"]},
                "city": {"type": ["string", "null"]},
                "zip": {"type": ["string", "null"]},
                "geo": {
                    "type": ["object", "null"],
                    "properties": {
                        "lat": {"type": ["number", "null"]},
                        "lon": {"type": ["number", "null"]},
                    },
                },
            },
        },
    },
}


def main() -> None:
    records = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    out = sys.stdout
    message = {"type": "SCHEMA", "stream": "s", "schema": SCHEMA, "key_properties": ["id"]}
    out.write(json.dumps(message) + "\n")
    for i in range(records):
        addr = {"street": f"{i} main st", "city": "x", "zip": "12345"}
        addr["geo"] = {"lat": 1.5, "lon": -2.25}
        record = {"id": i, "addr": addr}
        out.write(json.dumps({"type": "RECORD", "stream": "s", "record": record}) + "\n")


if __name__ == "__main__":
    main()
