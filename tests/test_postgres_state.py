"""A job's state on PostgreSQL, through the real CLI as processes (issue #15): the same
behaviour as on SQLite, and `copy-state` moving a SQLite state over with nothing lost or resent."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from support import HEADER, config_dict, day, job_config, run_cli, write_config

from sheetsync.emulator import Emulators

pytestmark = pytest.mark.slow


def seed(emulators: Emulators) -> None:
    recent = day(time.time() - 600)
    emulators.sheets.seed(
        "sheet1",
        "Leads",
        [
            HEADER,
            ["Ann", "ann@example.com", "", "", "", recent, "Won", "120"],
            ["Bob", "bob@example.com", "", "", "", recent, "New", ""],
        ],
    )


def postgres_config(emulators: Emulators, tmp_path: Path, url: str) -> Path:
    data: dict[str, Any] = config_dict(emulators, tmp_path / "unused.db", [job_config()])
    del data["state_path"]
    data["state_url"] = url
    return write_config(tmp_path / "pg.yaml", data)


def test_cycles_on_postgresql_behave_as_on_sqlite(
    emulators: Emulators, tmp_path: Path, postgres: Any
) -> None:
    seed(emulators)
    config = postgres_config(emulators, tmp_path, postgres.new_database())
    checked = run_cli("check", "--config", str(config))
    assert re.search(
        r"^ok +- +state database +postgresql://.*reachable, schema current$",
        checked.stdout,
        re.MULTILINE,
    ), checked.stdout
    assert checked.stdout.strip().endswith("ready")
    first = run_cli("once", "--config", str(config))
    assert first.returncode == 0, first.stderr
    assert len(emulators.graph.events()) == 5  # Ann: Lead … Purchase; Bob: Lead
    assert run_cli("once", "--config", str(config)).returncode == 0  # reads its writes back
    emulators.sheets.reset_counts()
    quiet = run_cli("once", "--config", str(config))  # a new process: digests from PostgreSQL
    assert quiet.returncode == 0, quiet.stderr
    assert dict(emulators.sheets.counts) == {"metadata": 1, "read": 1}
    assert len(emulators.graph.events()) == 5
    status = run_cli("status", "--config", str(config))
    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith("1/1 jobs ok · 5 events today")
    assert not (tmp_path / "unused.db").exists()


def test_copy_state_moves_everything_pending_included_and_nothing_is_resent(
    emulators: Emulators, tmp_path: Path, postgres: Any
) -> None:
    from sheetsync.emulator import GraphFault

    seed(emulators)
    sqlite_config = write_config(
        tmp_path / "c.yaml", config_dict(emulators, tmp_path / "state.db", [job_config()])
    )
    emulators.graph.inject(GraphFault(status=503, count=20))  # Meta down: events stay pending
    assert run_cli("once", "--config", str(sqlite_config)).returncode == 0
    assert emulators.graph.events() == []
    url = postgres.new_database()
    copied = run_cli("copy-state", "--config", str(sqlite_config), "--to", url)
    assert copied.returncode == 0, copied.stderr
    assert "5 events" in copied.stdout and f"set `state_url: {url}`" in copied.stdout
    again = run_cli("copy-state", "--config", str(sqlite_config), "--to", url)
    assert again.returncode != 0 and "already has job(s) sales" in again.stderr  # never merges

    # Everything came over: the pending events with their ids and payloads, byte for byte, the
    # memory of each lead and what each row held.
    from sheetsync.adapters.postgres import PostgresStore
    from sheetsync.adapters.sqlite import SqliteStore

    before, after = SqliteStore.open(tmp_path / "state.db", lock=False), PostgresStore.open(url)
    try:
        later = int(time.time()) + 7200  # when the retries are due
        due = [(e.event_id, e.payload, e.attempts) for e in before.due_events("sales", later)]
        assert len(due) == 5
        assert [
            (e.event_id, e.payload, e.attempts) for e in after.due_events("sales", later)
        ] == due
        assert after.memory("sales") == before.memory("sales")
        assert after.row_digests("sales") == before.row_digests("sales")
        assert after.saved_header("sales") == before.saved_header("sales")
    finally:
        before.close()
        after.close()
    emulators.graph._faults.clear()  # Meta is back; the next cycle on PostgreSQL sends nothing new
    assert (
        run_cli("once", "--config", str(postgres_config(emulators, tmp_path, url))).returncode == 0
    )
    assert emulators.graph.events() == []  # the events wait for their retry time, not resent early
    refused = run_cli(
        "copy-state", "--config", str(sqlite_config), "--to", "postgresql://u:secret@h/db"
    )
    assert refused.returncode != 0 and "without a password" in refused.stderr
    assert "secret" not in refused.stderr
