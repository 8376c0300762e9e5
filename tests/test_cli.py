"""The command line as a process: what users and scripts rely on (docs/CONTRACTS.md)."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import HEADER, TOKEN, config_dict, day, job_config, run_cli, sheet_rows, write_config

from sheetsync.emulator import Emulators


def seed_leads(emulators: Emulators) -> None:
    now = time.time()
    emulators.sheets.seed(
        "sheet1",
        "Leads",
        [
            HEADER,
            ["Ann", "ann@example.com", "+1 650 555 1212", "", "", day(now - 3600), "Qualified", ""],
            ["Bob", "bob@example.com", "", "", "", day(now - 7200), "New", ""],
        ],
    )


@pytest.fixture
def config_file(emulators: Emulators, tmp_path: Path) -> Path:
    seed_leads(emulators)
    return write_config(tmp_path / "config.yaml", config_dict(emulators, tmp_path / "state.db"))


def test_once_sends_and_a_second_process_sends_nothing_new(
    emulators: Emulators, config_file: Path, tmp_path: Path
) -> None:
    first = run_cli("once", "--config", str(config_file))
    assert first.returncode == 0, first.stderr
    assert "job sales: 2 leads, 3 sent" in first.stderr
    assert len(emulators.graph.events()) == 3
    writes_before = emulators.sheets.counts["write"]

    second = run_cli("once", "--config", str(config_file))
    assert second.returncode == 0, second.stderr
    assert len(emulators.graph.events()) == 3
    assert emulators.sheets.counts["write"] == writes_before

    state = tmp_path / "state.db"
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    raw = (
        state.read_bytes() + (tmp_path / "state.db-wal").read_bytes()
        if (tmp_path / "state.db-wal").exists()
        else state.read_bytes()
    )
    for personal in (b"ann@example.com", b"bob@example.com", b"6505551212", TOKEN.encode()):
        assert personal not in raw


def test_config_from_the_environment(emulators: Emulators, config_file: Path) -> None:
    result = run_cli("once", env={"SHEETSYNC_CONFIG": str(config_file)})
    assert result.returncode == 0, result.stderr
    assert len(emulators.graph.events()) == 3


def test_dry_run_prints_json_lines_and_changes_nothing(
    emulators: Emulators, config_file: Path, tmp_path: Path
) -> None:
    before = [list(row) for row in emulators.sheets.worksheet("sheet1", "Leads").rows]
    result = run_cli("dry-run", "--config", str(config_file))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    events = [line for line in lines if "event" in line]
    cells = [line for line in lines if "cell" in line]
    assert [(e["job"], e["row"], e["event"]["event_name"]) for e in events] == [
        ("sales", 2, "Lead"),
        ("sales", 2, "QualifiedLead"),
        ("sales", 3, "Lead"),
    ]
    assert all(len(e["lead_key"]) == 10 for e in events)
    assert {"job": "sales", "cell": "I2", "value": events[0]["lead_key"]} in cells
    assert any(
        c["cell"] == "J2" and c["value"].startswith("… Lead, QualifiedLead queued") for c in cells
    )
    assert emulators.graph.events() == []
    assert emulators.sheets.counts["write"] == 0
    assert [list(row) for row in emulators.sheets.worksheet("sheet1", "Leads").rows] == before
    assert not (tmp_path / "state.db").exists()


def test_a_bad_config_names_every_problem(tmp_path: Path) -> None:
    data = {
        "jobs": [
            job_config(
                stages={"New": "Lead", "Won": {"event": "Purchase", "value": "lots"}},
                poll_interval="soon",
                colums={},
            )
        ]
    }
    result = run_cli("once", "--config", str(write_config(tmp_path / "bad.yaml", data)))
    assert result.returncode == 1
    assert "jobs[0].stages.Won.value: not a number" in result.stderr
    assert "jobs[0].poll_interval: not a duration: 'soon'" in result.stderr
    assert "jobs[0].colums: unknown key (check its spelling)" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_missing_token_is_one_clear_sentence(config_file: Path) -> None:
    result = run_cli("once", "--config", str(config_file), without=("META_ACCESS_TOKEN",))
    assert result.returncode == 1
    assert "the Meta access token is missing: set META_ACCESS_TOKEN" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_missing_worksheet_is_fatal_with_a_sentence(emulators: Emulators, tmp_path: Path) -> None:
    emulators.sheets.seed("sheet1", "Other", [HEADER])
    path = write_config(tmp_path / "c.yaml", config_dict(emulators, tmp_path / "state.db"))
    result = run_cli("once", "--config", str(path))
    assert result.returncode == 1
    assert (
        "spreadsheet sheet1 has no worksheet 'Leads' (it has 'Other'); check jobs[].worksheet"
        in result.stderr
    )


def test_no_config_at_all(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "SHEETSYNC_CONFIG"}
    result = subprocess.run(
        [sys.executable, "-m", "sheetsync", "once"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert result.returncode == 1
    assert "no config given: pass --config FILE or set SHEETSYNC_CONFIG" in result.stderr


def test_emulator_command_prints_its_addresses_and_stops_on_sigterm(tmp_path: Path) -> None:
    csv_file = tmp_path / "leads.csv"
    csv_file.write_text("Name,Lead ID,Stage\nAnn,1234567890123456,New\n")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sheetsync",
            "emulator",
            "--seed-csv",
            str(csv_file),
            "--worksheet",
            "Pipeline",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().strip() for _ in range(4)]
        assert lines[0].startswith("sheets: http://127.0.0.1:")
        assert lines[1].startswith("graph: http://127.0.0.1:")
        assert lines[2:] == ["spreadsheet: demo", "worksheet: Pipeline"]
        import requests

        sheets_url = lines[0].split(" ", 1)[1]
        cells = requests.get(
            f"{sheets_url}/_emulator/cells?spreadsheet=demo&worksheet=Pipeline", timeout=5
        ).json()
        assert cells["values"][1] == ["Ann", "1.23457E+15", "New"]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


def test_status_rows_after_once(emulators: Emulators, config_file: Path) -> None:
    assert run_cli("once", "--config", str(config_file)).returncode == 0
    ann, bob = sheet_rows(emulators)
    assert ann["Sent Events"] == "Lead, QualifiedLead"
    assert ann["Sync Status"].endswith("keys: em, ph")
    assert bob["Sent Events"] == "Lead"


def test_small_things_found_on_the_way(emulators: Emulators, tmp_path: Path) -> None:
    now = time.time()
    emulators.sheets.seed(
        "sheet1",
        "Leads",
        [HEADER, ["Ann", "ann@example.com", "", "", "", day(now - 60), "\u200bWon\ufeff", "10"]],
    )
    data = config_dict(emulators, tmp_path / "state.db")
    data["log_format"] = "json"
    config = write_config(tmp_path / "config.yaml", data)

    once = run_cli("once", "--config", str(config))  # log_format from the YAML is used
    assert once.returncode == 0, once.stderr
    lines = [json.loads(line) for line in once.stderr.splitlines()]
    assert any("1 leads, 4 sent" in line["message"] for line in lines)
    # A zero-width character pasted with the label does not make it an unknown stage.
    assert sheet_rows(emulators)[0]["Sent Events"] == "Lead, QualifiedLead, Schedule, Purchase"

    # A reader that goes away is not an error.
    writer = subprocess.Popen(
        [sys.executable, "-m", "sheetsync", "status", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "META_ACCESS_TOKEN": TOKEN},
    )
    assert writer.stdout is not None and writer.stderr is not None
    first_line = writer.stdout.readline()  # then stop reading, as `| head -1` does
    writer.stdout.close()
    writer.wait(timeout=30)
    stderr = writer.stderr.read()
    writer.stderr.close()
    status = subprocess.CompletedProcess(writer.args, writer.returncode, first_line, stderr)
    assert status.stdout.startswith("1/1 jobs ok · ")  # the headline comes first
    assert "Broken pipe" not in status.stderr and "CRITICAL" not in status.stderr

    data["metrics_port"] = 70000
    write_config(config, data)
    refused = run_cli("check", "--config", str(config))
    assert refused.returncode == 1
    assert "metrics_port: Input should be less than or equal to 65535" in refused.stderr
    assert "Traceback" not in refused.stderr
