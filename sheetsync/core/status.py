"""Status texts for people: what each row shows, in the sales team's words. Pure.

The texts depend only on the lead and sheetsync's memory, so a cycle where
nothing happened renders exactly what the sheet already shows and writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sheetsync.core.leads import Lead
from sheetsync.core.plan import EventMemory, LeadMemory
from sheetsync.core.text import clipped

MAX_PROBLEMS_SHOWN = 3


@dataclass(frozen=True, slots=True)
class RowTexts:
    status: str
    events: str
    synced_at: str


@dataclass(frozen=True, slots=True)
class JobView:
    test_event_code: str | None = None
    blocked_reason: str | None = None


def when(moment: int | None) -> str:
    if moment is None:
        return ""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M UTC")


def row_texts(
    lead: Lead,
    memory: LeadMemory | None,
    notes: tuple[str, ...],
    job: JobView,
    funnel_events: list[str],
) -> RowTexts:
    events: Mapping[str, EventMemory] = memory.events if memory else {}
    ordered = sorted(events.items(), key=lambda item: _funnel_position(item[0], funnel_events))
    parts: list[str] = []
    if job.test_event_code:
        parts.append(f"TEST mode ({job.test_event_code})")
    for name, event in ordered:
        if event.status == "failed":
            parts.append(f"✗ {name} {event.detail}")
    problems = list(dict.fromkeys([*lead.problems, *notes]))
    parts += [f"✗ {problem}" for problem in problems[:MAX_PROBLEMS_SHOWN]]
    if len(problems) > MAX_PROBLEMS_SHOWN:
        parts.append(f"(+{len(problems) - MAX_PROBLEMS_SHOWN} more problems)")
    pending = [name for name, event in ordered if event.status == "pending"]
    if pending:
        parts.append(_pending_text(pending, events, job))
    sent = [name for name, event in ordered if event.status in ("sent", "recovered")]
    if sent:
        latest = events[sent[-1]]
        if latest.status == "recovered":
            parts.append(f"✓ {sent[-1]} sent before")
        else:
            keys = f" · keys: {', '.join(latest.match_keys)}" if latest.match_keys else ""
            parts.append(f"✓ {sent[-1]} sent {when(latest.at)}{keys}")
    for name, event in ordered:
        if event.status == "expired":
            parts.append(f"⌛ {name} not sent: {event.detail}")
    baseline = [name for name, event in ordered if event.status == "baseline"]
    if baseline:
        reason = events[baseline[0]].detail
        parts.append(f"— {', '.join(baseline)} not sent ({reason}); later stages will be")
    # A row with nothing to say but test mode says nothing: the mode is about sends.
    status = " · ".join(parts) if len(parts) > (1 if job.test_event_code else 0) else ""
    settled = [
        event.at for event in events.values() if event.at is not None and event.status != "pending"
    ]
    return RowTexts(clipped(status), ", ".join(sent), when(max(settled)) if settled else "")


def _pending_text(pending: list[str], events: Mapping[str, EventMemory], job: JobView) -> str:
    names = ", ".join(pending)
    if job.blocked_reason:
        return f"… {names} waiting: sending is paused for this job ({_short(job.blocked_reason)})"
    detail = events[pending[0]].detail
    if detail:
        return f"… {names} waiting to retry ({detail})"
    return f"… {names} queued to send"


def _short(text: str) -> str:
    first = text.split(";", maxsplit=1)[0].split(". ", maxsplit=1)[0]
    return first if len(first) <= 80 else first[:77] + "…"


def _funnel_position(event: str, funnel_events: list[str]) -> int:
    return funnel_events.index(event) if event in funnel_events else len(funnel_events)
