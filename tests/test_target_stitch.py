"""A real Stitch client: target-stitch 4.0.3 (from the package registry) posting to our server.

target-stitch runs in a virtualenv of its own (``uv`` builds it once, under
``~/.cache/target-sequenced-tests``; its psutil needs a C compiler), configured
as spec section 6.2 says (``disable_collection: true``, both batch URLs
pointing at the server). It is fed a generated Singer stream: three streams,
every key in five versions interleaved across the input, STATE messages
between. target-stitch numbers its messages itself (nanoseconds, increasing
along its input), so per key the version last in the input must win, also
when ``turbo_boost_factor`` 4 has its requests arrive out of order.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

from tests.serving import CLIENT, TOKEN, serving, write_config

if t.TYPE_CHECKING:
    from tests.helpers import Db

VERSION = "4.0.3"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "target-sequenced-tests"


def _target_stitch() -> Path:
    venv = CACHE / f"target-stitch-{VERSION}"
    exe = venv / "bin" / "target-stitch"
    if exe.exists():
        return exe
    uv = Path(sys.executable).parent / "uv"
    found = str(uv) if uv.exists() else shutil.which("uv")
    if found is None:
        pytest.fail("uv not found beside the interpreter or on PATH: it comes with Meltano")
    tmp = venv.with_suffix(".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    subprocess.run([found, "venv", "-q", "--python", sys.executable, str(tmp)], check=True)
    subprocess.run(
        [found, "pip", "install", "-q", "--python", str(tmp / "bin" / "python"),
         f"target-stitch=={VERSION}"],
        check=True,
        timeout=600,
    )  # fmt: skip
    shutil.rmtree(venv, ignore_errors=True)
    tmp.rename(venv)
    # The scripts name the interpreter of the folder they were made in.
    for script in (venv / "bin").iterdir():
        if script.is_file() and not script.is_symlink():
            text = script.read_bytes()
            if str(tmp).encode() in text:
                script.write_bytes(text.replace(str(tmp).encode(), str(venv).encode()))
    return exe


def _stream(seed: int) -> tuple[str, dict[str, dict[int, str]], dict]:
    """Singer input, the last version of each key per stream, and the last STATE."""
    rng = random.Random(seed)
    streams = ("orders", "users", "items")
    lines = [
        {"type": "SCHEMA", "stream": s, "key_properties": ["id"],
         "schema": {"type": "object", "properties": {"id": {"type": "integer"},
                                                     "v": {"type": ["null", "string"]}}}}
        for s in streams
    ]  # fmt: skip
    versions = [(s, key, n) for s in streams for key in range(120) for n in range(5)]
    rng.shuffle(versions)
    last: dict[str, dict[int, str]] = {s: {} for s in streams}
    state: dict = {}
    for i, (stream, key, n) in enumerate(versions):
        value = f"{stream}-{key}-v{n}-{i}"
        lines.append({"type": "RECORD", "stream": stream, "record": {"id": key, "v": value}})
        last[stream][key] = value
        if i % 250 == 249:
            state = {"bookmarks": {"position": i}}
            lines.append({"type": "STATE", "value": state})
    return "".join(json.dumps(line) + "\n" for line in lines), last, state


@pytest.mark.parametrize("turbo", [1, 4])
def test_target_stitch_loads_through_the_server(db: Db, tmp_path: Path, turbo: int) -> None:
    exe = _target_stitch()
    config = write_config(tmp_path / "server.json", db.config())
    text, last, state = _stream(seed=turbo)
    with serving(config, tmp_path / "server.log") as server:
        client = tmp_path / "target-stitch.json"
        url = f"{server.base}/v2/import/batch"
        client.write_text(json.dumps({
            "token": TOKEN, "client_id": CLIENT, "small_batch_url": url,
            "big_batch_url": url.replace("/batch", "/bigbatch"),
            "batch_size_preferences": {}, "disable_collection": True,
            "turbo_boost_factor": turbo,
        }))  # fmt: skip
        done = subprocess.run(
            [str(exe), "--config", str(client), "--max-batch-records", "100"],
            input=text,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-4000:]
        assert server.stop() == 0
    assert json.loads(done.stdout.splitlines()[-1]) == state
    for stream, values in last.items():
        rows = db.rows(stream, columns="id, v")
        assert {r["id"]: r["v"] for r in rows} == values
    log = (tmp_path / "server.log").read_text()
    assert log.count("POST /v2/import/batch 201") > 10
