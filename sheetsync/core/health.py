"""A job's health and figures, as `status`, the summary tab and metrics show them. Pure.

The store hands over what it holds (the job's row, its events, its recent leads); this module
turns that into the figures people read, so every surface shows the same numbers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sheetsync.core.config import JobConfig, funnel
from sheetsync.core.records import IntakeState
from sheetsync.core.status import when

DAY = 86400
CHART_DAYS = 14  # the managers' chart: events sent per stage per day over this many days
TARGET_EVENTS_PER_WEEK = 50  # Meta's rough need per ad set for an optimisation target


@dataclass(frozen=True)
class JobState:
    """The job's own row in the store: cycles, failures, a pause."""

    job: str
    first_cycle_at: int | None = None
    last_cycle_at: int | None = None
    last_success_at: int | None = None
    last_result: str | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    blocked_reason: str | None = None
    blocked_since: int | None = None
    blocked_until: int | None = None  # a rate-limit pause ends then; None: when a person acts

    def paused_at(self, now: int) -> bool:
        """Meta asked this job to wait and the wait is not over: send nothing."""
        return self.blocked_until is not None and now < self.blocked_until


@dataclass
class StageFigures:
    event: str
    sent_today: int = 0
    sent_7_days: int = 0
    sent_total: int = 0
    share_of_leads: float = 0.0  # of leads seen in the last 30 days, the share that reached it
    optimisation_ready: bool = False  # about 50 a week
    sent_by_day: tuple[int, ...] = ()  # the last CHART_DAYS days (UTC), oldest first, today last


@dataclass
class JobStatus:
    job: str
    last_cycle: str
    last_success: str
    last_result: str
    failed_cycles_in_a_row: int
    paused: str | None
    test_mode: str | None
    leads: int
    leads_last_30_days: int
    pending: int
    failed: int
    expired: int
    baseline: int
    stages: list[StageFigures] = field(default_factory=list)
    match_keys: dict[str, float] = field(
        default_factory=dict
    )  # key → share of sent events carrying it
    rows_with_problems: int = 0
    problems: dict[str, int] = field(default_factory=dict)  # problem kind → rows
    lead_ads: IntakeState | None = None  # the Lead Ads intake, for jobs that have one


def job_figures(
    job: JobConfig,
    saved: JobState,
    events: Iterable[Mapping[str, Any]],
    recent_leads: set[str],
    lead_count: int,
    problem_kinds: Counter[str],
    rows_with_problems: int,
    now: float,
) -> JobStatus:
    """`events`: one mapping per stored event (lead_key, event_name, status, status_at, match_keys)."""
    rows = list(events)
    statuses = Counter(row["status"] for row in rows)
    sent = [row for row in rows if row["status"] == "sent"]
    stages = []
    for stage in funnel(job):
        mine = [row for row in sent if row["event_name"] == stage.event]
        reached = {
            row["lead_key"] for row in rows if row["event_name"] == stage.event
        } & recent_leads
        week = sum(1 for row in mine if (row["status_at"] or 0) >= now - 7 * DAY)
        today = int(now) // DAY
        by_day = Counter(today - int(row["status_at"] or 0) // DAY for row in mine)  # days ago
        days = tuple(by_day[ago] for ago in range(CHART_DAYS - 1, -1, -1))  # oldest first
        stages.append(
            StageFigures(
                stage.event,
                sent_today=sum(1 for row in mine if (row["status_at"] or 0) >= now - now % DAY),
                sent_7_days=week,
                sent_total=len(mine),
                share_of_leads=round(len(reached) / len(recent_leads), 3) if recent_leads else 0.0,
                optimisation_ready=week >= TARGET_EVENTS_PER_WEEK,
                sent_by_day=days,
            )
        )
    key_counts = Counter(
        key for row in sent for key in filter(None, (row["match_keys"] or "").split(","))
    )
    return JobStatus(
        job=job.name,
        last_cycle=when(saved.last_cycle_at) or "never",
        last_success=when(saved.last_success_at) or "never",
        last_result=saved.last_error or saved.last_result or "",
        failed_cycles_in_a_row=saved.consecutive_failures,
        paused=saved.blocked_reason,
        test_mode=job.test_event_code,
        leads=lead_count,
        leads_last_30_days=len(recent_leads),
        pending=statuses["pending"],
        failed=statuses["failed"],
        expired=statuses["expired"],
        baseline=statuses["baseline"],
        stages=stages,
        match_keys={key: round(count / len(sent), 3) for key, count in sorted(key_counts.items())}
        if sent
        else {},
        rows_with_problems=rows_with_problems,
        problems=dict(problem_kinds.most_common()),
    )
