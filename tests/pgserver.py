"""A throwaway PostgreSQL server for the tests, on 127.0.0.1 only.

Set ``TARGET_SEQUENCED_TEST_PG_URL`` to use a server you already run instead.
Otherwise ``initdb`` (from PATH or ``/usr/lib/postgresql/*/bin``) makes a
cluster in a temporary folder and ``pg_ctl`` starts it on a free port; as
root, both run as the ``postgres`` user, since PostgreSQL refuses root.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import typing as t
from pathlib import Path

ENV_URL = "TARGET_SEQUENCED_TEST_PG_URL"


def _pg_bin(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if candidates:
        return candidates[-1]
    msg = (
        f"{name} not found: install the PostgreSQL server (Debian: apt-get install "
        f"postgresql) or set {ENV_URL} to a server's URL"
    )
    raise RuntimeError(msg)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def postgres_server(*, durable: bool = False) -> t.Iterator[str]:
    """Yield a SQLAlchemy URL of a running server; stop and remove it afterwards.

    Tests run it with ``fsync=off``; ``durable`` keeps PostgreSQL's defaults
    (fsync and synchronous commit on), as the benchmark wants.
    """
    if os.environ.get(ENV_URL):
        yield os.environ[ENV_URL]
        return
    with own_server(durable=durable) as (url, _):
        yield url


@contextlib.contextmanager
def own_server(*, durable: bool = False) -> t.Iterator[tuple[str, t.Callable[[], None]]]:
    """A server of the test's own, and a function that restarts it (``pg_ctl restart -m fast``)."""
    root = Path(tempfile.mkdtemp(prefix="ts-pg-"))
    data = root / "data"
    prefix: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    run = {"check": True, "capture_output": True, "text": True}
    subprocess.run(
        [
            *prefix,
            _pg_bin("initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        **run,  # type: ignore[arg-type]
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1"
    if not durable:
        options += " -c fsync=off"

    ctl = [*prefix, _pg_bin("pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log")]

    def pg_ctl(*action: str) -> None:
        subprocess.run([*ctl, *action], **run)  # type: ignore[call-overload]

    pg_ctl("-w", "start")

    def restart() -> None:
        pg_ctl("-m", "fast", "-w", "restart")

    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", restart
    finally:
        subprocess.run(
            [*prefix, _pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)
