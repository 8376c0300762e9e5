"""The diff: (leads, memory, job, now) → what to send, what to record, which keys to give.

Pure: no clock (`now` comes in), no I/O, no SQLite. Its rules:
- each (lead, event) is sent once, ever; a lead that jumps ahead gets the
  earlier funnel stages too, each no later than the stage after it;
- first sight is not a change: on a job's first cycle, leads whose own dates
  are not recent become a baseline and are never sent (docs/DESIGN.md);
- event times come from the sheet, else from the moment a stage was first
  seen (remembered); never before the lead was created, never in the future;
- events too old for Meta's 7-day window are recorded as expired, not sent.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sheetsync.core.config import JobConfig
from sheetsync.core.identity import STRONG_KEYS, build_fbc
from sheetsync.core.leads import Lead
from sheetsync.core.outbox import too_old_to_send, within_window

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class EventMemory:
    status: str  # pending | sent | failed | expired | baseline | recovered
    event_time: int | None = None
    event_id: str | None = None
    detail: str = ""
    at: int | None = None  # when it reached this status
    input_hash: str = (
        ""  # what the row held when it was planned (a failed event waits for a change)
    )
    match_keys: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LeadMemory:
    first_seen_at: int
    click_time_ms: int | None = None
    stage_seen_at: Mapping[str, int] = field(default_factory=dict)
    events: Mapping[str, EventMemory] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Memory:
    first_cycle: bool
    leads: Mapping[str, LeadMemory] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Where:
    """What makes an event id unique across sheets."""

    spreadsheet_id: str
    worksheet: str


@dataclass(frozen=True, slots=True)
class PlannedEvent:
    lead_key: str
    event_name: str
    event_id: str
    event_time: int
    payload: Mapping[str, Any]
    input_hash: str
    match_keys: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Decision:
    """An event recorded without being sent (baseline, expired, recovered from the sheet)."""

    lead_key: str
    event_name: str
    status: str
    event_time: int | None
    detail: str


@dataclass(frozen=True, slots=True)
class Observation:
    """What sheetsync saw of a lead this cycle, to remember."""

    lead_key: str
    first_seen_at: int
    click_time_ms: int | None
    stage_seen_at: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Plan:
    leads: tuple[Lead, ...]  # every lead, with its key (new ones included)
    new_keys: tuple[Lead, ...]  # leads whose key cell sheetsync must fill
    observations: tuple[Observation, ...]
    events: tuple[PlannedEvent, ...]
    decisions: tuple[Decision, ...]
    notes: Mapping[str, tuple[str, ...]]  # lead key → problems found while planning
    copied_from: Mapping[str, str] = field(
        default_factory=dict
    )  # new key → the key its row had copied


def event_id_for(where: Where, lead_key: str, event_name: str, resend: int = 0) -> str:
    source = f"{where.spreadsheet_id}|{where.worksheet}|{lead_key}|{event_name}"
    if resend:
        source += f"|resend-{resend}"
    return hashlib.sha256(source.encode()).hexdigest()[:32]


def new_key(seed: str) -> str:
    """A short key derived from what identifies the row, so a crash before the key is written
    gives the same key again next cycle (and so the same event ids)."""
    # The first ten characters of the digest in lower-case base 32 (RFC 4648), i.e. its first
    # 50 bits five at a time: worked out directly, as base64.b32encode is slow in Python 3.11.
    bits = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:7], "big") >> 6
    return "".join(_BASE32[(bits >> shift) & 31] for shift in range(45, -1, -5))


_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"


def plan(
    leads: list[Lead],
    memory: Memory,
    job: JobConfig,
    now: int,
    where: Where,
    taken: frozenset[str] = frozenset(),
    reserved: frozenset[str] = frozenset(),
) -> Plan:
    """`leads` may be only the rows that changed; `taken` holds the keys standing on the others
    (or claimed by rows planned before these), `reserved` the keys of rows still to be planned."""
    keyed, new_keys, notes, copied_from = _assign_keys(leads, job, where, taken, reserved)
    observations: list[Observation] = []
    events: list[PlannedEvent] = []
    decisions: list[Decision] = []
    for lead in keyed:
        remembered = memory.leads.get(lead.key)
        observation = _observe(lead, remembered, now)
        if remembered is None or observation != _observe_unchanged(remembered, lead.key):
            observations.append(observation)
        baseline_reason = _baseline_reason(lead, remembered, memory, job, now, set(copied_from))
        try:
            lead_events, lead_decisions, lead_notes = _plan_lead(
                lead, remembered, observation, baseline_reason, job, now, where
            )
        except Exception as error:  # a defect met on one lead must not stop the others
            lead_events, lead_decisions = [], []
            lead_notes = (f"could not be planned ({type(error).__name__}); nothing is sent for it",)
        events += lead_events
        decisions += lead_decisions
        if lead_notes:
            notes[lead.key] = notes.get(lead.key, ()) + lead_notes
    return Plan(
        tuple(keyed),
        tuple(new_keys),
        tuple(observations),
        tuple(events),
        tuple(decisions),
        notes,
        copied_from,
    )


def _assign_keys(
    leads: list[Lead],
    job: JobConfig,
    where: Where,
    taken: frozenset[str] = frozenset(),
    reserved: frozenset[str] = frozenset(),
) -> tuple[list[Lead], list[Lead], dict[str, tuple[str, ...]], dict[str, str]]:
    """Keep each row's key; give keys to rows without one and to copies of another row.
    A new key is none that stands anywhere in the sheet (`taken`, `reserved` or these rows')."""
    seen: set[str] = {lead.key for lead in leads if lead.key} | taken | reserved
    used: set[str] = set(taken)
    keyed: list[Lead] = []
    new_keys: list[Lead] = []
    notes: dict[str, tuple[str, ...]] = {}
    copies: dict[str, str] = {}
    for lead in leads:
        if lead.key and lead.key not in used:
            used.add(lead.key)
            keyed.append(lead)
            continue
        if job.key_column:  # the team manages its own keys: sheetsync never writes them
            continue
        copy_of = lead.key
        seed = f"{where.spreadsheet_id}|{where.worksheet}|{copy_of}|{lead.fingerprint or f'row {lead.row}'}"
        key = new_key(seed)
        attempt = 1
        while key in used or key in seen:
            attempt += 1
            key = new_key(f"{seed}|{attempt}")
        used.add(key)
        given = replace(lead, key=key)
        keyed.append(given)
        new_keys.append(given)
        if copy_of:
            copies[key] = copy_of
            notes[key] = (
                f"copy of the row with key {copy_of}: given its own key; "
                "stages it already had are not sent again",
            )
    return keyed, new_keys, notes, copies


def _observe(lead: Lead, remembered: LeadMemory | None, now: int) -> Observation:
    seen = dict(remembered.stage_seen_at) if remembered else {}
    for stage in lead.reached:
        seen.setdefault(stage.event, now)
    click_ms = remembered.click_time_ms if remembered else None
    if click_ms is None and (lead.fbclid or lead.fbc):
        click_ms = (lead.created_at or now) * 1000
    first_seen = remembered.first_seen_at if remembered else now
    return Observation(lead.key, first_seen, click_ms, seen)


def _observe_unchanged(remembered: LeadMemory, key: str) -> Observation:
    return Observation(
        key, remembered.first_seen_at, remembered.click_time_ms, dict(remembered.stage_seen_at)
    )


def _is_recent(lead: Lead, now: int) -> bool:
    dates = [lead.created_at, *(stage.stated_at for stage in lead.reached)]
    return any(within_window(moment, now) for moment in dates)


BEFORE_SHEETSYNC = "there before sheetsync started"


def baseline_at_first_sight(lead: Lead, memory: Memory, job: JobConfig, now: int) -> bool:
    """Whether the lead will be kept as baseline because it was there before sheetsync started:
    judged from its dates alone, so its customer information need not be read."""
    remembered = memory.leads.get(lead.key) if lead.key else None
    return _baseline_reason(lead, remembered, memory, job, now, set()) == BEFORE_SHEETSYNC


def _baseline_reason(
    lead: Lead,
    remembered: LeadMemory | None,
    memory: Memory,
    job: JobConfig,
    now: int,
    copies: set[str],
) -> str | None:
    if lead.key in copies:
        return "copied row"
    if remembered is not None or not memory.first_cycle:
        return None
    if job.initial_sync == "all":
        return None
    if job.initial_sync == "none" or not _is_recent(lead, now):
        return BEFORE_SHEETSYNC
    return None


def _input_hash(lead: Lead) -> str:
    material = repr(
        (
            lead.user_data,
            lead.lead_id,
            lead.fbc,
            lead.fbclid,
            lead.created_at,
            [(stage.event, stage.value, stage.stated_at) for stage in lead.reached],
            lead.web,
        )
    )
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def _plan_lead(
    lead: Lead,
    remembered: LeadMemory | None,
    observation: Observation,
    baseline_reason: str | None,
    job: JobConfig,
    now: int,
    where: Where,
) -> tuple[list[PlannedEvent], list[Decision], tuple[str, ...]]:
    known = dict(remembered.events) if remembered else {}
    implausible = _implausible_dates(lead, now)
    if implausible and any(stage.event not in known for stage in lead.reached):
        # Meta's event times come from these dates: never from "now" instead. The row's events
        # wait until it is fixed (the row then changes, and is planned again).
        return [], [], tuple(implausible)
    shown_as_sent = {name.strip() for name in lead.shown_events.split(",")}
    times = _event_times(lead, known, observation, now)
    input_hash = _Lazy(lambda: _input_hash(lead))  # most leads never need it
    events: list[PlannedEvent] = []
    decisions: list[Decision] = []
    notes: list[str] = []
    enough = _Lazy(lambda: enough_to_match(lead))  # baseline rows never ask
    for stage in lead.reached:
        previous = known.get(stage.event)
        if previous is not None and (
            previous.status != "failed" or previous.input_hash == input_hash()
        ):
            continue  # decided before: sent once, ever (a failed one waits for the row to change)
        event_time = times[stage.event]
        if baseline_reason is not None:
            decisions.append(Decision(lead.key, stage.event, "baseline", None, baseline_reason))
        elif remembered is None and stage.event in shown_as_sent:
            # The state was lost but the row says this was sent: trust the sheet, do not resend.
            decisions.append(
                Decision(lead.key, stage.event, "recovered", None, "listed in Sent Events")
            )
        elif too_old_to_send(event_time, now):
            day = datetime.fromtimestamp(event_time, UTC).strftime("%Y-%m-%d")
            decisions.append(
                Decision(
                    lead.key,
                    stage.event,
                    "expired",
                    event_time,
                    f"happened {day}, more than 7 days ago; Meta only takes events "
                    "up to 7 days old",
                )
            )
        elif not enough():
            continue  # remembered as seen; sent once the row has a key Meta can match
        else:
            events.append(
                _event(
                    lead,
                    stage.event,
                    stage.value,
                    event_time,
                    observation,
                    job,
                    where,
                    input_hash(),
                )
            )
    if (
        baseline_reason is None
        and not enough()
        and any(stage.event not in known for stage in lead.reached)
    ):
        notes.append(_insufficient_keys_advice(job))
    return events, decisions, tuple(notes)


class _Lazy(Generic[T]):
    """A value worked out on first use (cheaper than functools.cache for a one-off)."""

    __slots__ = ("_make", "_value")

    def __init__(self, make: Callable[[], T]) -> None:
        self._make: Callable[[], T] | None = make
        self._value: T | None = None

    def __call__(self) -> T:
        if self._make is not None:
            self._value, self._make = self._make(), None
        return self._value  # type: ignore[return-value]


CLOCK_SKEW = 15 * 60  # a date this far ahead of sheetsync's clock is a typo, not a skew
EARLIEST_DATE = 946_684_800  # 2000-01-01: older dates in a lead sheet are typos


def _implausible_dates(lead: Lead, now: int) -> list[str]:
    moments = [lead.created_at, *(stage.stated_at for stage in lead.reached)]
    if all(m is None or EARLIEST_DATE <= m <= now + CLOCK_SKEW for m in moments):
        return []  # the usual case, told without building a message
    dated = [("Created", lead.created_at)]
    dated += [
        (f"the {stage.label} date", stage.stated_at)
        for stage in lead.reached
        if stage.stated_at != lead.created_at  # the first stage's time is Created's own
    ]
    problems = []
    for what, moment in dated:
        if moment is None:
            continue
        day = datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M UTC")
        if moment > now + CLOCK_SKEW:
            problems.append(f"{what} {day} is in the future; fix it (its events wait)")
        elif moment < EARLIEST_DATE:
            problems.append(f"{what} {day} is before 2000; fix it (its events wait)")
    return list(dict.fromkeys(problems))


def _event_times(
    lead: Lead, known: Mapping[str, EventMemory], observation: Observation, now: int
) -> dict[str, int]:
    """Each reached stage's time: the sheet's, else first seen; within [created, now]; in funnel order."""
    times: dict[str, int] = {}
    for stage in lead.reached:
        remembered = known.get(stage.event)
        if remembered is not None and remembered.event_time is not None:
            times[stage.event] = remembered.event_time  # fixed once planned: a resend keeps it
            continue
        moment = stage.stated_at or observation.stage_seen_at.get(stage.event, now)
        if lead.created_at is not None:
            moment = max(moment, lead.created_at)
        times[stage.event] = min(moment, now)
    ordered = [stage.event for stage in lead.reached]
    for earlier, later in reversed(list(itertools.pairwise(ordered))):
        if known.get(earlier) is None or known[earlier].event_time is None:
            times[earlier] = min(times[earlier], times[later])
    return times


def enough_to_match(lead: Lead) -> bool:
    """Meta refuses events whose only keys are weak combinations (2804050); check before sending."""
    names = set(lead.match_key_names())
    if names & set(STRONG_KEYS):
        return True
    return {"fn", "ln"} <= names and bool(names & {"zp", "ct", "db"})


def _insufficient_keys_advice(job: JobConfig) -> str:
    columns = job.columns
    wanted = [
        header
        for header in (columns.email, columns.phone, columns.lead_id, columns.fbclid)
        if header
    ]
    fill = (
        " or ".join(wanted)
        if wanted
        else "an email, phone or lead id column (add one to the config)"
    )
    return f"not sent: nothing Meta can match this lead by; fill {fill}"


def _event(
    lead: Lead,
    event_name: str,
    value: float | None,
    event_time: int,
    observation: Observation,
    job: JobConfig,
    where: Where,
    input_hash: str,
) -> PlannedEvent:
    user_data: dict[str, Any] = {}
    if lead.lead_id is not None:
        user_data["lead_id"] = lead.lead_id
    if lead.fbc:
        user_data["fbc"] = lead.fbc
    elif lead.fbclid and observation.click_time_ms is not None:
        user_data["fbc"] = build_fbc(lead.fbclid, observation.click_time_ms)
    for name, values in lead.user_data:
        user_data[name] = list(values)
    user_data.update(lead.web.user_data())  # unhashed, as Meta requires
    custom_data: dict[str, Any] = {
        "event_source": "crm",
        "lead_event_source": job.lead_event_source,
    }
    if value is not None:
        custom_data["value"] = int(value) if float(value).is_integer() else value
        custom_data["currency"] = job.currency
    first = bool(lead.reached) and event_name == lead.reached[0].event
    # The pixel's id for the first event, so Meta deduplicates the browser's and ours.
    event_id = (lead.web.event_id if first else None) or event_id_for(where, lead.key, event_name)
    payload: dict[str, Any] = {
        "event_name": event_name,
        "event_time": event_time,
        "event_id": event_id,
        "action_source": "system_generated",
        "user_data": user_data,
        "custom_data": custom_data,
    }
    # A website event needs the browser's user agent and the page (Meta's rule); without them
    # the first event stays a CRM event rather than being rejected.
    if (
        first
        and job.first_event_action_source == "website"
        and lead.web.client_user_agent
        and lead.web.event_source_url
    ):
        payload["action_source"] = "website"
        payload["event_source_url"] = lead.web.event_source_url
    return PlannedEvent(
        lead.key, event_name, event_id, event_time, payload, input_hash, tuple(user_data)
    )


def memory_after(memory: Memory, decided: Plan, now: int) -> Memory:
    """The memory as it will be once the plan is recorded (events not yet sent are pending)."""
    leads = dict(memory.leads)
    events: dict[str, dict[str, EventMemory]] = {}

    def events_of(key: str) -> dict[str, EventMemory]:
        if key not in events:
            known = leads.get(key)
            events[key] = dict(known.events) if known else {}
        return events[key]

    for event in decided.events:
        events_of(event.lead_key)[event.event_name] = EventMemory(
            "pending", event.event_time, event.event_id, "", now, event.input_hash, event.match_keys
        )
    for decision in decided.decisions:  # recorded only where no event of that name is
        events_of(decision.lead_key).setdefault(
            decision.event_name,
            EventMemory(decision.status, decision.event_time, None, decision.detail, now),
        )
    for observation in decided.observations:
        key = observation.lead_key
        leads[key] = LeadMemory(
            observation.first_seen_at,
            observation.click_time_ms,
            observation.stage_seen_at,
            events_of(key),
        )
    for key, lead_events in events.items():
        if leads[key].events is not lead_events:
            leads[key] = replace(leads[key], events=lead_events)
    return Memory(memory.first_cycle, leads)
