"""What the core holds of a stream, and how a SCHEMA opens one: its plan, checks and buffer.

A SCHEMA is refused, before anything changes, when the stored table cannot
take it: a primary key where the load method needs none (or the reverse), or
a key other than the one the table's first load fixed.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from target_sequenced.core.batches import line_of
from target_sequenced.core.buffer import StreamBuffer
from target_sequenced.core.destination import Load
from target_sequenced.core.errors import SchemaError
from target_sequenced.core.exact import Reference
from target_sequenced.core.names import conform_name
from target_sequenced.core.plan import StreamPlan, build_plan
from target_sequenced.core.query import compile_query

if t.TYPE_CHECKING:
    import logging

    from target_sequenced.core.checks import Rules
    from target_sequenced.core.destination import Destination, LoadResult
    from target_sequenced.core.stats import StreamStats
    from target_sequenced.core.verdicts import Invalid
    from target_sequenced.core.workspace import Workspace

LOAD_METHODS = ("upsert", "append-only", "overwrite")
INVALID_POLICIES = ("fail", "reject")


@dataclass(frozen=True)
class LoadSettings:
    """The settings the core acts on."""

    load_method: str = "upsert"
    hard_delete: bool = False
    batch_size_rows: int = 100_000
    sequence_property: str | None = None
    validate: bool = True
    on_invalid_record: str = "fail"
    sequence_sources_comparable: bool = False
    progress_seconds: float = 60.0


@dataclass
class Stream:
    """One stream's state for the run."""

    name: str
    plan: StreamPlan
    buffer: StreamBuffer
    stats: StreamStats
    rules: Rules
    source: str | None
    """The sequence source its table holds (or the first this run loaded)."""
    key_fixed: bool = False
    """Whether this run loaded the table (its key is then fixed)."""
    prepared: bool = False
    """Whether this plan's table was made (created or evolved) by a load."""
    rejected: list[Invalid] = field(default_factory=list)

    def next_load(self, before: int | None, *, replace_all: bool, hard_delete: bool) -> Load | None:
        """What a load writes: the versions that arrived before ``before``; None: nothing to do.

        The first load of a plan makes (or evolves) its table even when empty.
        """
        rejected = tuple(r for r in self.rejected if before is None or r.arrival < before)
        if not len(self.buffer) and not rejected and self.prepared:
            return None
        rows, candidates, ties = self.buffer.take(before)
        numbers = self.buffer.number_stats(rows)
        if rows.num_rows == 0 and not rejected and self.prepared:
            return None
        return Load(
            plan=self.plan,
            rows=rows,
            candidates=candidates,
            ties=ties,
            rejected=rejected,
            numbers=numbers,
            replace_all=replace_all,
            hard_delete=hard_delete,
            source=self.source,
        )

    def loaded(self, load: Load, result: LoadResult) -> None:
        """A load of :meth:`next_load` committed: count what it did."""
        self.rejected = [r for r in self.rejected if r not in load.rejected]
        self.key_fixed = self.prepared = True
        self.stats.inserted += result.inserted
        self.stats.updated += result.updated
        self.stats.stale += result.stale
        self.stats.deleted += result.deleted
        self.stats.replayed += result.replayed
        self.stats.restored += result.restored


def table_name(stream: str, destination: Destination) -> str:
    """The table a stream loads into."""
    return conform_name(stream, destination.max_identifier_length)


def plan_stream(
    stream: str,
    schema: t.Mapping[str, t.Any],
    key: tuple[str, ...],
    *,
    at: int,
    rules: Rules,
    settings: LoadSettings,
    destination: Destination,
    existing: Stream | None,
) -> tuple[StreamPlan, str | None]:
    """The stream's plan against its stored table, and the sequence source that table holds."""
    appends = settings.load_method == "append-only"
    stored = destination.table(table_name(stream, destination))
    try:
        plan = build_plan(
            stream,
            schema,
            key,
            appends=appends,
            max_identifier_length=destination.max_identifier_length,
            stored=stored.kinds if stored else None,
            draft=rules.draft,
        )
    except SchemaError as exc:
        # The plan's rules know the stream, not where its SCHEMA came in.
        named = f"stream '{stream}': "
        if not exc.message.startswith(named):
            raise
        where = f"stream '{stream}', input line {line_of(at)}: "
        raise SchemaError(where + exc.message[len(named) :], remedy=exc.remedy) from exc
    if stored is not None and stored.kinds and bool(stored.primary_key) != plan.unique_key:
        has = f"primary key {list(stored.primary_key)}" if stored.primary_key else "no primary key"
        wants = (
            "upsert and overwrite need one"
            if plan.unique_key
            else "append-only keeps every version"
        )
        msg = (
            f"stream '{stream}', input line {line_of(at)}: table '{plan.table}' has {has}, "
            f"and load_method '{settings.load_method}' cannot load it ({wants})"
        )
        raise SchemaError(msg, remedy="load the stream into another table, or drop the table")
    fixed = stored.key if stored and stored.key is not None else None
    if existing is not None and existing.key_fixed:
        fixed = existing.plan.key
    if fixed is not None and tuple(fixed) != plan.key:
        msg = (
            f"stream '{stream}', input line {line_of(at)}: the SCHEMA's key {list(plan.key)} "
            f"differs from table '{plan.table}''s key {list(fixed)}; a table's key is fixed by "
            "its first load (Stitch refuses key changes too), and the table was left as it was"
        )
        raise SchemaError(
            msg,
            remedy="load the stream into another table, or drop the table to load it afresh",
        )
    return plan, stored.source if stored else None


def open_buffer(
    plan: StreamPlan,
    rules: Rules,
    workspace: Workspace,
    stats: StreamStats,
    *,
    settings: LoadSettings,
    stores_nul: bool,
    logger: logging.Logger,
) -> StreamBuffer:
    """The stream's buffer, with its compiled parse query and reference validator."""
    query = compile_query(
        plan,
        rules,
        sequence_property=settings.sequence_property,
        validate=settings.validate,
        nul_ok=stores_nul,
    )
    if query.reference:
        logger.info(
            "Stream '%s' is validated record by record: its schema uses %s",
            plan.stream,
            query.reference,
        )
    reference = Reference(plan.doc, rules) if settings.validate else None
    return StreamBuffer(workspace, query, reference, plan.key, keyed=plan.unique_key, stats=stats)


def make_stream(
    stream: str,
    schema: t.Mapping[str, t.Any],
    key: tuple[str, ...],
    *,
    at: int,
    rules: Rules,
    settings: LoadSettings,
    destination: Destination,
    workspace: Workspace,
    stats: StreamStats,
    existing: Stream | None,
    logger: logging.Logger,
) -> Stream:
    """A stream for a new SCHEMA: its plan, its buffer, and what the old one had fixed."""
    plan, stored_source = plan_stream(
        stream,
        schema,
        key,
        at=at,
        rules=rules,
        settings=settings,
        destination=destination,
        existing=existing,
    )
    buffer = open_buffer(
        plan,
        rules,
        workspace,
        stats,
        settings=settings,
        stores_nul=destination.stores_nul,
        logger=logger,
    )
    source = existing.source if existing is not None else stored_source
    made = Stream(stream, plan, buffer, stats, rules, source)
    if existing is not None:
        made.key_fixed = existing.key_fixed
    return made
