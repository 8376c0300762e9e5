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
    Decision,
    EventMemory,
    LeadMemory,
    Memory,
    Observation,
    Plan,
    Where,
    enough_to_match,
    event_id_for,
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


# --- exact records: what is stored and sent, field by field ---------------------------------
def test_a_planned_event_and_its_payload_exactly() -> None:
    with_click = replace(
        lead("a", 3, created=NOW - 60),
        lead_id=1234567890123456,
        fbclid="IwAR2xYzAbC",
        user_data=(("em", ("h1",)), ("ph", ("h2", "h3"))),
        reached=(
            ReachedStage("Lead", "New", NOW - 60, None),
            ReachedStage("QualifiedLead", "Qualified", None, 100.0),
            ReachedStage("Schedule", "Meeting", None, None),
            ReachedStage("Purchase", "Won", None, 1200.5),
        ),
    )
    result = plan([with_click], FRESH, job(currency="EUR"), NOW, WHERE)
    purchase = result.events[-1]
    assert purchase.payload == {
        "event_name": "Purchase",
        "event_time": NOW,
        "event_id": purchase.event_id,
        "action_source": "system_generated",
        "user_data": {
            "lead_id": 1234567890123456,
            "fbc": f"fb.1.{(NOW - 60) * 1000}.IwAR2xYzAbC",
            "em": ["h1"],
            "ph": ["h2", "h3"],
        },
        "custom_data": {
            "event_source": "crm",
            "lead_event_source": "Google Sheets",
            "value": 1200.5,
            "currency": "EUR",
        },
    }
    assert result.events[1].payload["custom_data"]["value"] == 100  # a whole value is an int
    assert "value" not in result.events[0].payload["custom_data"]
    assert purchase.match_keys == ("lead_id", "fbc", "em", "ph")
    assert purchase.event_id == event_id_for(WHERE, "a", "Purchase")
    assert [e.event_time for e in result.events] == [NOW - 60, NOW, NOW, NOW]
    (observation,) = result.observations
    assert observation == Observation("a", NOW, (NOW - 60) * 1000, dict.fromkeys(EVENTS, NOW))


def test_a_ready_fbc_is_sent_as_it_is() -> None:
    ready = replace(lead("a", 0), fbc="fb.1.1700000000000.abc", fbclid="ignored")
    (event,) = plan([ready], FRESH, job(), NOW, WHERE).events
    assert event.payload["user_data"]["fbc"] == "fb.1.1700000000000.abc"


def test_decisions_exactly() -> None:
    baseline = plan(
        [lead("a", 1, created=NOW - 30 * 86400)],
        Memory(True),
        job(initial_sync="recent"),
        NOW,
        WHERE,
    )
    assert baseline.decisions == (
        Decision("a", "Lead", "baseline", None, "there before sheetsync started"),
        Decision("a", "QualifiedLead", "baseline", None, "there before sheetsync started"),
    )
    recovered = plan([lead("a", 1, shown_events="Lead")], FRESH, job(), NOW, WHERE)
    assert recovered.decisions == (
        Decision("a", "Lead", "recovered", None, "listed in Sent Events"),
    )
    assert [e.event_name for e in recovered.events] == ["QualifiedLead"]
    expired = plan([lead("a", 0, created=NOW - 8 * 86400)], FRESH, job(), NOW, WHERE)
    assert expired.decisions == (
        Decision(
            "a",
            "Lead",
            "expired",
            NOW - 8 * 86400,
            "happened 2026-11-10, more than 7 days ago; Meta only takes events up to 7 days old",
        ),
    )


def test_memory_after_a_plan_exactly() -> None:
    known = Memory(False, {"b": LeadMemory(NOW - 900, 5, {"Lead": NOW - 900}, sent("Lead"))})
    result = plan(
        [lead("a", 0, created=NOW - 60), lead("b", 1), lead("c", 0, created=NOW - 8 * 86400)],
        known,
        job(),
        NOW,
        WHERE,
    )
    after = memory_after(known, result, NOW + 5)
    a_event = result.events[0]
    assert after.leads["a"] == LeadMemory(
        NOW,
        None,
        {"Lead": NOW},
        {
            "Lead": EventMemory(
                "pending", NOW - 60, a_event.event_id, "", NOW + 5, a_event.input_hash, ("em",)
            )
        },
    )
    assert after.leads["b"].first_seen_at == NOW - 900 and after.leads["b"].click_time_ms == 5
    assert set(after.leads["b"].events) == {"Lead", "QualifiedLead"}
    assert after.leads["b"].events["Lead"] == sent("Lead")["Lead"]  # kept as it was
    assert after.leads["c"].events["Lead"] == EventMemory(
        "expired", NOW - 8 * 86400, None, result.decisions[0].detail, NOW + 5
    )
    assert not after.first_cycle


@pytest.mark.parametrize(
    ("keys", "enough"),
    [
        ({"em"}, True),
        ({"ph"}, True),
        ({"external_id"}, True),
        ({"fn", "ln", "zp"}, True),
        ({"fn", "ln", "ct"}, True),
        ({"fn", "ln", "db"}, True),
        ({"fn", "ln"}, False),
        ({"fn", "zp", "ct"}, False),
        ({"ln", "zp"}, False),
        ({"ct", "zp", "country", "ge"}, False),
        (set(), False),
    ],
)
def test_enough_to_match(keys: set[str], enough: bool) -> None:
    candidate = replace(
        lead("a", 0, email=None), user_data=tuple((k, ("h",)) for k in sorted(keys))
    )
    assert enough_to_match(candidate) is enough
    assert enough_to_match(replace(candidate, lead_id=1)) is True
    assert enough_to_match(replace(candidate, fbclid="x")) is True


def test_a_lead_with_nothing_to_match_says_which_columns_to_fill() -> None:
    result = plan([lead("a", 0, email=None)], FRESH, job(), NOW, WHERE)
    assert result.events == ()
    assert result.notes["a"] == ("not sent: nothing Meta can match this lead by; fill Email",)
    bare = job(columns={"stage": "Stage", "first_name": "First"})
    assert plan([lead("a", 0, email=None)], FRESH, bare, NOW, WHERE).notes["a"] == (
        "not sent: nothing Meta can match this lead by; fill an email, phone or lead id column "
        "(add one to the config)",
    )


def test_new_keys_never_collide_and_copies_are_noted() -> None:
    first = replace(lead("", 0, row=2), fingerprint="same")
    second = replace(lead("", 0, row=3), fingerprint="same")
    copy = replace(lead("k", 0, row=5), fingerprint="x")
    original = lead("k", 0, row=4)
    result = plan([first, second, original, copy], FRESH, job(), NOW, WHERE, frozenset({"t"}))
    keys = [each.key for each in result.leads]
    assert len(set(keys)) == 4 and keys[2] == "k" and "t" not in keys
    assert [each.row for each in result.new_keys] == [2, 3, 5]
    copied = result.new_keys[-1].key
    assert result.copied_from == {copied: "k"}
    assert result.notes[copied] == (
        "copy of the row with key k: given its own key; stages it already had are not sent again",
    )
    managed = plan([first], FRESH, job(key_column="Customer ID"), NOW, WHERE)
    assert managed.leads == () and managed.new_keys == ()


@given(st.text())
def test_new_keys_are_the_digests_first_ten_base32_characters(seed: str) -> None:
    """The key a row gets is the one earlier versions gave for the same row (a key planned but
    not yet written when sheetsync was upgraded is given again, with the same event ids)."""
    import base64
    import hashlib

    from sheetsync.core.plan import new_key

    digest = hashlib.sha256(seed.encode("utf-8", "surrogatepass")).digest()
    try:
        seed.encode()
    except UnicodeEncodeError:
        return  # not a seed sheetsync makes: rows with broken characters are not parsed
    assert new_key(seed) == base64.b32encode(digest).decode().lower()[:10]
