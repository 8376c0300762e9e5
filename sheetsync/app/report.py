"""`sheetsync status` and `sheetsync resend`: what the state file says, for ops and managers.

Status opens the state file without taking the daemon's lock, so it works while
`sheetsync run` is running.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict

from sheetsync.adapters.meta import deliver
from sheetsync.app.clients import meta_client
from sheetsync.app.figures import job_status
from sheetsync.app.stores import open_for_reading, where
from sheetsync.core.config import Config
from sheetsync.core.errors import StateError
from sheetsync.core.health import JobState, JobStatus
from sheetsync.core.outbox import too_old_to_send
from sheetsync.core.plan import Where, event_id_for
from sheetsync.core.records import IntakeState, OutboxEvent
from sheetsync.core.status import when


def print_status(config: Config, as_json: bool = False, now: float | None = None) -> int:
    state = open_for_reading(
        config, "no state file at {path} yet: sheetsync has not run with this config"
    )
    try:
        moment = time.time() if now is None else now
        report = [job_status(state, job, moment) for job in config.jobs]
        saved = [state.job_state(job.name) for job in config.jobs]
        leases = state.leases()  # several instances share the state: who runs what
        alive = state.instances_alive(config.lease_seconds) if config.state_url else []
    finally:
        state.close()
    if as_json:
        size = config.state_path.stat().st_size if not config.state_url else None
        print(
            json.dumps(
                {
                    "state_file": where(config),
                    "state_file_bytes": size,
                    "jobs": [asdict(item) for item in report],
                    "instances_alive": alive,
                    "leases": {
                        job: {"holder": holder, "seconds_left": round(left, 1)}
                        for job, (holder, left) in leases.items()
                    },
                },
                indent=2,
            )
        )
        return 0
    print(headline(config, report, saved))
    if config.state_url:
        print(f"instances alive: {', '.join(alive) or 'none'}")
    for item in report:
        print(_render(item))
        if config.state_url:
            print("  " + _held(leases.get(item.job), moment))
    return 0


def _held(lease: tuple[str, float] | None, now: float) -> str:
    if lease is None or lease[1] <= 0:
        return "runs on: no instance holds it now (the next live one takes it)"
    holder, left = lease
    return f"runs on: {holder}, lease until {_clock(now + left)}"


def headline(config: Config, report: list[JobStatus], saved: list[JobState]) -> str:
    """The line an operator wants first: `3/3 jobs ok · 128 events today · last cycle 14:03:12
    · next 14:04:12` (times UTC)."""
    ok = sum(1 for item in report if not item.paused and not item.failed_cycles_in_a_row)
    today = sum(stage.sent_today for item in report for stage in item.stages)
    parts = [f"{ok}/{len(report)} jobs ok", f"{today} events today"]
    cycles = [
        (state.last_cycle_at, job.poll_interval)
        for state, job in zip(saved, config.jobs, strict=True)
    ]
    ran = [(at, interval) for at, interval in cycles if at is not None]
    if ran:
        parts.append(f"last cycle {_clock(max(at for at, _ in ran))}")
        parts.append(f"next {_clock(min(at + interval for at, interval in ran))}")
    else:
        parts.append("no cycle yet")
    return " · ".join(parts)


def _clock(moment: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(moment))


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
    if item.rows_with_problems:
        kinds = ", ".join(f"{kind} {rows}" for kind, rows in list(item.problems.items())[:5])
        lines.append(f"  rows with problems: {item.rows_with_problems} ({kinds})")
    if item.match_keys:
        shares = ", ".join(f"{key} {share:.0%}" for key, share in item.match_keys.items())
        lines.append(f"  match keys on sent events: {shares}")
    if item.lead_ads is not None:
        lines += _intake_lines(item.lead_ads)
    return "\n".join(lines)


def _intake_lines(intake: IntakeState) -> list[str]:
    state = f"paused: {intake.paused}" if intake.paused else "taking in new leads"
    lines = [f"  Lead Ads intake: {state}"]
    for form in intake.forms:
        lines.append(
            f"    form {form.form_name or form.form_id} ({form.form_id}): {form.appended_since} "
            f"today, {form.appended_total} in all; last fetch {when(form.last_fetch_at) or 'never'}"
            f"; checkpoint {when(form.checkpoint)}"
        )
    if not intake.forms:
        lines.append("    no form fetched yet")
    return lines


def resend(config: Config, job_name: str, lead_key: str, event_name: str | None) -> int:
    """Send a lead's events again with new event ids (an operator's decision, recorded).

    Through the outbox like a cycle: each resend is recorded before it is sent, and its outcome
    after Meta answered, so a crash in between leaves a trace rather than an unrecorded send."""
    job = next((job for job in config.jobs if job.name == job_name), None)
    if job is None:
        raise StateError(f"no job named {job_name!r} in the config")
    meta = meta_client(config)
    store = open_for_reading(
        config, "no state file at {path}: sheetsync has sent nothing with this config"
    )
    try:
        originals = store.sent_payloads(job.name, lead_key, event_name)
        if not originals:
            raise StateError(
                f"no sent event for lead {lead_key!r}"
                + (f" named {event_name}" if event_name else "")
            )
        now = int(time.time())
        events = []
        for name, payload, resends in originals:
            if too_old_to_send(payload["event_time"], now):
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
        for event in events:  # intent first
            store.record_resend(
                job.name, lead_key, event.event_name, event.event_id, "pending", now
            )
        outcomes, stop = deliver(meta, job.dataset_id, events, job.test_event_code)
        for event, outcome in zip(events, outcomes, strict=True):
            store.record_resend(
                job.name, lead_key, event.event_name, event.event_id, outcome.kind, now
            )
            print(
                f"{event.event_name}: {outcome.kind}"
                + (f" ({outcome.detail})" if outcome.detail else "")
            )
    finally:
        store.close()
    return 0 if not stop and all(o.kind == "sent" for o in outcomes) else 1
