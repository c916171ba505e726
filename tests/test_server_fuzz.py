"""Schema-driven fuzzing of the served OpenAPI document (schemathesis): no 5xx, JSON answers.

schemathesis derives requests from ``GET /openapi.json`` (valid and broken
bodies, wrong methods, missing tokens) and checks each answer: never a
server error, and a content type and body the document declares. The
server's log then shows no traceback.
"""

from __future__ import annotations

import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

from tests.serving import TOKEN, serving, write_config

if t.TYPE_CHECKING:
    from tests.helpers import Db


CHECKS = "not_a_server_error,content_type_conformance,response_schema_conformance"


@pytest.mark.parametrize("seed", [1, 2])
def test_fuzzing_the_openapi_document_finds_no_server_error(
    db: Db, tmp_path: Path, seed: int
) -> None:
    config = write_config(tmp_path / "config.json", db.config())
    cli = Path(sys.executable).with_name("schemathesis")
    with serving(config, tmp_path / "server.log") as server:
        done = subprocess.run(
            [
                str(cli), "run", f"{server.base}/openapi.json",
                "-H", f"Authorization: Bearer {TOKEN}",
                "--max-examples", "60", "--seed", str(seed),
                "--checks", CHECKS,
            ],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert server.stop() == 0
    assert done.returncode == 0, done.stdout[-6000:]
    assert " passed" in done.stdout
    log = (tmp_path / "server.log").read_text()
    assert "Traceback" not in log
    assert " 500 table=" not in log
    assert TOKEN not in log  # one line per request, never a token
    assert " table=" in log
