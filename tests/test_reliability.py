"""Delivery that loses nothing and double-counts nothing, through injected faults on both sides."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from support import HEADER, Clock, at, config_dict, day, job_config, sheet_rows

from sheetsync.core.identity import sha256
from sheetsync.emulator import Emulators, Fault, GraphFault

NOW = at("2026-11-22T12:00:00")
STAGES = ["New", "Qualified", "Meeting Booked", "Won"]
MIXED_TRANSIENT = [
    GraphFault(status=503),
    GraphFault(status=500, code=2, is_transient=True, message="Service temporarily unavailable"),
    GraphFault(status=400, code=17, message="User request limit reached"),
    GraphFault(status=400, code=613, message="Calls to this api have exceeded the rate limit."),
    GraphFault(status=400, code=1, message="An unknown error occurred"),
    GraphFault(status=503, delay=0.6),  # past the client's timeout
]


def fast_jobs(**overrides: Any) -> list[dict[str, Any]]:
    return [job_config(**overrides)]


def seed(emulators: Emulators, count: int, stage: str = "New") -> None:
    rows = [
        [f"L{n}", f"l{n}@example.com", "", "", "", day(NOW - 600), stage, ""] for n in range(count)
    ]
    emulators.sheets.seed("sheet1", "Leads", [HEADER, *rows])


def expected_pairs(stage_of: dict[int, int]) -> set[tuple[str, str]]:
    events = ["Lead", "QualifiedLead", "Schedule", "Purchase"]
    return {
        (sha256(f"l{n}@example.com"), events[i])
        for n, stage in stage_of.items()
        for i in range(stage + 1)
    }


def received_pairs(emulators: Emulators) -> list[tuple[str, str]]:
    return [(e["user_data"]["em"][0], e["event_name"]) for e in emulators.graph.events()]


def build(
    emulators: Emulators, tmp_path: Path, clock: Clock, meta_timeout: float = 2.0, **job: Any
):  # type: ignore[no-untyped-def]
    import os

    from support import OPEN_RUNTIMES, TOKEN

    from sheetsync.app.runtime import build as build_runtime
    from sheetsync.core import config as config_module

    os.environ["META_ACCESS_TOKEN"] = TOKEN
    data = config_dict(emulators, tmp_path / "state.db", fast_jobs(**job))
    data["meta"]["timeout"] = meta_timeout
    data["google"]["timeout"] = 0.5
    built = build_runtime(config_module.parse(data), clock=clock, sleep=lambda seconds: None)
    OPEN_RUNTIMES.append(built)
    return built


def test_meta_failing_30_percent_at_random_loses_nothing_and_doubles_nothing(
    emulators: Emulators, tmp_path: Path
) -> None:
    clock = Clock(NOW)
    emulators.graph.clock = clock
    leads = 40
    seed(emulators, leads)
    emulators.graph.fail_randomly(0.3, seed=11, faults=MIXED_TRANSIENT)
    sync = build(emulators, tmp_path, clock, meta_timeout=0.3)
    sheet = emulators.sheets.worksheet("sheet1", "Leads")
    stage_of = dict.fromkeys(range(leads), 0)
    moves = random.Random(5)
    for _ in range(12):  # the team works while Meta is flaky
        for n in moves.sample(range(leads), 8):
            if stage_of[n] < 3:
                stage_of[n] += 1
                sheet.type_cell(n + 2, 7, STAGES[stage_of[n]])
        sync.run_once()
        clock.advance(600)
    for _ in range(30):  # then time passes until every pending event has gone out
        sync.run_once()
        clock.advance(900)
        if not any(
            "waiting" in row["Sync Status"] or "queued" in row["Sync Status"]
            for row in sheet_rows(emulators)
        ):
            break

    got = received_pairs(emulators)
    assert set(got) == expected_pairs(stage_of)
    assert len(got) == len(set(got))
    assert set(emulators.graph.event_id_counts().values()) == {1}
    assert emulators.graph.requests > len(
        {trace.fbtrace_id for trace in emulators.graph.received}
    )  # faults hit
    for n, row in enumerate(sheet_rows(emulators)):
        assert (
            row["Sent Events"].split(", ")[-1]
            == ["Lead", "QualifiedLead", "Schedule", "Purchase"][stage_of[n]]
        )


def test_a_batch_of_500_with_3_bad_events_delivers_497_and_explains_3(
    emulators: Emulators, tmp_path: Path
) -> None:
    clock = Clock(NOW)
    emulators.graph.clock = clock
    seed(emulators, 500)
    bad = {sha256(f"l{n}@example.com") for n in (7, 250, 499)}
    emulators.graph.reject_events(
        lambda event: event["user_data"]["em"][0] in bad,
        2804050,
        "The email hash matches no one Meta can use.",
    )
    sync = build(emulators, tmp_path, clock)
    report = sync.run_once()[0]
    assert report.sent == 497
    assert report.failed == 3
    assert len(emulators.graph.events()) == 497
    rows = sheet_rows(emulators)
    for n in (7, 250, 499):
        assert rows[n]["Sync Status"] == (
            "✗ Lead Meta rejected it: The email hash matches no one Meta can use. "
            "(code 100/2804050)"
        )
        assert rows[n]["Sent Events"] == ""
    assert rows[8]["Sent Events"] == "Lead"
    # A rejected event is not retried until its row changes.
    requests_before = emulators.graph.requests
    clock.advance(600)
    sync.run_once()
    assert emulators.graph.requests == requests_before


def test_a_revoked_token_pauses_the_job_and_it_resumes_by_itself(
    emulators: Emulators, tmp_path: Path
) -> None:
    clock = Clock(NOW)
    emulators.graph.clock = clock
    seed(emulators, 3)
    sync = build(emulators, tmp_path, clock)
    sync.run_once()
    emulators.graph.token = "a-token-sheetsync-does-not-have"  # revoked at Meta
    sheet = emulators.sheets.worksheet("sheet1", "Leads")
    sheet.type_cell(2, 7, "Qualified")
    clock.advance(60)
    report = sync.run_once()[0]
    assert (
        report.blocked is not None and "Meta rejected the access token (code 190)" in report.blocked
    )
    assert sheet_rows(emulators)[0]["Sync Status"].startswith(
        "… QualifiedLead waiting: sending is paused for this job (Meta rejected the access token (code 190)"
    )
    assert sheet_rows(emulators)[1]["Sync Status"].startswith(
        "✓ Lead sent"
    )  # other rows are untouched
    state = sync.store
    assert state is not None
    assert state.job_state("sales").blocked_reason is not None
    clock.advance(60)
    sync.run_once()  # still revoked: still paused, nothing lost
    emulators.graph.token = None  # restored
    clock.advance(60)
    report = sync.run_once()[0]
    assert report.sent == 1
    assert state.job_state("sales").blocked_reason is None
    assert [name for _, name in received_pairs(emulators)].count("QualifiedLead") == 1
    assert sheet_rows(emulators)[0]["Sent Events"] == "Lead, QualifiedLead"


def test_pending_events_that_age_past_the_window_become_expired(
    emulators: Emulators, tmp_path: Path
) -> None:
    clock = Clock(NOW)
    emulators.graph.clock = clock
    seed(emulators, 2)
    emulators.graph.fail_randomly(
        1.0, seed=1, faults=[GraphFault(status=503)]
    )  # Meta down for a week
    sync = build(emulators, tmp_path, clock)
    sync.run_once()
    for _ in range(8):
        clock.advance(86400)
        sync.run_once()
    rows = sheet_rows(emulators)
    assert (
        rows[0]["Sync Status"] == "⌛ Lead not sent: could not be sent within Meta's 7-day window"
    )
    emulators.graph.fail_randomly(0, seed=1, faults=[])
    clock.advance(60)
    sync.run_once()
    assert emulators.graph.events() == []  # never sent past the window


def test_sheets_429s_and_timeouts_on_reads_and_writes(emulators: Emulators, tmp_path: Path) -> None:
    clock = Clock(NOW)
    emulators.graph.clock = clock
    seed(emulators, 3)
    sync = build(emulators, tmp_path, clock)
    emulators.sheets.inject(Fault("read", status=429, count=2))  # retried within the call
    assert sync.run_once()[0].ok
    assert len(emulators.graph.events()) == 3

    emulators.sheets.inject(Fault("read", status=503, count=10))  # a whole cycle cannot read
    clock.advance(60)
    report = sync.run_once()[0]
    assert not report.ok
    assert "Google Sheets failed while reading the sheet (HTTP 503); will try again next cycle" in (
        report.error or ""
    )
    emulators.sheets.clear_faults()

    sheet = emulators.sheets.worksheet("sheet1", "Leads")
    sheet.type_cell(2, 7, "Qualified")
    emulators.sheets.inject(
        Fault("write", status=503, delay=1.0, count=4)
    )  # every write try times out
    clock.advance(60)
    report = sync.run_once()[0]
    assert not report.ok
    assert "did not answer while writing status cells" in (report.error or "")
    assert (
        len(emulators.graph.events()) == 4
    )  # sent, and remembered although the row could not be written
    clock.advance(60)
    assert sync.run_once()[0].ok  # the next cycle writes what the last one could not
    assert sheet_rows(emulators)[0]["Sent Events"] == "Lead, QualifiedLead"
    assert len(emulators.graph.events()) == 4


def test_a_lost_state_file_resends_nothing_the_sheet_says_was_sent(
    emulators: Emulators, tmp_path: Path
) -> None:
    clock = Clock(NOW)
    emulators.graph.clock = clock
    seed(emulators, 4, stage="Qualified")
    sync = build(emulators, tmp_path, clock, initial_sync="all")
    sync.run_once()
    assert len(emulators.graph.events()) == 8
    sync.close()
    for path in tmp_path.glob("state.db*"):
        path.unlink()
    emulators.sheets.worksheet("sheet1", "Leads").type_cell(2, 7, "Won")
    clock.advance(600)
    build(emulators, tmp_path, clock, initial_sync="all").run_once()
    names = [name for _, name in received_pairs(emulators)]
    assert len(names) == 10 and names[-2:] == ["Schedule", "Purchase"]
    assert set(emulators.graph.event_id_counts().values()) == {1}


def test_a_corrupt_state_file_is_set_aside_and_rebuilt_from_the_sheet(
    emulators: Emulators, tmp_path: Path
) -> None:
    clock = Clock(NOW)
    emulators.graph.clock = clock
    seed(emulators, 2)
    sync = build(emulators, tmp_path, clock, initial_sync="all")
    sync.run_once()
    sync.close()
    for path in tmp_path.glob("state.db-*"):
        path.unlink()
    # A SQLite file whose pages are garbage (a disk fault); a file that is not SQLite at all is
    # someone else's and refused instead (tests/test_ops_commands.py).
    (tmp_path / "state.db").write_bytes(b"SQLite format 3\x00" + b"this is not a database" * 100)
    clock.advance(60)
    report = build(emulators, tmp_path, clock, initial_sync="all").run_once()[0]
    assert report.ok
    assert len(emulators.graph.events()) == 2  # nothing resent
    assert list(tmp_path.glob("state.db.corrupt-*"))
