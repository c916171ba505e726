#!/usr/bin/env bash
# The main job: load the bundled example into the default DuckDB file
# (./target_sequenced.duckdb) and show the resulting table.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh" run
cd "$ROOT"
echo "+ target-sequenced --input examples/customers.singer" >&2
"$VENV/bin/target-sequenced" --input examples/customers.singer
echo "+ SELECT * FROM customers   (in ./target_sequenced.duckdb)" >&2
"$VENV/bin/python" scripts/show_table.py target_sequenced.duckdb customers
