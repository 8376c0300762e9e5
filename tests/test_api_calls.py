"""API calls per cycle do not grow with rows: the smoke version of the benchmark (counts, not seconds)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from support import HEADER, Clock, at, day, runtime

from sheetsync.emulator import Emulators

NOW = at("2026-11-22T12:00:00")
ROWS = 5000


@pytest.fixture
def big_sheet(emulators: Emulators) -> None:
    rows = [
        [
            f"L{n}",
            f"l{n}@example.com",
            f"+1 650 555 {n % 10000:04d}",
            f"'{120245117458290 + n}",
            f"IwAR{n:08d}x",
            day(NOW - 3600),
            "New",
            "100",
        ]
        for n in range(ROWS)
    ]
    emulators.sheets.seed("sheet1", "Leads", [HEADER, *rows])


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per row the cycle parses (a counting wrapper; behaviour unchanged)."""
    from sheetsync.core import decide as cycle

    calls: list[int] = []
    original = cycle.parse_row

    def counting(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        calls.append(1)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(cycle, "parse_row", counting)
    return calls


def test_cost_per_cycle_is_constant_in_api_calls(
    emulators: Emulators, big_sheet: None, tmp_path: Path
) -> None:
    clock = Clock(NOW)
    emulators.graph.clock = clock
    sync = runtime(emulators, tmp_path, clock)
    sync.run_once()  # adopts the sheet: sends every Lead event, writes keys and statuses
    assert emulators.graph.requests == math.ceil(ROWS / 1000)
    assert emulators.sheets.counts["metadata"] == 1

    for _ in range(3):  # steady state: one values read, nothing else
        emulators.sheets.reset_counts()
        requests_before = emulators.graph.requests
        clock.advance(60)
        sync.run_once()
        assert dict(emulators.sheets.counts) == {"read": 1}
        assert emulators.graph.requests == requests_before

    sheet = emulators.sheets.worksheet("sheet1", "Leads")
    changed = 2500
    for row in range(2, changed + 2):
        sheet.type_cell(row, 7, "Qualified")
    emulators.sheets.reset_counts()
    requests_before = emulators.graph.requests
    clock.advance(60)
    report = sync.run_once()[0]
    assert report.sent == changed
    # 1 values read + 1 key-column re-read + 1 write + ceil(events / 1000) Meta requests
    assert dict(emulators.sheets.counts) == {"read": 2, "write": 1}
    assert emulators.graph.requests - requests_before == math.ceil(changed / 1000)
    # metadata is read once per process, never per cycle
    assert emulators.sheets.counts["metadata"] == 0


def test_rows_just_written_are_not_parsed_again(
    emulators: Emulators, big_sheet: None, tmp_path: Path, parsed: list[int]
) -> None:
    clock = Clock(NOW)
    emulators.graph.clock = clock
    sync = runtime(emulators, tmp_path, clock)
    sync.run_once()
    assert len(parsed) == ROWS
    parsed.clear()
    clock.advance(60)
    sync.run_once()  # the statuses written last cycle read back exactly as predicted
    assert parsed == []
    emulators.sheets.worksheet("sheet1", "Leads").type_cell(10, 7, "Won")
    clock.advance(60)
    sync.run_once()
    assert len(parsed) == 1


def test_a_restarted_process_does_not_parse_unchanged_rows_again(
    emulators: Emulators, big_sheet: None, tmp_path: Path, parsed: list[int]
) -> None:
    clock = Clock(NOW)
    emulators.graph.clock = clock
    first = runtime(emulators, tmp_path, clock)
    first.run_once()
    first.close()
    emulators.sheets.worksheet("sheet1", "Leads").type_cell(20, 7, "Won")
    parsed.clear()
    clock.advance(60)
    report = runtime(emulators, tmp_path, clock).run_once()[
        0
    ]  # a new process: digests from the state file
    assert len(parsed) == 1
    assert report.sent == 3  # QualifiedLead, Schedule, Purchase for the one lead that moved


def test_fresh_once_processes_cost_the_metadata_and_the_reads_a_cycle_needs(
    emulators: Emulators, tmp_path: Path
) -> None:
    import time

    from support import config_dict, run_cli, write_config

    created = day(time.time() - 600)
    rows = [[f"P{n}", f"p{n}@example.com", "", "", "", created, "New", ""] for n in range(20)]
    emulators.sheets.seed("sheet1", "Leads", [HEADER, *rows])
    config = write_config(tmp_path / "c.yaml", config_dict(emulators, tmp_path / "s.db"))
    adopting = run_cli("once", "--config", str(config))  # adopts the whole sheet in one cycle
    assert adopting.returncode == 0, adopting.stderr
    # Never seen: the header read and the status headers added; the data read, the re-read that
    # finds the rows, and one write with every key and status.
    assert dict(emulators.sheets.counts) == {"metadata": 1, "read": 3, "write": 2}
    assert run_cli("once", "--config", str(config)).returncode == 0  # reads its own writes back
    emulators.sheets.reset_counts()
    quiet = run_cli("once", "--config", str(config))  # a new process, nothing changed
    assert quiet.returncode == 0, quiet.stderr
    assert dict(emulators.sheets.counts) == {"metadata": 1, "read": 1}

    sheet = emulators.sheets.worksheet("sheet1", "Leads")
    for row in range(2, 12):  # a burst: ten leads qualified at once
        sheet.type_cell(row, 7, "Qualified")
    emulators.sheets.reset_counts()
    requests_before = emulators.graph.requests
    burst = run_cli("once", "--config", str(config))
    assert burst.returncode == 0, burst.stderr
    assert dict(emulators.sheets.counts) == {"metadata": 1, "read": 2, "write": 1}
    assert emulators.graph.requests - requests_before == 1

    # A column moved since: the layout is learned again from the data read's header.
    for row in sheet.rows:
        row.insert(0, "Notes" if row is sheet.rows[0] else "")
    emulators.sheets.reset_counts()
    moved = run_cli("once", "--config", str(config))
    assert moved.returncode == 0, moved.stderr
    assert emulators.sheets.counts["read"] == 2  # the data read, then again with the new layout
    assert "0 rows with problems" in moved.stderr
