"""Transit-JSON bodies (``application/transit+json``, the Python Stitch client's push) as JSON.

``transit-python2`` (the maintained port of Cognitect's reader) reads the
text, its key cache (``^0``) and tags; the result is then made the value the
same body would give as JSON, the way :func:`target_sequenced.core.exact.parse`
parses: maps are dicts with string keys, arrays lists, numbers with a
fraction ``Decimal`` (from the double's shortest text), big integers (``~n``)
ints, and timestamps (``~m``, ``~t``) RFC 3339 strings in UTC (push has no
schema, so they load as text, as a JSON client's would). Anything else a
Transit writer can tag (keywords, symbols, URIs, sets) becomes its text or a list.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import math
import typing as t
from collections.abc import Mapping

from transit.reader import Reader
from transit.transit_types import Boolean


class TransitError(ValueError):
    """The body is no Transit-JSON."""


def read(text: str) -> t.Any:  # noqa: ANN401 - any JSON value
    """The JSON value of a Transit-JSON text."""
    try:
        value = Reader("json").read(io.StringIO(text))
    except Exception as exc:  # the reader raises whatever its parser met
        raise TransitError(str(exc) or type(exc).__name__) from exc
    return _plain(value)


def _plain(value: object) -> t.Any:  # noqa: ANN401, PLR0911 - any JSON value, one per kind
    if isinstance(value, Boolean):
        return bool(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TransitError(f"{value!r} is no JSON number")
        return decimal.Decimal(repr(value))
    if isinstance(value, Mapping):
        return {str(_plain(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(item) for item in value]
    if isinstance(value, dt.datetime):
        zoned = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        return zoned.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")
    return str(value)
