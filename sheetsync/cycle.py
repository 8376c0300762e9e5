"""One cycle of one job, in the order of the data flow in shared/DESIGN.md:

read → parse → plan → outbox → deliver → record → write back.

Only rows that changed since the last complete cycle (and leads with events waiting on
Meta) are parsed and planned; a quiet sheet costs one read and a comparison.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sheetsync import a1, summary
from sheetsync.config import JobConfig, funnel
from sheetsync.leads import (
    ColumnMap,
    MissingColumns,
    Scan,
    expected_row,
    identity_hash,
    parse_leads,
    parse_row,
    resolve_columns,
    scan,
    stable_digest,
    utc_offset,
)
from sheetsync.locate import Fingerprint, locate_rows
from sheetsync.meta import MetaClient, deliver
from sheetsync.plan import EXPIRY_MARGIN, SEVEN_DAYS, Memory, Plan, Where, memory_after, plan
from sheetsync.report import job_status
from sheetsync.sheet import LeadSheet, SheetError
from sheetsync.state import StateStore
from sheetsync.status import JobView, row_texts
from sheetsync.summary import problem_kind
from sheetsync.table import CellWrite, Layout, Table

log = logging.getLogger("sheetsync.cycle")
# Rows parsed in one cycle at most: bounds a cycle's memory and time; a bigger change (the first
# cycle on a big sheet) is taken over the next cycles, in row order.
MAX_ROWS_PER_CYCLE = 12_500
Changes = dict[str, list[tuple[int, str]]]  # lead key → (column, text) pairs to write


class CycleError(Exception):
    """This cycle of this job cannot go on; the message says why and what to do."""


@dataclass
class CycleReport:
    job: str
    leads: int = 0
    sent: int = 0
    failed: int = 0
    pending: int = 0
    expired: int = 0
    baseline: int = 0
    problems: int = 0
    keys_given: int = 0
    cells_written: int = 0
    deferred: int = 0
    blocked: str | None = None
    error: str | None = None
    dry_run_lines: list[dict[str, Any]] = field(default_factory=list)
    outcomes_by_event: Counter[tuple[str, str]] = field(
        default_factory=Counter
    )  # (event, outcome) → n
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None

    def summary(self) -> str:
        if self.error:
            return f"job {self.job}: cycle failed: {self.error}"
        text = (
            f"job {self.job}: {self.leads} leads, {self.sent} sent, {self.failed} rejected, "
            f"{self.pending} pending, {self.expired} expired, {self.baseline} baseline, "
            f"{self.problems} rows with problems, {self.cells_written} cells written"
        )
        if self.deferred:
            text += f"; {self.deferred} changed rows left for the next cycles"
        return text + (f"; sending paused: {self.blocked}" if self.blocked else "")


class JobRunner:
    """Runs cycles of one job; keeps between cycles what spares work (layout, what rows held)."""

    def __init__(
        self,
        job: JobConfig,
        sheet: LeadSheet,
        meta: MetaClient | None,
        state: StateStore | None,
        clock: Callable[[], float],
    ) -> None:
        self.job = job
        self.sheet = sheet
        self.meta = meta
        self.state = state
        self.clock = clock
        self.where = Where(job.spreadsheet, job.worksheet)
        self._stages = funnel(job)
        self._events = [stage.event for stage in self._stages]
        self._columns: ColumnMap | None = None
        self._layout: Layout | None = None
        # Lead key → hash of what its row held after the last cycle; None until this process's first.
        self._row_hashes: dict[str, int] | None = None
        self._problem_kinds: dict[
            str, tuple[str, ...]
        ] = {}  # lead key → its row problems, for the summary
        self._summary_written: list[list[str]] | None = None  # the summary tab as last written
        self._summary_hour = -1

    # --- the cycle ---------------------------------------------------------------------
    def run_cycle(self, dry_run: bool = False) -> CycleReport:
        now = int(self.clock())
        report = CycleReport(self.job.name)
        state = None if dry_run else self.state
        cycle_id = state.start_cycle(self.job.name, now) if state else 0
        try:
            if dry_run:
                self._dry_run(now, report)
            else:
                self._cycle(now, report)
        except (CycleError, SheetError) as error:
            report.error = str(error)
        if state:
            state.finish_cycle(
                self.job.name,
                cycle_id,
                int(self.clock()),
                ok=report.ok,
                result=report.summary(),
                sent=report.sent,
                failed=report.failed,
                error=report.error,
            )
        return report

    def _cycle(self, now: int, report: CycleReport) -> None:
        assert self.state is not None and self.meta is not None
        table, columns = self._read(dry_run=False)
        self._guard_mass_change(table)
        # Parse only rows that changed since the last complete cycle, and leads waiting on Meta.
        stored = self.state.row_digests(self.job.name) if self._row_hashes is None else None
        pending = self.state.pending_keys(self.job.name)
        changed = scan(table, columns, self._row_hashes or {}, pending, MAX_ROWS_PER_CYCLE, stored)
        report.leads, report.deferred = changed.leads, changed.deferred
        offset = self._offset(now)
        leads = [
            lead
            for row in changed.candidates
            if (lead := parse_row(table, row, columns, self.job, self._stages, offset)) is not None
        ]
        memory = self.state.memory(self.job.name, [lead.key for lead in leads if lead.key])
        decided = plan(leads, memory, self.job, now, self.where, changed.taken)
        report.keys_given = len(decided.new_keys)

        self.state.record_plan(self.job.name, decided, now, sheet_complete=not changed.deferred)
        report.baseline = sum(decision.status == "baseline" for decision in decided.decisions)
        report.expired = sum(decision.status == "expired" for decision in decided.decisions)
        report.expired += len(
            self.state.expire_stale(
                self.job.name,
                now - SEVEN_DAYS + EXPIRY_MARGIN // 2,
                now,
                "could not be sent within Meta's 7-day window",
            )
        )
        self._deliver(now, report)

        after = self.state.memory(self.job.name, [lead.key for lead in decided.leads])
        changes = self._status_changes(decided, after, columns)
        self._note_problems(decided, changed)
        report.problems = len(self._problem_kinds)
        quiet = not (
            decided.leads or report.sent or report.failed or report.pending or report.expired
        )
        summary_cells = self._summary_cells(now, quiet)
        settled = self._rows_after_write(changed, decided, changes, columns, table)
        del (
            table
        )  # the big read is not needed any more: let the re-read before writing take its place
        if changes or summary_cells:
            self._write_back(decided, changes, columns, report, summary_cells)
        # Only after a complete cycle, so one that failed midway is redone in full.
        self._row_hashes, digests = settled
        self.state.save_row_digests(self.job.name, digests)

    @staticmethod
    def _rows_after_write(
        changed: Scan, decided: Plan, changes: Changes, columns: ColumnMap, table: Table
    ) -> tuple[dict[str, int], dict[str, int]]:
        """What each row will hold once this cycle's cells are written — fast hashes for this process,
        stable digests for the state file — so the next cycle, or the next process, does not parse it."""
        hashes = changed.hashes
        digests: dict[str, int] = {}
        for lead in decided.leads:
            row = expected_row(table, columns, lead.row, dict(changes.get(lead.key, ())))
            hashes[lead.key] = hash(row)
            digests[lead.key] = stable_digest(row)
        return hashes, digests

    # --- read ---------------------------------------------------------------------------
    def _read(self, dry_run: bool) -> tuple[Table, ColumnMap]:
        if self._columns is None:
            self._learn_columns(self.sheet.read_header(), dry_run)
        assert self._columns is not None and self._layout is not None
        table = self.sheet.read(self._columns.to_read())
        if Layout.of(table.header).positions != self._layout.positions:
            # Someone moved or renamed columns since the last cycle: learn again, read again.
            self._learn_columns(table.header, dry_run)
            table = self.sheet.read(self._columns.to_read())
        return table, self._columns

    def _learn_columns(self, header: tuple[str, ...], dry_run: bool) -> None:
        layout = Layout.of(header)
        wanted = self.job.status_columns.headers()[1 if self.job.key_column else 0 :]
        # A dry run imagines the missing status columns where a real cycle adds them.
        layout = (
            layout.with_columns(wanted) if dry_run else self.sheet.ensure_headers(layout, wanted)
        )
        try:
            self._columns = resolve_columns(layout, self.job)
        except MissingColumns as missing:
            raise CycleError(
                "the sheet is missing columns the config names: " + "; ".join(missing.problems)
            ) from None
        self._layout = layout
        if self._row_hashes is not None:
            self._row_hashes = {}  # columns moved: what rows held is not comparable any more

    def _offset(self, now: int) -> timedelta:
        return utc_offset(self.sheet.time_zone, datetime.fromtimestamp(now, UTC))

    def _guard_mass_change(self, table: Table) -> None:
        assert self.state is not None
        if table.data_rows == 0 and (known := self.state.lead_count(self.job.name)):
            raise CycleError(
                f"the sheet reads empty, but {known} leads were seen before; nothing was treated as gone. "
                "If the rows were moved, point jobs[].worksheet at them; if the sheet was really cleared, "
                "move the state file aside to start afresh"
            )

    # --- deliver and record -------------------------------------------------------------
    def _deliver(self, now: int, report: CycleReport) -> None:
        assert self.state is not None and self.meta is not None
        due = self.state.due_events(self.job.name, now)
        if not due:
            return
        outcomes, stop = deliver(self.meta, self.job.dataset_id, due, self.job.test_event_code)
        self.state.record_outcomes(
            self.job.name, outcomes, int(self.clock())
        )  # after Meta answered
        self.state.set_blocked(self.job.name, stop.message if stop else None, now)
        report.sent = sum(outcome.kind == "sent" for outcome in outcomes)
        report.failed = sum(outcome.kind == "failed" for outcome in outcomes)
        report.pending = sum(outcome.kind in ("pending", "blocked") for outcome in outcomes)
        report.blocked = stop.message if stop else None
        names = {event.event_id: event.event_name for event in due}
        report.outcomes_by_event.update(
            (names[outcome.event_id], outcome.kind) for outcome in outcomes
        )
        if stop:
            log.error("job %s: sending paused: %s", self.job.name, stop.message)

    # --- write back ---------------------------------------------------------------------
    def _status_changes(self, decided: Plan, memory: Memory, columns: ColumnMap) -> Changes:
        """Per lead key, the (column, text) pairs whose text differs from what the sheet shows."""
        blocked = self.state.job_state(self.job.name).blocked_reason if self.state else None
        view = JobView(self.job.test_event_code, blocked)
        new_keys = {lead.key for lead in decided.new_keys}
        changes: Changes = {}
        for lead in decided.leads:
            wanted = row_texts(
                lead,
                memory.leads.get(lead.key),
                decided.notes.get(lead.key, ()),
                view,
                self._events,
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

    def _write_back(
        self,
        decided: Plan,
        changes: Changes,
        columns: ColumnMap,
        report: CycleReport,
        summary_cells: list[CellWrite],
    ) -> None:
        """Status cells go to the rows where the keys stand *now*, with the summary tab, in one request."""
        rows_now = self._locate(decided, columns) if changes else {}
        writes = [
            CellWrite(rows_now[key], column, text)
            for key, pairs in changes.items()
            if key in rows_now
            for column, text in pairs
        ]
        self.sheet.write(writes + summary_cells)
        report.cells_written = len(writes)
        if summary_cells:
            self._summary_written = [
                [cell.text for cell in summary_cells[i : i + summary.WIDTH]]
                for i in range(0, len(summary_cells), summary.WIDTH)
            ]

    def _locate(self, decided: Plan, columns: ColumnMap) -> dict[str, int]:
        """Re-read the key column (and, when new keys must be placed, the columns that identify people)."""
        table = self.sheet.read(columns.to_locate() if decided.new_keys else [columns.key])
        return locate_rows(table, columns, decided, self._fingerprint_reader(table, columns))

    @staticmethod
    def _fingerprint_reader(table: Table, columns: ColumnMap) -> Fingerprint:
        return lambda row: identity_hash(table, columns, row)

    # --- the managers' summary tab ------------------------------------------------------
    def _note_problems(self, decided: Plan, changed: Scan) -> None:
        """Row problems of every lead (unchanged rows keep theirs), for the report and the summary tab."""
        for lead in decided.leads:
            problems = dict.fromkeys([*lead.problems, *decided.notes.get(lead.key, ())])
            if problems:
                self._problem_kinds[lead.key] = tuple(problem_kind(problem) for problem in problems)
            else:
                self._problem_kinds.pop(lead.key, None)
        standing = changed.taken | {lead.key for lead in decided.leads}
        for key in [key for key in self._problem_kinds if key not in standing]:
            del self._problem_kinds[key]  # its row is gone

    def _summary_cells(self, now: int, quiet: bool) -> list[CellWrite]:
        """The summary grid, when it differs from what the tab shows. A quiet cycle only looks when the
        hour has turned (the tab shows the last sync to the hour), which spares a scan of the state."""
        title = self.job.summary_worksheet
        if not title or self.state is None or (quiet and self._summary_hour == now // 3600):
            return []
        self._summary_hour = now // 3600
        problems = Counter(kind for kinds in self._problem_kinds.values() for kind in kinds)
        grid = summary.render(job_status(self.state, self.job, now), problems, now)
        if grid == self._summary_written:
            return []
        self.sheet.ensure_worksheet(title, summary.HEIGHT, summary.WIDTH)
        return [
            CellWrite(row, column, text, worksheet=title)
            for row, values in enumerate(grid, start=1)
            for column, text in enumerate(values, start=1)
        ]

    # --- dry run ------------------------------------------------------------------------
    def _dry_run(self, now: int, report: CycleReport) -> None:
        """What a cycle would send and write, from the whole sheet; sends, writes and records nothing."""
        table, columns = self._read(dry_run=True)
        leads = parse_leads(table, columns, self.job, self._offset(now))
        memory = self.state.memory(self.job.name) if self.state else Memory(first_cycle=True)
        decided = plan(leads, memory, self.job, now, self.where)
        report.leads = len(decided.leads)
        report.keys_given = len(decided.new_keys)
        rows = {lead.key: lead.row for lead in decided.leads}
        for event in decided.events:
            report.dry_run_lines.append(
                {
                    "job": self.job.name,
                    "lead_key": event.lead_key,
                    "row": rows.get(event.lead_key),
                    "event": dict(event.payload),
                }
            )
        changes = self._status_changes(decided, memory_after(memory, decided, now), columns)
        for key, pairs in changes.items():
            for column, text in pairs:
                report.dry_run_lines.append(
                    {"job": self.job.name, "cell": a1.cell_ref(rows[key], column), "value": text}
                )
