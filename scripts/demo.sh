#!/usr/bin/env bash
# The main job: load the bundled example (Stitch's sequencing guide, as an
# Import API batch) into the default DuckDB file (./target_sequenced.duckdb)
# and show the resulting table.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh" run
cd "$ROOT"
echo "+ target-sequenced < examples/stitch-sequencing-guide.jsonl" >&2
"$VENV/bin/target-sequenced" < examples/stitch-sequencing-guide.jsonl
echo "+ SELECT * FROM customers   (in ./target_sequenced.duckdb)" >&2
"$VENV/bin/python" scripts/show_table.py target_sequenced.duckdb customers
