"""What a restarted process knows: row problems are kept with the row digests in the store."""

from __future__ import annotations

import time
from pathlib import Path

from support import HEADER, config_dict, day, job_config, run_cli, write_config

from sheetsync.emulator import Emulators


def test_row_problems_survive_a_restart(emulators: Emulators, tmp_path: Path) -> None:
    now = time.time()
    emulators.sheets.seed(
        "sheet1",
        "Leads",
        [
            HEADER,
            ["Ann", "ann@example.com", "", "", "", day(now - 600), "New", ""],
            ["Bob", "bob@example.com", "555", "", "", day(now - 600), "New", ""],
            ["Cy", "cy@example.com", "12", "", "", day(now - 600), "New", ""],
        ],
    )
    data = config_dict(
        emulators, tmp_path / "state.db", [job_config(summary_worksheet="sheetsync")]
    )
    config = write_config(tmp_path / "c.yaml", data)

    first = run_cli("once", "--config", str(config))
    assert first.returncode == 0, first.stderr
    assert "2 rows with problems" in first.stderr
    # A new process on an unchanged sheet parses no row, yet still knows which rows show ✗.
    second = run_cli("once", "--config", str(config))
    assert second.returncode == 0, second.stderr
    assert "0 cells written" in second.stderr
    assert "2 rows with problems" in second.stderr
    status = run_cli("status", "--config", str(config))
    assert "rows with problems: 2 (phone has too few digits 2)" in status.stdout

    # The summary tab is redrawn by the new process (next hour) with the same count, not 0.
    summary = emulators.sheets.worksheet("sheet1", "sheetsync").displayed()
    assert [row[:2] for row in summary if row][-1] == ["phone has too few digits", "2"]

    # A fixed row clears its problem; a deleted row takes its problem with it.
    emulators.sheets.worksheet("sheet1", "Leads").type_cell(3, 3, "+1 650 555 1212")
    third = run_cli("once", "--config", str(config))
    assert "1 rows with problems" in third.stderr
    emulators.sheets.worksheet("sheet1", "Leads").delete_row(4)
    fourth = run_cli("once", "--config", str(config))
    assert "0 rows with problems" in fourth.stderr, fourth.stderr
    status = run_cli("status", "--config", str(config))
    assert "rows with problems:" not in status.stdout
