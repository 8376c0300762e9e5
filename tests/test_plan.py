"""The planner as a specification: tables of (rows, memory, now) → decisions, and properties."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sheetsync.core import config as config_module
from sheetsync.core.config import JobConfig, funnel
from sheetsync.core.identity import sha256
from sheetsync.core.leads import Lead, ReachedStage
from sheetsync.core.outbox import SEVEN_DAYS
from sheetsync.core.plan import (
    EventMemory,
    LeadMemory,
    Memory,
    Plan,
    Where,
    memory_after,
    plan,
)

NOW = 1_795_000_000
WHERE = Where("sheet1", "Leads")
EVENTS = ["Lead", "QualifiedLead", "Schedule", "Purchase"]


def job(**overrides: object) -> JobConfig:
    data = {
        "name": "sales",
        "spreadsheet": "sheet1",
        "dataset_id": "1",
        "initial_sync": "all",
        "columns": {"email": "Email", "stage": "Stage", "created_at": "Created"},
        "stages": {
            "New": "Lead",
            "Qualified": "QualifiedLead",
            "Meeting": "Schedule",
            "Won": "Purchase",
        },
        **overrides,
    }
    return config_module.parse({"jobs": [data]}).jobs[0]


def lead(
    key: str,
    stage: int,
    *,
    created: int | None = None,
    email: str | None = "a@example.com",
    row: int = 2,
    shown_events: str = "",
) -> Lead:
    stages = funnel(job())
    reached = tuple(
        ReachedStage(s.event, s.label, created if i == 0 else None, None)
        for i, s in enumerate(stages[: stage + 1])
    )
    user_data = (("em", (sha256(email),)),) if email else ()
    return Lead(
        row=row,
        key=key,
        reached=reached,
        created_at=created,
        user_data=user_data,
        lead_id=None,
        fbc=None,
        fbclid=None,
        problems=(),
        shown_events=shown_events,
        fingerprint=key,
    )


def sent(*names: str, at: int = NOW - 100) -> dict[str, EventMemory]:
    return {name: EventMemory("sent", at, f"id-{name}", at=at) for name in names}


def planned(result: Plan) -> list[tuple[str, str, int]]:
    return [(e.lead_key, e.event_name, e.event_time) for e in result.events]


def decided(result: Plan) -> list[tuple[str, str, str]]:
    return [(d.lead_key, d.event_name, d.status) for d in result.decisions]


FRESH = Memory(first_cycle=False)


@pytest.mark.parametrize(
    ("leads", "memory", "config", "events", "decisions"),
    [
        pytest.param(
            [lead("a", 0, created=NOW - 60)],
            FRESH,
            job(),
            [("a", "Lead", NOW - 60)],
            [],
            id="a new lead is sent at its created time",
        ),
        pytest.param(
            [lead("a", 2)],
            FRESH,
            job(),
            [("a", "Lead", NOW), ("a", "QualifiedLead", NOW), ("a", "Schedule", NOW)],
            [],
            id="a jump sends every earlier stage, first seen now",
        ),
        pytest.param(
            [lead("a", 1)],
            Memory(False, {"a": LeadMemory(NOW - 500, events=sent("Lead"))}),
            job(),
            [("a", "QualifiedLead", NOW)],
            [],
            id="only the new stage of a known lead",
        ),
        pytest.param(
            [lead("a", 0)],
            Memory(False, {"a": LeadMemory(NOW - 500, events=sent("Lead", "QualifiedLead"))}),
            job(),
            [],
            [],
            id="a backwards move sends nothing",
        ),
        pytest.param(
            [lead("a", 1, created=NOW - 40 * 86400)],
            Memory(True),
            job(initial_sync="recent"),
            [],
            [("a", "Lead", "baseline"), ("a", "QualifiedLead", "baseline")],
            id="first cycle: an old lead is a baseline",
        ),
        pytest.param(
            [lead("a", 1)],
            Memory(True),
            job(initial_sync="recent"),
            [],
            [("a", "Lead", "baseline"), ("a", "QualifiedLead", "baseline")],
            id="first cycle: an undated lead is a baseline",
        ),
        pytest.param(
            [lead("a", 1, created=NOW - 86400)],
            Memory(True),
            job(initial_sync="recent"),
            [("a", "Lead", NOW - 86400), ("a", "QualifiedLead", NOW)],
            [],
            id="first cycle: a recent lead is sent",
        ),
        pytest.param(
            [lead("a", 0, created=NOW - 86400)],
            Memory(True),
            job(initial_sync="none"),
            [],
            [("a", "Lead", "baseline")],
            id="initial_sync none",
        ),
        pytest.param(
            [lead("a", 0, created=NOW - 10 * 86400)],
            FRESH,
            job(),
            [],
            [("a", "Lead", "expired")],
            id="older than 7 days is expired, not sent",
        ),
        pytest.param(
            [lead("a", 0, created=NOW - SEVEN_DAYS + 1800)],
            FRESH,
            job(),
            [],
            [("a", "Lead", "expired")],
            id="within the safety margin of the window is expired",
        ),
        pytest.param(
            [lead("a", 0, created=NOW + 600)],
            FRESH,
            job(),
            [("a", "Lead", NOW)],
            [],
            id="a created time a few minutes ahead (clock skew) is clamped to now",
        ),
        pytest.param(
            [lead("a", 0, created=NOW + 3600)],
            FRESH,
            job(),
            [],
            [],
            id="a created time in the future holds the events: no invented time",
        ),
        pytest.param(
            [lead("a", 1, created=900_000_000)],
            FRESH,
            job(),
            [],
            [],
            id="a created time before 2000 holds the events",
        ),
        pytest.param(
            [lead("a", 0, email=None)], FRESH, job(), [], [], id="nothing to match: not sent"
        ),
        pytest.param(
            [lead("a", 1, shown_events="Lead, QualifiedLead")],
            Memory(True),
            job(),
            [],
            [("a", "Lead", "recovered"), ("a", "QualifiedLead", "recovered")],
            id="state lost: Sent Events in the row are trusted, not resent",
        ),
    ],
)
def test_plan_table(
    leads: list[Lead],
    memory: Memory,
    config: JobConfig,
    events: list[tuple[str, str, int]],
    decisions: list[tuple[str, str, str]],
) -> None:
    result = plan(leads, memory, config, NOW, WHERE)
    assert planned(result) == events
    assert decided(result) == decisions


def test_an_implausible_date_is_the_rows_problem_until_fixed() -> None:
    held = plan([lead("a", 1, created=NOW + 86400)], FRESH, job(), NOW, WHERE)
    assert held.events == () and held.decisions == ()
    assert held.notes["a"] == (
        "Created 2026-11-19 11:06 UTC is in the future; fix it (its events wait)",
    )
    fixed = plan([lead("a", 1, created=NOW - 60)], FRESH, job(), NOW, WHERE)
    assert [(e.event_name, e.event_time) for e in fixed.events] == [
        ("Lead", NOW - 60),
        ("QualifiedLead", NOW),  # first seen now: its own date is not in the sheet
    ]


def test_stage_time_from_memory_is_kept() -> None:
    memory = Memory(
        False,
        {
            "a": LeadMemory(
                NOW - 900, stage_seen_at={"QualifiedLead": NOW - 600}, events=sent("Lead")
            )
        },
    )
    assert planned(plan([lead("a", 1)], memory, job(), NOW, WHERE)) == [
        ("a", "QualifiedLead", NOW - 600)
    ]


def test_earlier_stage_is_never_later_than_the_next() -> None:
    memory = Memory(False, {"a": LeadMemory(NOW - 900, stage_seen_at={"QualifiedLead": NOW - 600})})
    times = {name: t for _, name, t in planned(plan([lead("a", 1)], memory, job(), NOW, WHERE))}
    assert times["Lead"] <= times["QualifiedLead"]


def test_a_failed_event_waits_for_the_row_to_change() -> None:
    first = plan([lead("a", 0)], FRESH, job(), NOW, WHERE)
    failed = EventMemory(
        "failed", NOW, first.events[0].event_id, "rejected", NOW, first.events[0].input_hash
    )
    memory = Memory(False, {"a": LeadMemory(NOW, events={"Lead": failed})})
    assert plan([lead("a", 0)], memory, job(), NOW + 60, WHERE).events == ()
    again = plan([lead("a", 0, email="fixed@example.com")], memory, job(), NOW + 60, WHERE)
    assert [(e.event_name, e.event_time, e.event_id) for e in again.events] == [
        ("Lead", NOW, failed.event_id)
    ]


def test_rows_without_keys_get_stable_keys() -> None:
    keyless = [lead("", 0, row=2, email="x@example.com"), lead("", 0, row=3, email="y@example.com")]
    keyless = [replace(item, fingerprint=item.user_data[0][1][0][:16]) for item in keyless]
    first = plan(keyless, FRESH, job(), NOW, WHERE)
    again = plan(list(reversed(keyless)), FRESH, job(), NOW + 60, WHERE)
    assert {lead.key for lead in first.new_keys} == {lead.key for lead in again.new_keys}
    assert len({lead.key for lead in first.new_keys}) == 2


def test_event_ids_are_deterministic_and_distinct() -> None:
    one = plan([lead("a", 1)], FRESH, job(), NOW, WHERE)
    two = plan([lead("a", 1)], FRESH, job(), NOW + 999, WHERE)
    assert [e.event_id for e in one.events] == [e.event_id for e in two.events]
    assert len({e.event_id for e in one.events}) == 2


# --- properties ----------------------------------------------------------------------------
stage_moves = st.lists(st.lists(st.integers(-1, 3), min_size=3, max_size=3), min_size=1, max_size=8)


def _deliver_all(memory: Memory, result: Plan, now: int) -> Memory:
    after = memory_after(memory, result, now)
    leads = {}
    for key, remembered in after.leads.items():
        events = {
            name: replace(event, status="sent") if event.status == "pending" else event
            for name, event in remembered.events.items()
        }
        leads[key] = replace(remembered, events=events)
    return Memory(False, leads)


@settings(max_examples=150, deadline=None)
@given(stage_moves, st.sampled_from(["all", "recent", "none"]))
def test_nothing_is_ever_planned_twice(cycles: list[list[int]], initial_sync: str) -> None:
    config = job(initial_sync=initial_sync)
    memory = Memory(first_cycle=True)
    seen: set[tuple[str, str]] = set()
    now = NOW
    for stages in cycles:
        leads = [
            lead(f"k{i}", stage, created=NOW - 3600, row=i + 2)
            for i, stage in enumerate(stages)
            if stage >= 0
        ]
        result = plan(leads, memory, config, now, WHERE)
        for event in result.events:
            assert (event.lead_key, event.event_name) not in seen
            seen.add((event.lead_key, event.event_name))
            assert event.event_time <= now
        memory = _deliver_all(memory, result, now)
        now += 60


shown_events_cells = st.lists(st.sampled_from(EVENTS), max_size=4).map(", ".join) | st.text(
    max_size=30
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.booleans()), min_size=1, max_size=4),
    st.lists(st.text(max_size=30), min_size=2, max_size=2),
    st.lists(shown_events_cells, min_size=4, max_size=4),
    st.integers(0, 3),
)
def test_status_columns_never_cause_a_send(
    leads: list[tuple[int, bool]], shown: list[str], shown_events: list[str], known_upto: int
) -> None:
    """What the status columns show can hold a send back (a lead the state forgot but whose row
    lists the event as sent), never cause one; Sync Status and Last Sync change nothing at all."""
    memory = Memory(
        False,
        {
            f"k{i}": LeadMemory(NOW - 900, events=sent(*EVENTS[:known_upto]))
            for i, (_, remembered) in enumerate(leads)
            if remembered
        },
    )
    plain = [lead(f"k{i}", stage, row=i + 2) for i, (stage, _) in enumerate(leads)]
    expected = plan(plain, memory, job(), NOW, WHERE)
    assert expected.events or all(remembered for _, remembered in leads) or not plain

    texts = [replace(item, shown_status=shown[0], shown_synced_at=shown[1]) for item in plain]
    with_texts = plan(texts, memory, job(), NOW, WHERE)
    assert (planned(with_texts), decided(with_texts)) == (planned(expected), decided(expected))

    listed = [replace(item, shown_events=shown_events[i]) for i, item in enumerate(plain)]
    with_list = plan(listed, memory, job(), NOW, WHERE)
    assert set(planned(with_list)) <= set(planned(expected))
    held_back = {(key, name) for key, name, _ in set(planned(expected)) - set(planned(with_list))}
    recovered = {(key, name) for key, name, status in decided(with_list) if status == "recovered"}
    assert held_back <= recovered
    for key, name in recovered:
        assert name in shown_events[int(key[1:])]  # only what the row itself lists
