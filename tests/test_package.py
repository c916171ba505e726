"""The package as users install it: a wheel built from the checkout, in a fresh virtualenv.

``uv`` (installed with Meltano, in the test group) builds the wheel in
isolation from ``pyproject.toml`` alone, as ``python -m build`` would, and
installs it with its dependencies into an empty virtualenv; the command then
loads a file. Nothing of the checkout is importable there.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 600


def _uv() -> str:
    beside = Path(sys.executable).parent / "uv"
    found = str(beside) if beside.exists() else shutil.which("uv")
    if found is None:
        pytest.fail("uv not found beside the interpreter or on PATH: it comes with Meltano")
    return found


def _run(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_the_wheel_installs_and_loads_in_a_fresh_virtualenv(tmp_path: Path) -> None:
    source = tmp_path / "source"
    # A copy without the virtualenv or caches: only what a clone holds.
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(".venv", ".git", "*.duckdb", "__pycache__", ".*_cache"),
    )
    dist = tmp_path / "dist"
    _run(_uv(), "build", "--wheel", "--out-dir", str(dist), str(source), cwd=tmp_path)
    [wheel] = dist.glob("target_sequenced-*.whl")
    venv = tmp_path / "venv"
    _run(_uv(), "venv", "--python", sys.executable, str(venv), cwd=tmp_path)
    python = venv / "bin" / "python"
    _run(_uv(), "pip", "install", "--python", str(python), str(wheel), cwd=tmp_path)

    exe = venv / "bin" / "target-sequenced"
    assert "target-sequenced v0.1.0" in _run(str(exe), "--version", cwd=tmp_path)
    where = _run(
        str(python), "-c", "import target_sequenced; print(target_sequenced.__file__)", cwd=tmp_path
    )
    assert str(venv) in where  # the installed package, not the checkout
    config = tmp_path / "config.json"
    database = tmp_path / "w.duckdb"
    config.write_text(json.dumps({"sqlalchemy_url": f"duckdb:///{database}"}))
    example = ROOT / "examples" / "stitch-sequencing-guide.jsonl"
    done = subprocess.run(
        [str(exe), "--config", str(config), "--input", str(example)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.execute("SELECT id, name, has_magic FROM customers ORDER BY id").fetchall()
    assert rows == [(1, "Finn", False), (2, "Jake", False)]
