#!/usr/bin/env bash
# Benchmark target-sequenced serve (the Import API over HTTP) against the stdin path.
#   bench/serve.sh [--clients 1,4,16] [--pg] [--batch-messages 20000] [--rounds 2]
# Makes the project's .venv first (scripts/_env.sh); see bench/README.md and bench/serve.py --help.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
exec "$VENV/bin/python" "$ROOT/bench/serve.py" "$@"
