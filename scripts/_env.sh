# Sourced by the other scripts: a virtualenv in .venv with the project installed.
# Needs Python 3.10+ as `python3` (or set PYTHON).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3}
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || {
  echo "target-sequenced needs Python 3.10 or newer (found $("$PYTHON" --version 2>&1))" >&2; exit 1; }
VENV="$ROOT/.venv"
STAMP="$VENV/.installed-$(cat "$ROOT/pyproject.toml" | sha1sum | cut -c1-12)-${1:-run}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
if [ ! -f "$STAMP" ]; then
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -U 'pip>=25.1'
  if [ "${1:-run}" = dev ]; then
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT" --group "$ROOT/pyproject.toml:dev"
  else
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT"
  fi
  touch "$STAMP"
fi
