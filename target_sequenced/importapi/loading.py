"""An Import API payload applied to the loading core: all of it, or (on any violation) none of it.

The translator (:mod:`.translate`) checks the payload whole, as Stitch does,
and turns it into Singer messages; they reach the core as one batch per run
of records. Any violation stops at the payload's line: everything before it
is committed (and its STATE emitted), nothing of it is written.
"""

from __future__ import annotations

import typing as t

from target_sequenced.core.batches import Texts, record_text
from target_sequenced.core.checks import Rules
from target_sequenced.core.datetimes import STITCH
from target_sequenced.core.errors import InputError, PayloadError
from target_sequenced.core.schemas import Draft
from target_sequenced.importapi.translate import Translator

if t.TYPE_CHECKING:
    from target_sequenced.core.loader import Loader

STITCH_RULES = Rules(draft=Draft.DRAFT4, formats=frozenset({"date-time"}), date_time=STITCH)
"""Stitch validates batches with Draft 4 and checks ``date-time`` (spec 2.1)."""


class PayloadLoader:
    """Applies payloads to one core, remembering each table's last schema across payloads."""

    def __init__(self, core: Loader) -> None:
        """One translator per run."""
        self.core = core
        self.translator = Translator()

    def load(self, payload: object, line: int) -> int:
        """Translate and load one payload read from input line ``line``; return its record count."""
        try:
            messages = self.translator.translate(payload)
        except PayloadError as exc:
            where = f"input line {line}" + (f", table '{exc.table}'" if exc.table else "")
            msg = f"{where}: Import API payload rejected, nothing of it was loaded:\n{exc}"
            raise PayloadError([msg], exc.table) from exc
        pending: list[tuple[int, str]] = []
        stream = ""
        records = 0
        for message in messages:
            kind = message["type"]
            if kind == "RECORD":
                if message["stream"] != stream:
                    self._flush(stream, pending)
                    pending = []
                stream = message["stream"]
                pending.append(
                    (self.core.next_arrival(), record_text(stream, message["record"], message))
                )
                records += 1
                continue
            self._flush(stream, pending)
            pending = []
            if kind == "SCHEMA":
                self.core.schema(
                    message["stream"],
                    message["schema"],
                    message["key_properties"],
                    at=self.core.position,
                    rules=STITCH_RULES,
                )
            elif kind == "ACTIVATE_VERSION":
                self.core.activate_version(
                    message["stream"], message["version"], at=self.core.position
                )
        self._flush(stream, pending)
        return records

    def _flush(self, stream: str, pending: list[tuple[int, str]]) -> None:
        if not pending:
            return
        arrivals, texts = zip(*pending, strict=True)
        if not self.core.add(stream, Texts.of(arrivals, texts)):
            msg = f"table '{stream}': the translated payload did not parse as its records"
            raise InputError(msg)
