# Sourced by bench/run.sh and bench/serve.sh: the project's .venv (scripts/_env.sh), made if missing.
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# A venv made by scripts/test.sh (dev) already has the project: do not install it again as "run".
mode=run
if compgen -G "$here/../.venv/.installed-*-dev" >/dev/null; then mode=dev; fi
# shellcheck source=../scripts/_env.sh
source "$here/../scripts/_env.sh" "$mode"   # sets ROOT and VENV; installs what is missing
# The project is installed editable: without this, a run under PYTHONDONTWRITEBYTECODE=1
# compiles every module of it again, which an installed wheel (bytecode made by pip) never does.
"$VENV/bin/python" -m compileall -q "$ROOT/target_sequenced"
