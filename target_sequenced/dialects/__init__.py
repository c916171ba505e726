"""One module per dialect; this package picks the one a URL names."""

from __future__ import annotations

import importlib
import typing as t

from target_sequenced.exceptions import ConfigError

if t.TYPE_CHECKING:
    from target_sequenced.dialects.base import DialectCapabilities

_MODULES = {
    "duckdb": "target_sequenced.dialects.duckdb",
    "postgresql": "target_sequenced.dialects.postgres",
}


def supported() -> list[str]:
    """Backend names accepted in ``sqlalchemy_url``."""
    return sorted(_MODULES)


def capabilities_for(backend: str) -> DialectCapabilities:
    """Return the capabilities of a SQLAlchemy backend name (``duckdb``, ``postgresql``)."""
    module = _MODULES.get(backend)
    if module is None:
        msg = (
            f"sqlalchemy_url: dialect '{backend}' is not supported; "
            f"use one of {', '.join(supported())}"
        )
        raise ConfigError(msg)
    return importlib.import_module(module).CAPABILITIES  # type: ignore[no-any-return]
