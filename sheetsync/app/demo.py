"""`sheetsync demo`: the real daemon against emulated Google and Meta, with a simulated sales team.

Needs no credentials and no network: both emulators listen on 127.0.0.1. The
terminal shows the sheet's rows with their status cells, and what Meta received,
as it happens.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sheetsync.app.daemon import Daemon
from sheetsync.app.example import example_job
from sheetsync.core import config as config_module
from sheetsync.emulator import Emulators
from sheetsync.emulator.leadgen import DEFAULT_PAGE
from sheetsync.emulator.main import DEMO_FORM
from sheetsync.emulator.sheets import Worksheet

HEADER = ["Name", "Email", "Phone", "Lead ID", "fbclid", "Created", "Stage", "Deal Value", "Notes"]
POLL_SECONDS = 2


def _typed_time(seconds_ago: float) -> str:
    return datetime.fromtimestamp(time.time() - seconds_ago, UTC).strftime("%Y-%m-%d %H:%M")


def demo_rows() -> list[list[str]]:
    hour, day = 3600, 86400
    return [
        HEADER,
        [
            "Ann Lee",
            "Ann.Lee@Example.com",
            "(650) 555-1212",
            "'120245117458290",
            "",
            _typed_time(2 * hour),
            "New",
            "",
            "came from the spring form",
        ],
        [
            "Bob Diaz",
            "bob@example.com",
            "+44 20 7946 0958",
            "",
            "IwAR2xYzAbC123_dEf",
            _typed_time(5 * hour),
            "Qualified",
            "",
            "",
        ],
        [
            "Chen Wei",
            "chen.wei@example.cn",
            "+86 138 0013 8000",
            "",
            "",
            _typed_time(1 * day),
            "Meeting Booked",
            "",
            "",
        ],
        [
            "Dana Fox",
            "dana@example.com",
            "555",
            "",
            "",
            _typed_time(3 * hour),
            "New",
            "",
            "phone typo",
        ],
        [
            "Eve Moss",
            "eve@example.com",
            "",
            "1202451174582901",
            "",
            _typed_time(6 * hour),
            "New",
            "",
            "lead id pasted as a number",
        ],
        [
            "Finn Ode",
            "finn@example.com",
            "650-555-0199",
            "",
            "",
            _typed_time(20 * day),
            "Qualified",
            "",
            "an old lead",
        ],
        [
            "Gia Park",
            "gia@example.com",
            "",
            "",
            "",
            _typed_time(4 * hour),
            "Qualifed",
            "",
            "stage typo",
        ],
        [
            "Hugo Ruiz",
            "hugo@example.es",
            "+34 612 34 56 78",
            "",
            "",
            _typed_time(1 * hour),
            "Won",
            "4800",
            "",
        ],
    ]


@dataclass
class Move:
    at: float  # fraction of the demo's duration
    what: str
    edit: Callable[[Worksheet], None]
    arrival: Callable[[Emulators], None] | None = None  # something that happens at Meta instead


def _lead_from_the_ad(emulators: Emulators) -> None:
    """Ivy fills in the instant form of an ad: the lead waits at Meta until sheetsync takes it in."""
    emulators.graph.lead_ads.add_lead(
        DEMO_FORM,
        int(time.time() - 60),
        {"full_name": ["Ivy Nash"], "email": ["ivy@example.com"], "phone_number": ["+14155550101"]},
        lead_id="120245117458377",
    )


def _set(name: str, column: str, text: str) -> Callable[[Worksheet], None]:
    def edit(sheet: Worksheet) -> None:
        for row_number, row in enumerate(sheet.rows, start=1):
            if row and row[0] == name:
                sheet.type_cell(row_number, sheet.find_column(column), text)
                return

    return edit


def team_moves() -> list[Move]:
    return [
        Move(0.10, "Ann Lee is qualified", _set("Ann Lee", "Stage", "Qualified")),
        Move(0.20, "Gia's stage typo is fixed", _set("Gia Park", "Stage", "Qualified")),
        Move(
            0.30,
            "Ivy fills in the form of a Facebook ad: sheetsync adds her row",
            lambda sheet: None,
            _lead_from_the_ad,
        ),
        Move(
            0.40,
            "someone sorts the sheet by name, descending",
            lambda sheet: sheet.sort_rows(1, descending=True),
        ),
        Move(0.50, "Dana's phone is corrected", _set("Dana Fox", "Phone", "+1 650 555 0142")),
        Move(0.60, "Bob books a meeting", _set("Bob Diaz", "Stage", "Meeting Booked")),
        Move(0.70, "the old lead Finn moves on", _set("Finn Ode", "Stage", "Meeting Booked")),
        Move(0.80, "Chen signs: Won, 12,000", _set("Chen Wei", "Deal Value", "12000")),
        Move(0.82, "", _set("Chen Wei", "Stage", "Won")),
        Move(0.90, "Ivy jumps straight to Won", _set("Ivy Nash", "Stage", "Won")),
    ]


def _config(emulators: Emulators, state_dir: Path) -> config_module.Config:
    return config_module.parse(
        {
            "state_path": str(state_dir / "demo-state.db"),
            "google": {"api_base_url": emulators.sheets_url, "anonymous": True, "timeout": 5},
            "meta": {"graph_base_url": emulators.graph_url},
            "jobs": [
                example_job(
                    name="demo",
                    dataset_id=emulators.dataset_id,
                    poll_interval=f"{POLL_SECONDS}s",
                    lead_ads={
                        "page_id": DEFAULT_PAGE,
                        "answers": {"full_name": "Name", "email": "Email", "phone_number": "Phone"},
                        "other_answers": "Notes",
                    },
                )
            ],
        }
    )


def _render(emulators: Emulators, elapsed: float, history: list[str], live: bool) -> str:
    with emulators.sheets.lock:
        shown = emulators.sheets.worksheet("demo", "Leads").displayed()
    header, rows = shown[0], shown[1:]
    index = {name: position for position, name in enumerate(header)}
    width = shutil.get_terminal_size((140, 40)).columns if live else 140
    status_width = max(30, width - 70)
    lines = [
        f"sheetsync demo · {elapsed:4.0f}s · Meta has received {len(emulators.graph.events())} events",
        "",
        f"{'Name':<10} {'Stage':<15} {'Sync Status':<{status_width}} Sent Events",
    ]
    for row in rows:

        def cell(name: str, row: list[str] = row) -> str:
            position = index.get(name)
            return row[position] if position is not None and position < len(row) else ""

        status = cell("Sync Status")
        if len(status) > status_width:
            status = status[: status_width - 1] + "…"
        lines.append(
            f"{cell('Name')[:10]:<10} {cell('Stage')[:15]:<15} {status:<{status_width}} "
            f"{cell('Sent Events')}"
        )
    lines += ["", "Sales team:"] + [f"  {item}" for item in history[-5:]]
    return "\n".join(lines)


def run_demo(seconds: float = 60.0, out: Callable[[str], None] | None = None) -> int:
    write = out or (lambda text: print(text, flush=True))
    live = out is None and sys.stdout.isatty()
    os.environ.setdefault("META_ACCESS_TOKEN", "demo-token-not-secret")
    os.environ.setdefault("META_PAGE_TOKEN", "demo-page-token-not-secret")
    state_dir = Path(tempfile.mkdtemp(prefix="sheetsync-demo-"))
    emulators = Emulators()
    emulators.sheets.seed("demo", "Leads", demo_rows())
    emulators.graph.lead_ads.add_form(DEFAULT_PAGE, DEMO_FORM, "Spring offer")
    logging.getLogger("sheetsync").setLevel(logging.WARNING)  # the table tells the story
    with emulators:
        write(
            f"Emulated Google Sheets at {emulators.sheets_url}, Meta Graph API at {emulators.graph_url}"
        )
        config = _config(emulators, state_dir)
        daemon = Daemon(lambda: config)
        worker = threading.Thread(target=daemon.run, daemon=True)
        worker.start()
        history: list[str] = []
        moves = team_moves()
        started = time.monotonic()
        last_frame = ""
        while (elapsed := time.monotonic() - started) < seconds:
            while moves and moves[0].at * seconds <= elapsed:
                move = moves.pop(0)
                if move.arrival is not None:
                    move.arrival(emulators)
                with emulators.sheets.lock:
                    move.edit(emulators.sheets.worksheet("demo", "Leads"))
                if move.what:
                    history.append(f"{elapsed:4.0f}s {move.what}")
            frame = _render(emulators, elapsed, history, live)
            # A terminal is redrawn every tick; a log or pipe gets a frame only when the table changed.
            changed = frame.split("\n", 1)[1] != last_frame.split("\n", 1)[-1]
            if live or changed:
                write(("\033[2J\033[H" if live else "") + frame + ("" if live else "\n"))
                last_frame = frame
            time.sleep(0.5)
        time.sleep(POLL_SECONDS + 1)  # the last edits reach Meta
        daemon.request_stop()
        worker.join(timeout=30)
        write(_render(emulators, time.monotonic() - started, history, False))
        write(_summary(emulators))
    shutil.rmtree(state_dir, ignore_errors=True)
    return 0


def _summary(emulators: Emulators) -> str:
    events = emulators.graph.events()
    by_name: dict[str, int] = {}
    for event in events:
        by_name[event["event_name"]] = by_name.get(event["event_name"], 0) + 1
    duplicates = sum(count - 1 for count in emulators.graph.event_id_counts().values())
    counts = ", ".join(f"{name} {count}" for name, count in by_name.items())
    return (
        f"\nSummary: Meta received {len(events)} events ({counts}); {duplicates} duplicates. "
        "Rows with ✗ explain what to fix; — marks stages that were there before sheetsync started.\n"
        "Next: copy config.example.yaml, point it at your sheet, and run `sheetsync check`."
    )
