"""The ``target-sequenced`` command: the SDK's CLI, then an exit without interpreter teardown.

The imports run with the cycle collector paused (see :func:`main`).

Tearing the interpreter down (the modules of the SDK, SQLAlchemy, DuckDB and
Arrow, object by object) took 0.15 to 0.2 s after the work was done, about
15 % of a 200,000-record run (bench scenario b). By then everything that
matters is finished: every load committed, the destination closed, STATE
written. So when the CLI exits with a status, the other exit handlers run as
usual (this one is registered before any of them, so it runs last), logging
and the standard streams are flushed, and the process ends with
``os._exit`` and that status. Instagram's Python services skip the same
teardown the same way.

An error that escapes the CLI (it normally exits through ``SystemExit``), or
Ctrl-C, takes Python's normal exit. Using :class:`TargetSequenced` as a
library is unaffected.
"""

from __future__ import annotations

import atexit
import ctypes
import gc
import logging
import os
import sys

from target_sequenced.core.errors import TargetSequencedError

BROKEN_OUTPUT = 120
"""Python's own status when flushing the standard streams at exit fails."""


def main() -> None:
    """Run the target's command line."""
    status: list[int] = []
    atexit.register(_finish, status)
    _map_large_blocks_apart()
    # Importing the SDK, SQLAlchemy, DuckDB and Arrow creates objects by the
    # hundred thousand, and the cycle collector kept walking them: the imports
    # took 512 ms with it and 469 ms without (medians of 15). What they create
    # stays for the whole run, so it is frozen out of later collections.
    gc.disable()
    try:
        from target_sequenced.singer.target import TargetSequenced  # noqa: PLC0415 - after the handler
    finally:
        gc.freeze()
        gc.enable()

    try:
        TargetSequenced.cli()
    except SystemExit as exc:
        status.append(exit_status(exc.code))
        raise
    except TargetSequencedError as exc:
        # One located line at ERROR (Meltano shows stderr's errors as errors);
        # the traceback only at debug level.
        logger = logging.getLogger("target-sequenced")
        logger.error("%s", exc.one_line())  # noqa: TRY400 - the traceback only at debug
        logger.debug("Traceback of the error above", exc_info=True)
        status.append(exc.exit_status)
        raise SystemExit(exc.exit_status) from None


M_MMAP_THRESHOLD = -3
"""glibc's ``mallopt`` parameter (malloc.h): the size from which blocks are mapped apart."""


def _map_large_blocks_apart() -> None:
    """Have glibc map every block of 1 MiB or more on its own, so that freeing it unmaps it.

    The input is read in blocks of several MiB (``chunks.py``). glibc raises
    its mapping threshold to the largest block freed so far, after which such
    blocks come from the heap and stay resident once freed. With the
    threshold fixed at 1 MiB, peak RSS on bench d at 1M records was 256 to
    264 MiB instead of 275 to 276 (2 runs each). Elsewhere (macOS, musl)
    there is nothing to set.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(M_MMAP_THRESHOLD, 2**20)


def exit_status(code: object) -> int:
    """The process status ``sys.exit(code)`` gives."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    return 1  # a message, which Python prints to stderr


def _finish(status: list[int]) -> None:
    if not status:
        return
    logging = sys.modules.get("logging")
    if logging is not None:
        logging.shutdown()
    code = status[0]
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # noqa: PERF203 - two streams, once
            code = code or BROKEN_OUTPUT
    os._exit(code)
