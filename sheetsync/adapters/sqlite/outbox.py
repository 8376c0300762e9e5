"""The outbox tables: events recorded before they are sent, their outcomes after Meta answered.

What an outcome does to an event (its next status, when to try again, when it is too late) is
decided by sheetsync.core.outbox; these methods only persist it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sheetsync.adapters.sqlite.database import Database
from sheetsync.core import outbox
from sheetsync.core.outbox import EventStatus
from sheetsync.core.plan import Plan
from sheetsync.core.records import OutboxEvent, Outcome


class OutboxTables(Database):
    def record_plan(self, job: str, plan: Plan, now: int, *, sheet_complete: bool = True) -> None:
        """Intent before sending. The job's first cycle ends with the first plan that covered the
        whole sheet (a big sheet may be adopted over two cycles)."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO jobs (job, first_cycle_at) VALUES (?, ?) ON CONFLICT (job) DO UPDATE "
                "SET first_cycle_at = COALESCE(jobs.first_cycle_at, excluded.first_cycle_at)",
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
                "VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)",
                [
                    (
                        job,
                        e.lead_key,
                        e.event_name,
                        e.event_id,
                        e.event_time,
                        json.dumps(dict(e.payload)),
                        EventStatus.PENDING.value,
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

    def pending_keys(self, job: str) -> set[str]:
        """Leads with an event waiting to be sent: parsed every cycle until it goes out or expires."""
        return {
            key
            for (key,) in self._db.execute(
                "SELECT lead_key FROM events WHERE job = ? AND status = 'pending'",  # no DISTINCT: it skips the index
                (job,),
            )
        }

    def expire_stale(self, job: str, now: int, detail: str) -> list[str]:
        """Pending events that can no longer reach Meta in time: say so. Returns their lead keys."""
        cutoff = outbox.send_cutoff(now)
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
                    "UPDATE events SET status = ?, detail = ?, status_at = ? "
                    "WHERE job = ? AND status = 'pending' AND event_time < ?",
                    (EventStatus.EXPIRED.value, detail, now, job, cutoff),
                )
        return keys

    def record_outcomes(self, job: str, outcomes: Iterable[Outcome], now: int) -> None:
        """After Meta answered: each event's new status, or when to try it again."""
        settled: list[tuple[Outcome, EventStatus]] = []
        waiting: list[tuple[Outcome, EventStatus]] = []
        for outcome in outcomes:
            status = outbox.status_after(outcome.kind)
            (waiting if status is EventStatus.PENDING else settled).append((outcome, status))
        with self._transaction() as db:
            # One statement for every settled event (a burst is thousands: one round trip each
            # would dominate on a database across the network).
            db.executemany(
                "UPDATE events SET status = ?, detail = ?, fbtrace_id = ?, status_at = ?, "
                "attempts = attempts + 1 WHERE job = ? AND event_id = ?",
                [
                    (
                        status.value,
                        outcome.detail if status is EventStatus.FAILED else "",
                        outcome.fbtrace_id,
                        now,
                        job,
                        outcome.event_id,
                    )
                    for outcome, status in settled
                ],
            )
            for outcome, _ in waiting:
                attempts = db.execute(
                    "SELECT attempts FROM events WHERE job = ? AND event_id = ?",
                    (job, outcome.event_id),
                ).fetchone()
                wait = outbox.retry_delay(
                    attempts[0] if attempts else 0, outcome.kind, outcome.retry_after
                )
                db.execute(
                    "UPDATE events SET detail = ?, attempts = attempts + 1, next_attempt_at = ?, "
                    "status_at = COALESCE(status_at, ?) WHERE job = ? AND event_id = ?",
                    (outcome.detail, now + wait, now, job, outcome.event_id),
                )

    def sent_payloads(
        self, job: str, lead_key: str, event_name: str | None
    ) -> list[tuple[str, dict[str, Any], int]]:
        """(event name, payload, resends so far) of a lead's sent events."""
        rows = self._db.execute(
            "SELECT e.event_name, e.payload, (SELECT COUNT(*) FROM resends r WHERE r.job = e.job AND "
            "r.lead_key = e.lead_key AND r.event_name = e.event_name) FROM events e WHERE e.job = ? AND "
            "e.lead_key = ? AND e.status = 'sent' AND (CAST(? AS TEXT) IS NULL OR e.event_name = ?) "
            "ORDER BY e.event_time",
            (job, lead_key, event_name, event_name),
        ).fetchall()
        return [(name, json.loads(payload), count) for name, payload, count in rows]

    def record_resend(
        self, job: str, lead_key: str, event_name: str, event_id: str, outcome: str, now: int
    ) -> None:
        """A resend's intent (outcome 'pending') before it is sent, then its outcome."""
        with self._transaction() as db:
            updated = db.execute(
                "UPDATE resends SET outcome = ?, at = ? WHERE job = ? AND event_id = ?",
                (outcome, now, job, event_id),
            ).rowcount
            if not updated:
                db.execute(
                    "INSERT INTO resends (job, lead_key, event_name, event_id, outcome, at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (job, lead_key, event_name, event_id, outcome, now),
                )
