"""The README's settings table is the target's own ``--about`` output."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_settings_table_is_the_about_output() -> None:
    exe = Path(sys.executable).with_name("target-sequenced")
    about = subprocess.run(
        [exe, "--about", "--format=markdown"], capture_output=True, text=True, check=True
    )
    table = re.search(r"^\| Setting .*?(?=\n\n|\Z)", about.stdout, re.DOTALL | re.MULTILINE)
    assert table
    block = re.search(
        r"<!-- settings-table -->\n(.*?)\n<!-- /settings-table -->", README.read_text(), re.DOTALL
    )
    assert block
    assert block.group(1).strip() == table.group(0).strip()
