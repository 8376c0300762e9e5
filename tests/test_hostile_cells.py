"""Hostile cells through the real interfaces: one row can never stop a job."""

from __future__ import annotations

import json
import time
from pathlib import Path

from support import HEADER, config_dict, day, job_config, run_cli, sheet_rows, write_config

from sheetsync.emulator import Emulators


def test_a_cell_that_is_not_valid_text_is_that_rows_problem(
    emulators: Emulators, tmp_path: Path
) -> None:
    now = time.time()
    broken = "\ud800"  # a lone UTF-16 surrogate: JSON carries it, nothing can hash it
    emulators.sheets.seed(
        "sheet1",
        "Leads",
        [
            [*HEADER, "City"],
            ["Ann", "ann@example.com", "", "", "", day(now - 600), "New", "", "Paris"],
            ["Bob", f"bob{broken}@example.com", "", "", "", day(now - 600), "New", "", ""],
            [f"Cy{broken}", "cy@example.com", "", "", "", day(now - 600), "Won", "", f"X{broken}"],
            ["Di", "di@example.com", "", "", "", day(now - 600), "Qualified", "", ""],
        ],
    )
    job = job_config()
    job["columns"] = {**job["columns"], "first_name": "Name", "city": "City"}
    config = write_config(tmp_path / "c.yaml", config_dict(emulators, tmp_path / "s.db", [job]))

    dry = run_cli("dry-run", "--config", str(config))
    assert dry.returncode == 0, dry.stderr
    lines = [json.loads(line) for line in dry.stdout.splitlines()]
    assert sorted(line["row"] for line in lines if "event" in line) == [2, 5, 5]

    once = run_cli("once", "--config", str(config))
    assert once.returncode == 0, once.stderr
    assert "Traceback" not in once.stderr
    rows = {row["Name"].replace(broken, "?"): row for row in sheet_rows(emulators)}
    assert rows["Ann"]["Sent Events"] == "Lead"
    assert rows["Di"]["Sent Events"] == "Lead, QualifiedLead"
    assert rows["Bob"]["Sync Status"] == (
        "✗ Email: holds a broken character (not valid text); retype the cell"
    )
    assert rows["Cy?"]["Sync Status"].startswith("✗ Name: holds a broken character")
    assert "✗ City: holds a broken character" in rows["Cy?"]["Sync Status"]
    assert rows["Bob"]["Sent Events"] == rows["Cy?"]["Sent Events"] == ""
    assert {e["event_name"] for e in emulators.graph.events()} == {"Lead", "QualifiedLead"}

    # Once the cell is retyped, the row is read and sent like any other.
    emulators.sheets.worksheet("sheet1", "Leads").type_cell(3, 2, "bob@example.com")
    again = run_cli("once", "--config", str(config))
    assert again.returncode == 0, again.stderr
    bob = next(row for row in sheet_rows(emulators) if row["Name"] == "Bob")
    assert bob["Sent Events"] == "Lead"


def test_huge_and_multiline_cells_are_quoted_short_and_the_write_goes_through(
    emulators: Emulators, tmp_path: Path
) -> None:
    now = time.time()
    huge = "x" * 60_000
    emulators.sheets.seed(
        "sheet1",
        "Leads",
        [
            HEADER,
            ["Ann", "ann@example.com", "", "", "", day(now - 600), "New", ""],
            ["Bob", "bob@example.com", "", "", "", huge, "Won", "line one\nline\ttwo\x07" * 9],
            ["Cy", "cy@example.com", "", "", "", day(now - 600), huge, ""],
            ["Di", "di@example.com", "", "", "", day(now - 600), "Qualified\r\n", ""],
        ],
    )
    config = write_config(tmp_path / "c.yaml", config_dict(emulators, tmp_path / "s.db"))
    once = run_cli("once", "--config", str(config))
    assert once.returncode == 0, once.stderr
    rows = {row["Name"]: row for row in sheet_rows(emulators)}
    assert rows["Ann"]["Sent Events"] == "Lead"
    assert rows["Cy"]["Sync Status"] == (
        "✗ unknown stage 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…'; "
        "known: New, Qualified, Meeting Booked, Won"
    )
    bob = rows["Bob"]["Sync Status"]
    assert "Created 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…' is not a date" in bob
    assert "Deal Value 'line one line two line one line two lin…' is not one amount" in bob
    for row in rows.values():
        for text in (row["Sync Status"], row["Sent Events"], row["Last Sync"]):
            assert len(text) < 50_000
            assert not any(ord(char) < 32 or ord(char) == 127 for char in text)


def test_the_emulator_refuses_a_cell_over_50000_characters_as_google_does(
    emulators: Emulators,
    gspread_client,  # type: ignore[no-untyped-def]
) -> None:
    import gspread
    import pytest

    emulators.sheets.seed("book1", "Leads", [["Name"], ["Ann"]])
    sheet = gspread_client.open_by_key("book1").worksheet("Leads")
    with pytest.raises(gspread.exceptions.APIError, match="maximum of 50000 characters"):
        sheet.batch_update(
            [{"range": "A2", "values": [["ok"]]}, {"range": "A3", "values": [["y" * 50_001]]}]
        )
    assert emulators.sheets.worksheet("book1", "Leads").displayed() == [["Name"], ["Ann"]]


def test_a_sheet_that_does_not_match_the_config_is_left_untouched(
    emulators: Emulators, tmp_path: Path
) -> None:
    emulators.sheets.seed("sheet1", "Leads", [["Name", "Notes"], ["Ann", "call back"]])
    emulators.sheets.seed("sheet1", "Empty", [])
    config_data = config_dict(emulators, tmp_path / "s.db")
    config_data["jobs"].append(job_config(name="empty", worksheet="Empty"))
    config = write_config(tmp_path / "c.yaml", config_data)
    once = run_cli("once", "--config", str(config))
    assert once.returncode == 1
    assert "no column headed 'Email' in the sheet" in once.stderr
    assert emulators.sheets.worksheet("sheet1", "Leads").displayed() == [
        ["Name", "Notes"],
        ["Ann", "call back"],
    ]
    assert emulators.sheets.worksheet("sheet1", "Empty").displayed() == []
    assert emulators.sheets.counts["write"] == 0
    assert once.stderr.count("no column headed 'Email'") == 2  # once per job, said once


def test_two_columns_with_the_same_configured_header_are_named(
    emulators: Emulators, tmp_path: Path
) -> None:
    emulators.sheets.seed(
        "sheet1", "Leads", [[*HEADER[:7], " stage ", *HEADER[7:]], ["Ann", "a@example.com"]]
    )
    config = write_config(tmp_path / "c.yaml", config_dict(emulators, tmp_path / "s.db"))
    check = run_cli("check", "--config", str(config))
    assert check.returncode == 1
    assert "columns G and H are both headed 'Stage'; rename one" in check.stdout
    once = run_cli("once", "--config", str(config))
    assert once.returncode == 1
    assert "columns G and H are both headed 'Stage'" in once.stderr
    assert emulators.sheets.counts["write"] == 0


def test_money_typed_as_prose_is_never_invented(emulators: Emulators, tmp_path: Path) -> None:
    now = time.time()
    emulators.sheets.seed(
        "sheet1",
        "Leads",
        [
            HEADER,
            [
                "Ann",
                "ann@example.com",
                "",
                "",
                "",
                day(now - 600),
                "Won",
                "approx 5,000 (was 7,000)",
            ],
            ["Bob", "bob@example.com", "", "", "", day(now - 600), "Won", "$1,200.50"],
        ],
    )
    config = write_config(tmp_path / "c.yaml", config_dict(emulators, tmp_path / "s.db"))
    assert run_cli("once", "--config", str(config)).returncode == 0
    purchases = {
        e["user_data"]["em"][0]: e.get("custom_data", {})
        for e in emulators.graph.events()
        if e["event_name"] == "Purchase"
    }
    values = sorted(str(data.get("value")) for data in purchases.values())
    assert values == ["1200.5", "None"]
    ann = sheet_rows(emulators)[0]["Sync Status"]
    assert "✗ Deal Value 'approx 5,000 (was 7,000)' is not one amount" in ann
    assert "Purchase sent without a value" in ann
