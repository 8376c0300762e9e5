"""One cycle of one job, in the order of the data flow in shared/DESIGN.md:

read → parse → plan → outbox → deliver → record → write back.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sheetsync import a1, summary
from sheetsync.config import JobConfig, funnel
from sheetsync.leads import (
    ColumnMap,
    IdentityCache,
    Lead,
    MissingColumns,
    parse_leads,
    parse_row,
    resolve_columns,
    utc_offset,
)
from sheetsync.meta import MetaClient, deliver
from sheetsync.plan import EXPIRY_MARGIN, SEVEN_DAYS, Memory, Plan, Where, memory_after, plan
from sheetsync.report import job_status
from sheetsync.sheet import LeadSheet, SheetError
from sheetsync.state import StateStore
from sheetsync.status import JobView, RowTexts, row_texts
from sheetsync.summary import problem_kind
from sheetsync.table import CellWrite, Layout, Table

log = logging.getLogger("sheetsync.cycle")


class CycleError(Exception):
    """This cycle of this job cannot go on; the message says why and what to do."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


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
    blocked: str | None = None
    error: str | None = None
    dry_run_lines: list[dict[str, Any]] = field(default_factory=list)
    outcomes_by_event: Counter[tuple[str, str]] = field(
        default_factory=Counter
    )  # (event, outcome) → n
    problem_kinds: Counter[str] = field(default_factory=Counter)
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
        return text + (f"; sending paused: {self.blocked}" if self.blocked else "")


class RowFinder:
    """Finds, among candidate rows re-read just before writing, the row that holds a lead: the row
    it was read at when that still holds the same person, else the nearest row that does."""

    def __init__(self, candidates: list[int], fingerprint: Callable[[int], str | None]) -> None:
        self._free = set(candidates)
        self._fingerprint = fingerprint
        self._by_fingerprint: dict[str, list[int]] | None = None  # built only if rows moved

    def take(self, lead: Lead) -> int | None:
        row = lead.row if self._is(lead.row, lead) else self._nearest(lead)
        if row is not None:
            self._free.discard(row)
        return row

    def _is(self, row: int, lead: Lead) -> bool:
        return row in self._free and self._fingerprint(row) == lead.fingerprint

    def _nearest(self, lead: Lead) -> int | None:
        if not lead.fingerprint:
            return None  # nothing identifies the person: only its own row will do
        if self._by_fingerprint is None:
            self._by_fingerprint = {}
            for row in sorted(self._free):
                found = self._fingerprint(row)
                if found:
                    self._by_fingerprint.setdefault(found, []).append(row)
        rows = [row for row in self._by_fingerprint.get(lead.fingerprint, []) if row in self._free]
        return min(rows, key=lambda row: abs(row - lead.row)) if rows else None


class JobRunner:
    """Runs cycles of one job; keeps what is worth keeping between cycles (the column layout)."""

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
        self.funnel_events = [stage.event for stage in funnel(job)]
        self._columns: ColumnMap | None = None
        self._layout: Layout | None = None
        # What the summary tab shows, as last written (and what this cycle is writing).
        self._summary_written: list[list[str]] | None = None
        self._summary_pending: list[list[str]] | None = None
        # Kept between cycles so a quiet sheet costs one read and little else.
        self._identities: IdentityCache = {}  # identity cells → normalised and hashed (the costly part)
        self._cached_memory: Memory | None = None
        self._cached_version = -1
        self._quiet_table: tuple[tuple[str, ...], dict[int, Any]] | None = None
        self._quiet_version = -1
        self._quiet_hour = 0
        self._quiet_leads = 0

    # --- the cycle ---------------------------------------------------------------------
    def run_cycle(self, dry_run: bool = False) -> CycleReport:
        now = int(self.clock())
        report = CycleReport(self.job.name)
        state = None if dry_run else self.state
        cycle_id = state.start_cycle(self.job.name, now) if state else 0
        try:
            self._cycle(now, report, dry_run)
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

    def _cycle(self, now: int, report: CycleReport, dry_run: bool) -> None:
        memory = self._memory()
        table, columns = self._read(dry_run)
        self._guard_mass_change(table, memory)
        if not dry_run and self._nothing_changed(table, now):
            report.leads = (
                self._quiet_leads
            )  # steady state: the sheet and the memory are as last time
            return
        leads = parse_leads(table, columns, self.job, self._offset(now), self._identities)
        decided = plan(leads, memory, self.job, now, self.where)
        report.leads = len(decided.leads)
        report.keys_given = len(decided.new_keys)
        if dry_run:
            self._report_dry_run(decided, memory, columns, now, report)
            return
        assert self.state is not None and self.meta is not None
        self.state.record_plan(self.job.name, decided, now)
        report.expired = sum(decision.status == "expired" for decision in decided.decisions)
        report.baseline = sum(decision.status == "baseline" for decision in decided.decisions)
        expired_keys = self.state.expire_stale(
            self.job.name,
            now - SEVEN_DAYS + EXPIRY_MARGIN // 2,
            now,
            "could not be sent within Meta's 7-day window",
        )
        report.expired += len(expired_keys)
        delivered_keys = self._deliver(now, report)
        touched = {o.lead_key for o in decided.observations} | {e.lead_key for e in decided.events}
        touched |= {d.lead_key for d in decided.decisions} | set(expired_keys) | delivered_keys
        after = self._refresh_memory(memory, touched)
        cells = self._status_cells(decided, after, columns, report)
        summary = self._summary_writes(decided, now)
        if cells or summary:
            self._write_back(decided, cells, columns, report, summary)
        self._remember_quiet(table, report, now)

    # --- what is worth keeping between cycles ---------------------------------------------
    def _memory(self) -> Memory:
        """The state's memory of this job: loaded once, then refreshed lead by lead."""
        if self.state is None:
            return Memory(first_cycle=True)
        if self._cached_memory is None or self._cached_version != self.state.version(self.job.name):
            self._cached_memory = self.state.memory(self.job.name)
            self._cached_version = self.state.version(self.job.name)
        return self._cached_memory

    def _refresh_memory(self, memory: Memory, touched: set[str]) -> Memory:
        assert self.state is not None
        fresh = self.state.memory(self.job.name, touched) if touched else Memory(memory.first_cycle)
        first_cycle = self.state.job_state(self.job.name).first_cycle_at is None
        merged = Memory(first_cycle, {**memory.leads, **fresh.leads})
        self._cached_memory, self._cached_version = merged, self.state.version(self.job.name)
        return merged

    def _nothing_changed(self, table: Table, now: int) -> bool:
        """True when the sheet reads exactly as after the last complete cycle, the memory is unchanged,
        no event waits for a retry, and the summary tab's hour has not turned."""
        assert self.state is not None
        return (
            self._quiet_table == (table.header, dict(table.columns))
            and self._quiet_version == self.state.version(self.job.name)
            and self._quiet_hour == (now // 3600 if self.job.summary_worksheet else 0)
            and not self.state.has_pending(self.job.name)
        )

    def _remember_quiet(self, table: Table, report: CycleReport, now: int) -> None:
        """After a complete cycle: what the sheet looked like, to recognise the steady state next time.
        A cycle that wrote cells changed what the next read returns, so it leaves no baseline."""
        assert self.state is not None
        wrote = report.keys_given or report.cells_written
        self._quiet_table = None if wrote else (table.header, dict(table.columns))
        self._quiet_version = self.state.version(self.job.name)
        self._quiet_hour = now // 3600 if self.job.summary_worksheet else 0
        self._quiet_leads = report.leads

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
        if not dry_run:
            wanted = self.job.status_columns.headers()
            if self.job.key_column:
                wanted = wanted[1:]
            layout = self.sheet.ensure_headers(layout, wanted)
        try:
            self._columns = (
                resolve_columns(layout, self.job) if not dry_run else self._dry_columns(layout)
            )
        except MissingColumns as missing:
            raise CycleError(
                "the sheet is missing columns the config names: " + "; ".join(missing.problems)
            ) from None
        self._layout = layout

    def _dry_columns(self, layout: Layout) -> ColumnMap:
        """In a dry run, missing status columns are imagined at the right, as a real cycle would add them."""
        return resolve_columns(layout.with_columns(self.job.status_columns.headers()), self.job)

    def _offset(self, now: int) -> Any:
        return utc_offset(self.sheet.time_zone, datetime.fromtimestamp(now, UTC))

    def _guard_mass_change(self, table: Table, memory: Memory) -> None:
        if memory.leads and table.data_rows == 0:
            raise CycleError(
                f"the sheet reads empty, but {len(memory.leads)} leads were seen before; nothing was "
                "treated as gone. If the rows were moved, point jobs[].worksheet at them; if the sheet "
                "was really cleared, move the state file aside to start afresh"
            )

    # --- deliver and record -------------------------------------------------------------
    def _deliver(self, now: int, report: CycleReport) -> set[str]:
        """Send what is due; returns the keys of the leads whose events were tried."""
        assert self.state is not None and self.meta is not None
        due = self.state.due_events(self.job.name, now)
        if not due:
            return set()
        outcomes, stop = deliver(self.meta, self.job.dataset_id, due, self.job.test_event_code)
        self.state.record_outcomes(self.job.name, outcomes, int(self.clock()))
        self.state.set_blocked(self.job.name, stop.message if stop else None, now)
        report.sent = sum(outcome.kind == "sent" for outcome in outcomes)
        report.failed = sum(outcome.kind == "failed" for outcome in outcomes)
        report.pending = sum(outcome.kind in ("pending", "blocked") for outcome in outcomes)
        report.blocked = stop.message if stop else None
        names = {event.event_id: event.event_name for event in due}
        report.outcomes_by_event.update((names[o.event_id], o.kind) for o in outcomes)
        if stop:
            log.error("job %s: sending paused: %s", self.job.name, stop.message)
        return {event.lead_key for event in due}

    # --- write back ---------------------------------------------------------------------
    def _texts(self, decided: Plan, memory: Memory) -> dict[str, RowTexts]:
        blocked = self.state.job_state(self.job.name).blocked_reason if self.state else None
        view = JobView(self.job.test_event_code, blocked)
        return {
            lead.key: row_texts(
                lead,
                memory.leads.get(lead.key),
                decided.notes.get(lead.key, ()),
                view,
                self.funnel_events,
            )
            for lead in decided.leads
        }

    def _status_cells(
        self, decided: Plan, memory: Memory, columns: ColumnMap, report: CycleReport
    ) -> dict[str, list[tuple[int, str]]]:
        """Per lead key, the (column, text) pairs whose text differs from what the sheet shows."""
        texts = self._texts(decided, memory)
        new_keys = {lead.key for lead in decided.new_keys}
        cells: dict[str, list[tuple[int, str]]] = {}
        for lead in decided.leads:
            wanted = texts[lead.key]
            changes = [
                (column, text)
                for column, text, shown in (
                    (columns.status, wanted.status, lead.shown_status),
                    (columns.events, wanted.events, lead.shown_events),
                    (columns.synced_at, wanted.synced_at, lead.shown_synced_at),
                )
                if text != shown
            ]
            if lead.key in new_keys:
                changes.append((columns.key, lead.key))
            if changes:
                cells[lead.key] = changes
            report.problems += bool(lead.problems or decided.notes.get(lead.key))
        return cells

    def _write_back(
        self,
        decided: Plan,
        cells: dict[str, list[tuple[int, str]]],
        columns: ColumnMap,
        report: CycleReport,
        summary: list[CellWrite],
    ) -> None:
        """Write to the rows where the keys stand *now*: people sort and insert rows mid-cycle.

        Status cells and the summary tab go out in one request.
        """
        rows_now = self._locate(decided, columns) if cells else {}
        writes = [
            CellWrite(rows_now[key], column, text)
            for key, changes in cells.items()
            if key in rows_now
            for column, text in changes
        ]
        self.sheet.write(writes + summary)
        report.cells_written = len(writes)
        self._summary_written = self._summary_pending

    # --- the managers' summary tab ------------------------------------------------------
    def _summary_writes(self, decided: Plan, now: int) -> list[CellWrite]:
        title = self.job.summary_worksheet
        if not title or self.state is None:
            return []
        problems = Counter(
            problem_kind(problem)
            for lead in decided.leads
            for problem in dict.fromkeys([*lead.problems, *decided.notes.get(lead.key, ())])
        )
        grid = summary.render(job_status(self.state, self.job, now), problems, now)
        if grid == self._summary_written:
            return []
        self.sheet.ensure_worksheet(title, summary.HEIGHT, summary.WIDTH)
        self._summary_pending = grid
        return [
            CellWrite(row, column, text, worksheet=title)
            for row, values in enumerate(grid, start=1)
            for column, text in enumerate(values, start=1)
        ]

    def _locate(self, decided: Plan, columns: ColumnMap) -> dict[str, int]:
        new_leads = {lead.key: lead for lead in decided.new_keys}
        to_read = columns.to_read() if new_leads else [columns.key]
        table = self.sheet.read(to_read)
        rows_by_key: dict[str, list[int]] = {}
        for row in range(2, table.data_rows + 2):
            rows_by_key.setdefault(str(table.cell(columns.key, row)).strip(), []).append(row)
        keyless = rows_by_key.pop("", [])
        rows = {key: found[0] for key, found in rows_by_key.items()}
        finders: dict[str | None, RowFinder] = {}
        for key, lead in new_leads.items():
            copied = decided.copied_from.get(key)
            # A copy stands among the later rows carrying the key it copied; a new lead among keyless rows.
            if copied not in finders:
                candidates = rows_by_key.get(copied, [])[1:] if copied else keyless
                finders[copied] = RowFinder(candidates, self._fingerprint_reader(table, columns))
            row = finders[copied].take(lead)
            if row is not None:
                rows[key] = row
        return rows

    def _fingerprint_reader(self, table: Table, columns: ColumnMap) -> Callable[[int], str | None]:
        stages = funnel(self.job)
        offset = self._offset(int(self.clock()))

        def fingerprint(row: int) -> str | None:
            seen = parse_row(table, row, columns, self.job, stages, offset, self._identities)
            return None if seen is None else seen.fingerprint

        return fingerprint

    # --- dry run ------------------------------------------------------------------------
    def _report_dry_run(
        self, decided: Plan, memory: Memory, columns: ColumnMap, now: int, report: CycleReport
    ) -> None:
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
        cells = self._status_cells(decided, memory_after(memory, decided, now), columns, report)
        for key, changes in cells.items():
            for column, text in changes:
                ref = a1.cell_ref(rows[key], column)
                report.dry_run_lines.append({"job": self.job.name, "cell": ref, "value": text})
