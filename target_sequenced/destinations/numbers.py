"""Fixed-point number columns (DuckDB's DECIMAL): the scale a column needs, and when none does.

A ``number`` column holds ``DECIMAL(38, s)``: ``s`` is the scale the schema
declares (``multipleOf`` 10^-s), or the most decimals among the values loaded,
and grows (``ALTER``, exact) when later values have more, as long as their
integer digits still fit in the other ``38 - s``. When no ``DECIMAL(38, s)``
holds every value (``1e300`` beside ``0.5``), the column becomes text holding
each value's exact decimal (README, type table).
"""

from __future__ import annotations

PRECISION = 38


def decimal_scale(
    current: int | None, declared: int | None, decimals: int, digits: int
) -> int | None:
    """The scale a DECIMAL(38, s) column needs, or None when none holds the values.

    ``current``: the column's scale (None for a new column); ``decimals`` and
    ``digits``: the most decimals and integer digits among the values it must
    hold, stored ones included.
    """
    scale = max(decimals, declared or 0, current or 0)
    return scale if digits + scale <= PRECISION else None
