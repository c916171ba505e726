"""The loader under Meltano: ``meltano.yml`` as shipped, ``meltano install``, ``meltano run``.

The end-to-end test copies ``meltano.yml`` into a scratch project, points the
loader's ``pip_url`` at this checkout, installs both plugins from PyPI (Meltano
uses uv) and runs ``tap-jsonl`` into ``target-sequenced`` twice, then reads the
DuckDB file back. Meltano itself comes from the test dependency group.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import typing as t
from pathlib import Path

import duckdb
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "meltano"
INSTALL_TIMEOUT = 300
RUN_TIMEOUT = 180

# Meltano kinds for the JSON Schema types of the loader's settings.
KINDS = {"string": "string", "boolean": "boolean", "integer": "integer", "object": "object"}

COLUMNS = "id, name, plan, seq, _sdc_sequence, _sdc_deleted_at"
# customers-1.jsonl alone: per key the greatest `seq` wins within the run; Ada's
# plan "team" (seq 20) comes after "pro" (seq 30) in the file and loses.
AFTER_FIRST_RUN = [
    (1, "Ada", "pro", 30, 30, None),
    (2, "Grace", "team", 40, 40, None),
    (3, "Linus", "free", 10, 10, None),
]
# Then customers-2.jsonl alone: Grace's plan "trial" (seq 35) arrives a run
# later than the stored "team" (seq 40) and loses to the stored row; Linus's
# newer version wins and Barbara is new. Reading both files in one run (as the
# shipped meltano.yml does) gives these rows too.
AFTER_SECOND_RUN = [
    (1, "Ada", "pro", 30, 30, None),
    (2, "Grace", "team", 40, 40, None),
    (3, "Linus", "enterprise", 50, 50, None),
    (4, "Barbara", "free", 10, 10, None),
]


def _meltano_yml() -> dict[str, t.Any]:
    return t.cast("dict[str, t.Any]", yaml.safe_load((ROOT / "meltano.yml").read_text()))


def _about() -> dict[str, t.Any]:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from target_sequenced.singer.target import TargetSequenced; TargetSequenced.cli()",
            "--about",
            "--format=json",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return t.cast("dict[str, t.Any]", json.loads(out))


def test_meltano_yml_declares_every_setting_of_about():
    (loader,) = _meltano_yml()["plugins"]["loaders"]
    about = _about()
    props = about["settings"]["properties"]
    declared = {s["name"]: s for s in loader["settings"]}

    assert loader["name"] == "target-sequenced"
    assert loader["namespace"] == "target_sequenced"
    assert loader["pip_url"] == "-e ."
    assert loader["executable"] == "target-sequenced"
    assert sorted(loader["capabilities"]) == sorted(about["capabilities"])
    assert list(declared) == list(props)
    for name, prop in props.items():
        setting = declared[name]
        (json_type,) = [ty for ty in prop["type"] if ty != "null"]
        kind = "options" if "enum" in prop else KINDS[json_type]
        assert setting["kind"] == kind, name
        assert setting["label"] == prop["title"], name
        assert setting["description"] == prop["description"], name
        if "enum" in prop:
            assert [o["value"] for o in setting["options"]] == prop["enum"], name


def test_the_readme_snippet_for_an_existing_project_is_the_tested_entry() -> None:
    """The README's loader entry for another project is meltano.yml's (what the e2e test runs)."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index("```yaml\nplugins:\n  loaders:")
    snippet = yaml.safe_load(readme[start + len("```yaml\n") : readme.index("```", start + 7)])
    (entry,) = snippet["plugins"]["loaders"]
    (loader,) = _meltano_yml()["plugins"]["loaders"]
    for field in ("name", "namespace", "executable"):
        assert entry[field] == loader[field], field
    assert set(entry["config"]) <= set(loader.get("config", {})) | {
        s["name"] for s in loader["settings"]
    }
    assert "meltano install --plugin-type loader target-sequenced" in readme


def _meltano_executable() -> str:
    beside = Path(sys.executable).parent / "meltano"
    found = str(beside) if beside.exists() else shutil.which("meltano")
    if found is None:
        pytest.fail(
            "meltano not found beside the interpreter or on PATH: it is in the test "
            "dependency group (pip install --group pyproject.toml:test)"
        )
    return found


def _meltano(project: Path, *args: str, timeout: int, status: int = 0) -> str:
    # Only the project's own settings: no TARGET_SEQUENCED_*/TAP_JSONL_*/MELTANO_*
    # override from the caller's environment reaches Meltano or the plugins.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TARGET_SEQUENCED_", "TAP_JSONL_", "MELTANO_"))
        and key != "VIRTUAL_ENV"
    }
    env["MELTANO_SEND_ANONYMOUS_USAGE_STATS"] = "false"
    proc = subprocess.run(
        [_meltano_executable(), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == status, f"meltano {' '.join(args)}:\n{output[-6000:]}"
    return output


def _rows(database: Path) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(f"SELECT {COLUMNS} FROM main.customers ORDER BY id").fetchall()


@pytest.mark.meltano
def test_meltano_run_tap_jsonl_into_target_sequenced(tmp_path):
    project = tmp_path / "project"
    data = project / "tests" / "data" / "meltano"
    data.mkdir(parents=True)
    shipped = (ROOT / "meltano.yml").read_text()
    assert shipped.count("pip_url: -e .\n") == 1
    (project / "meltano.yml").write_text(
        shipped.replace("pip_url: -e .\n", f"pip_url: -e {shlex.quote(str(ROOT))}\n")
    )

    _meltano(project, "install", timeout=INSTALL_TIMEOUT)
    database = project / "meltano.duckdb"  # sqlalchemy_url in meltano.yml

    shutil.copy(DATA / "customers-1.jsonl", data)
    _meltano(project, "run", "tap-jsonl", "target-sequenced", timeout=RUN_TIMEOUT)
    assert _rows(database) == AFTER_FIRST_RUN

    (data / "customers-1.jsonl").unlink()
    shutil.copy(DATA / "customers-2.jsonl", data)
    _meltano(project, "run", "tap-jsonl", "target-sequenced", timeout=RUN_TIMEOUT)
    assert _rows(database) == AFTER_SECOND_RUN

    # A loader error reaches Meltano's log as an error, the loader's one line.
    (data / "customers-2.jsonl").unlink()
    bad = '{"id": 5, "name": "Ken", "plan": "free", "seq": "x"}\n'
    (data / "customers-3.jsonl").write_text(bad)
    output = _meltano(
        project, "run", "tap-jsonl", "target-sequenced", timeout=RUN_TIMEOUT, status=1
    )
    [error] = [line for line in output.splitlines() if "input line" in line]
    assert "[error" in error
    assert "stream 'customers', input line 3, record 0: record does not conform" in error
    assert "#/seq: 'x' is not of type" in error
    assert "Traceback" not in output
    assert _rows(database) == AFTER_SECOND_RUN
