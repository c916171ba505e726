"""An Import API payload applied to the loading core: all of it, or (on any violation) none of it.

The translator (:mod:`.translate`) checks the payload's request rules whole,
as Stitch does, and turns it into Singer messages; they reach the core as one
batch per run of records. A batch of upserts (the usual payload) leaves its
records' schema to the core's bulk checks, with Stitch's rules
(:data:`STITCH_RULES`): only when they refuse a record does the translator
word the payload's violations, and the batch is then taken back whole. A
refusal that is no API rule (a loading rule: an integer beyond 64 bits, say)
follows ``on_invalid_record``, as any record's. Any violation stops at the
payload's line: everything before it is committed (and its STATE emitted),
nothing of it is written.
"""

from __future__ import annotations

import typing as t

from target_sequenced.core.batches import Texts, record_text
from target_sequenced.core.checks import Rules
from target_sequenced.core.datetimes import STITCH
from target_sequenced.core.errors import InputError, PayloadError
from target_sequenced.core.schemas import Draft
from target_sequenced.importapi.split import encoded, split
from target_sequenced.importapi.translate import Message, Shape, Translator, shape_of

if t.TYPE_CHECKING:
    from target_sequenced.core.loader import Loader

STITCH_RULES = Rules(draft=Draft.DRAFT4, formats=frozenset({"date-time"}), date_time=STITCH)
"""Stitch validates batches with Draft 4 and checks ``date-time`` (spec 2.1)."""


def _upserts_only(payload: object, endpoint: Shape | None) -> bool:
    """A batch object whose messages are all upserts: one run of records, checked in bulk."""
    if (endpoint or shape_of(payload)) != "batch" or not isinstance(payload, dict):
        return False
    messages = t.cast("dict", payload).get("messages")
    return isinstance(messages, list) and all(
        type(m) is dict and m.get("action") == "upsert" for m in messages
    )


class PayloadLoader:
    """Applies payloads to one core, remembering each table's last schema across payloads."""

    def __init__(self, core: Loader) -> None:
        """One translator per run."""
        self.core = core
        self.translator = Translator()

    def load(
        self,
        payload: object,
        line: int,
        text: str | None = None,
        *,
        endpoint: Shape | None = None,
    ) -> int:
        """Translate and load one payload read from input line ``line``; return its record count.

        ``text``: the line as read, which a batch's records are cut from (:mod:`.split`).
        ``endpoint``: the kind of payload the HTTP endpoint takes (None: told by its shape).
        """
        bulk = _upserts_only(payload, endpoint)
        known = self.translator.remembered()
        try:
            messages = self.translator.translate(payload, conformity=not bulk, endpoint=endpoint)
            if bulk:
                return self._bulk(t.cast("dict", payload), messages, text)
            return self._in_order(messages)
        except PayloadError as exc:
            self.translator.forget(known)
            where = f"input line {line}" + (f", table '{exc.table}'" if exc.table else "")
            msg = f"{where}: Import API payload rejected, nothing of it was loaded:\n{exc}"
            raise PayloadError([msg], exc.table) from exc

    def _bulk(self, payload: dict, messages: list[Message], text: str | None) -> int:
        """A SCHEMA maybe, then one run of records: added whole, or taken back whole."""
        stream, upserts = payload["table_name"], payload["messages"]
        held = self.core.stream(stream)
        if messages and messages[0]["type"] == "SCHEMA":
            self._schema(messages[0])
        version = payload.get("table_version", 0)

        def whole(_refused: list[int]) -> None:
            # The bulk checks refused some record: Stitch's rules say whether the
            # payload breaks the API (refused whole) or only a loading rule.
            if texts := self.translator.conformity_errors(payload):
                raise PayloadError(texts, stream)

        base = self.core.next_arrivals(len(upserts))
        table = None
        if text is not None:
            table = split(
                self.core.workspace, text, upserts, stream=stream, version=version, base=base
            )
        batch = (
            Texts.of_table(table)
            if table is not None
            else Texts.of(
                range(base, base + len(upserts)),
                list(encoded(upserts, stream=stream, version=version)),
            )
        )
        try:
            added = self.core.add(stream, batch, whole=whole)
        except PayloadError:
            self.core.restore(stream, held)
            raise
        if not added:
            msg = f"table '{stream}': the translated payload did not parse as its records"
            raise InputError(msg)
        return len(upserts)

    def _in_order(self, messages: list[Message]) -> int:
        """Messages one after another: runs of records, SCHEMAs and ACTIVATE_VERSIONs between."""
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
                self._schema(message)
            elif kind == "ACTIVATE_VERSION":
                self.core.activate_version(
                    message["stream"], message["version"], at=self.core.position
                )
        self._flush(stream, pending)
        return records

    def _schema(self, message: Message) -> None:
        self.core.schema(
            message["stream"],
            message["schema"],
            message["key_properties"],
            at=self.core.position,
            rules=STITCH_RULES,
        )

    def _flush(self, stream: str, pending: list[tuple[int, str]]) -> None:
        if not pending:
            return
        arrivals, texts = zip(*pending, strict=True)
        if not self.core.add(stream, Texts.of(arrivals, texts)):
            msg = f"table '{stream}': the translated payload did not parse as its records"
            raise InputError(msg)
