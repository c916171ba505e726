"""The two date-time grammars, each as a Python check and a DuckDB SQL expression.

- :data:`INSTANT`: what a ``date-time`` column (and a date-time
  ``sequence_property``, and ``time_extracted``) accepts:
  ``YYYY-MM-DD``, ``T`` or a space, ``hh:mm`` with optional ``:ss`` and a
  fraction of 1 to 9 digits, then ``Z``, ``+hh``, ``+hhmm``, ``+hh:mm`` or
  nothing (UTC). Both dialects keep microseconds: a longer fraction is cut
  to its first six digits (the README says so).
- :data:`STITCH`: what Stitch's Import API accepts for ``format: date-time``
  (RFC 3339: ``T``, seconds, a zone of ``Z`` or ``+hh:mm``, the colon
  optional since the docs' own examples use ``+0000``). Every STITCH string
  is an INSTANT string, so a validated Import API value always converts.

Both require a real calendar date and time (no February 30, no hour 24, no
year 0). ``tests/test_datetimes.py`` runs one table through both forms.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from target_sequenced.core.sql import literal

_TIME_ZONE = r"(Z|[+-]([01][0-9]|2[0-3])(:?[0-5][0-9])?)?"


@dataclass(frozen=True)
class Grammar:
    """A date-time grammar: one regular expression (RE2 and Python alike), then a real date."""

    name: str
    pattern: str

    def matches(self, text: str) -> bool:
        """Python form: the pattern, then a calendar check."""
        if re.fullmatch(self.pattern, text) is None or text.startswith("0000"):
            return False
        try:
            dt.date(int(text[0:4]), int(text[5:7]), int(text[8:10]))
        except ValueError:
            return False
        return True

    def sql(self, text: str, instant: str | None = None) -> str:
        """SQL form over a VARCHAR expression: TRUE, FALSE, or NULL when ``text`` is NULL.

        DuckDB's cast does the calendar check (it refuses February 30);
        ``instant``: that cast, already computed (:func:`instant_sql`).
        """
        cast = instant or instant_sql(text)
        return (
            f"(regexp_full_match({text}, {literal(self.pattern)}) "
            f"AND substr({text}, 1, 4) <> '0000' AND {cast} IS NOT NULL)"
        )


INSTANT = Grammar(
    "instant",
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ]([01][0-9]|2[0-3]):[0-5][0-9]"
    r"(:[0-5][0-9](\.[0-9]{1,9})?)?" + _TIME_ZONE,
)
STITCH = Grammar(
    "stitch",
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?"
    r"(Z|[+-]([01][0-9]|2[0-3]):?[0-5][0-9])",
)
DATE = Grammar("date", r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
"""What a ``date`` column accepts: a calendar date (a date-time's date part is not a date)."""


def instant_sql(text: str) -> str:
    """The instant a VARCHAR expression denotes (no offset: UTC), as TIMESTAMPTZ.

    DuckDB's cast cuts a fraction past microseconds (it does not round), as
    the contract has it; ``tests/test_datetimes.py`` holds it to that.
    """
    return f"TRY_CAST({text} AS TIMESTAMPTZ)"


def micros_sql(text: str) -> str:
    """Microseconds since the epoch of an instant string (contract 2.3)."""
    return f"epoch_us({instant_sql(text)})"
