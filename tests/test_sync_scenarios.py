"""The sync as stories: a sales team edits the sheet, sheetsync tells Meta and the row.

Everything runs over HTTP against the emulators with the real gspread and requests
clients; the clock is moved, not waited for.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
from support import HEADER, Clock, at, before_read, day, job_config, runtime, sheet_rows

from sheetsync.emulator import Emulators
from sheetsync.emulator.sheets import SheetsEmulator

NOW = at("2026-11-22T12:00:00")
STAGES = ["New", "Qualified", "Meeting Booked", "Won"]
EVENTS = ["Lead", "QualifiedLead", "Schedule", "Purchase"]


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def clock(emulators: Emulators) -> Clock:
    moving = Clock(NOW)
    emulators.graph.clock = moving
    return moving


def seed(emulators: Emulators, rows: list[list[str]]) -> None:
    emulators.sheets.seed("sheet1", "Leads", [HEADER, *rows])


def received(emulators: Emulators) -> list[tuple[str, str]]:
    """(event_name, email hash prefix) for every event Meta received, in order."""
    return [
        (e["event_name"], e["user_data"].get("em", ["-"])[0][:8]) for e in emulators.graph.events()
    ]


def lead_row(name: str, stage: str, created: float | None = None, **cells: str) -> list[str]:
    email = cells.get("email", f"{name.lower()}@example.com")
    return [
        name,
        email,
        cells.get("phone", ""),
        cells.get("lead_id", ""),
        cells.get("fbclid", ""),
        day(created) if created else "",
        stage,
        cells.get("value", ""),
    ]


def test_a_new_sheet_of_20_leads_in_mixed_stages(
    emulators: Emulators, tmp_path: Path, clock: Clock
) -> None:
    rows = [
        lead_row(f"Lead{n:02d}", STAGES[n % 4], created=NOW - 3600 * (n + 1), value=str(100 * n))
        for n in range(20)
    ]
    seed(emulators, rows)
    report = runtime(emulators, tmp_path, clock).run_once()[0]

    assert report.ok, report.error
    events = emulators.graph.events()
    expected = sorted(
        (f"lead{n:02d}@example.com", EVENTS[i]) for n in range(20) for i in range(n % 4 + 1)
    )
    got = sorted(
        (
            next(
                k
                for k in (f"lead{n:02d}@example.com" for n in range(20))
                if sha(k) == e["user_data"]["em"][0]
            ),
            e["event_name"],
        )
        for e in events
    )
    assert got == expected
    assert set(emulators.graph.event_id_counts().values()) == {1}
    by_lead = {(e["user_data"]["em"][0], e["event_name"]): e for e in events}
    lead6 = sha("lead06@example.com")  # n=6: Meeting Booked, created 7 hours ago
    assert by_lead[(lead6, "Lead")]["event_time"] == int(NOW - 7 * 3600)  # the sheet's Created time
    assert by_lead[(lead6, "Schedule")]["event_time"] == int(NOW)  # first seen now
    assert by_lead[(lead6, "QualifiedLead")]["custom_data"] == {
        "event_source": "crm",
        "lead_event_source": "Google Sheets",
        "value": 100,
        "currency": "USD",
    }
    won = by_lead[(sha("lead03@example.com"), "Purchase")]
    assert won["custom_data"]["value"] == 300
    assert won["action_source"] == "system_generated"

    shown = sheet_rows(emulators)
    assert shown[6]["Sync Status"] == "✓ Schedule sent 2026-11-22 12:00 UTC · keys: em"
    assert shown[6]["Sent Events"] == "Lead, QualifiedLead, Schedule"
    assert shown[6]["Last Sync"] == "2026-11-22 12:00 UTC"
    assert all(len(row["Sync Key"]) == 10 for row in shown)
    assert len({row["Sync Key"] for row in shown}) == 20


def test_first_cycle_on_an_old_sheet_adopts_a_baseline(
    emulators: Emulators, tmp_path: Path, clock: Clock
) -> None:
    seed(
        emulators,
        [
            lead_row("Old", "Qualified", created=NOW - 40 * 86400),
            lead_row("Undated", "New"),
            lead_row("Fresh", "Qualified", created=NOW - 2 * 86400),
        ],
    )
    sync = runtime(emulators, tmp_path, clock, jobs=[job_config(initial_sync="recent")])
    sync.run_once()

    assert received(emulators) == [
        ("Lead", sha("fresh@example.com")[:8]),
        ("QualifiedLead", sha("fresh@example.com")[:8]),
    ]
    old, undated, _fresh = sheet_rows(emulators)
    assert old["Sync Status"] == (
        "— Lead, QualifiedLead not sent (there before sheetsync started); later stages will be"
    )
    assert undated["Sync Status"].startswith("— Lead not sent (there before sheetsync started)")
    assert old["Sent Events"] == ""

    # The old lead moves on: only the new stage is sent, at the time it was first seen.
    emulators.sheets.worksheet("sheet1", "Leads").type_cell(2, 7, "Won")
    clock.advance(600)
    sync.run_once()
    names = [name for name, _ in received(emulators)]
    assert names == ["Lead", "QualifiedLead", "Schedule", "Purchase"]
    purchase = emulators.graph.events()[-1]
    assert purchase["event_time"] == int(NOW + 600)
    assert sheet_rows(emulators)[0]["Sent Events"] == "Schedule, Purchase"


def test_initial_sync_none_sends_nothing_from_before(
    emulators: Emulators, tmp_path: Path, clock: Clock
) -> None:
    seed(emulators, [lead_row("Fresh", "Won", created=NOW - 3600)])
    runtime(emulators, tmp_path, clock, jobs=[job_config(initial_sync="none")]).run_once()
    assert emulators.graph.events() == []


def test_stage_moves_between_cycles(emulators: Emulators, tmp_path: Path, clock: Clock) -> None:
    seed(emulators, [lead_row("Ann", "New", created=NOW - 60)])
    sync = runtime(emulators, tmp_path, clock)
    sync.run_once()
    sheet = emulators.sheets.worksheet("sheet1", "Leads")
    sheet.type_cell(2, 7, "Qualified")
    clock.advance(300)
    sync.run_once()
    sheet.type_cell(2, 7, "Meeting Booked")
    clock.advance(300)
    sync.run_once()

    events = emulators.graph.events()
    assert [(e["event_name"], e["event_time"]) for e in events] == [
        ("Lead", int(NOW - 60)),
        ("QualifiedLead", int(NOW + 300)),
        ("Schedule", int(NOW + 600)),
    ]
    assert sheet_rows(emulators)[0]["Sent Events"] == "Lead, QualifiedLead, Schedule"


def test_a_jump_from_new_to_won_sends_the_skipped_stages_in_order(
    emulators: Emulators, tmp_path: Path, clock: Clock
) -> None:
    seed(emulators, [lead_row("Ann", "New", created=NOW - 60, value="2500")])
    sync = runtime(emulators, tmp_path, clock)
    sync.run_once()
    emulators.sheets.worksheet("sheet1", "Leads").type_cell(2, 7, "Won")
    clock.advance(120)
    sync.run_once()
    events = emulators.graph.events()
    assert [e["event_name"] for e in events] == EVENTS
    times = [e["event_time"] for e in events]
    assert times == sorted(times)
    assert events[-1]["custom_data"]["value"] == 2500


def test_a_backwards_move_sends_nothing(emulators: Emulators, tmp_path: Path, clock: Clock) -> None:
    seed(emulators, [lead_row("Ann", "Qualified", created=NOW - 60)])
    sync = runtime(emulators, tmp_path, clock)
    sync.run_once()
    sheet = emulators.sheets.worksheet("sheet1", "Leads")
    sheet.type_cell(2, 7, "New")
    clock.advance(60)
    sync.run_once()
    sheet.type_cell(2, 7, "Qualified")
    clock.advance(60)
    sync.run_once()
    assert [e["event_name"] for e in emulators.graph.events()] == ["Lead", "QualifiedLead"]


def test_unknown_labels_are_reported_and_ignored_labels_are_quiet(
    emulators: Emulators, tmp_path: Path, clock: Clock
) -> None:
    seed(
        emulators,
        [lead_row("Typo", "Qualifed"), lead_row("Gone", "Lost"), lead_row("Case", "  qualified ")],
    )
    runtime(emulators, tmp_path, clock).run_once()
    typo, gone, case = sheet_rows(emulators)
    assert (
        typo["Sync Status"]
        == "✗ unknown stage 'Qualifed'; known: New, Qualified, Meeting Booked, Won"
    )
    assert gone["Sync Status"] == ""
    assert case["Sent Events"] == "Lead, QualifiedLead"


def test_status_lands_on_the_right_rows_after_a_sort_and_an_insert_mid_cycle(
    emulators: Emulators, tmp_path: Path, clock: Clock
) -> None:
    seed(
        emulators,
        [lead_row("Cy", "New"), lead_row("Al", "Qualified"), lead_row("Bo", "Won", value="10")],
    )

    def sort_and_insert(emulator: SheetsEmulator) -> None:
        sheet = emulator.worksheet("sheet1", "Leads")
        sheet.sort_rows(1)
        sheet.insert_row(2, ["Zed (typed mid-cycle)"])

    # The data read sees the old order; a person edits before the key re-read (the third read).
    before_read(emulators, 3, sort_and_insert)
    runtime(emulators, tmp_path, clock).run_once()
    assert emulators.sheets.counts["read"] == 3

    shown = {row["Name"]: row for row in sheet_rows(emulators)}
    assert shown["Al"]["Sent Events"] == "Lead, QualifiedLead"
    assert shown["Bo"]["Sent Events"] == "Lead, QualifiedLead, Schedule, Purchase"
    assert shown["Cy"]["Sent Events"] == "Lead"
    assert shown["Zed (typed mid-cycle)"]["Sync Status"] == ""
    assert shown["Zed (typed mid-cycle)"]["Sync Key"] == ""


def test_a_row_deleted_mid_cycle_is_not_written_anywhere(
    emulators: Emulators, tmp_path: Path, clock: Clock
) -> None:
    seed(emulators, [lead_row("Al", "New"), lead_row("Bo", "New")])
    before_read(emulators, 3, lambda e: e.worksheet("sheet1", "Leads").delete_row(2))
    runtime(emulators, tmp_path, clock).run_once()
    assert emulators.sheets.counts["read"] == 3
    shown = sheet_rows(emulators)
    assert [row["Name"] for row in shown] == ["Bo"]
    assert shown[0]["Sent Events"] == "Lead"
    assert len(emulators.sheets.worksheet("sheet1", "Leads").rows) == 2  # nothing written below


def test_a_copied_row_gets_its_own_key_and_is_not_sent_twice(
    emulators: Emulators, tmp_path: Path, clock: Clock
) -> None:
    seed(emulators, [lead_row("Ann", "Qualified", created=NOW - 60)])
    sync = runtime(emulators, tmp_path, clock)
    sync.run_once()
    sheet = emulators.sheets.worksheet("sheet1", "Leads")
    sheet.rows.append(list(sheet.rows[1]))  # a person copies the whole row, key and status included
    clock.advance(60)
    sync.run_once()

    assert [e["event_name"] for e in emulators.graph.events()] == ["Lead", "QualifiedLead"]
    original, copy = sheet_rows(emulators)
    assert copy["Sync Key"] != original["Sync Key"]
    assert copy["Sync Status"].startswith(f"✗ copy of the row with key {original['Sync Key']}")
    # Later changes on the copy are its own and are sent.
    sheet.type_cell(3, 7, "Won")
    clock.advance(60)
    sync.run_once()
    assert [e["event_name"] for e in emulators.graph.events()][-2:] == ["Schedule", "Purchase"]


def test_a_lead_with_only_a_phone(emulators: Emulators, tmp_path: Path, clock: Clock) -> None:
    seed(emulators, [lead_row("Phoebe", "New", email="", phone="(650) 555-1212")])
    runtime(emulators, tmp_path, clock).run_once()
    event = emulators.graph.events()[0]
    assert event["user_data"] == {"ph": [sha("16505551212")]}
    assert sheet_rows(emulators)[0]["Sync Status"].endswith("keys: ph")


def test_a_lead_with_nothing_to_match_is_explained(
    emulators: Emulators, tmp_path: Path, clock: Clock
) -> None:
    seed(emulators, [lead_row("Nobody", "New", email="")])
    runtime(emulators, tmp_path, clock).run_once()
    assert emulators.graph.events() == []
    assert sheet_rows(emulators)[0]["Sync Status"] == (
        "✗ not sent: nothing Meta can match this lead by; fill Email or Phone or Lead ID or fbclid"
    )


def test_changing_the_email_after_a_send_does_not_resend(
    emulators: Emulators, tmp_path: Path, clock: Clock
) -> None:
    seed(emulators, [lead_row("Ann", "New")])
    sync = runtime(emulators, tmp_path, clock)
    sync.run_once()
    emulators.sheets.worksheet("sheet1", "Leads").type_cell(2, 2, "ann.new@example.com")
    clock.advance(60)
    sync.run_once()
    assert len(emulators.graph.events()) == 1


def test_steady_state_is_one_read_and_nothing_else(
    emulators: Emulators, tmp_path: Path, clock: Clock
) -> None:
    seed(emulators, [lead_row(f"L{n}", STAGES[n % 4], created=NOW - 60) for n in range(12)])
    sync = runtime(emulators, tmp_path, clock)
    sync.run_once()
    emulators.sheets.reset_counts()
    requests_before = emulators.graph.requests
    clock.advance(60)
    report = sync.run_once()[0]
    assert dict(emulators.sheets.counts) == {"read": 1}
    assert emulators.graph.requests == requests_before
    assert report.cells_written == 0


def test_a_cycle_with_changes_costs_one_read_one_reread_one_write(
    emulators: Emulators, tmp_path: Path, clock: Clock
) -> None:
    seed(emulators, [lead_row(f"L{n}", "New", created=NOW - 60) for n in range(12)])
    sync = runtime(emulators, tmp_path, clock)
    sync.run_once()
    sheet = emulators.sheets.worksheet("sheet1", "Leads")
    for row in range(2, 14):
        sheet.type_cell(row, 7, "Qualified")
    emulators.sheets.reset_counts()
    requests_before = emulators.graph.requests
    clock.advance(60)
    sync.run_once()
    assert dict(emulators.sheets.counts) == {"read": 2, "write": 1}
    assert emulators.graph.requests == requests_before + 1


def test_only_status_columns_are_touched(
    emulators: Emulators, tmp_path: Path, clock: Clock
) -> None:
    seed(
        emulators, [lead_row("Ann", "Won", value="=1+1", lead_id="1.2E+15"), lead_row("Bo", "New")]
    )
    before = [row[:8] for row in emulators.sheets.worksheet("sheet1", "Leads").rows]
    runtime(emulators, tmp_path, clock).run_once()
    after = [row[:8] for row in emulators.sheets.worksheet("sheet1", "Leads").rows]
    assert after == before


def test_status_text_is_written_raw(emulators: Emulators, tmp_path: Path, clock: Clock) -> None:
    # Typed with a leading ' the cell holds the text itself (typed bare, Sheets would compute it).
    seed(emulators, [lead_row("Ann", """'=HYPERLINK("x")""")])
    runtime(emulators, tmp_path, clock).run_once()
    stored = emulators.sheets.worksheet("sheet1", "Leads")
    status_column = stored.find_column("Sync Status")
    assert (
        stored.get(2, status_column)
        == "✗ unknown stage '=HYPERLINK(\"x\")'; known: New, Qualified, "
        "Meeting Booked, Won"
    )


def test_test_mode_is_visible_in_every_sent_row(
    emulators: Emulators, tmp_path: Path, clock: Clock
) -> None:
    seed(emulators, [lead_row("Ann", "New")])
    runtime(emulators, tmp_path, clock, jobs=[job_config(test_event_code="TEST12345")]).run_once()
    assert sheet_rows(emulators)[0]["Sync Status"].startswith("TEST mode (TEST12345) · ✓ Lead sent")
    assert emulators.graph.received[0].test_event_code == "TEST12345"


def test_an_emptied_sheet_stops_the_cycle_instead_of_forgetting(
    emulators: Emulators, tmp_path: Path, clock: Clock
) -> None:
    seed(emulators, [lead_row("Ann", "New")])
    sync = runtime(emulators, tmp_path, clock)
    sync.run_once()
    sheet = emulators.sheets.worksheet("sheet1", "Leads")
    sheet.rows = sheet.rows[:1]
    report = sync.run_once()[0]
    assert not report.ok
    assert "reads empty, but 1 leads were seen before" in (report.error or "")


def test_a_vanished_stage_header_stops_the_cycle(
    emulators: Emulators, tmp_path: Path, clock: Clock
) -> None:
    seed(emulators, [lead_row("Ann", "New")])
    sync = runtime(emulators, tmp_path, clock)
    sync.run_once()
    emulators.sheets.worksheet("sheet1", "Leads").type_cell(1, 7, "Phase")
    report = sync.run_once()[0]
    assert not report.ok
    assert "no column headed 'Stage'" in (report.error or "")
    assert len(emulators.graph.events()) == 1


def test_columns_moved_by_a_person_are_found_again(
    emulators: Emulators, tmp_path: Path, clock: Clock
) -> None:
    seed(emulators, [lead_row("Ann", "New")])
    sync = runtime(emulators, tmp_path, clock)
    sync.run_once()
    sheet = emulators.sheets.worksheet("sheet1", "Leads")
    for row in sheet.rows:  # a new column inserted at the far left
        row.insert(0, None)
    sheet.type_cell(1, 1, "Notes")
    sheet.type_cell(2, 8, "Qualified")
    clock.advance(60)
    report = sync.run_once()[0]
    assert report.ok, report.error
    assert [e["event_name"] for e in emulators.graph.events()] == ["Lead", "QualifiedLead"]
    assert sheet_rows(emulators)[0]["Sent Events"] == "Lead, QualifiedLead"


def test_stage_columns_mode_takes_each_stage_time_from_its_column(
    emulators: Emulators, tmp_path: Path, clock: Clock
) -> None:
    emulators.sheets.seed(
        "sheet1",
        "Leads",
        [
            ["Name", "Email", "Created", "Qualified At", "Won At", "Amount"],
            [
                "Ann",
                "ann@example.com",
                day(NOW - 5 * 3600),
                day(NOW - 3 * 3600),
                day(NOW - 3600),
                "900",
            ],
            ["Bob", "bob@example.com", day(NOW - 5 * 3600), "TRUE", "", ""],
            ["Cy", "cy@example.com", day(NOW - 5 * 3600), "FALSE", "", ""],
            ["Di", "di@example.com", "", "", day(NOW - 1800), ""],
        ],
    )
    job = job_config(
        columns={"email": "Email", "created_at": "Created", "value": "Amount"},
        stages={},
        stage_columns={"Qualified At": "QualifiedLead", "Won At": "Purchase"},
    )
    runtime(emulators, tmp_path, clock, jobs=[job]).run_once()
    got = [
        (
            e["user_data"]["em"][0][:6],
            e["event_name"],
            e["event_time"],
            e["custom_data"].get("value"),
        )
        for e in emulators.graph.events()
    ]
    ann, bob, di = sha("ann@example.com")[:6], sha("bob@example.com")[:6], sha("di@example.com")[:6]
    assert sorted(got) == sorted(
        [
            (ann, "QualifiedLead", int(NOW - 3 * 3600), 900),
            (ann, "Purchase", int(NOW - 3600), 900),
            (
                bob,
                "QualifiedLead",
                int(NOW - 5 * 3600),
                None,
            ),  # the first funnel stage takes Created
            # Di skipped Qualified: it is implied, no later than the Won date.
            (di, "QualifiedLead", int(NOW - 1800), None),
            (di, "Purchase", int(NOW - 1800), None),
        ]
    )


def test_a_team_managed_key_column(emulators: Emulators, tmp_path: Path, clock: Clock) -> None:
    emulators.sheets.seed(
        "sheet1",
        "Leads",
        [
            [*HEADER, "CRM ID"],
            [*lead_row("Ann", "New"), "A-1"],
            [*lead_row("Bob", "New"), ""],
        ],
    )
    runtime(emulators, tmp_path, clock, jobs=[job_config(key_column="CRM ID")]).run_once()
    assert len(emulators.graph.events()) == 1  # Bob has no key yet: sheetsync does not invent one
    ann, bob = sheet_rows(emulators)
    assert "Sync Key" not in ann
    assert ann["Sent Events"] == "Lead"
    assert bob["CRM ID"] == ""


def test_the_managers_summary_tab(emulators: Emulators, tmp_path: Path, clock: Clock) -> None:
    seed(
        emulators,
        [
            lead_row("Ann", "Won", created=NOW - 60, value="10"),
            lead_row("Bob", "Qualifed"),
            lead_row("Cy", "New", phone="555"),
            lead_row("Di", "New", phone="12"),
        ],
    )
    sync = runtime(
        emulators,
        tmp_path,
        clock,
        jobs=[job_config(summary_worksheet="sheetsync", test_event_code="TEST9")],
    )
    sync.run_once()
    shown = emulators.sheets.worksheet("sheet1", "sheetsync").displayed()
    as_dict = grid_of(shown)
    assert shown[0][0] == "sheetsync · job sales"
    assert as_dict["Sending to Meta"] == ["ok"]
    assert as_dict["Test mode"] == ["ON (TEST9): events still count in the dataset"]
    assert as_dict["Purchase"] == ["1", "1", "25%", "not yet"]
    assert as_dict["Lead"] == ["3", "3", "75%", "not yet"]
    # Each problem kind says how many rows and what to fix.
    assert as_dict["phone has too few digits"] == [
        "2",
        "write the phone with its country code, e.g. +1 650 555 1212",
    ]
    assert as_dict["unknown stage"] == [
        "1",
        "pick the stage from the Stage dropdown (one of the configured stages)",
    ]
    emulators.sheets.reset_counts()
    clock.advance(60)
    sync.run_once()
    assert dict(emulators.sheets.counts) == {
        "read": 1
    }  # a quiet cycle does not rewrite the summary
    emulators.sheets.worksheet("sheet1", "Leads").type_cell(3, 7, "Qualified")  # Bob's typo fixed
    clock.advance(60)
    sync.run_once()
    assert emulators.sheets.counts["write"] == 1  # rows and summary in one request
    as_dict = grid_of(emulators.sheets.worksheet("sheet1", "sheetsync").displayed())
    assert "unknown stage" not in as_dict
    assert as_dict["QualifiedLead"][:2] == ["2", "2"]


def grid_of(shown: list[list[str]]) -> dict[str, list[str]]:
    """The summary grid (columns A to E) by its first column, trailing blanks trimmed."""
    grid = {}
    for row in shown:
        if row and row[0]:
            values = row[1:5]
            while values and values[-1] == "":
                values.pop()
            grid[row[0]] = values
    return grid


def test_the_managers_chart_is_made_once_and_follows_its_cells(
    emulators: Emulators, tmp_path: Path, clock: Clock
) -> None:
    seed(emulators, [lead_row("Ann", "Won", created=NOW - 60, value="10"), lead_row("Bob", "New")])
    job = job_config(summary_worksheet="sheetsync")
    sync = runtime(emulators, tmp_path, clock, jobs=[job])
    sync.run_once()
    (chart,) = emulators.sheets.charts("sheet1")
    assert chart["sheet"] == "sheetsync"
    spec = chart["spec"]
    assert spec["title"] == "Events sent to Meta per funnel stage, last 14 days"
    basic = spec["basicChart"]
    assert (basic["chartType"], basic["stackedType"], basic["headerCount"]) == (
        "COLUMN",
        "STACKED",
        1,
    )
    tab = emulators.sheets.worksheet("sheet1", "sheetsync")
    sources = [s["series"]["sourceRange"]["sources"][0] for s in basic["series"]]
    domain = basic["domains"][0]["domain"]["sourceRange"]["sources"][0]
    assert {src["sheetId"] for src in [*sources, domain]} == {tab.sheet_id}
    assert (domain["startColumnIndex"], domain["startRowIndex"], domain["endRowIndex"]) == (
        6,
        0,
        15,
    )
    assert [src["startColumnIndex"] for src in sources] == [7, 8, 9, 10]  # one per funnel stage
    # The cells it draws: a header, then 14 days, today last, with today's counts.
    shown = tab.displayed()
    assert shown[0][6:11] == ["Day", "Lead", "QualifiedLead", "Schedule", "Purchase"]
    assert shown[14][6:11] == [time.strftime("%m-%d", time.gmtime(NOW)), "2", "1", "1", "1"]
    assert emulators.sheets.chart_requests == {"addChart": 1}

    # A person moves and resizes it; cycles go on, quiet and not; the process restarts.
    moved = {
        "overlayPosition": {
            "anchorCell": {"sheetId": tab.sheet_id, "rowIndex": 30, "columnIndex": 0},
            "widthPixels": 400,
        }
    }
    chart["position"] = moved
    tab.charts[0]["position"] = moved
    emulators.sheets.reset_counts()
    clock.advance(60)
    sync.run_once()
    assert dict(emulators.sheets.counts) == {"read": 1}  # a quiet cycle: no chart request either
    emulators.sheets.worksheet("sheet1", "Leads").type_cell(3, 7, "Qualified")
    clock.advance(60)
    sync.run_once()
    sync.close()
    again = runtime(emulators, tmp_path, clock, jobs=[job])
    emulators.sheets.worksheet("sheet1", "Leads").type_cell(3, 7, "Won")
    clock.advance(60)
    again.run_once()
    (chart,) = emulators.sheets.charts("sheet1")  # found again by its id: not recreated
    assert chart["position"] == moved  # where the person put it
    assert emulators.sheets.chart_requests == {"addChart": 1}
    assert tab.displayed()[14][7:11] == ["2", "2", "2", "2"]  # the figures moved on, not the chart

    # Even with the state file lost, the chart is found again (by its title), not duplicated.
    again.close()
    (tmp_path / "state.db").unlink()
    clock.advance(60)
    fresh = runtime(emulators, tmp_path, clock, jobs=[job])
    fresh.run_once()
    fresh.close()
    assert len(emulators.sheets.charts("sheet1")) == 1

    # A funnel with one more stage: the same chart, its spec updated in place.
    from sheetsync.app.example import STAGES

    longer = job_config(summary_worksheet="sheetsync", stages={**STAGES, "Signed": "Subscribe"})
    clock.advance(60)
    runtime(emulators, tmp_path, clock, jobs=[longer]).run_once()
    (chart,) = emulators.sheets.charts("sheet1")
    assert len(chart["spec"]["basicChart"]["series"]) == 5
    assert emulators.sheets.chart_requests == {"addChart": 1, "updateChartSpec": 1}


def test_status_columns_beyond_the_grid_grow_it(
    emulators: Emulators, tmp_path: Path, clock: Clock
) -> None:
    emulators.sheets.seed("sheet1", "Leads", [HEADER, lead_row("Ann", "New")], columns=len(HEADER))
    assert runtime(emulators, tmp_path, clock).run_once()[0].ok
    assert emulators.sheets.worksheet("sheet1", "Leads").column_count == len(HEADER) + 4
    assert sheet_rows(emulators)[0]["Sent Events"] == "Lead"


def test_one_jobs_failure_never_stops_the_others(
    emulators: Emulators, tmp_path: Path, clock: Clock
) -> None:
    seed(emulators, [lead_row("Ann", "New")])
    broken = job_config(name="broken", spreadsheet="no-such-sheet")
    reports = runtime(emulators, tmp_path, clock, jobs=[broken, job_config()]).run_once()
    assert [report.ok for report in reports] == [False, True]
    assert "spreadsheet no-such-sheet was not found" in (reports[0].error or "")
    assert len(emulators.graph.events()) == 1


def test_a_big_change_is_taken_whole_in_one_cycle_chunk_by_chunk(
    emulators: Emulators, tmp_path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sheetsync.app import cycle

    monkeypatch.setattr(cycle, "CHUNK_ROWS", 40)  # a small stand-in for 10,000
    old = [lead_row(f"Old{n}", "Qualified", created=NOW - 30 * 86400) for n in range(70)]
    fresh = [lead_row(f"New{n}", "New", created=NOW - 3600) for n in range(30)]
    seed(emulators, old + fresh)
    sync = runtime(emulators, tmp_path, clock, jobs=[job_config(initial_sync="recent")])
    emulators.sheets.reset_counts()
    (report,) = sync.run_once()
    assert report.ok and report.leads == 100 and report.keys_given == 100
    # A sheet never seen: its header read and the status headers added; then one read, one
    # re-read to find the rows, one write with every key and status in it.
    assert dict(emulators.sheets.counts) == {"metadata": 1, "read": 3, "write": 2}
    rows = sheet_rows(emulators)
    # The first cycle lasts until the whole sheet was seen: old leads are a baseline in every
    # chunk, recent ones are sent, whichever chunk they fell in.
    assert all(
        row["Sync Status"].startswith("— Lead, QualifiedLead not sent (there before")
        for row in rows[:70]
    )
    assert all(row["Sent Events"] == "Lead" for row in rows[70:])
    assert len(emulators.graph.events()) == 30
    assert len({row["Sync Key"] for row in rows}) == 100
    emulators.sheets.reset_counts()
    clock.advance(60)
    sync.run_once()
    assert dict(emulators.sheets.counts) == {"read": 1}  # and then it is quiet


def test_typed_dates_are_read_in_the_sheets_time_zone_and_typed_amounts_as_numbers(
    emulators: Emulators, tmp_path: Path, clock: Clock
) -> None:
    emulators.sheets.seed(
        "sheet1",
        "Leads",
        [
            HEADER,
            ["Ann", "ann@example.com", "", "", "", "2026-11-22 06:30", "Won", "$1,200"],
            ["Bob", "bob@example.com", "", "", "", "2026-11-22 06:30", "Won", "=2*600"],
        ],
        time_zone="America/New_York",  # UTC−5 in November
    )
    runtime(emulators, tmp_path, clock).run_once()
    events = emulators.graph.events()
    assert {e["event_time"] for e in events if e["event_name"] == "Lead"} == {
        int(at("2026-11-22T11:30:00"))
    }
    assert [e["custom_data"]["value"] for e in events if e["event_name"] == "Purchase"] == [
        1200,
        1200,
    ]
