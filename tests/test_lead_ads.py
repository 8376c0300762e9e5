"""Lead Ads intake (issue #14): new leads of a Page's forms land in the sheet once, lead id
intact, and then sync like any other row. Real clients against the emulators: requests to the
Graph emulator's leadgen edges, gspread's values:append to the Sheets emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support import Clock, at, day, job_config, runtime, sheet_rows

from sheetsync.emulator import Emulators
from sheetsync.emulator.leadgen import DEFAULT_PAGE, LeadAdsFault

NOW = at("2026-12-03T12:00:00")
PAGE_TOKEN = "EAAB-page-token-that-must-never-leak-9876543210"
HEADER = ["Name", "Email", "Phone", "Lead ID", "fbclid", "Created", "Stage", "Deal Value"]
FORM = "880000000000001"


def lead_ads_job(**overrides: Any) -> dict[str, Any]:
    lead_ads = {
        "page_id": DEFAULT_PAGE,
        "answers": {"email": "Email", "phone_number": "Phone", "full_name": "Name"},
        "other_answers": "Form Answers",
        "columns": {"form": "Form"},
        "stage": "New",
        **overrides,
    }
    return job_config(initial_sync="recent", lead_ads=lead_ads)


@pytest.fixture
def sheet(emulators: Emulators, monkeypatch: pytest.MonkeyPatch) -> Emulators:
    monkeypatch.setenv("META_PAGE_TOKEN", PAGE_TOKEN)
    emulators.sheets.seed(
        "sheet1",
        "Leads",
        [HEADER, ["Zoe", "zoe@example.com", "", "", "", day(NOW - 3600), "Qualified", ""]],
    )
    emulators.graph.lead_ads.add_form(DEFAULT_PAGE, FORM, "Spring offer")
    return emulators


def add_lead(emulators: Emulators, created: float, n: int, form: str = FORM, **extra: Any) -> str:
    answers = {
        "email": [f"lead{n}@example.com"],
        "phone_number": ["+16505550100"],
        "full_name": [f"Lead {n}"],
        "budget": ["10k", "20k"],
    }
    return emulators.graph.lead_ads.add_lead(form, int(created), answers, **extra)


def rows_by_lead_id(emulators: Emulators) -> dict[str, list[dict[str, str]]]:
    found: dict[str, list[dict[str, str]]] = {}
    for row in sheet_rows(emulators):
        if row["Lead ID"]:
            found.setdefault(row["Lead ID"], []).append(row)
    return found


def test_first_run_backfills_keeps_ids_as_text_and_honours_the_seven_day_line(
    sheet: Emulators, tmp_path: Path
) -> None:
    sheet.graph.lead_ads.numeric_lead_ids = True  # ids as JSON numbers: still text in the sheet
    recent = add_lead(sheet, NOW - 2 * 86400, 1, lead_id="1234567890123456")
    older = add_lead(sheet, NOW - 20 * 86400, 2, lead_id="1234567890123457")
    add_lead(sheet, NOW - 100 * 86400, 3)  # past Meta's 90 days and the lookback: not fetched
    clock = Clock(NOW)
    sheet.graph.clock = clock
    sync = runtime(sheet, tmp_path, clock, jobs=[lead_ads_job()])

    first = sync.run_once()[0]
    assert first.ok, first.error
    assert first.intake is not None and first.intake.appended == 2
    rows = sheet_rows(sheet)
    assert [row["Lead ID"] for row in rows] == ["", older, recent]  # oldest first, after Zoe
    cell = sheet.sheets.worksheet("sheet1", "Leads").get(4, 4)
    assert cell == "1234567890123456"  # every digit, as text (never 1.23457E+15)
    new = rows[2]
    assert (new["Name"], new["Email"], new["Stage"], new["Form"]) == (
        "Lead 1",
        "lead1@example.com",
        "New",
        "Spring offer",
    )
    assert new["Form Answers"] == "budget: 10k, 20k"  # a multi-value answer keeps its values
    assert sheet.graph.lead_ads.tokens_in_urls == 0

    clock.advance(60)
    second = sync.run_once()[0]  # the new rows sync like any other
    assert second.ok and second.intake is not None and second.intake.appended == 0
    (event,) = [e for e in sheet.graph.events() if e["user_data"].get("lead_id")]
    assert str(event["user_data"]["lead_id"]) == recent
    assert event["event_name"] == "Lead" and event["event_time"] == int(NOW - 2 * 86400)
    rows = rows_by_lead_id(sheet)
    assert rows[recent][0]["Sent Events"] == "Lead"
    assert rows[older][0]["Sync Status"].startswith("⌛ Lead not sent: happened")
    assert "more than 7 days ago" in rows[older][0]["Sync Status"]

    clock.advance(60)
    sync.run_once()
    assert {lead: len(found) for lead, found in rows_by_lead_id(sheet).items()} == {
        recent: 1,
        older: 1,
    }
    assert len([e for e in sheet.graph.events() if e["user_data"].get("lead_id")]) == 1


def test_pages_and_forms_are_followed_by_cursor_never_by_the_next_url(
    sheet: Emulators, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sheetsync.adapters import leadads

    monkeypatch.setattr(leadads, "PAGE_SIZE", 10)
    other = "880000000000002"
    sheet.graph.lead_ads.add_form(DEFAULT_PAGE, other, "Old form", status="ARCHIVED")
    ids = [add_lead(sheet, NOW - 3600 - n, n) for n in range(25)]
    ids += [add_lead(sheet, NOW - 7200 - n, 100 + n, form=other) for n in range(12)]
    clock = Clock(NOW)
    sheet.graph.clock = clock
    report = runtime(sheet, tmp_path, clock, jobs=[lead_ads_job()]).run_once()[0]
    assert report.ok and report.intake is not None and report.intake.appended == 37
    assert sorted(rows_by_lead_id(sheet)) == sorted(ids)
    assert sheet.graph.lead_ads.requests == 1 + 3 + 2  # the forms, then 3 and 2 pages
    assert sheet.graph.lead_ads.tokens_in_urls == 0  # `paging.next` holds the token: not followed
    assert sheet.sheets.counts["append"] == 1  # every new lead in one append


def test_duplicates_late_leads_and_rows_a_person_moved_or_deleted(
    sheet: Emulators, tmp_path: Path
) -> None:
    typed = add_lead(sheet, NOW - 5000, 1)
    worksheet = sheet.sheets.worksheet("sheet1", "Leads")
    # A person already pasted this lead in (as text), then inserted a row above it.
    worksheet.insert_row(2, ["Typed", "t@example.com", "", f"'{typed}", "", day(NOW - 5000), "New"])
    worksheet.insert_row(2, ["Ann", "ann@example.com", "", "", "", day(NOW - 600), "New"])
    fresh = add_lead(sheet, NOW - 1800, 2)
    clock = Clock(NOW)
    sheet.graph.clock = clock
    sync = runtime(sheet, tmp_path, clock, jobs=[lead_ads_job()])
    assert sync.run_once()[0].intake.appended == 1  # type: ignore[union-attr]
    assert {lead: len(rows) for lead, rows in rows_by_lead_id(sheet).items()} == {
        typed: 1,
        fresh: 1,
    }

    # Meta lists a lead late, created before the newest one already fetched (within the overlap).
    late = add_lead(sheet, NOW - 2400, 3)
    clock.advance(60)
    assert sync.run_once()[0].intake.appended == 1  # type: ignore[union-attr]
    # A person deletes a row sheetsync appended: it is not brought back.
    row = next(n for n, r in enumerate(sheet_rows(sheet), start=2) if r["Lead ID"] == fresh)
    worksheet.delete_row(row)
    clock.advance(60)
    assert sync.run_once()[0].intake.appended == 0  # type: ignore[union-attr]
    assert sorted(rows_by_lead_id(sheet)) == sorted([typed, late])


@pytest.mark.parametrize(
    ("fault", "says", "resumes_after"),
    [
        (LeadAdsFault("throttle", regain_access_minutes=10), "limiting Lead Ads requests", 600),
        (LeadAdsFault("lost_access"), "cannot read leads (code 200)", 3600),
        (LeadAdsFault("expired_token"), "cannot read leads (code 190/463)", 3600),
    ],
)
def test_throttling_and_lost_access_pause_only_the_intake(
    sheet: Emulators, tmp_path: Path, fault: LeadAdsFault, says: str, resumes_after: int
) -> None:
    clock = Clock(NOW)
    sheet.graph.clock = clock
    sync = runtime(sheet, tmp_path, clock, jobs=[lead_ads_job()])
    sync.run_once()  # Zoe's row is synced; nothing to take in yet
    waiting = add_lead(sheet, NOW - 60, 1)
    sheet.graph.lead_ads.inject(fault)
    sheet.sheets.worksheet("sheet1", "Leads").type_cell(2, 7, "Won")
    clock.advance(60)
    report = sync.run_once()[0]
    assert report.ok, report.error  # the stage sync is not stopped by the intake
    assert report.intake is not None and report.intake.paused and says in report.intake.paused
    assert any(e["event_name"] == "Purchase" for e in sheet.graph.events())
    assert sync.store is not None
    state = sync.store.intake_state("sales", int(clock()))
    assert state.paused == report.intake.paused
    requests = sheet.graph.lead_ads.requests
    clock.advance(resumes_after - 120)
    assert sync.run_once()[0].intake.paused  # type: ignore[union-attr]
    assert sheet.graph.lead_ads.requests == requests  # Meta is left alone while paused
    clock.advance(120)
    resumed = sync.run_once()[0]
    assert resumed.intake is not None and resumed.intake.appended == 1
    assert sync.store.intake_state("sales", int(clock())).paused is None
    assert waiting in rows_by_lead_id(sheet)


def test_a_missing_page_token_pauses_the_intake_and_names_the_variable(
    sheet: Emulators, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("META_PAGE_TOKEN")
    clock = Clock(NOW)
    report = runtime(sheet, tmp_path, clock, jobs=[lead_ads_job()]).run_once()[0]
    assert report.ok
    assert report.intake is not None and "set META_PAGE_TOKEN" in (report.intake.paused or "")


@pytest.mark.slow
def test_sigkill_at_random_moments_during_intake_leaves_every_lead_exactly_once(
    sheet: Emulators, tmp_path: Path
) -> None:
    """`once` processes killed at random moments while leads arrive: fetching, appending (slow,
    so kills land while Google applies it) and recording. Then undisturbed runs: each lead
    stands in the sheet once, and its Lead event reached Meta once."""
    import os
    import random
    import signal
    import subprocess
    import sys
    import time

    from support import TOKEN, config_dict, write_config

    sheet.sheets.latency = {"append": 0.4, "read": 0.05}
    config = write_config(
        tmp_path / "c.yaml", config_dict(sheet, tmp_path / "state.db", [lead_ads_job()])
    )
    env = {**os.environ, "META_ACCESS_TOKEN": TOKEN, "META_PAGE_TOKEN": PAGE_TOKEN}
    chaos = random.Random(5)
    expected = []
    for round_number in range(12):
        for _lead in range(chaos.randrange(1, 4)):  # leads arrive, some late (older than others)
            created = time.time() - chaos.uniform(60, 1800)
            expected.append(add_lead(sheet, created, len(expected)))
        process = subprocess.Popen(
            [sys.executable, "-m", "sheetsync", "once", "--config", str(config)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if round_number % 2:  # at a random moment
            time.sleep(chaos.uniform(0.4, 2.0))
            process.send_signal(signal.SIGKILL)
        else:  # the moment Google has the append: it lands, the process never hears of it
            sheet.sheets.before_next(
                "append", lambda _, pid=process.pid: os.kill(pid, signal.SIGKILL)
            )
        process.wait(timeout=60)
        sheet.sheets.clear_edits()
    sheet.sheets.latency = {}
    for _ in range(2):  # undisturbed: the first takes in what is left, the second sends
        subprocess.run(
            [sys.executable, "-m", "sheetsync", "once", "--config", str(config)],
            env=env,
            capture_output=True,
            check=True,
            timeout=60,
        )
    standing = rows_by_lead_id(sheet)
    assert {lead: len(rows) for lead, rows in standing.items()} == dict.fromkeys(expected, 1)
    sent = [
        str(e["user_data"]["lead_id"])
        for e in sheet.graph.events()
        if e["user_data"].get("lead_id")
    ]
    assert sorted(set(sent)) == sorted(expected)


def test_status_and_the_summary_tab_show_the_intake_per_form_and_its_pause(
    sheet: Emulators, tmp_path: Path
) -> None:
    from support import config_dict, run_cli, write_config

    job = lead_ads_job()
    job["summary_worksheet"] = "sheetsync"
    add_lead(sheet, NOW - 600, 1)
    clock = Clock(NOW)
    sheet.graph.clock = clock
    sync = runtime(sheet, tmp_path, clock, jobs=[job])
    sync.run_once()
    config = write_config(tmp_path / "c.yaml", config_dict(sheet, tmp_path / "state.db", [job]))
    shown = run_cli("status", "--config", str(config))
    assert shown.returncode == 0, shown.stderr
    assert "Lead Ads intake: taking in new leads" in shown.stdout
    assert f"form Spring offer ({FORM}): " in shown.stdout and "1 in all" in shown.stdout

    sheet.graph.lead_ads.inject(LeadAdsFault("lost_access"))
    clock.advance(3600)
    sync.run_once()
    shown = run_cli("status", "--config", str(config))
    assert "Lead Ads intake: paused: the Page token cannot read leads (code 200)" in shown.stdout
    assert PAGE_TOKEN not in shown.stdout
    tab = sheet.sheets.worksheet("sheet1", "sheetsync").displayed()
    line = next(row for row in tab if row and row[0] == "New leads from Lead Ads")
    assert line[1].startswith("PAUSED: the Page token cannot read leads")


def test_check_proves_the_page_token_lists_the_forms_and_names_unmapped_answers(
    sheet: Emulators, tmp_path: Path
) -> None:
    from support import config_dict, run_cli, write_config

    add_lead(sheet, NOW - 600, 1)  # its form asks for a budget, which has no column
    config = write_config(
        tmp_path / "c.yaml", config_dict(sheet, tmp_path / "state.db", [lead_ads_job()])
    )
    checked = run_cli("check", "--config", str(config), env={"META_PAGE_TOKEN": PAGE_TOKEN})
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"Page token works; 1 form(s): Spring offer ({FORM})" in checked.stdout
    assert "no column for budget: they go to 'Form Answers'" in checked.stdout
    assert (
        "will add Sync Key, Sync Status, Sent Events, Last Sync, Form Answers, Form"
        in checked.stdout
    )

    sheet.graph.lead_ads.inject(LeadAdsFault("lost_access"))
    refused = run_cli("check", "--config", str(config), env={"META_PAGE_TOKEN": PAGE_TOKEN})
    assert refused.returncode == 1
    assert (
        "the Page token cannot read leads (code 200); give the token leads_retrieval"
        in refused.stdout
    )
    assert PAGE_TOKEN not in refused.stdout + refused.stderr


def test_dry_run_prints_the_rows_it_would_append_and_appends_nothing(
    sheet: Emulators, tmp_path: Path
) -> None:
    import json
    import time

    from support import config_dict, run_cli, write_config

    lead = add_lead(sheet, time.time() - 600, 1)  # the CLI runs on the real clock
    config = write_config(
        tmp_path / "c.yaml", config_dict(sheet, tmp_path / "state.db", [lead_ads_job()])
    )
    shown = run_cli("dry-run", "--config", str(config))
    assert shown.returncode == 0, shown.stderr
    appends = [
        line["append"] for line in map(json.loads, shown.stdout.splitlines()) if "append" in line
    ]
    assert appends == [
        {
            "Name": "Lead 1",
            "Email": "lead1@example.com",
            "Phone": "+16505550100",
            "Lead ID": lead,
            "Created": appends[0]["Created"],
            "Stage": "New",
            "Form Answers": "budget: 10k, 20k",
            "Form": "Spring offer",
        }
    ]
    assert sheet.sheets.counts["append"] == 0 and len(sheet_rows(sheet)) == 1


def test_a_test_lead_is_marked_in_its_row(sheet: Emulators, tmp_path: Path) -> None:
    answers = {
        "email": ["<test lead: dummy data for email>"],
        "full_name": ["<test lead: dummy data for full_name>"],
    }
    sheet.graph.lead_ads.add_lead(FORM, int(NOW - 60), answers)
    runtime(sheet, tmp_path, Clock(NOW), jobs=[lead_ads_job()]).run_once()
    row = sheet_rows(sheet)[-1]
    assert row["Form"] == "Spring offer (test lead)"
    assert row["Form Answers"].startswith("TEST LEAD (from Meta's Lead Ads Testing Tool)")


@pytest.mark.parametrize(
    ("lead_ads", "columns", "says"),
    [
        ({"page_id": "my page"}, None, "must be the Facebook Page's id, digits only"),
        ({"page_id": "1", "stage": "Hot"}, None, "lead_ads.stage 'Hot' is not one of the stages"),
        ({"page_id": "1", "forms": ["abc"]}, None, "must be `all` or a list of form ids"),
        ({"page_id": "1", "lookback_days": 120}, None, "less than or equal to 90"),
        (
            {"page_id": "1"},
            {"email": "Email", "stage": "Stage"},
            "lead_ads needs columns.lead_id (its lead id), columns.created_at (its created time)",
        ),
    ],
)
def test_a_lead_ads_block_that_cannot_work_is_refused_naming_the_key(
    lead_ads: dict[str, Any], columns: dict[str, str] | None, says: str
) -> None:
    from sheetsync.core import config as config_module
    from sheetsync.core.errors import ConfigError

    job = job_config(lead_ads=lead_ads)
    if columns:
        job["columns"] = columns
    with pytest.raises(ConfigError) as refused:
        config_module.parse({"jobs": [job]})
    assert says in str(refused.value)
    assert "lead_ads" in str(refused.value)


def test_standard_answers_fill_the_jobs_own_columns_and_a_full_name_splits(
    sheet: Emulators, tmp_path: Path
) -> None:
    """Without an `answers` entry, Meta's standard keys go to the job's own columns (so they
    feed the match keys); a full name fills first and last name when the sheet has them."""
    job = lead_ads_job(answers={})
    job["columns"] = {**job["columns"], "first_name": "First", "last_name": "Last"}
    sheet.sheets.seed("sheet1", "Leads", [[*HEADER, "First", "Last"]])
    answers = {
        "email": ["Ann.Lee@Example.com"],
        "phone_number": ["+1 650 555 1212"],
        "full_name": ["Ann Marie Lee"],
        "zip_code": ["94105"],
    }
    lead = sheet.graph.lead_ads.add_lead(FORM, int(NOW - 60), answers)
    clock = Clock(NOW)
    sheet.graph.clock = clock
    sync = runtime(sheet, tmp_path, clock, jobs=[job])
    sync.run_once()
    (row,) = sheet_rows(sheet)
    assert (row["Email"], row["Phone"], row["First"], row["Last"]) == (
        "Ann.Lee@Example.com",
        "+1 650 555 1212",
        "Ann Marie",
        "Lee",
    )
    assert row["Form Answers"] == "full_name: Ann Marie Lee\nzip_code: 94105"
    clock.advance(60)
    sync.run_once()
    (event,) = sheet.graph.events()
    assert str(event["user_data"]["lead_id"]) == lead
    assert {"em", "ph", "fn", "ln"} <= set(event["user_data"])
