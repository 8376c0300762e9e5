"""`check`, `status` and `resend` on the emulators, as processes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from support import HEADER, TOKEN, config_dict, day, job_config, run_cli, write_config

from sheetsync.emulator import Emulators


def seed(emulators: Emulators) -> None:
    now = time.time()
    emulators.sheets.seed(
        "sheet1",
        "Leads",
        [
            HEADER,
            [
                "Ann",
                "ann@example.com",
                "+1 650 555 1212",
                "'120245117458290",
                "IwAR2xYzAbC",
                day(now - 3600),
                "Won",
                "500",
            ],
            ["Bob", "bob@example.com", "", "", "", day(now - 7200), "Qualified", ""],
            ["Cy", "cy@example.com", "", "", "", day(now - 40 * 86400), "New", ""],
        ],
    )


def test_check_reports_ready(emulators: Emulators, tmp_path: Path) -> None:
    seed(emulators)
    config = write_config(
        tmp_path / "c.yaml",
        config_dict(emulators, tmp_path / "s.db", [job_config(test_event_code="TEST777")]),
    )
    result = run_cli("check", "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok   sales  headers" in result.stdout
    assert "will add Sync Key, Sync Status, Sent Events, Last Sync" in result.stdout
    assert "ok   sales  meta dataset  123456789012345 reachable with the token" in result.stdout
    assert "test mode     ON (TEST777)" in result.stdout
    assert result.stdout.strip().endswith("ready")
    assert emulators.sheets.counts["write"] == 0


def test_check_names_what_is_wrong(emulators: Emulators, tmp_path: Path) -> None:
    emulators.sheets.seed("sheet1", "Leads", [["Name", "E-mail", "Stage"]])
    data = config_dict(emulators, tmp_path / "s.db", [job_config(dataset_id="999")])
    config = write_config(tmp_path / "c.yaml", data)
    result = run_cli("check", "--config", str(config))
    assert result.returncode == 1
    assert "no column headed 'Email' in the sheet" in result.stdout
    assert "the header row has: 'Name', 'E-mail', 'Stage'" in result.stdout
    assert "ERR  sales  meta dataset  Meta says the dataset does not exist" in result.stdout
    assert result.stdout.strip().endswith("not ready: fix the lines marked ERR")


def test_status_after_a_cycle(emulators: Emulators, tmp_path: Path) -> None:
    seed(emulators)
    config = write_config(tmp_path / "c.yaml", config_dict(emulators, tmp_path / "s.db"))
    assert run_cli("once", "--config", str(config)).returncode == 0
    result = run_cli("status", "--config", str(config), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    job = report["jobs"][0]
    assert job["job"] == "sales"
    assert job["failed_cycles_in_a_row"] == 0
    assert job["leads"] == 3
    assert job["expired"] == 1  # Cy's Lead is 40 days old
    stages = {stage["event"]: stage for stage in job["stages"]}
    assert stages["Lead"]["sent_total"] == 2
    assert stages["Purchase"]["sent_today"] == 1
    assert stages["Purchase"]["share_of_leads"] == round(1 / 3, 3)
    assert stages["Lead"]["optimisation_ready"] is False
    assert job["match_keys"]["em"] == 1.0
    assert job["match_keys"]["lead_id"] == round(4 / 6, 3)
    assert report["state_file_bytes"] > 0

    text = run_cli("status", "--config", str(config)).stdout
    today = sum(stage["sent_today"] for stage in job["stages"])
    headline = re.fullmatch(
        r"1/1 jobs ok · (\d+) events today · last cycle (\d\d:\d\d:\d\d) · next (\S+)",
        text.splitlines()[0],
    )
    assert headline is not None, text.splitlines()[0]
    assert int(headline.group(1)) == today > 0
    last, following = (time.strptime(t, "%H:%M:%S") for t in headline.group(2, 3))
    assert (time.mktime(following) - time.mktime(last)) % 86400 == 60  # poll_interval 60s
    assert "job sales: ok" in text
    assert "match keys on sent events: country" not in text
    assert "lead_id 67%" in text


def test_resend_sends_again_with_a_new_event_id(emulators: Emulators, tmp_path: Path) -> None:
    seed(emulators)
    config = write_config(tmp_path / "c.yaml", config_dict(emulators, tmp_path / "s.db"))
    assert run_cli("once", "--config", str(config)).returncode == 0
    key = next(
        row[8] for row in emulators.sheets.worksheet("sheet1", "Leads").rows if row[0] == "Bob"
    )
    result = run_cli(
        "resend",
        "--config",
        str(config),
        "--job",
        "sales",
        "--lead",
        str(key),
        "--event",
        "QualifiedLead",
    )
    assert result.returncode == 0, result.stderr
    assert "QualifiedLead: sent" in result.stdout
    qualified = [
        e
        for e in emulators.graph.events()
        if e["event_name"] == "QualifiedLead"
        and e["user_data"]["em"] == emulators.graph.events()[-1]["user_data"]["em"]
    ]
    assert len(qualified) == 2
    assert qualified[0]["event_id"] != qualified[1]["event_id"]
    assert qualified[0]["event_time"] == qualified[1]["event_time"]


def test_the_state_location_is_checked_and_never_taken_over(
    emulators: Emulators, tmp_path: Path
) -> None:
    seed(emulators)
    directory = tmp_path / "a-directory"
    directory.mkdir()
    notes = tmp_path / "notes.txt"
    notes.write_text("someone's notes, not a state file\n")
    notes.chmod(0o644)
    cases = {
        directory: "is a directory; name a file in it",
        notes: "is not a sheetsync state file (not SQLite)",
        notes / "state.db": "cannot be created",
    }
    for state_path, expected in cases.items():
        config = write_config(tmp_path / "c.yaml", config_dict(emulators, state_path))
        check = run_cli("check", "--config", str(config))
        assert check.returncode == 1
        assert f"state_path {state_path} {expected}" in check.stdout
        once = run_cli("once", "--config", str(config))
        assert once.returncode == 1
        assert f"state_path {state_path} {expected}" in once.stderr
    assert notes.read_text() == "someone's notes, not a state file\n"
    assert notes.stat().st_mode & 0o777 == 0o644
    assert list(directory.iterdir()) == []
    assert emulators.sheets.counts["write"] == 0

    good = write_config(tmp_path / "c.yaml", config_dict(emulators, tmp_path / "new" / "s.db"))
    check = run_cli("check", "--config", str(good))
    assert check.returncode == 0, check.stdout
    assert f"state file    {tmp_path / 'new' / 's.db'} is writable" in check.stdout
    assert not (tmp_path / "new").exists()  # check creates nothing


def test_resend_records_before_it_sends_and_needs_a_state_file(
    emulators: Emulators, tmp_path: Path
) -> None:
    import sqlite3

    from sheetsync.emulator import GraphFault

    seed(emulators)
    missing = write_config(tmp_path / "m.yaml", config_dict(emulators, tmp_path / "none.db"))
    refused = run_cli("resend", "--config", str(missing), "--job", "sales", "--lead", "x")
    assert refused.returncode == 1
    assert "no state file at" in refused.stderr
    assert not (tmp_path / "none.db").exists()

    config = write_config(tmp_path / "c.yaml", config_dict(emulators, tmp_path / "s.db"))
    assert run_cli("once", "--config", str(config)).returncode == 0
    key = next(
        row[8] for row in emulators.sheets.worksheet("sheet1", "Leads").rows if row[0] == "Bob"
    )
    emulators.graph.inject(GraphFault(500, delay=1.5))  # the request is in flight a while
    before = emulators.graph.requests
    process = subprocess.Popen(
        [sys.executable, "-m", "sheetsync", "resend", "--config", str(config),
         "--job", "sales", "--lead", str(key), "--event", "QualifiedLead"],
        env={**os.environ, "META_ACCESS_TOKEN": TOKEN},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while emulators.graph.requests == before and time.monotonic() < deadline:
        time.sleep(0.02)
    with sqlite3.connect(tmp_path / "s.db") as db:  # Meta has not answered yet
        in_flight = db.execute("SELECT event_name, outcome FROM resends").fetchall()
    assert in_flight == [("QualifiedLead", "pending")]
    out, _ = process.communicate(timeout=60)
    assert "QualifiedLead: sent" in out
    with sqlite3.connect(tmp_path / "s.db") as db:
        assert db.execute("SELECT outcome FROM resends").fetchall() == [("sent",)]


def test_check_warns_of_an_event_name_that_looks_like_a_typo(
    emulators: Emulators, tmp_path: Path
) -> None:
    seed(emulators)
    job = job_config(
        stages={"New": "Lead", "Qualified": "QualifiedLead", "Won": "Purchse", "Booked": "schedule"}
    )
    config = write_config(tmp_path / "c.yaml", config_dict(emulators, tmp_path / "s.db", [job]))
    check = run_cli("check", "--config", str(config))
    assert check.returncode == 0, check.stdout  # a warning does not stop `ready`
    assert "WRN  sales  event name" in check.stdout
    assert "'Purchse' is not a Meta standard event; did you mean 'Purchase'?" in check.stdout
    assert "'schedule' is not a Meta standard event; did you mean 'Schedule'?" in check.stdout
    assert "QualifiedLead" not in check.stdout  # a custom stage name is fine


def test_text_logs_carry_a_time_except_under_journald(emulators: Emulators, tmp_path: Path) -> None:
    seed(emulators)
    config = write_config(tmp_path / "c.yaml", config_dict(emulators, tmp_path / "s.db"))
    plain = run_cli("once", "--config", str(config), env={"JOURNAL_STREAM": ""})
    stamped = run_cli("once", "--config", str(config), without=("JOURNAL_STREAM",))
    assert stamped.returncode == 0, stamped.stderr
    first = stamped.stderr.splitlines()[0]
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ INFO ", first), first
    assert plain.returncode == 0, plain.stderr
    assert plain.stderr.splitlines()[0].startswith("INFO "), plain.stderr  # journald stamps it
