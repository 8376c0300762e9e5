"""The job health table: each job's cycles, failures in a row, and a pause of its sending."""

from __future__ import annotations

from sheetsync.adapters.sqlite.database import Database
from sheetsync.core.health import JobState

KEPT_CYCLES = 10_000  # per job; older cycle rows are dropped


class HealthTables(Database):
    def job_state(self, job: str) -> JobState:
        row = self._db.execute(
            "SELECT job, first_cycle_at, last_cycle_at, last_success_at, last_result, last_error, "
            "consecutive_failures, blocked_reason, blocked_since, blocked_until FROM jobs "
            "WHERE job = ?",
            (job,),
        ).fetchone()
        return JobState(*row) if row else JobState(job)

    def start_cycle(self, job: str, now: int) -> int:
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO jobs (job) VALUES (?)", (job,))
            cursor = db.execute(
                "INSERT INTO cycles (job, started_at) VALUES (?, ?) RETURNING id", (job, now)
            )
            return int(cursor.fetchone()[0])

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
            db.execute(
                "DELETE FROM cycles WHERE job = ? AND id < ? - ?", (job, cycle_id, KEPT_CYCLES)
            )

    def set_blocked(self, job: str, reason: str | None, now: int, until: int | None = None) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO jobs (job) VALUES (?)", (job,))
            if reason is None:
                db.execute(
                    "UPDATE jobs SET blocked_reason = NULL, blocked_since = NULL, "
                    "blocked_until = NULL WHERE job = ?",
                    (job,),
                )
            else:
                db.execute(
                    "UPDATE jobs SET blocked_reason = ?, blocked_since = COALESCE(blocked_since, ?), "
                    "blocked_until = ? WHERE job = ?",
                    (reason, now, until, job),
                )
