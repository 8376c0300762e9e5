"""The Lead Ads intake's tables: form checkpoints, the leads in the sheet, the intake's pause."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sheetsync.adapters.sqlite.database import Database
from sheetsync.core.records import FormCheckpoint, FormFigures, IntakeLead, IntakeState

_CHUNK = 500  # ids per IN (…) query: under SQLite's variable limit


class IntakeTables(Database):
    def intake_checkpoints(self, job: str) -> dict[str, int]:
        return dict(
            self._db.execute(
                "SELECT form_id, checkpoint FROM intake_forms WHERE job = ?", (job,)
            ).fetchall()
        )

    def intake_known(self, job: str, lead_ids: Iterable[str]) -> set[str]:
        wanted = list(dict.fromkeys(lead_ids))
        known: set[str] = set()
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            known.update(
                lead_id
                for (lead_id,) in self._db.execute(
                    f"SELECT lead_id FROM intake_leads WHERE job = ? AND lead_id IN ({marks})",  # noqa: S608 (only ? placeholders are joined in)
                    (job, *chunk),
                )
            )
        return known

    def record_intake(
        self,
        job: str,
        leads: Sequence[IntakeLead],
        checkpoints: Sequence[FormCheckpoint],
        now: int,
    ) -> None:
        with self._transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO intake_leads (job, lead_id, form_id, created_time, "
                "appended_at) VALUES (?, ?, ?, ?, ?)",
                [(job, lead.lead_id, lead.form_id, lead.created_time, now) for lead in leads],
            )
            db.executemany(
                "INSERT INTO intake_forms (job, form_id, form_name, checkpoint, last_fetch_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (job, form_id) DO UPDATE SET "
                "form_name = excluded.form_name, last_fetch_at = excluded.last_fetch_at, "
                "checkpoint = MAX(intake_forms.checkpoint, excluded.checkpoint)",
                [(job, c.form_id, c.form_name, c.checkpoint, now) for c in checkpoints],
            )
            db.execute(
                "UPDATE jobs SET intake_paused = NULL, intake_paused_until = NULL WHERE job = ?",
                (job,),
            )

    def set_intake_pause(self, job: str, reason: str | None, until: int | None) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO jobs (job) VALUES (?)", (job,))
            db.execute(
                "UPDATE jobs SET intake_paused = ?, intake_paused_until = ? WHERE job = ?",
                (reason, until if reason else None, job),
            )

    def intake_state(self, job: str, since: int) -> IntakeState:
        paused = self._db.execute(
            "SELECT intake_paused, intake_paused_until FROM jobs WHERE job = ?", (job,)
        ).fetchone()
        forms = tuple(
            FormFigures(form_id, name, checkpoint, fetched, recent or 0, total or 0)
            for form_id, name, checkpoint, fetched, recent, total in self._db.execute(
                "SELECT f.form_id, f.form_name, f.checkpoint, f.last_fetch_at, "
                "SUM(l.appended_at >= ?), COUNT(l.lead_id) FROM intake_forms f "
                "LEFT JOIN intake_leads l ON l.job = f.job AND l.form_id = f.form_id "
                "WHERE f.job = ? GROUP BY f.form_id, f.form_name, f.checkpoint, f.last_fetch_at "
                "ORDER BY f.form_name, f.form_id",
                (since, job),
            )
        )
        reason, until = paused if paused else (None, None)
        return IntakeState(reason, until, forms)
