"""The state store's contract: what any implementation of sheetsync.core.ports.Store must do.

Every test runs against each implementation in STORES (SQLite today; PostgreSQL joins by adding
a factory). They go through the Store interface only, on a real database on disk.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sheetsync.adapters.sqlite import SqliteStore
from sheetsync.core.errors import StateLocked
from sheetsync.core.outbox import RETRY_BASE, SEVEN_DAYS, EventStatus
from sheetsync.core.plan import Decision, Observation, Plan, PlannedEvent
from sheetsync.core.ports import Store
from sheetsync.core.records import Outcome

NOW = 1_795_000_000
JOB = "sales"

StoreFactory = Callable[[pytest.FixtureRequest, Path], Store]


def _postgres(request: pytest.FixtureRequest, directory: Path) -> Store:
    from sheetsync.adapters.postgres import PostgresStore

    server = request.getfixturevalue("postgres")  # a real server, a fresh database per test
    return PostgresStore.open(server.new_database())


STORES: dict[str, StoreFactory] = {
    "sqlite": lambda request, directory: SqliteStore.open(directory / "s.db"),
    "postgres": _postgres,
}


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened = STORES[request.param](request, tmp_path)
    yield opened
    opened.close()


def event(key: str, name: str = "Lead", at: int = NOW - 60) -> PlannedEvent:
    return PlannedEvent(
        key, name, f"id-{key}-{name}", at, {"event_name": name, "event_time": at}, "h1", ("em",)
    )


def a_plan(*events: PlannedEvent, decisions: tuple[Decision, ...] = ()) -> Plan:
    keys = dict.fromkeys([e.lead_key for e in events] + [d.lead_key for d in decisions])
    observations = tuple(Observation(key, NOW - 60, None, {"Lead": NOW - 60}) for key in keys)
    return Plan((), (), observations, events, decisions, {})


def statuses(store: Store) -> dict[tuple[str, str], str]:
    return {(r["lead_key"], r["event_name"]): r["status"] for r in store.event_rows(JOB)}


def test_a_new_job_is_in_its_first_cycle_with_nothing_remembered(store: Store) -> None:
    memory = store.memory(JOB)
    assert memory.first_cycle and not memory.leads
    assert store.job_state(JOB).last_cycle_at is None
    assert store.lead_count(JOB) == 0 and store.due_events(JOB, NOW) == []


def test_planned_events_wait_in_the_outbox_until_sent(store: Store) -> None:
    store.record_plan(JOB, a_plan(event("a"), event("b", "Purchase")), NOW)
    due = store.due_events(JOB, NOW)
    assert [(e.lead_key, e.event_name, e.event_id) for e in due] == [
        ("a", "Lead", "id-a-Lead"),
        ("b", "Purchase", "id-b-Purchase"),
    ]
    assert due[0].payload == {"event_name": "Lead", "event_time": NOW - 60}
    assert store.pending_keys(JOB) == {"a", "b"}
    assert not store.memory(JOB).first_cycle and store.lead_count(JOB) == 2
    remembered = store.memory(JOB, ["a"]).leads
    assert set(remembered) == {"a"}
    assert remembered["a"].events["Lead"].status == EventStatus.PENDING
    assert remembered["a"].events["Lead"].match_keys == ("em",)


def test_a_partial_first_plan_keeps_the_job_in_its_first_cycle(store: Store) -> None:
    store.record_plan(JOB, a_plan(event("a")), NOW, sheet_complete=False)
    assert store.memory(JOB).first_cycle
    store.record_plan(JOB, a_plan(), NOW + 60)
    assert not store.memory(JOB).first_cycle


@pytest.mark.parametrize(
    ("kind", "status", "due_again_after"),
    [
        ("sent", EventStatus.SENT, None),
        ("failed", EventStatus.FAILED, None),
        ("pending", EventStatus.PENDING, RETRY_BASE),
        ("blocked", EventStatus.PENDING, 0),
    ],
)
def test_outcomes_move_events_as_the_outbox_policy_says(
    store: Store, kind: str, status: EventStatus, due_again_after: int | None
) -> None:
    store.record_plan(JOB, a_plan(event("a")), NOW)
    store.record_outcomes(JOB, [Outcome("id-a-Lead", kind, "why", "trace")], NOW)  # type: ignore[arg-type]
    assert statuses(store) == {("a", "Lead"): status.value}
    if due_again_after is None:
        assert store.due_events(JOB, NOW + 10 * 86400) == []
        assert store.pending_keys(JOB) == set()
    else:
        if due_again_after:
            assert store.due_events(JOB, NOW + due_again_after - 1) == []
        assert [e.attempts for e in store.due_events(JOB, NOW + due_again_after)] == [1]
        assert store.pending_keys(JOB) == {"a"}
    detail = store.memory(JOB).leads["a"].events["Lead"].detail
    assert detail == ("" if kind == "sent" else "why")


def test_retries_are_spaced_further_apart_and_meta_may_ask_for_longer(store: Store) -> None:
    store.record_plan(JOB, a_plan(event("a"), event("b")), NOW)
    store.record_outcomes(JOB, [Outcome("id-a-Lead", "pending")], NOW)
    store.record_outcomes(JOB, [Outcome("id-a-Lead", "pending")], NOW)  # second attempt: 120 s
    store.record_outcomes(JOB, [Outcome("id-b-Lead", "pending", retry_after=900)], NOW)
    assert [e.lead_key for e in store.due_events(JOB, NOW + 119)] == []
    assert [e.lead_key for e in store.due_events(JOB, NOW + 120)] == ["a"]
    assert [e.lead_key for e in store.due_events(JOB, NOW + 900)] == ["a", "b"]


def test_decisions_are_recorded_once_and_never_sent(store: Store) -> None:
    baseline = Decision("a", "Lead", "baseline", None, "there before sheetsync started")
    store.record_plan(JOB, a_plan(decisions=(baseline,)), NOW)
    store.record_plan(
        JOB, a_plan(decisions=(Decision("a", "Lead", "expired", 1, "late"),)), NOW + 60
    )
    assert statuses(store) == {("a", "Lead"): "baseline"}
    assert store.due_events(JOB, NOW + 60) == []


def test_events_too_old_for_meta_expire_in_the_outbox(store: Store) -> None:
    store.record_plan(JOB, a_plan(event("old", at=NOW), event("new", at=NOW + 86400)), NOW)
    later = NOW + SEVEN_DAYS - 600  # within the margin of "old"'s seventh day
    assert store.expire_stale(JOB, later, "too late") == ["old"]
    assert statuses(store) == {("old", "Lead"): "expired", ("new", "Lead"): "pending"}
    assert store.expire_stale(JOB, later, "too late") == []


def test_row_digests_and_problems_are_kept_and_forgotten_with_their_rows(store: Store) -> None:
    store.save_rows(JOB, {"a": 1, "b": 2, "c": 3}, {"a": ("phone has too few digits",), "b": ()})
    store.save_rows(JOB, {"c": 4}, {"c": ("unknown stage", "phone has too few digits")})
    assert store.row_digests(JOB) == {"a": 1, "b": 2, "c": 4}
    assert store.row_problems(JOB) == {
        "a": ("phone has too few digits",),
        "c": ("unknown stage", "phone has too few digits"),
    }
    assert store.problem_counts(JOB) == (
        2,
        Counter({"phone has too few digits": 2, "unknown stage": 1}),
    )
    store.save_rows(JOB, {"a": 5}, {}, gone=["c"])
    assert store.row_digests(JOB) == {"a": 5, "b": 2}
    assert store.problem_counts(JOB) == (0, Counter())
    assert store.row_digests("another job") == {}


def test_job_health_counts_failed_cycles_until_one_succeeds(store: Store) -> None:
    for minute in range(2):
        cycle = store.start_cycle(JOB, NOW + minute * 60)
        store.finish_cycle(JOB, cycle, NOW + minute * 60 + 1, ok=False, result="r", error="boom")
    state = store.job_state(JOB)
    assert (state.consecutive_failures, state.last_error, state.last_success_at) == (
        2,
        "boom",
        None,
    )
    assert state.last_cycle_at == NOW + 61
    cycle = store.start_cycle(JOB, NOW + 120)
    store.finish_cycle(JOB, cycle, NOW + 121, ok=True, result="fine", sent=3)
    state = store.job_state(JOB)
    assert (state.consecutive_failures, state.last_error, state.last_success_at) == (
        0,
        None,
        NOW + 121,
    )
    assert state.last_result == "fine"


def test_a_pause_keeps_its_first_moment_until_lifted(store: Store) -> None:
    store.set_blocked(JOB, "token rejected", NOW)
    store.set_blocked(JOB, "token rejected again", NOW + 60)
    state = store.job_state(JOB)
    assert (state.blocked_reason, state.blocked_since) == ("token rejected again", NOW)
    store.set_blocked(JOB, None, NOW + 120)
    assert store.job_state(JOB).blocked_reason is None


def test_a_resend_is_recorded_before_and_after_it_is_sent(store: Store) -> None:
    store.record_plan(JOB, a_plan(event("a")), NOW)
    store.record_outcomes(JOB, [Outcome("id-a-Lead", "sent")], NOW)
    assert store.sent_payloads(JOB, "a", None) == [
        ("Lead", {"event_name": "Lead", "event_time": NOW - 60}, 0)
    ]
    store.record_resend(JOB, "a", "Lead", "resend-1", "pending", NOW)
    assert store.sent_payloads(JOB, "a", "Lead")[0][2] == 1  # counted from the intent on
    store.record_resend(JOB, "a", "Lead", "resend-1", "sent", NOW + 1)
    assert store.sent_payloads(JOB, "a", "Lead")[0][2] == 1  # the outcome is the same resend
    assert store.sent_payloads(JOB, "a", "Purchase") == []


def test_recent_leads_are_those_first_seen_since(store: Store) -> None:
    store.record_plan(JOB, a_plan(event("a")), NOW)
    assert store.leads_seen_since(JOB, NOW - 3600) == {"a"}
    assert store.leads_seen_since(JOB, NOW) == set()


def test_only_one_process_holds_a_sqlite_state_file(tmp_path: Path) -> None:
    first = SqliteStore.open(tmp_path / "s.db")
    try:
        with pytest.raises(StateLocked, match="in use by sheetsync pid"):
            SqliteStore.open(tmp_path / "s.db")
        reader = SqliteStore.open(tmp_path / "s.db", lock=False)  # status beside a daemon
        reader.close()
    finally:
        first.close()
    assert oct((tmp_path / "s.db").stat().st_mode & 0o777) == "0o600"


def test_the_header_last_read_is_kept(store: Store) -> None:
    assert store.saved_header(JOB) is None
    store.save_header(JOB, ("Name", "Email", "Sync Key"))
    store.save_header(JOB, ("Name", "E-mail", "Sync Key"))
    assert store.saved_header(JOB) == ("Name", "E-mail", "Sync Key")
    assert store.saved_header("another job") is None


def test_the_layout_and_the_chart_are_remembered(store: Store) -> None:
    assert store.saved_header(JOB) is None and store.chart_id(JOB) is None
    store.save_header(JOB, ("Name", "Email", "Lead ID"))
    store.save_chart_id(JOB, 1_000_001)
    assert store.saved_header(JOB) == ("Name", "Email", "Lead ID")
    assert store.chart_id(JOB) == 1_000_001


def test_the_lead_ads_intake_keeps_its_leads_checkpoints_and_pause(store: Store) -> None:
    from sheetsync.core.records import FormCheckpoint, IntakeLead

    assert store.intake_checkpoints(JOB) == {} and store.intake_state(JOB, NOW).forms == ()
    store.set_intake_pause(JOB, "Meta is limiting Lead Ads requests", NOW + 600)
    assert store.intake_state(JOB, NOW).paused_until == NOW + 600
    leads = [
        IntakeLead("9000000000000001", "f1", NOW - 60),
        IntakeLead("9000000000000002", "f1", NOW),
    ]
    store.record_intake(JOB, leads, [FormCheckpoint("f1", "Spring", NOW)], NOW)
    state = store.intake_state(JOB, NOW - 1)
    assert state.paused is None  # a fetch that worked lifts the pause
    (form,) = state.forms
    assert (form.form_name, form.checkpoint, form.appended_since, form.appended_total) == (
        "Spring",
        NOW,
        2,
        2,
    )
    # Recorded twice (a crash between append and record): counted once; a checkpoint never
    # moves back in time.
    store.record_intake(JOB, leads[:1], [FormCheckpoint("f1", "Spring", NOW - 3600)], NOW + 60)
    assert store.intake_checkpoints(JOB) == {"f1": NOW}
    assert store.intake_state(JOB, NOW + 30).forms[0].appended_total == 2
    assert store.intake_known(JOB, ["9000000000000002", "9000000000000003"]) == {"9000000000000002"}
    many = [str(n) for n in range(1_200)]  # more ids than one query takes
    assert store.intake_known(JOB, many) == set()
