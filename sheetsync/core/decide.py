"""The two pure steps of a cycle: `decide` (scan, parse, plan) and `render` (cell texts).

The executor (sheetsync.app.cycle) runs decide → record → deliver → record outcomes → render →
locate → write; the dry run (sheetsync.app.dry_run) runs the same decide and render and prints
instead. Neither step does I/O: the table, the job's memory and the clock come in as arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sheetsync.core.config import JobConfig, Stage, funnel
from sheetsync.core.leads import (
    ColumnMap,
    Lead,
    Scan,
    expected_row,
    parse_row,
    scan,
    stable_digest,
    unreadable_columns,
    unreadable_row,
)
from sheetsync.core.leads import utc_offset as sheet_offset
from sheetsync.core.plan import Memory, Plan, Where, plan
from sheetsync.core.status import JobView, row_texts
from sheetsync.core.table import Table

Changes = dict[str, list[tuple[int, str]]]  # lead key → (column, text) pairs to write
Recall = Callable[[list[str]], Memory]  # lead keys → what the store remembers of them


@dataclass(frozen=True)
class RowsSeen:
    """What rows held after the last complete cycle: only rows that differ are parsed."""

    hashes: Mapping[str, int] = field(default_factory=dict)  # this process's fast hashes
    stored: Mapping[str, int] | None = None  # stable digests from the store, on a first cycle
    pending: frozenset[str] = frozenset()  # leads waiting on Meta: parsed every cycle


@dataclass(frozen=True)
class CycleDecision:
    scan: Scan  # which rows were parsed, and the keys standing on the others
    plan: Plan  # what to record and send, and which keys to give


def decide(
    table: Table,
    columns: ColumnMap,
    recall: Recall,
    job: JobConfig,
    now: int,
    seen: RowsSeen,
    limit: int | None = None,
) -> CycleDecision:
    """Scan the rows that changed, parse them into leads, plan against what is remembered."""
    changed = scan(table, columns, seen.hashes, set(seen.pending), limit, seen.stored)
    moment = datetime.fromtimestamp(now, UTC)
    offset = sheet_offset(table.time_zone, moment)
    today = (moment + offset).date()
    stages = funnel(job)
    leads = [
        lead
        for row in changed.candidates
        if (lead := _parse(table, row, columns, job, stages, offset, today)) is not None
    ]
    memory = recall([lead.key for lead in leads if lead.key])
    where = Where(job.spreadsheet, job.worksheet)
    return CycleDecision(changed, plan(leads, memory, job, now, where, changed.taken))


def _parse(
    table: Table,
    row: int,
    columns: ColumnMap,
    job: JobConfig,
    stages: list[Stage],
    offset: timedelta,
    today: date,
) -> Lead | None:
    """One row → a lead; whatever is wrong with the row stays that row's problem."""
    broken = unreadable_columns(table, row, columns)
    if broken:
        return unreadable_row(
            table,
            row,
            columns,
            [
                f"{name}: holds a broken character (not valid text); retype the cell"
                for name in broken
            ],
        )
    try:
        return parse_row(table, row, columns, job, stages, offset, today)
    except Exception as error:  # a defect met on one row must not stop the other rows
        problem = f"this row could not be read ({type(error).__name__}); nothing is sent for it"
        return unreadable_row(table, row, columns, [problem])


def render(
    decided: Plan,
    after: Memory,
    columns: ColumnMap,
    view: JobView,
    funnel_events: Sequence[str],
) -> Changes:
    """Per lead key, the (column, text) pairs whose text differs from what the sheet shows."""
    new_keys = {lead.key for lead in decided.new_keys}
    changes: Changes = {}
    for lead in decided.leads:
        wanted = row_texts(
            lead,
            after.leads.get(lead.key),
            decided.notes.get(lead.key, ()),
            view,
            list(funnel_events),
        )
        differing = [
            (column, text)
            for column, text, shown in (
                (columns.status, wanted.status, lead.shown_status),
                (columns.events, wanted.events, lead.shown_events),
                (columns.synced_at, wanted.synced_at, lead.shown_synced_at),
            )
            if text != shown
        ]
        if lead.key in new_keys:
            differing.append((columns.key, lead.key))
        if differing:
            changes[lead.key] = differing
    return changes


def rows_after_write(
    decision: CycleDecision, changes: Changes, columns: ColumnMap, table: Table
) -> tuple[dict[str, int], dict[str, int]]:
    """What each row will hold once this cycle's cells are written — fast hashes for this process,
    stable digests for the store — so the next cycle, or the next process, does not parse it."""
    hashes = decision.scan.hashes
    digests: dict[str, int] = {}
    for lead in decision.plan.leads:
        row = expected_row(table, columns, lead.row, dict(changes.get(lead.key, ())))
        hashes[lead.key] = hash(row)
        digests[lead.key] = stable_digest(row)
    return hashes, digests
