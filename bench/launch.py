"""A small process that starts the measured loaders for bench/run.py and reports their usage.

Why a separate process: on Linux a child's max RSS (wait4's ru_maxrss) starts from the RSS of
the process it was forked from (exec keeps the larger of the two), so a loader started directly
by run.py, which holds the expected tables, would report at least run.py's own peak. Forked from
this process, started before run.py loads anything, a loader's figure includes only a few MiB
of it (measured by the "floor" job: the same fork + exec of `true`).

Protocol: one JSON job per line on stdin, {"argv": [...], "stdin": PATH, "log": PATH}; one JSON
reply per line on stdout, {"wall": seconds, "maxrss_kib": KiB, "code": exit code}.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

_child = 0


def _stop(signum: int, _frame: object) -> None:
    if _child:
        os.kill(_child, signal.SIGKILL)
    os._exit(128 + signum)


def run(job: dict[str, object]) -> dict[str, object]:
    global _child  # noqa: PLW0603
    argv = [str(a) for a in job["argv"]]  # type: ignore[attr-defined]
    stdin = os.open(str(job["stdin"]), os.O_RDONLY)
    null = os.open(os.devnull, os.O_WRONLY)
    log = os.open(str(job["log"]), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: stdin from the file, stdout discarded, stderr to the log
        try:
            os.dup2(stdin, 0)
            os.dup2(null, 1)
            os.dup2(log, 2)
            os.execv(argv[0], argv)  # noqa: S606
        finally:
            os._exit(127)
    _child = pid
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - start
    _child = 0
    for fd in (stdin, null, log):
        os.close(fd)
    return {"wall": wall, "maxrss_kib": usage.ru_maxrss, "code": os.waitstatus_to_exitcode(status)}


def main() -> None:
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    for line in sys.stdin:
        sys.stdout.write(json.dumps(run(json.loads(line))) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
