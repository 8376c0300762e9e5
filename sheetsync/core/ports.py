"""The small interfaces the cycle's executor works through, so that any store, sheet or sender
that satisfies them will do: SQLite or PostgreSQL, the emulator or an in-memory sheet.

They are typing.Protocols: an implementation does not inherit from them, it only has to match.
The store's contract — what any implementation must do — is tested once for all of them in
tests/test_store_contract.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from sheetsync.core.health import JobState
from sheetsync.core.intake import FetchedLead, LeadForm
from sheetsync.core.plan import Memory, Plan
from sheetsync.core.records import (
    FormCheckpoint,
    IntakeLead,
    IntakeState,
    OutboxEvent,
    Outcome,
    Pause,
)
from sheetsync.core.summary import ChartPlan
from sheetsync.core.table import CellWrite, Layout, Table


class Outbox(Protocol):
    """Intent before sending, results after Meta answered (docs/DESIGN.md, "The outbox")."""

    def record_plan(
        self, job: str, plan: Plan, now: int, *, sheet_complete: bool = True
    ) -> None: ...
    def due_events(self, job: str, now: int) -> list[OutboxEvent]: ...
    def expire_stale(self, job: str, now: int, detail: str) -> list[str]: ...
    def record_outcomes(self, job: str, outcomes: Iterable[Outcome], now: int) -> None: ...
    def pending_keys(self, job: str) -> set[str]: ...
    def sent_payloads(
        self, job: str, lead_key: str, event_name: str | None
    ) -> list[tuple[str, dict[str, Any], int]]: ...
    def record_resend(
        self, job: str, lead_key: str, event_name: str, event_id: str, outcome: str, now: int
    ) -> None: ...


class PlannerMemory(Protocol):
    """What the planner needs to remember, and what each row held after its last cycle."""

    def memory(self, job: str, keys: Iterable[str] | None = None) -> Memory: ...
    def row_digests(self, job: str) -> dict[str, int]: ...
    def row_problems(self, job: str) -> dict[str, tuple[str, ...]]: ...
    def save_rows(
        self,
        job: str,
        digests: Mapping[str, int],
        problems: Mapping[str, tuple[str, ...]],
        gone: Iterable[str] = (),
    ) -> None: ...
    def lead_count(self, job: str) -> int: ...
    def saved_header(self, job: str) -> tuple[str, ...] | None: ...
    def save_header(self, job: str, header: tuple[str, ...]) -> None: ...
    def chart_id(self, job: str) -> int | None: ...
    def save_chart_id(self, job: str, chart_id: int) -> None: ...


class JobHealth(Protocol):
    """Cycles, failures in a row, a pause: what `status`, metrics and the watchdog read."""

    def job_state(self, job: str) -> JobState: ...
    def start_cycle(self, job: str, now: int) -> int: ...
    def finish_cycle(
        self,
        job: str,
        cycle_id: int,
        now: int,
        *,
        ok: bool,
        result: str,
        sent: int = 0,
        failed: int = 0,
        error: str | None = None,
    ) -> None: ...
    def set_blocked(
        self, job: str, reason: str | None, now: int, until: int | None = None
    ) -> None: ...


class Queries(Protocol):
    """Read-only views for reports."""

    def event_rows(self, job: str) -> list[dict[str, Any]]: ...
    def leads_seen_since(self, job: str, since: int) -> set[str]: ...
    def problem_counts(self, job: str) -> tuple[int, Counter[str]]: ...


class LeadIntakeMemory(Protocol):
    """What the Lead Ads intake keeps: per form a checkpoint, the leads in the sheet, its pause."""

    def intake_checkpoints(self, job: str) -> dict[str, int]: ...
    def intake_known(self, job: str, lead_ids: Iterable[str]) -> set[str]: ...
    def record_intake(
        self,
        job: str,
        leads: Sequence[IntakeLead],
        checkpoints: Sequence[FormCheckpoint],
        now: int,
    ) -> None:
        """The leads now in the sheet and the forms' new checkpoints, in one transaction."""
        ...

    def set_intake_pause(self, job: str, reason: str | None, until: int | None) -> None: ...
    def intake_state(self, job: str, since: int) -> IntakeState: ...


class Leases(Protocol):
    """Which instance runs each job (docs/DESIGN.md, "Growing past one machine"). A store for
    one process (SQLite) grants every lease to its only user."""

    def take_lease(self, job: str, instance: str, seconds: float) -> int | None:
        """Take the job's lease, or renew it, for `seconds` of the database's clock: its
        fencing token, or None while another live instance holds it."""
        ...

    def release_lease(self, job: str, instance: str) -> None: ...
    def heartbeat(self, instance: str) -> None: ...
    def leases(self) -> dict[str, tuple[str, float]]:
        """Job → (holder, seconds the lease has left)."""
        ...

    def instances_alive(self, within: float) -> list[str]: ...
    def fenced(self, job: str, instance: str, token: int) -> AbstractContextManager[None]:
        """Within: every write for `job` first checks, in its own transaction, that this
        instance still holds the lease with `token`, and raises LeaseLost when it does not."""
        ...

    def lease_left(self, job: str, instance: str, token: int) -> float: ...


class Store(Outbox, PlannerMemory, JobHealth, Queries, LeadIntakeMemory, Leases, Protocol):
    """Everything sheetsync keeps between cycles. Closing releases it for another process."""

    def close(self) -> None: ...


class SheetPort(Protocol):
    """The lead worksheet as the cycle sees it (Google Sheets, or an in-memory stand-in)."""

    time_zone: str

    def read_header(self) -> tuple[str, ...]: ...
    def read(self, columns: Sequence[int]) -> Table: ...
    def ensure_headers(self, layout: Layout, wanted: Sequence[str]) -> Layout: ...
    def ensure_worksheet(self, title: str, rows: int, columns: int) -> None: ...
    def ensure_chart(self, title: str, plan: ChartPlan, chart_id: int | None) -> int:
        """The chart `plan` describes on tab `title`: the one with `chart_id` (or `plan.title`)
        if the spreadsheet has it — its spec updated only when it differs, its position left
        as a person set it — else a new one. Returns its id."""
        ...

    def write(self, cells: Sequence[CellWrite]) -> None: ...
    def append(self, rows: Sequence[Sequence[str]]) -> None:
        """New rows after the table's last non-empty row, as text; never over a person's rows.
        Not retried: a lost answer is settled by the next cycle's read, not by a second append."""
        ...


class LeadSource(Protocol):
    """A Page's Lead Ads forms and their leads (Meta's Graph API, or the emulator). Raises
    LeadSourceUnavailable when Meta will not answer now."""

    def forms(self, page_id: str) -> list[LeadForm]: ...
    def leads(self, form_id: str, since: int) -> Iterator[FetchedLead]: ...


class Sender(Protocol):
    """Delivers outbox events to Meta; returns one outcome per event and, when the whole job
    must stop sending, the pause."""

    def __call__(self, events: Sequence[OutboxEvent]) -> tuple[list[Outcome], Pause | None]: ...
