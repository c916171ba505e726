#!/usr/bin/env bash
# Benchmark target-sequenced (and the peers bench/setup_peers.sh installed) and check the tables.
#   bench/run.sh [--scenarios b,c,b-pg,d] [--runs 3] [--peers auto|none] [--warmup 0]
# Makes the project's .venv first (scripts/_env.sh); see bench/README.md and bench/run.py --help.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# A venv made by scripts/test.sh (dev) already has the project: do not install it again as "run".
mode=run
if compgen -G "$here/../.venv/.installed-*-dev" >/dev/null; then mode=dev; fi
# shellcheck source=../scripts/_env.sh
source "$here/../scripts/_env.sh" "$mode"   # sets ROOT and VENV; installs what is missing
exec "$VENV/bin/python" "$ROOT/bench/run.py" "$@"
