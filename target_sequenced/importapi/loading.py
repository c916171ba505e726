"""An Import API payload applied to the loading core: all of it, or (on any violation) none of it.

The usual batch (upserts only, an envelope that holds) comes read by its
plain shape (:class:`.plain.PlainPayload`): its records go to the core as one
batch of RECORD texts cut from the text it was sent as. Any other payload
comes parsed: the translator (:mod:`.translate`) checks its request rules
whole, as Stitch does, and turns it into Singer messages; they reach the core
as one batch per run of records. A batch of upserts leaves its records'
schema (and, read plain, their keys) to the core's bulk checks under
Stitch's rules (:data:`STITCH_BATCH`): only when they refuse a record does the
translator word the payload's violations, and the batch is then taken back
whole. A refusal that is no API rule (a loading rule: an integer beyond 64
bits, say) follows ``on_invalid_record``, as any record's. Any violation
stops at the payload's line: everything before it is committed (and its
STATE emitted), nothing of it is written.
"""

from __future__ import annotations

import typing as t
from dataclasses import replace

from target_sequenced.core.batches import Texts, record_text
from target_sequenced.core.checks import Rules
from target_sequenced.core.datetimes import STITCH
from target_sequenced.core.errors import InputError, InvalidLineError, PayloadError
from target_sequenced.core.schemas import Draft
from target_sequenced.importapi.payload_rules import BATCH_KEY_LIMIT
from target_sequenced.importapi.plain import PlainPayload
from target_sequenced.importapi.records import encoded
from target_sequenced.importapi.translate import Message, Shape, Translator, shape_of

if t.TYPE_CHECKING:
    from target_sequenced.core.loader import Loader

STITCH_PUSH = Rules(draft=Draft.DRAFT4, formats=frozenset({"date-time"}), date_time=STITCH)
"""Stitch validates records with Draft 4 and checks ``date-time`` (spec 2.1)."""
STITCH_BATCH = replace(STITCH_PUSH, key_length_below=BATCH_KEY_LIMIT)
"""A batch's string keys are also shorter than 256 characters (spec 9.2)."""


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

    def load(self, payload: object, line: int, *, endpoint: Shape | None = None) -> int:
        """Translate and load one payload read from input line ``line``; return its record count.

        ``payload``: a parsed JSON value, or a :class:`.plain.PlainPayload`
        (read again the usual way if it turns out not to load plain).
        ``endpoint``: the kind of payload the HTTP endpoint takes (None: told by its shape).

        Raises:
            PayloadError: the payload breaks the API's rules; nothing of it was loaded.
            InvalidLineError: a plain payload read again that Python's JSON parser refuses.
        """
        if isinstance(payload, PlainPayload):
            plain = payload
            found = self._guarded(lambda: self._plain(plain, line), line)
            if found is not None:
                return found
            self.core.arrivals.receiving(line)  # its records' places start again
            payload = payload.parsed(line)
        value = payload
        bulk = _upserts_only(value, endpoint)
        rules = STITCH_PUSH if (endpoint or shape_of(value)) == "push" else STITCH_BATCH

        def translated() -> int:
            messages = self.translator.translate(value, conformity=not bulk, endpoint=endpoint)
            if bulk:
                return self._bulk(t.cast("dict", value), messages)
            return self._in_order(messages, rules)

        return t.cast("int", self._guarded(translated, line))

    def _guarded(self, load: t.Callable[[], int | None], line: int) -> int | None:
        """``load()``; a refused payload teaches the translator nothing, and says where it was."""
        known = self.translator.remembered()
        try:
            found = load()
        except PayloadError as exc:
            self.translator.forget(known)
            where = f"input line {line}" + (f", table '{exc.table}'" if exc.table else "")
            msg = f"{where}: Import API payload rejected, nothing of it was loaded:\n{exc}"
            raise PayloadError([msg], exc.table) from exc
        if found is None:
            self.translator.forget(known)
        return found

    def _plain(self, payload: PlainPayload, line: int) -> int | None:
        """A plain batch's SCHEMA maybe, then its records; None: nothing kept, read it again."""
        messages = self.translator.plain_head(payload.head)
        if messages is None:
            return None
        stream = payload.table

        def whole(_refused: list[int]) -> None:
            try:
                parsed = payload.parsed(line)
            except InvalidLineError:
                return  # no words of Stitch's for it: the refusal is the core's
            if texts := self.translator.conformity_errors(parsed):
                raise PayloadError(texts, stream)

        def batch(base: int) -> Texts | None:
            table = payload.records(base)
            return None if table is None else Texts.of_table(table)

        return self._add_whole(stream, messages, payload.count, batch, whole)

    def _bulk(self, payload: dict, messages: list[Message]) -> int:
        """A parsed batch of upserts: its records encoded, added whole or taken back whole."""
        stream, upserts = payload["table_name"], payload["messages"]
        version = payload.get("table_version", 0)

        def whole(_refused: list[int]) -> None:
            # The bulk checks refused some record: Stitch's rules say whether the
            # payload breaks the API (refused whole) or only a loading rule.
            if texts := self.translator.conformity_errors(payload):
                raise PayloadError(texts, stream)

        def batch(base: int) -> Texts:
            texts = list(encoded(upserts, stream=stream, version=version))
            return Texts.of(range(base, base + len(upserts)), texts)

        if self._add_whole(stream, messages, len(upserts), batch, whole) is None:
            msg = f"table '{stream}': the translated payload did not parse as its records"
            raise InputError(msg)
        return len(upserts)

    def _add_whole(
        self,
        stream: str,
        messages: list[Message],
        count: int,
        batch: t.Callable[[int], Texts | None],
        whole: t.Callable[[list[int]], None],
    ) -> int | None:
        """A SCHEMA maybe, then ``count`` records as one batch, all or nothing; None: not added."""
        held = self.core.stream(stream)
        if messages:
            self._schema(messages[0], STITCH_BATCH)
        records = batch(self.core.arrivals.next(count))
        try:
            added = records is not None and self.core.add(stream, records, whole=whole)
        except PayloadError:
            self.core.restore(stream, held)
            raise
        if not added:
            self.core.restore(stream, held)
            return None
        return count

    def _in_order(self, messages: list[Message], rules: Rules) -> int:
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
                    (self.core.arrivals.next(), record_text(stream, message["record"], message))
                )
                records += 1
                continue
            self._flush(stream, pending)
            pending = []
            if kind == "SCHEMA":
                self._schema(message, rules)
            elif kind == "ACTIVATE_VERSION":
                self.core.activate_version(
                    message["stream"], message["version"], at=self.core.arrivals.position
                )
        self._flush(stream, pending)
        return records

    def _schema(self, message: Message, rules: Rules) -> None:
        self.core.schema(
            message["stream"],
            message["schema"],
            message["key_properties"],
            at=self.core.arrivals.position,
            rules=rules,
        )

    def _flush(self, stream: str, pending: list[tuple[int, str]]) -> None:
        if not pending:
            return
        arrivals, texts = zip(*pending, strict=True)
        if not self.core.add(stream, Texts.of(arrivals, texts)):
            msg = f"table '{stream}': the translated payload did not parse as its records"
            raise InputError(msg)
