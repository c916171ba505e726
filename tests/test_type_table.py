"""The README's type table is what the databases really report.

Each row's first cell is a property schema and its second the value loaded
(JSON; a number column's type follows its values); the test loads one column
per row and compares ``information_schema.columns.data_type`` with the row's
cell for the dialect, and reads each value back as text, so the table cannot
drift from the code.
"""

from __future__ import annotations

import decimal
import json
import re
from pathlib import Path

from tests.helpers import Db, lines, record, run_target, schema

README = Path(__file__).resolve().parents[1] / "README.md"
COLUMN = {"duckdb": 2, "postgresql": 3}


def readme_type_table() -> list[list[str]]:
    text = README.read_text(encoding="utf-8")
    block = re.search(r"<!-- type-table -->\n(.*?)<!-- /type-table -->", text, re.DOTALL)
    assert block, "README.md lacks the <!-- type-table --> block"
    rows = [line for line in block.group(1).splitlines() if line.startswith("|")][2:]
    cells = [[c.strip().strip("`") for c in row.strip("|").split("|")] for row in rows]
    assert len(cells) >= 7
    return cells


def test_readme_type_table_matches_the_database(db: Db) -> None:
    table = readme_type_table()
    props: dict = {"id": {"type": "integer"}}
    values: dict = {"id": 1}
    for n, row in enumerate(table):
        props[f"c{n}"] = json.loads(row[0])
        values[f"c{n}"] = json.loads(row[1], parse_float=decimal.Decimal)
    run_target(db.config(), lines(schema("types", props), record("types", values)))
    types = db.column_types("types")
    got = {f"c{n}": types[f"c{n}"] for n in range(len(table))}
    want = {f"c{n}": row[COLUMN[db.dialect]].lower() for n, row in enumerate(table)}
    assert got == want
    (stored,) = db.rows("types")
    for n, row in enumerate(table):
        value, sent = stored[f"c{n}"], values[f"c{n}"]
        if isinstance(sent, (int, decimal.Decimal)) and not isinstance(sent, bool):
            assert decimal.Decimal(str(value)) == sent, (row, value)  # numbers exactly
