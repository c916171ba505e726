"""Time this checkout against another revision of target-sequenced on one input, in turn.

    .venv/bin/python bench/versus.py --input FILE [--runs 6] [--postgres URL] REV

Makes a git worktree of REV (under ``$BENCH_DIR/versus``), compiles both trees to
bytecode (as an installed wheel is), then runs the two loaders one after the
other, A (this checkout) B (REV) A B ..., each as a whole process from a fresh
DuckDB file (or, with ``--postgres``, a fresh schema), with the project's
interpreter and packages. It prints each side's median wall seconds (min-max)
and the median of the per-pair ratios A/B: pairing keeps the ratio meaningful
when the machine's speed drifts.

Each run's working directory is an empty folder: Python puts the working
directory first on ``sys.path`` for ``-c``, so run from inside a checkout the
other side would load that checkout's code instead of its own. Standard
library only, besides the project's own packages for ``--postgres``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOAD = "from target_sequenced.cli import main; main()"


def worktree(rev: str, base: Path) -> Path:
    """A checkout of ``rev`` (made once, reused)."""
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", f"{rev}^{{commit}}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    path = base / commit[:12]
    if not path.exists():
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), commit],
            check=True,
            capture_output=True,
        )
    return path


def once(tree: Path, source: Path, work: Path, postgres: str | None) -> float:
    """One whole run of the loader in ``tree``: its wall seconds."""
    name = f"v{uuid.uuid4().hex[:10]}"
    if postgres:
        config = {"sqlalchemy_url": postgres, "default_target_schema": name}
    else:
        config = {"sqlalchemy_url": f"duckdb:///{work / name}.duckdb"}
    path = work / f"{name}.json"
    path.write_text(json.dumps(config))
    env = {**os.environ, "PYTHONPATH": str(tree)}
    with source.open("rb") as stdin:
        start = time.monotonic()
        subprocess.run(
            [sys.executable, "-c", LOAD, "--config", str(path)],
            stdin=stdin,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=work,
            env=env,
            check=True,
        )
        wall = time.monotonic() - start
    if postgres:
        drop(postgres, name)
    for leftover in work.iterdir():
        leftover.unlink()
    return wall


def drop(url: str, schema: str) -> None:
    """Drop a run's PostgreSQL schema (outside the timing)."""
    import sqlalchemy as sa  # noqa: PLC0415 - only for --postgres

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def main() -> None:
    """Parse the arguments, run in turn, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("rev", help="the revision to compare with (B)")
    parser.add_argument("--input", type=Path, required=True, help="a bench input (stdin)")
    parser.add_argument("--runs", type=int, default=6)
    parser.add_argument("--postgres", help="a PostgreSQL URL; a fresh schema each run")
    args = parser.parse_args()
    bench = Path(os.environ.get("BENCH_DIR") or "/tmp/target-sequenced-bench")  # noqa: S108
    (bench / "versus").mkdir(parents=True, exist_ok=True)
    other = worktree(args.rev, bench / "versus")
    for tree in (ROOT, other):
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(tree / "target_sequenced")], check=True
        )
    walls: dict[str, list[float]] = {"A": [], "B": []}
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        once(ROOT, args.input, work, args.postgres)  # warm-up: the page cache, not counted
        for _ in range(args.runs):
            walls["A"].append(once(ROOT, args.input, work, args.postgres))
            walls["B"].append(once(other, args.input, work, args.postgres))
    ratios = [a / b for a, b in zip(walls["A"], walls["B"], strict=True)]
    for side, label in (("A", "this checkout"), ("B", f"{args.rev} ({other.name})")):
        found = walls[side]
        print(
            f"{side} {label}: median {statistics.median(found):.3f} s "
            f"({min(found):.3f}-{max(found):.3f}), {len(found)} runs"
        )
    print(
        f"A/B wall: median {statistics.median(ratios):.3f} "
        f"({min(ratios):.3f}-{max(ratios):.3f}), input {args.input.name}"
    )


if __name__ == "__main__":
    main()
