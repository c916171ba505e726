#!/usr/bin/env bash
# The whole test suite: lint, types, and every test on DuckDB and PostgreSQL
# (a throwaway server on 127.0.0.1; the Meltano run included).
# Extra arguments go to pytest, e.g. scripts/test.sh -k contract
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh" dev
cd "$ROOT"
if [ -z "${TARGET_SEQUENCED_TEST_PG_URL:-}" ] && ! command -v initdb >/dev/null \
   && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "+ installing the PostgreSQL server (Debian package postgresql)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "PostgreSQL server not found: install it (e.g. apt-get install postgresql)" \
         "or set TARGET_SEQUENCED_TEST_PG_URL=postgresql+psycopg://user:pass@host:port/db" >&2
    exit 1
  fi
fi
echo "+ ruff check; mypy" >&2
"$VENV/bin/ruff" check target_sequenced tests scripts
"$VENV/bin/mypy" target_sequenced
echo "+ pytest" >&2
"$VENV/bin/python" -m pytest -n 2 "$@"
