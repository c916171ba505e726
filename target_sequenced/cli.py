"""The ``target-sequenced`` command: the SDK's CLI, then an exit without interpreter teardown.

The imports run with the cycle collector paused (see :func:`main`).

Tearing the interpreter down (the modules of the SDK, SQLAlchemy, DuckDB and
Arrow, object by object) took a noticeable share of a short run after the
work was done (bench/README.md, "Measured choices"). By then everything that
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

from target_sequenced.core.errors import OutOfMemoryError, TargetSequencedError

BROKEN_OUTPUT = 120
"""Python's own status when flushing the standard streams at exit fails."""


def main() -> None:
    """Run the target's command line."""
    status: list[int] = []
    atexit.register(_finish, status)
    _tune_malloc()
    # Importing the SDK, SQLAlchemy, DuckDB and Arrow creates objects by the
    # hundred thousand, and the cycle collector kept walking them (measured:
    # bench/README.md, "Measured choices"). What they create
    # stays for the whole run, so it is frozen out of later collections.
    gc.disable()
    try:
        from target_sequenced.singer.settings import check_config_files  # noqa: PLC0415
        from target_sequenced.singer.target import TargetSequenced  # noqa: PLC0415 - after the handler
    except (MemoryError, ImportError) as exc:
        if isinstance(exc, ImportError) and "failed to map segment" not in str(exc):
            raise  # a broken installation, not memory
        # Before logging is set up: the one line goes to stderr as it is.
        print(f"ERROR {OutOfMemoryError.from_exception(exc).one_line()}", file=sys.stderr)  # noqa: T201
        status.append(OutOfMemoryError.exit_status)
        raise SystemExit(OutOfMemoryError.exit_status) from None
    finally:
        gc.freeze()
        gc.enable()

    import duckdb  # noqa: PLC0415 - imported by the target above already

    try:
        try:
            if sys.argv[1:2] == ["serve"]:
                from target_sequenced.server.command import serve  # noqa: PLC0415

                serve(sys.argv[2:])
                status.append(0)
                return
            check_config_files(sys.argv[1:])
            TargetSequenced.cli()
        except (MemoryError, duckdb.OutOfMemoryException) as exc:
            raise OutOfMemoryError.from_exception(exc) from exc
        except RuntimeError as exc:
            if "can't start new thread" not in str(exc):
                raise
            # The system refused a thread its stack (address space, like memory).
            raise OutOfMemoryError.from_exception(exc) from exc
    except SystemExit as exc:
        status.append(exit_status(exc.code))
        raise
    except TargetSequencedError as exc:
        # One located line at ERROR (Meltano shows stderr's errors as errors);
        # the traceback only at debug level.
        logger = logging.getLogger("target-sequenced")
        if not logger.hasHandlers():
            # Before the SDK set up its logging (a config file it could not read).
            print(f"ERROR {exc.one_line()}", file=sys.stderr)  # noqa: T201
            status.append(exc.exit_status)
            raise SystemExit(exc.exit_status) from None
        logger.error("%s", exc.one_line())  # noqa: TRY400 - the traceback only at debug
        logger.debug("Traceback of the error above", exc_info=True)
        status.append(exc.exit_status)
        raise SystemExit(exc.exit_status) from None


M_ARENA_MAX = -8
M_MMAP_THRESHOLD = -3
"""glibc's ``mallopt`` parameters (malloc.h)."""
ARENAS = 2
"""glibc's heaps for the process's threads (by default 8 per core, each reserving 64 MiB)."""


def _tune_malloc() -> None:
    """Have glibc map large blocks apart and keep few heaps, before any thread starts.

    The input is read in blocks of several MiB (``chunks.py``). glibc raises
    its mapping threshold to the largest block freed so far, after which such
    blocks come from the heap and stay resident once freed; with the threshold
    fixed at 1 MiB, freeing such a block unmaps it.

    Each thread that allocates may get a heap of its own, and each heap
    reserves 64 MiB of address space: under ``ulimit -v`` the process then
    fails to start a thread long before memory is short. Two heaps serve the
    reading thread and the main one; DuckDB and Arrow allocate with their
    own allocators. The bench README gives both effects measured. Elsewhere
    (macOS, musl) there is nothing to set.
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(M_MMAP_THRESHOLD, 2**20)
    mallopt(M_ARENA_MAX, ARENAS)


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
