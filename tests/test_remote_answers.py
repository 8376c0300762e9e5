"""Google's and Meta's real answers, through the real clients against the emulators."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from support import HEADER, config_dict, day, run_cli, sheet_rows, write_config

from sheetsync.emulator import Emulators, Fault
from sheetsync.emulator.sheets import SERVICE_DISABLED_MESSAGE


def seed(emulators: Emulators) -> None:
    emulators.sheets.seed(
        "sheet1",
        "Leads",
        [HEADER, ["Ann", "ann@example.com", "", "", "", day(time.time() - 600), "New", ""]],
    )


def test_an_html_502_is_retried_as_unavailable(emulators: Emulators, tmp_path: Path) -> None:
    seed(emulators)
    config = write_config(tmp_path / "c.yaml", config_dict(emulators, tmp_path / "s.db"))
    emulators.sheets.inject(Fault("read", 502, count=1, html=True))
    once = run_cli("once", "--config", str(config))
    assert once.returncode == 0, once.stderr  # retried within the cycle
    assert sheet_rows(emulators)[0]["Sent Events"] == "Lead"


def test_google_unavailable_with_html_pages_says_so_without_the_page(
    emulators: Emulators, tmp_path: Path
) -> None:
    seed(emulators)
    config = write_config(tmp_path / "c.yaml", config_dict(emulators, tmp_path / "s.db"))
    emulators.sheets.inject(Fault("read", 503, count=50, html=True))
    once = run_cli("once", "--config", str(config))
    assert once.returncode == 1
    assert "Google Sheets failed while reading the sheet (HTTP 503); will try again" in once.stderr
    assert "<" not in once.stderr and "That’s an error" not in once.stderr
    with sqlite3.connect(tmp_path / "s.db") as db:
        stored = " ".join(str(value) for row in db.execute("SELECT * FROM jobs") for value in row)
    assert "HTTP 503" in stored and "<" not in stored


def test_a_disabled_sheets_api_says_to_enable_it(emulators: Emulators, tmp_path: Path) -> None:
    seed(emulators)
    config = write_config(tmp_path / "c.yaml", config_dict(emulators, tmp_path / "s.db"))
    emulators.sheets.inject(Fault("any", 403, count=50, message=SERVICE_DISABLED_MESSAGE))
    check = run_cli("check", "--config", str(config))
    assert check.returncode == 1
    assert "the Google Sheets API is disabled in the Cloud project 123456789012" in check.stdout
    assert "enable it (Google Cloud console" in check.stdout
    assert "share it" not in check.stdout


def test_a_job_that_cannot_send_to_meta_is_a_failed_cycle(
    emulators: Emulators, tmp_path: Path
) -> None:
    seed(emulators)
    emulators.graph.token = "the-token-meta-knows"  # sheetsync's token is rejected (code 190)
    config = write_config(tmp_path / "c.yaml", config_dict(emulators, tmp_path / "s.db"))
    once = run_cli("once", "--config", str(config))
    assert once.returncode == 1
    assert "sending to Meta is paused" in once.stderr
    assert sheet_rows(emulators)[0]["Sync Status"].startswith("… Lead waiting: sending is paused")
    status = run_cli("status", "--config", str(config))
    assert "job sales: paused:" in status.stdout
    assert "last success never" in status.stdout


def test_a_meta_rate_limit_pauses_the_whole_job_until_meta_says(
    emulators: Emulators, tmp_path: Path
) -> None:
    from support import Clock, runtime

    from sheetsync.core.status import when
    from sheetsync.emulator import GraphFault

    now = float(int(time.time()))  # the Graph emulator checks event times against its own clock
    until = when(int(now) + 5 * 60)
    rows = [
        [f"P{i}", f"p{i}@example.com", "", "", "", day(now - 600), "New", ""] for i in range(1001)
    ]
    emulators.sheets.seed("sheet1", "Leads", [HEADER, *rows])
    emulators.graph.inject(
        GraphFault(400, code=17, message="User request limit reached", regain_access_minutes=5)
    )
    clock = Clock(now)
    sync = runtime(emulators, tmp_path, clock)
    first = sync.run_once()[0]
    assert first.ok  # Meta's pacing is not a fault of the job
    assert emulators.graph.requests == 1  # the second batch of 1 was not tried
    assert first.blocked == f"Meta rate limit (code 17) until {until}"
    shown = sheet_rows(emulators)[0]["Sync Status"]
    assert shown == (
        f"… Lead waiting: sending is paused for this job (Meta rate limit (code 17) until {until})"
    )

    emulators.sheets.worksheet("sheet1", "Leads").type_cell(2, 7, "Qualified")
    clock.advance(60)
    second = sync.run_once()[0]  # a new event is due, but the pause holds
    assert emulators.graph.requests == 1
    assert second.blocked and second.pending > 0
    sync.close()
    config = write_config(tmp_path / "c.yaml", config_dict(emulators, tmp_path / "state.db"))
    status = run_cli("status", "--config", str(config))
    assert f"job sales: paused: Meta rate limit (code 17) until {until}" in status.stdout

    clock.advance(5 * 60)
    sync = runtime(emulators, tmp_path, clock)
    third = sync.run_once()[0]
    assert third.ok and not third.blocked and third.sent == 1002
    assert len({e["event_id"] for e in emulators.graph.events()}) == 1002
    assert sheet_rows(emulators)[0]["Sent Events"] == "Lead, QualifiedLead"


def test_without_a_hint_a_rate_limit_backs_off_five_minutes() -> None:
    from sheetsync.adapters.meta import MetaFailure, regain_access_wait

    assert regain_access_wait({}) is None
    assert regain_access_wait({"X-App-Usage": '{"call_count": 100}'}) is None
    assert regain_access_wait({"X-App-Usage": "not json"}) is None
    usage = (
        '{"1": [{"estimated_time_to_regain_access": 3}, {"estimated_time_to_regain_access": 7}]}'
    )
    assert regain_access_wait({"X-Business-Use-Case-Usage": usage}) == 420
    assert MetaFailure("rate_limit", "slow down").retry_after == 300
    assert MetaFailure("rate_limit", "slow down", wait_hint=420).retry_after == 420
    assert MetaFailure("rate_limit", "x").pause().wait == 300
    assert MetaFailure("auth", "x").pause().wait is None
