"""The cycle's order of steps, on an in-memory sheet, a real SQLite store and a recording sender.

Fast (no HTTP), so each ordering rule gets its own test: intent is recorded before sending,
outcomes after Meta answered, cells go where the keys stand at write time, and a cycle that
fails midway is redone in full by the next one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from memory_sheet import MemorySheet
from support import Clock, at, day, job_config

from sheetsync.adapters.sqlite import SqliteStore
from sheetsync.app.cycle import JobRunner
from sheetsync.app.dry_run import dry_run_lines
from sheetsync.core import config as config_module
from sheetsync.core.records import OutboxEvent, Outcome

NOW = at("2026-06-01 12:00")
HEADER = ["Name", "Email", "Phone", "Lead ID", "fbclid", "Created", "Stage", "Deal Value"]


def row(name: str, stage: str) -> list[str]:
    return [name, f"{name.lower()}@example.com", "", "", "", day(NOW - 600), stage, ""]


class RecordingSender:
    """Stands in for Meta at the port (the Graph emulator tests the real client)."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self.sent: list[tuple[str, str]] = []
        self.event_ids: list[str] = []
        self.outbox_at_send: list[set[str]] = []

    def __call__(self, events: Sequence[OutboxEvent]) -> tuple[list[Outcome], str | None]:
        # What the outbox held when the request left: intent must already be recorded.
        self.outbox_at_send.append({e.event_id for e in self.store.due_events("sales", 2**40)})
        self.sent += [(e.lead_key, e.event_name) for e in events]
        self.event_ids += [e.event_id for e in events]
        return [Outcome(e.event_id, "sent") for e in events], None


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    opened = SqliteStore.open(tmp_path / "state.db")
    yield opened
    opened.close()


def runner(
    sheet: MemorySheet, store: SqliteStore, clock: Clock
) -> tuple[JobRunner, RecordingSender]:
    job = config_module.parse({"jobs": [job_config()]}).jobs[0]
    sender = RecordingSender(store)
    return JobRunner(job, sheet, sender, store, clock), sender


def shown(sheet: MemorySheet) -> dict[str, str]:
    return dict(zip(sheet.column("Name"), sheet.column("Sent Events"), strict=True))  # type: ignore[arg-type]


def test_intent_is_recorded_before_sending_and_outcomes_after(
    store: SqliteStore,
) -> None:
    sheet = MemorySheet([HEADER, row("Al", "New"), row("Bo", "Qualified")])
    job_runner, sender = runner(sheet, store, Clock(NOW))
    report = job_runner.run_cycle()
    assert report.ok and report.sent == 3
    assert len(sender.outbox_at_send) == 1 and len(sender.outbox_at_send[0]) == 3
    assert store.due_events("sales", 2**40) == []  # all recorded as sent afterwards
    assert shown(sheet) == {"Al": "Lead", "Bo": "Lead, QualifiedLead"}


def test_cells_go_where_the_keys_stand_when_writing(store: SqliteStore) -> None:
    sheet = MemorySheet([HEADER, row("Cy", "New"), row("Al", "Qualified"), row("Bo", "Won")])
    job_runner, _ = runner(sheet, store, Clock(NOW))
    job_runner.run_cycle()  # keys are given and written
    for index, name in ((2, "Cy"), (3, "Al"), (4, "Bo")):
        sheet.rows[index - 1][6] = {"Cy": "Qualified", "Al": "Won", "Bo": "Won"}[name]

    def sort_by_name(s: MemorySheet) -> None:
        s.rows[1:] = sorted(s.rows[1:], key=lambda r: str(r[0]))

    sheet.before_next("read", lambda s: s.before_next("read", sort_by_name))  # before the re-read
    job_runner.run_cycle()
    assert sheet.counts["read"] == 5  # header + data + re-read, then data + re-read
    assert shown(sheet) == {
        "Al": "Lead, QualifiedLead, Schedule, Purchase",
        "Bo": "Lead, QualifiedLead, Schedule, Purchase",
        "Cy": "Lead, QualifiedLead",
    }


def test_a_cycle_that_fails_midway_is_redone_in_full(store: SqliteStore) -> None:
    sheet = MemorySheet([HEADER, row("Al", "New")])
    clock = Clock(NOW)
    job_runner, sender = runner(sheet, store, clock)
    sheet.fail_next_write = True
    failed = job_runner.run_cycle()
    assert not failed.ok and failed.crashed
    assert "unexpected RuntimeError: the write was lost" in failed.error  # type: ignore[operator]
    assert store.job_state("sales").consecutive_failures == 1
    assert store.row_digests("sales") == {}  # nothing settled: the next cycle parses the row again

    clock.advance(60)
    again = job_runner.run_cycle()
    # The key never reached the sheet, so the row is new again: it gets the same key (derived from
    # who the lead is) and the event the same id, which Meta deduplicates. Never a second id.
    assert again.ok
    assert len(set(sender.event_ids)) == 1
    assert shown(sheet) == {"Al": "Lead"}
    assert store.job_state("sales").consecutive_failures == 0
    assert set(store.row_digests("sales")) == set(sheet.column("Sync Key"))


def test_a_dry_run_decides_as_the_cycle_does(store: SqliteStore) -> None:
    sheet = MemorySheet([HEADER, row("Al", "New"), row("Bo", "Qualified")])
    job = config_module.parse({"jobs": [job_config()]}).jobs[0]
    lines = dry_run_lines(job, sheet, None, int(NOW), lambda r, c: f"R{r}C{c}")
    assert sheet.counts["write"] == 0 and "Sync Key" not in sheet.rows[0]
    planned = sorted(
        (line["row"], line["event"]["event_name"]) for line in lines if "event" in line
    )
    assert planned == [(2, "Lead"), (3, "Lead"), (3, "QualifiedLead")]

    job_runner, sender = runner(sheet, store, Clock(NOW))
    job_runner.run_cycle()
    assert sorted(name for _, name in sender.sent) == sorted(name for _, name in planned)
    cells = {line["cell"]: line["value"] for line in lines if "cell" in line}
    key_column = sheet.rows[0].index("Sync Key") + 1
    assert [cells[f"R{r}C{key_column}"] for r in (2, 3)] == sheet.column("Sync Key")


def test_a_row_that_cannot_be_read_is_its_own_problem(store: SqliteStore) -> None:
    broken = row("Bo", "New")
    broken[1] = "bo\ud800@example.com"
    sheet = MemorySheet([HEADER, row("Al", "New"), broken, row("Cy", "Won")])
    job_runner, sender = runner(sheet, store, Clock(NOW))
    report = job_runner.run_cycle()
    assert report.ok and report.problems == 1
    assert sorted(name for _, name in sender.sent) == [
        "Lead",
        "Lead",
        "Purchase",
        "QualifiedLead",
        "Schedule",
    ]
    statuses = dict(zip(sheet.column("Name"), sheet.column("Sync Status"), strict=True))
    assert statuses["Bo"] == "✗ Email: holds a broken character (not valid text); retype the cell"
    assert sheet.column("Sync Key")[1] != ""  # it keeps a key, so the fix is found again
    assert store.row_problems("sales") == {
        sheet.column("Sync Key")[1]: ("Email: holds a broken character",)
    }

    sheet.rows[2][1] = "bo@example.com"
    again = job_runner.run_cycle()
    assert again.ok and again.sent == 1 and again.problems == 0
    assert dict(zip(sheet.column("Name"), sheet.column("Sent Events"), strict=True))["Bo"] == "Lead"
