#!/usr/bin/env bash
# Benchmark target-sequenced serve (the Import API over HTTP): see bench/serve.py --help.
#   bench/serve.sh [--clients 1,4,16] [--pg] [--batch-messages 20000]
# Makes the project's .venv first (scripts/_env.sh); see bench/README.md and bench/run.py --help.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# A venv made by scripts/test.sh (dev) already has the project: do not install it again as "run".
mode=run
if compgen -G "$here/../.venv/.installed-*-dev" >/dev/null; then mode=dev; fi
# shellcheck source=../scripts/_env.sh
source "$here/../scripts/_env.sh" "$mode"   # sets ROOT and VENV; installs what is missing
exec "$VENV/bin/python" "$ROOT/bench/serve.py" "$@"
