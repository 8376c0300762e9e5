"""A PostgreSQL state database's life: connect, migrate, short transactions, close."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Self

import psycopg

from sheetsync.adapters.postgres.dialect import translate
from sheetsync.core.errors import LeaseLost, StateError

# The schema of adapters/sqlite/database.py's migrations, as one PostgreSQL script per step.
MIGRATIONS = [
    """
    CREATE TABLE jobs (
        job TEXT PRIMARY KEY,
        first_cycle_at BIGINT,
        last_cycle_at BIGINT,
        last_success_at BIGINT,
        last_result TEXT,
        last_error TEXT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        blocked_reason TEXT,
        blocked_since BIGINT,
        blocked_until BIGINT,
        header TEXT,
        intake_paused TEXT,
        intake_paused_until BIGINT,
        chart_id BIGINT
    );
    CREATE TABLE leads (
        job TEXT NOT NULL,
        lead_key TEXT NOT NULL,
        first_seen_at BIGINT NOT NULL,
        click_time_ms BIGINT,
        stage_seen_at TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (job, lead_key)
    );
    CREATE TABLE events (
        seq BIGSERIAL,
        job TEXT NOT NULL,
        lead_key TEXT NOT NULL,
        event_name TEXT NOT NULL,
        event_id TEXT,
        event_time BIGINT,
        payload TEXT,
        status TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at BIGINT,
        fbtrace_id TEXT,
        status_at BIGINT,
        input_hash TEXT NOT NULL DEFAULT '',
        match_keys TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (job, lead_key, event_name)
    );
    CREATE INDEX events_due ON events (job, status, next_attempt_at);
    CREATE INDEX events_by_id ON events (job, event_id);
    CREATE TABLE cycles (
        id BIGSERIAL PRIMARY KEY,
        job TEXT NOT NULL,
        started_at BIGINT NOT NULL,
        finished_at BIGINT,
        result TEXT,
        sent INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        error TEXT
    );
    CREATE TABLE resends (
        job TEXT NOT NULL,
        lead_key TEXT NOT NULL,
        event_name TEXT NOT NULL,
        event_id TEXT NOT NULL,
        outcome TEXT NOT NULL,
        at BIGINT NOT NULL
    );
    CREATE TABLE row_digests (
        job TEXT NOT NULL,
        lead_key TEXT NOT NULL,
        digest BIGINT NOT NULL,
        problems TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (job, lead_key)
    );
    CREATE TABLE intake_forms (
        job TEXT NOT NULL,
        form_id TEXT NOT NULL,
        form_name TEXT NOT NULL DEFAULT '',
        checkpoint BIGINT NOT NULL,
        last_fetch_at BIGINT,
        PRIMARY KEY (job, form_id)
    );
    CREATE TABLE intake_leads (
        job TEXT NOT NULL,
        lead_id TEXT NOT NULL,
        form_id TEXT NOT NULL,
        created_time BIGINT NOT NULL,
        appended_at BIGINT NOT NULL,
        PRIMARY KEY (job, lead_id)
    );
    """,
    # Which instance runs each job: a lease row with a fencing token, timed by the database's
    # clock (never an instance's); and each instance's last sign of life.
    """
    CREATE TABLE leases (
        job TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        token BIGINT NOT NULL,
        expires_at DOUBLE PRECISION NOT NULL
    );
    CREATE TABLE instances (
        name TEXT PRIMARY KEY,
        seen_at DOUBLE PRECISION NOT NULL
    );
    CREATE FUNCTION sheetsync_now() RETURNS DOUBLE PRECISION
        AS 'SELECT extract(epoch from clock_timestamp())' LANGUAGE SQL VOLATILE;
    """,
]


class _Translating:
    """The connection as the shared mixins use it (sqlite3's execute / executemany)."""

    def __init__(self, database: PostgresDatabase) -> None:
        self._database = database

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> psycopg.Cursor[Any]:
        return self._database.connection().execute(translate(sql), tuple(parameters))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> psycopg.Cursor[Any]:
        cursor = self._database.connection().cursor()
        batch = [tuple(row) for row in rows]
        if batch:
            cursor.executemany(translate(sql), batch)
        return cursor


class PostgresDatabase:
    def __init__(self, url: str, connection: psycopg.Connection[Any]) -> None:
        self.path = url  # what messages name the store by
        self._url = url
        self._connection = connection
        self._db = _Translating(self)
        self._fence: contextvars.ContextVar[tuple[str, str, int] | None] = contextvars.ContextVar(
            "fence", default=None
        )

    @classmethod
    def open(cls, url: str) -> Self:
        store = cls(url, _connect(url))
        store._migrate()
        return store

    def connection(self) -> psycopg.Connection[Any]:
        """The connection, opened again when the last one broke (the database restarted, the
        network dropped): the step that met the break failed; the next one goes on."""
        if self._connection.closed or self._connection.broken:
            self._connection = _connect(self._url)
        return self._connection

    def close(self) -> None:
        self._connection.close()

    def _migrate(self) -> None:
        with self.connection().transaction():
            # One migrating instance at a time: the others wait, then find the schema current.
            self.connection().execute("SELECT pg_advisory_xact_lock(7356001)")
            self.connection().execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
            )
            row = self.connection().execute("SELECT max(version) FROM schema_version").fetchone()
            version = int(row[0] or 0) if row else 0
            if version > len(MIGRATIONS):
                raise StateError(
                    f"the state database was written by a newer sheetsync (schema {version})"
                )
            for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                self.connection().execute(script)
                self.connection().execute(
                    "INSERT INTO schema_version (version) VALUES (%s)", (number,)
                )

    def import_rows(
        self, tables: Iterable[tuple[str, tuple[str, ...], list[tuple[Any, ...]]]]
    ) -> dict[str, int]:
        """Copy a state's rows in, in one transaction (all or nothing); rows copied per table.
        Refused when the database already holds any of the jobs: a copy never merges."""
        copied: dict[str, int] = {}
        with self.connection().transaction():
            for table, columns, rows in tables:
                if table == "jobs":
                    names = [row[columns.index("job")] for row in rows]
                    taken = (
                        self.connection()
                        .execute("SELECT job FROM jobs WHERE job = ANY(%s)", (names,))
                        .fetchall()
                    )
                    if taken:
                        held = ", ".join(sorted(job for (job,) in taken))
                        raise StateError(
                            f"the state database already has job(s) {held}; nothing was copied",
                            "copy into an empty database, or remove those jobs from it first",
                        )
                marks = ", ".join(["%s"] * len(columns))
                with self.connection().cursor() as cursor:
                    if rows:
                        cursor.executemany(
                            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608 (names from the schema)
                            rows,
                        )
                copied[table] = len(rows)
        return copied

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[_Translating]:
        with self.connection().transaction():
            fence = self._fence.get()
            if fence is not None:
                job, instance, token = fence
                # FOR SHARE: an instance taking the lease over waits for this write to commit.
                held = (
                    self.connection()
                    .execute(
                        "SELECT 1 FROM leases WHERE job = %s AND holder = %s AND token = %s "
                        "AND expires_at > sheetsync_now() FOR SHARE",
                        (job, instance, token),
                    )
                    .fetchone()
                )
                if held is None:
                    raise LeaseLost(
                        f"job {job} is no longer this instance's ({instance}): another instance "
                        "runs it now; nothing more is sent or written for it here"
                    )
            yield self._db

    # --- leases (docs/DESIGN.md, "Growing past one machine") ------------------------------
    def heartbeat(self, instance: str) -> None:
        self.connection().execute(
            "INSERT INTO instances (name, seen_at) VALUES (%s, sheetsync_now()) "
            "ON CONFLICT (name) DO UPDATE SET seen_at = EXCLUDED.seen_at",
            (instance,),
        )

    def take_lease(self, job: str, instance: str, seconds: float) -> int | None:
        with self.connection().transaction():
            self.heartbeat(instance)
            row = (
                self.connection()
                .execute(
                    "INSERT INTO leases (job, holder, token, expires_at) "
                    "VALUES (%s, %s, 1, sheetsync_now() + %s) ON CONFLICT (job) DO UPDATE SET "
                    "token = CASE WHEN leases.holder = EXCLUDED.holder THEN leases.token "
                    "ELSE leases.token + 1 END, holder = EXCLUDED.holder, "
                    "expires_at = EXCLUDED.expires_at WHERE leases.holder = EXCLUDED.holder "
                    "OR leases.expires_at <= sheetsync_now() RETURNING token",
                    (job, instance, seconds),
                )
                .fetchone()
            )
        return int(row[0]) if row else None

    def release_lease(self, job: str, instance: str) -> None:
        self.connection().execute(
            "UPDATE leases SET expires_at = sheetsync_now() WHERE job = %s AND holder = %s",
            (job, instance),
        )

    def leases(self) -> dict[str, tuple[str, float]]:
        rows = (
            self.connection()
            .execute("SELECT job, holder, expires_at - sheetsync_now() FROM leases ORDER BY job")
            .fetchall()
        )
        return {job: (holder, float(left)) for job, holder, left in rows}

    def instances_alive(self, within: float) -> list[str]:
        rows = (
            self.connection()
            .execute(
                "SELECT name FROM instances WHERE seen_at > sheetsync_now() - %s ORDER BY name",
                (within,),
            )
            .fetchall()
        )
        return [name for (name,) in rows]

    @contextlib.contextmanager
    def fenced(self, job: str, instance: str, token: int) -> Iterator[None]:
        reset = self._fence.set((job, instance, token))
        try:
            yield
        finally:
            self._fence.reset(reset)

    def lease_left(self, job: str, instance: str, token: int) -> float:
        row = (
            self.connection()
            .execute(
                "SELECT expires_at - sheetsync_now() FROM leases WHERE job = %s AND holder = %s AND token = %s",
                (job, instance, token),
            )
            .fetchone()
        )
        return float(row[0]) if row else 0.0


def _connect(url: str) -> psycopg.Connection[Any]:
    try:
        # keepalives: a database cut off by the network is noticed within a minute, not hours.
        return psycopg.connect(
            url,
            autocommit=True,
            connect_timeout=10,
            keepalives_idle=20,
            keepalives_interval=5,
            keepalives_count=3,
            # A generic plan for "lead_key IN (500 parameters)" scans the whole table: plan
            # each query for its own values (a 10,000-change burst: 25 s → see BENCHMARKS.md).
            options="-c statement_timeout=60000 -c plan_cache_mode=force_custom_plan",
        )
    except psycopg.Error as error:
        raise StateError(
            f"the state database cannot be reached ({_first_line(error)})",
            "check state_url and that PostgreSQL is running; the password comes from "
            "PGPASSWORD, ~/.pgpass or a service file",
        ) from None


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
