"""kill -9 at random moments: nothing lost, nothing sent twice with a different payload."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import pytest
from support import HEADER, TOKEN, config_dict, day, job_config, sheet_rows, write_config

from sheetsync.emulator import Emulators

pytestmark = pytest.mark.slow
STAGES = ["New", "Qualified", "Meeting Booked", "Won"]
EVENTS = ["Lead", "QualifiedLead", "Schedule", "Purchase"]
KILLS = 32


def test_sigkill_at_random_moments_loses_nothing(emulators: Emulators, tmp_path: Path) -> None:
    leads = 24
    emulators.sheets.seed(
        "sheet1",
        "Leads",
        [HEADER]
        + [
            [
                f"L{n}",
                f"l{n}@example.com",
                "",
                "",
                f"IwAR{n:04d}clickid",
                day(time.time() - 600),
                "New",
                "100",
            ]
            for n in range(leads)
        ],
    )
    # Slow enough that kills land mid-send and mid-write.
    emulators.graph.latency = 0.15
    emulators.sheets.latency = {"write": 0.1, "read": 0.02}
    config = write_config(
        tmp_path / "c.yaml",
        config_dict(emulators, tmp_path / "state.db", [job_config(poll_interval="1s")]),
    )
    env = {**os.environ, "META_ACCESS_TOKEN": TOKEN}
    stage_of = dict.fromkeys(range(leads), 0)
    team_done = threading.Event()

    def sales_team() -> None:
        moves = random.Random(3)
        sheet = emulators.sheets.worksheet("sheet1", "Leads")
        for _ in range(40):
            n = moves.randrange(leads)
            if stage_of[n] < 3:
                stage_of[n] += 1
                with emulators.sheets.lock:
                    row = next(
                        i for i, r in enumerate(sheet.rows, start=1) if r and r[0] == f"L{n}"
                    )
                    sheet.type_cell(row, 7, STAGES[stage_of[n]])
            time.sleep(0.5)
        team_done.set()

    team = threading.Thread(target=sales_team, daemon=True)
    team.start()
    chaos = random.Random(17)
    log = tmp_path / "daemon.log"
    for _ in range(KILLS):
        with log.open("a") as err:
            process = subprocess.Popen(
                [sys.executable, "-m", "sheetsync", "run", "--config", str(config)],
                stderr=err,
                env=env,
            )
            time.sleep(chaos.uniform(0.3, 2.0))
            process.send_signal(signal.SIGKILL)
            process.wait()
    team.join()

    # Then it runs undisturbed until every row has settled.
    started_before = log.read_text().count("sheetsync running")
    with log.open("a") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "sheetsync", "run", "--config", str(config)],
            stderr=err,
            env=env,
        )
        deadline = time.monotonic() + 60
        while (
            log.read_text().count("sheetsync running") == started_before
            and time.monotonic() < deadline
        ):
            time.sleep(0.1)  # up and running, signal handlers in place
        while time.monotonic() < deadline:
            rows = sheet_rows(emulators)
            if all(
                row["Sent Events"].split(", ")[-1] == EVENTS[stage_of[n]]
                for n, row in enumerate(sorted(rows, key=lambda r: int(r["Name"][1:])))
            ):
                break
            time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0

    received = emulators.graph.events()
    payloads: dict[str, set[str]] = defaultdict(set)
    for event in received:
        payloads[event["event_id"]].add(json.dumps(event, sort_keys=True))
    different = {event_id: versions for event_id, versions in payloads.items() if len(versions) > 1}
    assert different == {}, "an event id arrived with two different payloads"
    got = {(e["user_data"]["em"][0], e["event_name"]) for e in received}
    from sheetsync.core.identity import sha256

    expected = {
        (sha256(f"l{n}@example.com"), EVENTS[i])
        for n in range(leads)
        for i in range(stage_of[n] + 1)
    }
    assert got == expected
    for row in sheet_rows(emulators):
        n = int(row["Name"][1:])
        assert row["Sent Events"] == ", ".join(EVENTS[: stage_of[n] + 1])
        assert row["Sync Status"].startswith(f"✓ {EVENTS[stage_of[n]]} sent")
    assert "Traceback" not in log.read_text()
