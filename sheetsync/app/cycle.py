"""One cycle of one job: the executor around the pure steps of sheetsync.core.decide.

read → decide (scan, parse, plan) → record (outbox) → deliver → record outcomes → render →
Lead Ads intake (jobs with lead_ads) → locate → write, as docs/DESIGN.md draws it. Only rows that changed since the last complete cycle
(and leads with events waiting on Meta) are parsed; a quiet sheet costs one read and a comparison.

The cycle is the error boundary of a job: whatever goes wrong in it — a known failure or an
unexpected exception — ends as a failed cycle recorded in the store, counted in "failed cycles
in a row", seen by `status`, metrics and the watchdog.
"""

from __future__ import annotations

import gc
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from sheetsync.app.columns import ColumnReader
from sheetsync.app.intake import IntakeReport, LeadIntake
from sheetsync.app.leases import LeaseKeeper
from sheetsync.app.summary_tab import SummaryTab
from sheetsync.core.config import JobConfig, funnel
from sheetsync.core.decide import (
    Changes,
    CycleDecision,
    RowsSeen,
    decide_rows,
    render,
    rows_after_write,
    scan_sheet,
)
from sheetsync.core.errors import CycleError, LeaseLost, SheetsyncError
from sheetsync.core.errors import render as render_error
from sheetsync.core.leads import ColumnMap, Lead, identity_hash
from sheetsync.core.locate import locate_rows
from sheetsync.core.plan import Memory, Plan, memory_after
from sheetsync.core.ports import LeadSource, SheetPort, Store
from sheetsync.core.records import OutboxEvent, Outcome, Pause
from sheetsync.core.status import JobView, when
from sheetsync.core.summary import problem_kind
from sheetsync.core.table import CellWrite, Table
from sheetsync.core.text import cell_text
from sheetsync.support.logs import scrub

log = logging.getLogger("sheetsync.cycle")
# Rows parsed, planned and recorded together. A big change (a 100,000-row sheet's first cycle) is
# taken whole in one cycle, chunk after chunk, so memory stays bounded without spreading the work
# over poll intervals; only leads waiting on Meta's answers are kept from one chunk to the next.
CHUNK_ROWS = 10_000
Sender = Callable[[list[OutboxEvent]], tuple[list[Outcome], Pause | None]]


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
    waiting: bool = False  # the pause is Meta's rate limit, with an end
    error: str | None = None
    crashed: bool = (
        False  # the error was not one sheetsync knows: a defect, logged with its traceback
    )
    intake: IntakeReport | None = None  # the Lead Ads intake, for jobs that have one
    elsewhere: bool = False  # another instance holds the job's lease: this one did nothing
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
        text += f"; {self.intake.summary()}" if self.intake else ""
        return text + (f"; sending paused: {self.blocked}" if self.blocked else "")


class JobRunner:
    """Runs cycles of one job; keeps between cycles what spares work (layout, what rows held)."""

    def __init__(
        self,
        job: JobConfig,
        sheet: SheetPort,
        send: Sender,
        store: Store,
        clock: Callable[[], float],
        leads: LeadSource | None = None,
        keeper: LeaseKeeper | None = None,
        send_margin: float = 30.0,
    ) -> None:
        self.job = job
        self.keeper = keeper  # several instances share the state: run only with the lease
        self._send_margin = send_margin  # lease time a Meta batch needs, its retries included
        self._token: int | None = None
        self.sheet = sheet
        self.send = send
        self.store = store
        self.clock = clock
        self._events = [stage.event for stage in funnel(job)]
        self._reader = ColumnReader(job, sheet)
        self._summary = SummaryTab(job, sheet)
        self._intake = LeadIntake(job, sheet, leads, store) if leads and job.lead_ads else None
        # Lead key → hash of what its row held after the last cycle; None until this process's first.
        self._row_hashes: dict[str, int] | None = None
        # Lead key → kinds of its row problems, for the report (loaded from the store at start).
        self._problem_kinds: dict[str, tuple[str, ...]] | None = None
        self._seen_errors: set[str] = set()  # unexpected errors already logged with a traceback

    # --- the cycle as the job's error boundary -------------------------------------------
    def run_cycle(self) -> CycleReport:
        if self.keeper is None:
            return self._run_cycle()
        self._token = self.keeper.claim(self.job.name)
        if self._token is None:  # another instance runs the job now
            return CycleReport(self.job.name, elsewhere=True)
        try:
            with self.store.fenced(self.job.name, self.keeper.instance, self._token):
                return self._run_cycle()
        except LeaseLost:  # raised again by recording the failed cycle: nothing is written
            self.keeper.lost(self.job.name)
            return CycleReport(self.job.name, elsewhere=True)

    def _run_cycle(self) -> CycleReport:
        now = int(self.clock())
        report = CycleReport(self.job.name)
        cycle_id = self.store.start_cycle(self.job.name, now)
        try:
            with _cyclic_collector_paused():
                self._cycle(now, report)
        except Exception as error:  # any failure is this job's failed cycle, never a dead loop
            report.error = scrub(render_error(error))  # it is stored and shown: no secret
            report.crashed = not isinstance(error, SheetsyncError)
            if report.crashed:
                self._log_crash(error)
        finally:
            self.store.finish_cycle(
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

    def _log_crash(self, error: Exception) -> None:
        """A traceback once per distinct error, so a failure repeating every cycle does not
        flood the journal; the scrubbing log handler keeps the token out of it."""
        signature = f"{type(error).__name__}: {error}"
        if signature in self._seen_errors:
            log.error("job %s: cycle failed again: %s", self.job.name, signature)
            return
        self._seen_errors.add(signature)
        log.error("job %s: cycle failed: %s", self.job.name, signature, exc_info=error)

    def _cycle(self, now: int, report: CycleReport) -> None:
        table, columns = self._read()
        self._guard_mass_change(table)
        seen = self._rows_seen()
        changed = scan_sheet(table, columns, seen)
        report.leads = changed.leads
        work = _CycleWork(hashes=changed.hashes)
        chunks = [
            changed.candidates[start : start + CHUNK_ROWS]
            for start in range(0, len(changed.candidates), CHUNK_ROWS)
        ] or [()]
        for number, rows in enumerate(chunks, start=1):
            decision = decide_rows(
                table, columns, rows, changed, self._recall, self.job, now, frozenset(work.parsed)
            )
            # The first cycle ends when its last chunk is recorded: the sheet was seen whole.
            self.store.record_plan(
                self.job.name, decision.plan, now, sheet_complete=number == len(chunks)
            )
            self._settle(decision, seen.pending, now, table, columns, work, report)
            del decision  # the chunk's leads: only the ones waiting on Meta are kept
        report.expired += len(
            self.store.expire_stale(
                self.job.name, now, "could not be sent within Meta's 7-day window"
            )
        )
        self._deliver(now, report)
        self._render_waiting(work, table, columns)
        if self._intake is not None:  # before the summary, so the tab shows what it did
            report.intake = self._take_in(now, self._lead_ids(table, columns))
        problems, gone = self._standing_problems(changed.taken | work.parsed)
        report.problems = len(problems)
        quiet = not (
            work.parsed
            or report.sent
            or report.failed
            or report.pending
            or report.expired
            or (report.intake and (report.intake.appended or report.intake.paused))
        )
        summary_cells = self._summary.cells(self.store, problems, now, quiet)
        # The big read is not needed any more: let the re-read before writing take its place.
        del table
        if work.changes or summary_cells:
            self._write_back(work, columns, report, summary_cells)
        # Only after a complete cycle, so one that failed midway is redone in full.
        self._row_hashes = work.hashes
        self.store.save_rows(self.job.name, work.digests, problems, gone)
        if report.blocked and not report.waiting:
            # The rows say why they wait; the job itself could not do its work until a person
            # acts: a failed cycle (not a "last success", no watchdog ping, `once` exits
            # non-zero). A rate-limit pause is Meta's pacing, not a fault: the cycle did its work.
            report.error = f"sending to Meta is paused: {report.blocked}"

    def _read(self) -> tuple[Table, ColumnMap]:
        first_read = self._reader.columns is None
        known = self.store.saved_header(self.job.name) if first_read else None
        table, columns, learned = self._reader.read(known)
        if table.header != known and (first_read or learned):
            self.store.save_header(self.job.name, table.header)
        if learned and self._row_hashes is not None:
            self._row_hashes = {}  # columns moved: what rows held is not comparable any more
        return table, columns

    def _take_in(self, now: int, in_sheet: set[str]) -> IntakeReport:
        """New Lead Ads leads into the sheet. Whatever stops it is the intake's own pause, shown
        in `status`: the stage sync this cycle did stands."""
        assert self._intake is not None and self._reader.layout is not None
        try:
            return self._intake.run(now, in_sheet, self._reader.layout)
        except Exception as error:  # a failed append or a defect: the intake waits a cycle
            reason = f"new leads could not be added: {scrub(render_error(error))}"
            self.store.set_intake_pause(self.job.name, reason, None)
            if not isinstance(error, SheetsyncError):
                self._log_crash(error)
            return IntakeReport(paused=reason)

    @staticmethod
    def _lead_ids(table: Table, columns: ColumnMap) -> set[str]:
        """The lead ids standing in the sheet, as text (what the intake must not add again)."""
        column = columns.fields.get("lead_id")
        values = table.columns.get(column, ()) if column else ()
        return {text for value in values if (text := cell_text(value))}

    def _recall(self, keys: list[str]) -> Memory:
        return self.store.memory(self.job.name, keys)

    def _settle(
        self,
        decision: CycleDecision,
        pending: frozenset[str],
        now: int,
        table: Table,
        columns: ColumnMap,
        work: _CycleWork,
        report: CycleReport,
    ) -> None:
        """Render a recorded chunk's rows whose texts no answer from Meta can change now; keep
        the others (events planned or waiting) until the sends are done."""
        decided = decision.plan
        report.keys_given += len(decided.new_keys)
        report.baseline += sum(d.status == "baseline" for d in decided.decisions)
        report.expired += sum(d.status == "expired" for d in decided.decisions)
        self._note_problems(decided)
        work.parsed.update(lead.key for lead in decided.leads)
        work.new_keys += [_Placed(lead.key, lead.row, lead.who) for lead in decided.new_keys]
        work.copied_from.update(decided.copied_from)
        waits = pending | {event.lead_key for event in decided.events}
        settled = [lead for lead in decided.leads if lead.key not in waits]
        waiting = [lead for lead in decided.leads if lead.key in waits]
        after = memory_after(decision.memory, decided, now)  # as the store now holds it
        view = JobView(self.job.test_event_code, None)  # the pause only speaks of waiting events
        changes = render(settled, decided, after, columns, view, self._events)
        work.add(settled, changes, columns, table)
        if waiting:
            keep = {lead.key for lead in waiting}
            work.waiting.append(
                replace(
                    decided,
                    leads=tuple(waiting),
                    new_keys=tuple(lead for lead in decided.new_keys if lead.key in keep),
                    notes={key: decided.notes[key] for key in keep & decided.notes.keys()},
                    observations=(),
                    events=(),
                    decisions=(),
                )
            )

    def _render_waiting(self, work: _CycleWork, table: Table, columns: ColumnMap) -> None:
        """Rows with events planned or waiting, once Meta has answered (or the job is paused)."""
        blocked = self.store.job_state(self.job.name).blocked_reason
        view = JobView(self.job.test_event_code, blocked)
        for waiting in work.waiting:
            after = self.store.memory(self.job.name, [lead.key for lead in waiting.leads])
            changes = render(waiting.leads, waiting, after, columns, view, self._events)
            work.add(waiting.leads, changes, columns, table)
        work.waiting.clear()

    def _rows_seen(self) -> RowsSeen:
        pending = frozenset(self.store.pending_keys(self.job.name))
        if self._row_hashes is None:  # this process's first cycle: what the store remembers
            return RowsSeen({}, self.store.row_digests(self.job.name), pending)
        return RowsSeen(self._row_hashes, None, pending)

    def _guard_mass_change(self, table: Table) -> None:
        if table.data_rows == 0 and (known := self.store.lead_count(self.job.name)):
            raise CycleError(
                f"the sheet reads empty, but {known} leads were seen before; nothing was treated as gone",
                "if the rows were moved, point jobs[].worksheet at them; if the sheet was really "
                "cleared, move the state file aside to start afresh",
            )

    # --- deliver and record -------------------------------------------------------------
    def _deliver(self, now: int, report: CycleReport) -> None:
        saved = self.store.job_state(self.job.name)
        if saved.paused_at(now):  # Meta asked the job to wait: not one request until then
            report.blocked, report.waiting = saved.blocked_reason, True
            report.pending = len(self.store.pending_keys(self.job.name))
            return
        due = self.store.due_events(self.job.name, now)
        if not due:
            return
        self._lease_covers_a_send()
        outcomes, pause = self.send(due)
        answered = int(self.clock())
        self.store.record_outcomes(self.job.name, outcomes, answered)  # after Meta answered
        reason, until = None, None
        if pause is not None:
            reason = pause.reason
            if pause.wait is not None:
                until = answered + int(pause.wait)
                reason = f"{pause.reason} until {when(until)}"
                report.waiting = True
        self.store.set_blocked(self.job.name, reason, now, until)
        report.sent = sum(outcome.kind == "sent" for outcome in outcomes)
        report.failed = sum(outcome.kind == "failed" for outcome in outcomes)
        report.pending = sum(outcome.kind in ("pending", "blocked") for outcome in outcomes)
        report.blocked = reason
        names = {event.event_id: event.event_name for event in due}
        report.outcomes_by_event.update(
            (names[outcome.event_id], outcome.kind) for outcome in outcomes
        )
        if reason:
            log.error("job %s: sending paused: %s", self.job.name, reason)

    def _lease_covers_a_send(self) -> None:
        """No batch goes to Meta unless the lease outlasts it, timeouts and retries included: a
        frozen instance that wakes up after its lease moved sends nothing."""
        if self.keeper is None or self._token is None:
            return
        left = self.store.lease_left(self.job.name, self.keeper.instance, self._token)
        if left < self._send_margin:
            raise LeaseLost(
                f"job {self.job.name}: the lease has {max(left, 0):.0f} s left, less than a send "
                f"needs ({self._send_margin:.0f} s); nothing was sent"
            )

    # --- row problems -------------------------------------------------------------------
    def _kinds(self) -> dict[str, tuple[str, ...]]:
        """Each lead's problem kinds, loaded from the store once per process, then kept."""
        if self._problem_kinds is None:
            self._problem_kinds = self.store.row_problems(self.job.name)
        return self._problem_kinds

    def _note_problems(self, decided: Plan) -> None:
        """Row problems of the leads just planned (unchanged rows keep theirs). Starts from what
        the store kept, so a restart does not reset the counts."""
        kinds = self._kinds()
        for lead in decided.leads:
            problems = dict.fromkeys([*lead.problems, *decided.notes.get(lead.key, ())])
            if problems:
                kinds[lead.key] = tuple(dict.fromkeys(problem_kind(p) for p in problems))
            else:
                kinds.pop(lead.key, None)

    def _standing_problems(
        self, standing: set[str] | frozenset[str]
    ) -> tuple[dict[str, tuple[str, ...]], list[str]]:
        """Problem kinds of every standing lead, and the keys whose rows are gone."""
        kinds = self._kinds()
        gone = [key for key in kinds if key not in standing]
        for key in gone:
            del kinds[key]
        return kinds, gone

    # --- write back ---------------------------------------------------------------------
    def _write_back(
        self,
        work: _CycleWork,
        columns: ColumnMap,
        report: CycleReport,
        summary_cells: list[CellWrite],
    ) -> None:
        """Status cells go to the rows where the keys stand *now*, with the summary tab, in one request."""
        rows_now = self._locate(work, columns) if work.changes else {}
        writes = [
            CellWrite(rows_now[key], column, text)
            for key, pairs in work.changes.items()
            if key in rows_now
            for column, text in pairs
        ]
        work.changes.clear()  # now in `writes`: a first cycle's 100,000 rows need not be held twice
        writes += summary_cells
        self.sheet.write(writes)
        report.cells_written = len(writes) - len(summary_cells)
        self._summary.written(summary_cells)

    def _locate(self, work: _CycleWork, columns: ColumnMap) -> dict[str, int]:
        """Re-read the key column (and, when new keys must be placed, the columns that identify people)."""
        table = self.sheet.read(columns.to_locate() if work.new_keys else [columns.key])
        return locate_rows(
            table,
            columns,
            work.new_keys,
            work.copied_from,
            lambda row: identity_hash(table, columns, row),
        )


@contextmanager
def _cyclic_collector_paused() -> Iterator[None]:
    """A big cycle makes millions of short-lived objects, which reference counting frees; the
    cyclic collector's passes over those still alive took a third of a 100,000-row first cycle
    (BENCHMARKS.md). It is held off for the cycle and resumes after it, so what little cyclic
    garbage a cycle leaves (an exception's traceback) is still collected."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(frozen=True, slots=True)
class _Placed:
    """A lead given a key this cycle, as far as finding its row before writing needs."""

    key: str
    row: int
    who: int | None


@dataclass
class _CycleWork:
    """What the chunks of a cycle leave for its end."""

    hashes: dict[str, int]  # key → what its row will hold (fast hash), for this process
    digests: dict[str, int] = field(default_factory=dict)  # the same as stable digests, to store
    changes: Changes = field(default_factory=dict)  # the cells to write
    parsed: set[str] = field(default_factory=set)  # keys of the leads parsed this cycle
    new_keys: list[_Placed] = field(default_factory=list)
    copied_from: dict[str, str] = field(default_factory=dict)
    waiting: list[Plan] = field(default_factory=list)  # leads rendered after the sends

    def add(
        self, leads: Iterable[Lead], changes: Changes, columns: ColumnMap, table: Table
    ) -> None:
        self.changes.update(changes)
        for key, fast, stable in rows_after_write(leads, changes, columns, table):
            self.hashes[key] = fast
            self.digests[key] = stable
