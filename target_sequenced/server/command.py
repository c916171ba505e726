"""``target-sequenced serve``: the Import API over HTTP, with the target's config file.

The ASGI stack is Starlette on uvicorn: both are small, widely used and
actively kept (Encode's), uvicorn stops gracefully on SIGTERM (no new
connections, requests under way finished, then exit 0), and neither brings a
framework's worth of dependencies. Requests are loaded in worker threads
(:mod:`.applier`), so the event loop only reads and answers.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import typing as t
from pathlib import Path

from target_sequenced.destinations import parse_url
from target_sequenced.singer import settings

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
WORKERS = {"duckdb": 1, "postgresql": 4}
"""Workers by backend when ``api_workers`` is unset: DuckDB has one writer per file."""
LOG_FORMAT = "%(asctime)s | %(levelname)-8s | %(name)-30s | %(message)s"


def parse_args(argv: t.Sequence[str]) -> argparse.Namespace:
    """The command line after ``serve``."""
    parser = argparse.ArgumentParser(
        prog="target-sequenced serve",
        description="Serve Stitch's Import API (v2) in front of the configured database.",
    )
    parser.add_argument("--config", required=True, help="the target's JSON config file")
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"default {DEFAULT_HOST}")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    return parser.parse_args(argv)


def serve(argv: t.Sequence[str]) -> None:
    """Run the server until SIGTERM or Ctrl-C."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT, stream=sys.stderr)
    logger = logging.getLogger("target-sequenced")
    settings.check_config_files(["--config", args.config])
    config = json.loads(Path(args.config).read_text(encoding="utf-8"))
    # The same settings as the target's, checked the same way.
    from target_sequenced.singer.target import TargetSequenced  # noqa: PLC0415 - the SDK, lazily

    TargetSequenced.check_settings(config)

    import uvicorn  # noqa: PLC0415 - only the server needs it

    from target_sequenced.server.app import ImportApi  # noqa: PLC0415
    from target_sequenced.server.applier import Applier  # noqa: PLC0415

    url = config.get("sqlalchemy_url") or settings.DEFAULT_URL
    backend = parse_url(url).get_backend_name()
    workers = int(config.get("api_workers") or WORKERS.get(backend, 1))
    applier = Applier(
        url,
        config.get("default_target_schema"),
        settings.load_settings(config),
        logger,
        workers=workers,
        retry_seconds=float(config.get("retry_seconds", settings.DEFAULT_RETRY_SECONDS)),
    )
    tokens = config.get("api_tokens") or {}
    api = ImportApi(
        applier,
        tokens,
        max_body_bytes=int(config.get("api_max_body_bytes") or settings.DEFAULT_API_MAX_BODY_BYTES),
        version=_version(),
        logger=logger,
    )
    if not tokens:
        logger.warning("No api_tokens in the config: every request but the status is refused")
    logger.info(
        "Serving the Import API on http://%s:%d (%s, %d worker%s)",
        args.host,
        args.port,
        backend,
        workers,
        "" if workers == 1 else "s",
    )
    server = uvicorn.Server(
        uvicorn.Config(
            api.app(),
            host=args.host,
            port=args.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
    )
    # uvicorn stops on SIGTERM and SIGINT, then raises the signal again for
    # the handler it found: a handler that does nothing lets the process end
    # with status 0 once every request is answered.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _stopped)
    try:
        server.run()
    finally:
        applier.close()
    logger.info("Stopped: every request answered")


def _version() -> str:
    """The installed package's version."""
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("target-sequenced")
    except PackageNotFoundError:
        return "unknown"


def _stopped(_signum: int, _frame: object) -> None:
    """Nothing to do: the server has stopped already."""
