"""The SQLite state file's life: create (mode 0600), lock, migrate, transactions, close.

The file is a memory of what was seen and sent, never the truth: it holds hashes and payloads
of hashed values only, never a raw email or phone. WAL, one short transaction per step,
`PRAGMA user_version` migrations. Only one process may use a state file at a time (a lock file
beside it says who holds it). The tables are read and written by the mixins beside this module,
one per concern (outbox, memory, health, queries).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Self

from sheetsync.core.errors import StateError, StateLocked

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
    # Row problems are kept with what the row held, so a restart still counts the rows that show ✗.
    """
    ALTER TABLE row_digests ADD COLUMN problems TEXT NOT NULL DEFAULT '';
    """,
    # A pause Meta asked for (rate limit) lasts until this moment; NULL: until a person acts.
    """
    ALTER TABLE jobs ADD COLUMN blocked_until INTEGER;
    """,
    # The header row as the last cycle read it: a new process reads the data at once with it.
    """
    ALTER TABLE jobs ADD COLUMN header TEXT;
    """,
    # Lead Ads intake: per form the checkpoint (created time of the newest lead fetched), the
    # leads appended to the sheet (never twice), and the intake's own pause.
    """
    CREATE TABLE intake_forms (
        job TEXT NOT NULL,
        form_id TEXT NOT NULL,
        form_name TEXT NOT NULL DEFAULT '',
        checkpoint INTEGER NOT NULL,
        last_fetch_at INTEGER,
        PRIMARY KEY (job, form_id)
    );
    CREATE TABLE intake_leads (
        job TEXT NOT NULL,
        lead_id TEXT NOT NULL,
        form_id TEXT NOT NULL,
        created_time INTEGER NOT NULL,
        appended_at INTEGER NOT NULL,
        PRIMARY KEY (job, lead_id)
    );
    ALTER TABLE jobs ADD COLUMN intake_paused TEXT;
    ALTER TABLE jobs ADD COLUMN intake_paused_until INTEGER;
    """,
    # The managers' chart on the summary tab, found again by its id after a restart.
    """
    ALTER TABLE jobs ADD COLUMN chart_id INTEGER;
    """,
]
log = logging.getLogger("sheetsync.state")


class Database:
    """An open state file: the connection, the lock, and short transactions."""

    def __init__(self, path: Path, connection: sqlite3.Connection, lock_handle: Any) -> None:
        self.path = path
        self._db = connection
        self._lock_handle = lock_handle

    @classmethod
    def open(cls, path: Path, *, lock: bool = True) -> Self:
        problem = location_problem(path)
        if problem:
            raise StateError(problem)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            lock_handle = _take_lock(path) if lock else None
            _create_private(path)
        except OSError as error:
            raise StateError(
                f"state_path {path} cannot be written ({error.strerror})",
                "point state_path at a file in a directory sheetsync may write",
            ) from error
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
    def _connect(cls, path: Path, lock_handle: Any) -> Self:
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


SQLITE_HEADER = b"SQLite format 3\x00"


def location_problem(path: Path) -> str | None:
    """Why `path` cannot hold a state file, without creating or changing anything (for `check`,
    and before opening: a directory or someone else's file is refused, never moved or chmod-ed)."""
    if path.is_dir():
        return f"state_path {path} is a directory; name a file in it (e.g. {path / 'sheetsync-state.db'})"
    if path.exists():
        with open(path, "rb") as existing:
            header = existing.read(len(SQLITE_HEADER))
        if header and header != SQLITE_HEADER:
            return (
                f"state_path {path} is not a sheetsync state file (not SQLite); "
                "point state_path elsewhere, or move that file away yourself"
            )
        if not os.access(path, os.R_OK | os.W_OK):
            return f"state_path {path} cannot be read and written by this user"
        return None
    directory = next((p for p in path.parents if p.exists()), None)
    if directory is None or not directory.is_dir() or not os.access(directory, os.W_OK | os.X_OK):
        return f"state_path {path} cannot be created: {directory} is not a directory this user may write"
    return None


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
