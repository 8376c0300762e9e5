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
