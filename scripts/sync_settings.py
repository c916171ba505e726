"""Write the settings of `target-sequenced --about` into README.md and meltano.yml.

Run after changing a setting: .venv/bin/python scripts/sync_settings.py
(tests/test_readme.py and tests/test_meltano.py hold both files to --about).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXE = str(Path(sys.executable).with_name("target-sequenced"))
KINDS = {"string": "string", "boolean": "boolean", "integer": "integer", "object": "object"}
SENSITIVE = {"sqlalchemy_url": "a PostgreSQL URL carries a password"}


def about(fmt: str) -> str:
    return subprocess.run(
        [EXE, "--about", f"--format={fmt}"], capture_output=True, text=True, check=True
    ).stdout


def readme() -> None:
    table = about("markdown")
    block = re.search(r"\| Setting \|.*?(?=\n\n|\Z)", table, re.DOTALL)
    if block is None:
        sys.exit("no settings table in --about --format=markdown")
    path = ROOT / "README.md"
    text = path.read_text(encoding="utf-8")
    text = re.sub(
        r"(<!-- settings-table -->\n).*?(\n<!-- /settings-table -->)",
        lambda m: m.group(1) + block.group(0).strip() + m.group(2),
        text,
        flags=re.DOTALL,
    )
    path.write_text(text, encoding="utf-8")


def meltano() -> None:
    props = json.loads(about("json"))["settings"]["properties"]
    out = ["      settings:"]
    for name, prop in props.items():
        (json_type,) = [ty for ty in prop["type"] if ty != "null"]
        out += [f"        - name: {name}", f'          label: "{prop["title"]}"']
        if "enum" in prop:
            out.append("          kind: options")
            out.append("          options:")
            for value in prop["enum"]:
                out += [f"            - label: {value}", f"              value: {value}"]
        else:
            out.append(f"          kind: {KINDS[json_type]}")
        if name in SENSITIVE:
            out.append(f"          sensitive: true  # {SENSITIVE[name]}")
        out.append("          description: >-")
        out += ["            " + line for line in textwrap.wrap(prop["description"], 84)]
    path = ROOT / "meltano.yml"
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"      settings:\n.*?(?=\n      config:)", "\n".join(out), text, flags=re.DOTALL)
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    readme()
    meltano()
