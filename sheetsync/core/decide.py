"""The two pure steps of a cycle: `decide` (scan, parse, plan) and `render` (cell texts).

The executor (sheetsync.app.cycle) runs decide → record → deliver → record outcomes → render →
locate → write; the dry run (sheetsync.app.dry_run) runs the same decide and render and prints
instead. Neither step does I/O: the table, the job's memory and the clock come in as arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sheetsync.core.config import JobConfig, Stage, funnel
from sheetsync.core.leads import (
    ColumnMap,
    Lead,
    Scan,
    expected_row,
    parse_row,
    row_key,
    scan,
    stable_digest,
    unreadable_columns,
    unreadable_row,
)
from sheetsync.core.leads import utc_offset as sheet_offset
from sheetsync.core.plan import Memory, Plan, Where, baseline_at_first_sight, plan
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
    memory: Memory  # what was remembered of the planned leads before this plan


def scan_sheet(table: Table, columns: ColumnMap, seen: RowsSeen) -> Scan:
    """The rows to parse this cycle: the ones that differ from what `seen` remembers."""
    return scan(table, columns, seen.hashes, set(seen.pending), seen.stored)


def decide(
    table: Table, columns: ColumnMap, recall: Recall, job: JobConfig, now: int, seen: RowsSeen
) -> CycleDecision:
    """Scan the rows that changed, parse them into leads, plan against what is remembered."""
    changed = scan_sheet(table, columns, seen)
    return decide_rows(table, columns, changed.candidates, changed, recall, job, now)


def decide_rows(
    table: Table,
    columns: ColumnMap,
    rows: Sequence[int],
    changed: Scan,
    recall: Recall,
    job: JobConfig,
    now: int,
    claimed: frozenset[str] = frozenset(),
) -> CycleDecision:
    """Parse and plan `rows`, some of `changed.candidates` (a big change is taken in chunks, to
    bound memory): `claimed` holds the keys that the chunks before kept or gave."""
    moment = datetime.fromtimestamp(now, UTC)
    offset = sheet_offset(table.time_zone, moment)
    today = (moment + offset).date()
    stages = funnel(job)
    memory = recall([key for row in rows if (key := row_key(table, columns, row))])
    # A sheet's first cycle keeps most rows as baseline: those are read only as far as that needs.
    at_first_sight = memory.first_cycle and job.initial_sync != "all"
    leads = []
    for row in rows:
        lead = _parse(table, row, columns, job, stages, offset, today, identify=not at_first_sight)
        if at_first_sight and lead and not baseline_at_first_sight(lead, memory, job, now):
            lead = _parse(table, row, columns, job, stages, offset, today)
        if lead is not None:
            leads.append(lead)
    where = Where(job.spreadsheet, job.worksheet)
    taken = changed.taken | claimed
    decided = plan(leads, memory, job, now, where, taken, changed.candidate_keys)
    return CycleDecision(changed, decided, memory)


def _parse(
    table: Table,
    row: int,
    columns: ColumnMap,
    job: JobConfig,
    stages: list[Stage],
    offset: timedelta,
    today: date,
    *,
    identify: bool = True,
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
        return parse_row(table, row, columns, job, stages, offset, today, identify=identify)
    except Exception as error:  # a defect met on one row must not stop the other rows
        problem = f"this row could not be read ({type(error).__name__}); nothing is sent for it"
        return unreadable_row(table, row, columns, [problem])


def render(
    leads: Iterable[Lead],
    decided: Plan,
    after: Memory,
    columns: ColumnMap,
    view: JobView,
    funnel_events: Sequence[str],
) -> Changes:
    """Per lead key (of `leads`, some of `decided.leads`), the (column, text) pairs whose text
    differs from what the sheet shows."""
    new_keys = {lead.key for lead in decided.new_keys}
    changes: Changes = {}
    for lead in leads:
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
    leads: Iterable[Lead], changes: Changes, columns: ColumnMap, table: Table
) -> Iterator[tuple[str, int, int]]:
    """What each lead's row will hold once this cycle's cells are written — a fast hash for this
    process, a stable digest for the store — so the next cycle, or the next process, does not
    parse it: (key, hash, digest) per lead."""
    for lead in leads:
        row = expected_row(table, columns, lead.row, dict(changes.get(lead.key, ())))
        yield lead.key, hash(row), stable_digest(row)
