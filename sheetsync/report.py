"""`sheetsync status` and `sheetsync resend`: what the state file says, for ops and managers.

Status opens the state file without taking the daemon's lock, so it works while
`sheetsync run` is running.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field

from sheetsync.config import Config, JobConfig, funnel
from sheetsync.logs import redact
from sheetsync.meta import MetaClient, deliver, load_token
from sheetsync.plan import SEVEN_DAYS, Where, event_id_for
from sheetsync.records import OutboxEvent
from sheetsync.state import StateError, StateStore
from sheetsync.status import when

DAY = 86400
TARGET_EVENTS_PER_WEEK = 50  # Meta's rough need per ad set for an optimisation target


@dataclass
class StageFigures:
    event: str
    sent_today: int = 0
    sent_7_days: int = 0
    sent_total: int = 0
    share_of_leads: float = 0.0  # of leads seen in the last 30 days, the share that reached it
    optimisation_ready: bool = False  # about 50 a week


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


def job_status(state: StateStore, job: JobConfig, now: float) -> JobStatus:
    saved = state.job_state(job.name)
    rows = state.event_rows(job.name)
    statuses = Counter(row["status"] for row in rows)
    sent = [row for row in rows if row["status"] == "sent"]
    recent_leads = state.leads_seen_since(job.name, int(now - 30 * DAY))
    stages = []
    for stage in funnel(job):
        mine = [row for row in sent if row["event_name"] == stage.event]
        reached = {
            row["lead_key"] for row in rows if row["event_name"] == stage.event
        } & recent_leads
        week = sum(1 for row in mine if (row["status_at"] or 0) >= now - 7 * DAY)
        stages.append(
            StageFigures(
                stage.event,
                sent_today=sum(1 for row in mine if (row["status_at"] or 0) >= now - now % DAY),
                sent_7_days=week,
                sent_total=len(mine),
                share_of_leads=round(len(reached) / len(recent_leads), 3) if recent_leads else 0.0,
                optimisation_ready=week >= TARGET_EVENTS_PER_WEEK,
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
        leads=state.lead_count(job.name),
        leads_last_30_days=len(recent_leads),
        pending=statuses["pending"],
        failed=statuses["failed"],
        expired=statuses["expired"],
        baseline=statuses["baseline"],
        stages=stages,
        match_keys={key: round(count / len(sent), 3) for key, count in sorted(key_counts.items())}
        if sent
        else {},
    )


def print_status(config: Config, as_json: bool = False, now: float | None = None) -> int:
    if not config.state_path.exists():
        raise StateError(
            f"no state file at {config.state_path} yet: sheetsync has not run with this config"
        )
    state = StateStore.open(config.state_path, lock=False)
    try:
        moment = time.time() if now is None else now
        report = [job_status(state, job, moment) for job in config.jobs]
    finally:
        state.close()
    if as_json:
        size = config.state_path.stat().st_size
        print(
            json.dumps(
                {
                    "state_file": str(config.state_path),
                    "state_file_bytes": size,
                    "jobs": [asdict(item) for item in report],
                },
                indent=2,
            )
        )
        return 0
    for item in report:
        print(_render(item))
    return 0


def _render(item: JobStatus) -> str:
    health = (
        "paused: " + item.paused
        if item.paused
        else (
            f"{item.failed_cycles_in_a_row} failed cycles in a row"
            if item.failed_cycles_in_a_row
            else "ok"
        )
    )
    lines = [
        f"job {item.job}: {health}",
        f"  last cycle {item.last_cycle}; last success {item.last_success}",
        f"  {item.last_result}",
    ]
    if item.test_mode:
        lines.append(
            f"  TEST mode is on ({item.test_mode}): events go to Test Events and still count"
        )
    lines.append(
        f"  leads: {item.leads} ({item.leads_last_30_days} in the last 30 days); pending {item.pending}, "
        f"rejected {item.failed}, expired {item.expired}, baseline {item.baseline}"
    )
    lines.append(
        f"  {'event':<16}{'today':>7}{'7 days':>8}{'total':>8}{'of leads':>10}  optimisation target?"
    )
    for stage in item.stages:
        ready = "yes (≥50/week)" if stage.optimisation_ready else "not yet (<50/week)"
        lines.append(
            f"  {stage.event:<16}{stage.sent_today:>7}{stage.sent_7_days:>8}{stage.sent_total:>8}"
            f"{stage.share_of_leads:>10.0%}  {ready}"
        )
    if item.match_keys:
        shares = ", ".join(f"{key} {share:.0%}" for key, share in item.match_keys.items())
        lines.append(f"  match keys on sent events: {shares}")
    return "\n".join(lines)


def resend(config: Config, job_name: str, lead_key: str, event_name: str | None) -> int:
    """Send a lead's events again with new event ids (an operator's decision, recorded)."""
    job = next((job for job in config.jobs if job.name == job_name), None)
    if job is None:
        raise StateError(f"no job named {job_name!r} in the config")
    token = load_token(config.meta)
    redact(token)
    state = StateStore.open(config.state_path, lock=False)
    try:
        originals = state.payloads_for_lead(job.name, lead_key, event_name)
        if not originals:
            raise StateError(
                f"no sent event for lead {lead_key!r}"
                + (f" named {event_name}" if event_name else "")
            )
        now = int(time.time())
        events = []
        for name, payload, resends in originals:
            if payload["event_time"] < now - SEVEN_DAYS:
                print(
                    f"{name}: not resent, it happened more than 7 days ago and Meta would refuse it"
                )
                continue
            new_id = event_id_for(
                Where(job.spreadsheet, job.worksheet), lead_key, name, resend=resends + 1
            )
            events.append(
                OutboxEvent(
                    job.name,
                    lead_key,
                    name,
                    new_id,
                    payload["event_time"],
                    {**payload, "event_id": new_id},
                )
            )
        outcomes, stop = deliver(
            MetaClient(config.meta, token), job.dataset_id, events, job.test_event_code
        )
        for event, outcome in zip(events, outcomes, strict=True):
            state.record_resend(
                job.name, lead_key, event.event_name, event.event_id, outcome.kind, now
            )
            print(
                f"{event.event_name}: {outcome.kind}"
                + (f" ({outcome.detail})" if outcome.detail else "")
            )
    finally:
        state.close()
    return 0 if not stop and all(o.kind == "sent" for o in outcomes) else 1
