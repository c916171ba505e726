#!/usr/bin/env bash
# Install the peer Singer targets that bench/run.sh compares target-sequenced with,
# each in its own virtualenv under ${PEERS:-$HOME/.cache/target-sequenced-bench/peers}.
# Optional and idempotent: a venv whose pinned requirements are already installed is left alone.
#   bench/setup_peers.sh            # all peers
#   bench/setup_peers.sh target-duckdb dlt
# env: PEERS (where the venvs go), PYTHON (interpreter for the venvs, default python3)
set -euo pipefail
PEERS=${PEERS:-$HOME/.cache/target-sequenced-bench/peers}
PYTHON=${PYTHON:-python3}
mkdir -p "$PEERS"

# name -> pinned requirements. target-duckdb 0.8.0 and dlt (duckdb>=0.9) leave duckdb unpinned;
# pin it so that the file they write is readable by the checker, which runs in the project's
# venv with duckdb 2.0.1 (newer DuckDB reads older storage, not the reverse). dlt is a library,
# not a Singer target: bench/peers/dlt_load.py runs with this venv's python.
requirements() {
  case $1 in
    target-duckdb)   echo "target-duckdb==0.8.0 duckdb==2.0.1" ;;
    target-postgres) echo "meltanolabs-target-postgres==0.8.1" ;;
    dlt)             echo "dlt[duckdb,parquet]==1.31.0 duckdb==2.0.1" ;;
    *) echo "unknown peer: $1 (known: target-duckdb target-postgres dlt)" >&2; return 2 ;;
  esac
}

install_peer() {
  local name=$1 reqs venv stamp
  reqs=$(requirements "$name") || return 2
  venv="$PEERS/$name"
  stamp="$venv/.bench-installed"
  if [ -x "$venv/bin/$name" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$reqs" ]; then
    echo "$name: already installed ($reqs)"
    return 0
  fi
  echo "$name: installing $reqs into $venv" >&2
  [ -x "$venv/bin/python" ] || "$PYTHON" -m venv "$venv"
  # shellcheck disable=SC2086  # $reqs is a list of requirement specifiers
  if ! "$venv/bin/python" -m pip install -q --disable-pip-version-check $reqs \
       >"$venv/pip.log" 2>&1; then
    echo "$name: pip install failed, see $venv/pip.log" >&2
    tail -n 5 "$venv/pip.log" >&2
    return 1
  fi
  printf '%s' "$reqs" > "$stamp"
  echo "$name: $("$venv/bin/python" -m pip freeze --disable-pip-version-check \
    | grep -iE '^(target-duckdb|meltanolabs-target-postgres|duckdb|singer-sdk|dlt|pyarrow)==' \
    | tr '\n' ' ')"
}

[ $# -gt 0 ] || set -- target-duckdb target-postgres dlt
status=0
for name in "$@"; do install_peer "$name" || status=1; done
exit $status
