"""Print a DuckDB table: show_table.py FILE.duckdb TABLE [SCHEMA].

Shows the data columns and ``_sdc_sequence``; the other system columns are
left out to keep the output narrow.
"""

from __future__ import annotations

import sys

import duckdb


def main() -> None:
    path, table = sys.argv[1], sys.argv[2]
    schema = sys.argv[3] if len(sys.argv) > 3 else "main"  # noqa: PLR2004
    con = duckdb.connect(path, read_only=True)
    relation = con.table(f"{schema}.{table}")
    shown = [c for c in relation.columns if not c.startswith("_sdc_") or c == "_sdc_sequence"]
    relation.select(*shown).order(shown[0]).show(max_width=160)


if __name__ == "__main__":
    main()
