"""The local state file (SQLite): a memory of what was seen and sent, never the truth.

Holds hashes and payloads of hashed values only, never a raw email or phone.
File mode 0600, WAL, one short transaction per step, `PRAGMA user_version`
migrations. Only one process may use a state file at a time (a lock file
beside it says who holds it).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import sqlite3
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sheetsync.plan import EventMemory, LeadMemory, Memory, Plan
from sheetsync.records import OutboxEvent, Outcome

MIGRATIONS = [
    """
    CREATE TABLE jobs (
        job TEXT PRIMARY KEY,
        first_cycle_at INTEGER,
        last_cycle_at INTEGER,
        last_success_at INTEGER,
        last_result TEXT,
        last_error TEXT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        blocked_reason TEXT,
        blocked_since INTEGER
    );
    CREATE TABLE leads (
        job TEXT NOT NULL,
        lead_key TEXT NOT NULL,
        first_seen_at INTEGER NOT NULL,
        click_time_ms INTEGER,
        stage_seen_at TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (job, lead_key)
    );
    CREATE TABLE events (
        job TEXT NOT NULL,
        lead_key TEXT NOT NULL,
        event_name TEXT NOT NULL,
        event_id TEXT,
        event_time INTEGER,
        payload TEXT,
        status TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER,
        fbtrace_id TEXT,
        status_at INTEGER,
        input_hash TEXT NOT NULL DEFAULT '',
        match_keys TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (job, lead_key, event_name)
    );
    CREATE INDEX events_due ON events (job, status, next_attempt_at);
    CREATE TABLE cycles (
        id INTEGER PRIMARY KEY,
        job TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        finished_at INTEGER,
        result TEXT,
        sent INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        error TEXT
    );
    """,
    """
    CREATE TABLE resends (
        job TEXT NOT NULL,
        lead_key TEXT NOT NULL,
        event_name TEXT NOT NULL,
        event_id TEXT NOT NULL,
        outcome TEXT NOT NULL,
        at INTEGER NOT NULL
    );
    """,
    """
    CREATE INDEX events_by_id ON events (job, event_id);
    """,
    """
    CREATE TABLE row_digests (
        job TEXT NOT NULL,
        lead_key TEXT NOT NULL,
        digest INTEGER NOT NULL,
        PRIMARY KEY (job, lead_key)
    );
    """,
]
log = logging.getLogger("sheetsync.state")
EVENTS_QUERY = (
    "SELECT lead_key, event_name, status, event_time, event_id, detail, status_at, input_hash, "
    "match_keys FROM events "
)
RETRY_BASE = 60  # seconds before the first retry on a later cycle; doubles each time
RETRY_CAP = 3600


class StateError(Exception):
    pass


class StateLocked(StateError):
    pass


@dataclass(frozen=True)
class JobState:
    job: str
    first_cycle_at: int | None
    last_cycle_at: int | None
    last_success_at: int | None
    last_result: str | None
    last_error: str | None
    consecutive_failures: int
    blocked_reason: str | None
    blocked_since: int | None


class StateStore:
    def __init__(self, path: Path, connection: sqlite3.Connection, lock_handle: Any) -> None:
        self.path = path
        self._db = connection
        self._lock_handle = lock_handle

    # --- opening ---------------------------------------------------------------
    @classmethod
    def open(cls, path: Path, *, lock: bool = True) -> StateStore:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock_handle = _take_lock(path) if lock else None
        _create_private(path)
        try:
            return cls._connect(path, lock_handle)
        except sqlite3.DatabaseError as error:
            if lock_handle is None:  # a reader (status, dry-run) never moves the daemon's file
                raise StateError(f"state file {path} is not usable ({error})") from error
        # The sheet is the truth: a corrupt memory is set aside (kept for inspection) and rebuilt.
        aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
        path.rename(aside)
        for suffix in ("-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        log.warning(
            "state file %s was corrupt; moved to %s; starting afresh from the sheet", path, aside
        )
        _create_private(path)
        return cls._connect(path, lock_handle)

    @classmethod
    def _connect(cls, path: Path, lock_handle: Any) -> StateStore:
        connection = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=10
        )
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            store = cls(path, connection, lock_handle)
            store._migrate()
        except sqlite3.DatabaseError:
            connection.close()
            raise
        return store

    def close(self) -> None:
        self._db.close()
        if self._lock_handle is not None:
            self._lock_handle.close()

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StateError(
                f"state file {self.path} was written by a newer sheetsync (schema {version})"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self._transaction():
                for statement in script.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {number}")

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # --- memory for the planner ------------------------------------------------------
    def memory(self, job: str, keys: Iterable[str] | None = None) -> Memory:
        """What sheetsync remembers of a job's leads: all of them, or only `keys` (to refresh a cache)."""
        first_cycle = self.job_state(job).first_cycle_at is None
        leads: dict[str, dict[str, Any]] = {}
        key_lists: dict[str, tuple[str, ...]] = {}
        for where, args in self._lead_filters(job, keys):
            for key, first_seen, click_ms, seen in self._db.execute(
                "SELECT lead_key, first_seen_at, click_time_ms, stage_seen_at FROM leads " + where,  # noqa: S608 (only ? placeholders are joined in)
                args,
            ):
                leads[key] = {
                    "first_seen_at": first_seen,
                    "click_time_ms": click_ms,
                    "stage_seen_at": _stage_times(seen),
                    "events": {},
                }
            for row in self._db.execute(
                EVENTS_QUERY + where,
                args,
            ):
                key, name, status, event_time, event_id, detail, at, input_hash, match_keys = row
                lead = leads.setdefault(
                    key,
                    {
                        "first_seen_at": at or 0,
                        "click_time_ms": None,
                        "stage_seen_at": {},
                        "events": {},
                    },
                )
                # Names, statuses, reasons and key lists repeat across leads: share one copy of each.
                if match_keys not in key_lists:
                    key_lists[match_keys] = tuple(filter(None, match_keys.split(",")))
                lead["events"][sys.intern(name)] = EventMemory(
                    sys.intern(status),
                    event_time,
                    event_id,
                    sys.intern(detail),
                    at,
                    input_hash,
                    key_lists[match_keys],
                )
        return Memory(first_cycle, {key: LeadMemory(**fields) for key, fields in leads.items()})

    @staticmethod
    def _lead_filters(
        job: str, keys: Iterable[str] | None
    ) -> Iterator[tuple[str, tuple[Any, ...]]]:
        if keys is None:
            yield "WHERE job = ?", (job,)
            return
        wanted = sorted(set(keys))
        for start in range(0, len(wanted), 500):  # SQLite caps the number of parameters
            chunk = wanted[start : start + 500]
            yield f"WHERE job = ? AND lead_key IN ({','.join('?' * len(chunk))})", (job, *chunk)

    def row_digests(self, job: str) -> dict[str, int]:
        """What each lead's row held after the last cycle that parsed it (stable digests)."""
        return dict(
            self._db.execute("SELECT lead_key, digest FROM row_digests WHERE job = ?", (job,))
        )

    def save_row_digests(self, job: str, digests: dict[str, int]) -> None:
        if not digests:
            return
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO row_digests (job, lead_key, digest) VALUES (?, ?, ?)",
                [(job, key, digest) for key, digest in digests.items()],
            )

    def pending_keys(self, job: str) -> set[str]:
        """Leads with an event waiting to be sent: parsed every cycle until it goes out or expires."""
        return {
            key
            for (key,) in self._db.execute(
                "SELECT lead_key FROM events WHERE job = ? AND status = 'pending'",  # no DISTINCT: it skips the index
                (job,),
            )
        }

    def record_plan(self, job: str, plan: Plan, now: int, *, sheet_complete: bool = True) -> None:
        """The outbox: intent before sending. The job's first cycle ends with the first plan that
        covered the whole sheet (a big sheet is adopted over several cycles)."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO jobs (job, first_cycle_at) VALUES (?, ?) ON CONFLICT (job) DO UPDATE "
                "SET first_cycle_at = COALESCE(first_cycle_at, excluded.first_cycle_at)",
                (job, now if sheet_complete else None),
            )
            db.executemany(
                "INSERT INTO leads (job, lead_key, first_seen_at, click_time_ms, stage_seen_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (job, lead_key) DO UPDATE SET "
                "click_time_ms = excluded.click_time_ms, stage_seen_at = excluded.stage_seen_at",
                [
                    (
                        job,
                        o.lead_key,
                        o.first_seen_at,
                        o.click_time_ms,
                        json.dumps(dict(o.stage_seen_at)),
                    )
                    for o in plan.observations
                ],
            )
            db.executemany(
                "INSERT OR REPLACE INTO events (job, lead_key, event_name, event_id, event_time, payload, "
                "status, attempts, next_attempt_at, status_at, input_hash, match_keys) "
                "VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?)",
                [
                    (
                        job,
                        e.lead_key,
                        e.event_name,
                        e.event_id,
                        e.event_time,
                        json.dumps(dict(e.payload)),
                        now,
                        now,
                        e.input_hash,
                        ",".join(e.match_keys),
                    )
                    for e in plan.events
                ],
            )
            db.executemany(
                "INSERT OR IGNORE INTO events (job, lead_key, event_name, event_time, status, detail, status_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (job, d.lead_key, d.event_name, d.event_time, d.status, d.detail, now)
                    for d in plan.decisions
                ],
            )

    def due_events(self, job: str, now: int) -> list[OutboxEvent]:
        rows = self._db.execute(
            "SELECT lead_key, event_name, event_id, event_time, payload, attempts FROM events "
            "WHERE job = ? AND status = 'pending' AND next_attempt_at <= ? ORDER BY event_time, rowid",
            (job, now),
        ).fetchall()
        return [
            OutboxEvent(job, key, name, event_id, event_time, json.loads(payload), attempts)
            for key, name, event_id, event_time, payload, attempts in rows
        ]

    def expire_stale(self, job: str, cutoff: int, now: int, detail: str) -> list[str]:
        """Pending events older than `cutoff` can no longer reach Meta: say so. Returns their lead keys."""
        with self._transaction() as db:
            keys = [
                key
                for (key,) in db.execute(
                    "SELECT lead_key FROM events WHERE job = ? AND status = 'pending' AND event_time < ?",
                    (job, cutoff),
                )
            ]
            if keys:
                db.execute(
                    "UPDATE events SET status = 'expired', detail = ?, status_at = ? "
                    "WHERE job = ? AND status = 'pending' AND event_time < ?",
                    (detail, now, job, cutoff),
                )
        return keys

    # --- recording outcomes (after Meta answered) -------------------------------------
    def record_outcomes(self, job: str, outcomes: Iterable[Outcome], now: int) -> None:
        with self._transaction() as db:
            for outcome in outcomes:
                if outcome.kind == "sent":
                    db.execute(
                        "UPDATE events SET status = 'sent', detail = '', fbtrace_id = ?, status_at = ?, "
                        "attempts = attempts + 1 WHERE job = ? AND event_id = ?",
                        (outcome.fbtrace_id, now, job, outcome.event_id),
                    )
                elif outcome.kind == "failed":
                    db.execute(
                        "UPDATE events SET status = 'failed', detail = ?, fbtrace_id = ?, status_at = ?, "
                        "attempts = attempts + 1 WHERE job = ? AND event_id = ?",
                        (outcome.detail, outcome.fbtrace_id, now, job, outcome.event_id),
                    )
                else:  # pending or blocked: keep it, try later with growing spacing
                    attempts = db.execute(
                        "SELECT attempts FROM events WHERE job = ? AND event_id = ?",
                        (job, outcome.event_id),
                    ).fetchone()
                    spacing = min(RETRY_CAP, RETRY_BASE * 2 ** (attempts[0] if attempts else 0))
                    wait = max(spacing, int(outcome.retry_after or 0))
                    if outcome.kind == "blocked":
                        wait = 0  # retried as soon as the job is unblocked
                    db.execute(
                        "UPDATE events SET detail = ?, attempts = attempts + 1, next_attempt_at = ?, "
                        "status_at = COALESCE(status_at, ?) WHERE job = ? AND event_id = ?",
                        (outcome.detail, now + wait, now, job, outcome.event_id),
                    )

    # --- jobs and cycles ---------------------------------------------------------------
    def job_state(self, job: str) -> JobState:
        row = self._db.execute(
            "SELECT job, first_cycle_at, last_cycle_at, last_success_at, last_result, last_error, "
            "consecutive_failures, blocked_reason, blocked_since FROM jobs WHERE job = ?",
            (job,),
        ).fetchone()
        return JobState(*row) if row else JobState(job, None, None, None, None, None, 0, None, None)

    def start_cycle(self, job: str, now: int) -> int:
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO jobs (job) VALUES (?)", (job,))
            cursor = db.execute("INSERT INTO cycles (job, started_at) VALUES (?, ?)", (job, now))
            return int(cursor.lastrowid or 0)

    def finish_cycle(
        self,
        job: str,
        cycle_id: int,
        now: int,
        *,
        ok: bool,
        result: str,
        sent: int = 0,
        failed: int = 0,
        error: str | None = None,
    ) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE cycles SET finished_at = ?, result = ?, sent = ?, failed = ?, error = ? "
                "WHERE id = ?",
                (now, result, sent, failed, error, cycle_id),
            )
            if ok:
                db.execute(
                    "UPDATE jobs SET last_cycle_at = ?, last_success_at = ?, last_result = ?, "
                    "last_error = NULL, consecutive_failures = 0 WHERE job = ?",
                    (now, now, result, job),
                )
            else:
                db.execute(
                    "UPDATE jobs SET last_cycle_at = ?, last_result = ?, last_error = ?, "
                    "consecutive_failures = consecutive_failures + 1 WHERE job = ?",
                    (now, result, error, job),
                )
            db.execute("DELETE FROM cycles WHERE job = ? AND id < ? - 10000", (job, cycle_id))

    def set_blocked(self, job: str, reason: str | None, now: int) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO jobs (job) VALUES (?)", (job,))
            if reason is None:
                db.execute(
                    "UPDATE jobs SET blocked_reason = NULL, blocked_since = NULL WHERE job = ?",
                    (job,),
                )
            else:
                db.execute(
                    "UPDATE jobs SET blocked_reason = ?, blocked_since = COALESCE(blocked_since, ?) "
                    "WHERE job = ?",
                    (reason, now, job),
                )

    # --- reporting ---------------------------------------------------------------------------
    def event_rows(self, job: str) -> list[dict[str, Any]]:
        cursor = self._db.execute(
            "SELECT lead_key, event_name, status, event_time, status_at, detail, match_keys FROM events "
            "WHERE job = ?",
            (job,),
        )
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def lead_count(self, job: str) -> int:
        return int(
            self._db.execute("SELECT COUNT(*) FROM leads WHERE job = ?", (job,)).fetchone()[0]
        )

    def leads_seen_since(self, job: str, since: int) -> set[str]:
        return {
            key
            for (key,) in self._db.execute(
                "SELECT lead_key FROM leads WHERE job = ? AND first_seen_at >= ?", (job, since)
            )
        }

    def payloads_for_lead(
        self, job: str, lead_key: str, event_name: str | None
    ) -> list[tuple[str, dict[str, Any], int]]:
        """(event name, payload, resends so far) of a lead's sent events."""
        rows = self._db.execute(
            "SELECT e.event_name, e.payload, (SELECT COUNT(*) FROM resends r WHERE r.job = e.job AND "
            "r.lead_key = e.lead_key AND r.event_name = e.event_name) FROM events e WHERE e.job = ? AND "
            "e.lead_key = ? AND e.status = 'sent' AND (? IS NULL OR e.event_name = ?) ORDER BY e.event_time",
            (job, lead_key, event_name, event_name),
        ).fetchall()
        return [(name, json.loads(payload), count) for name, payload, count in rows]

    def record_resend(
        self, job: str, lead_key: str, event_name: str, event_id: str, outcome: str, now: int
    ) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO resends (job, lead_key, event_name, event_id, outcome, at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (job, lead_key, event_name, event_id, outcome, now),
            )


def _stage_times(text: str) -> dict[str, int]:
    # Event names repeat across every lead: one shared string each, not one per lead.
    return {sys.intern(name): moment for name, moment in json.loads(text).items()}


def _create_private(path: Path) -> None:
    """The state file holds hashes of personal data: readable by its owner only."""
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
    os.chmod(path, 0o600)


def _take_lock(path: Path) -> Any:
    lock_path = path.with_name(path.name + ".lock")
    handle = open(lock_path, "a+")  # noqa: SIM115 (held open for the life of the store)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise StateLocked(
            f"state file {path} is in use by {holder}; stop it first "
            "(only one sheetsync may use a state file)"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"sheetsync pid {os.getpid()}")
    handle.flush()
    return handle
