#!/usr/bin/env bash
# Benchmark target-sequenced (and the peers bench/setup_peers.sh installed) and check the tables.
#   bench/run.sh [--scenarios b,c,b-pg,d] [--runs 3] [--peers auto|none] [--warmup 0]
# Makes the project's .venv first (scripts/_env.sh); see bench/README.md and bench/run.py --help.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
exec "$VENV/bin/python" "$ROOT/bench/run.py" "$@"
