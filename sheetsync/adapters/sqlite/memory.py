"""The planner's memory: leads seen, their events, and what each row held (digest and problems)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from sheetsync.adapters.sqlite.database import Database
from sheetsync.core.plan import EventMemory, LeadMemory, Memory

EVENTS_QUERY = (
    "SELECT lead_key, event_name, status, event_time, event_id, detail, status_at, input_hash, "
    "match_keys FROM events "
)
PROBLEM_SEPARATOR = "\n"  # problem kinds never hold a line break (they come from status texts)


class MemoryTables(Database):
    def memory(self, job: str, keys: Iterable[str] | None = None) -> Memory:
        """What sheetsync remembers of a job's leads: all of them, or only `keys`."""
        first_cycle = (
            self._db.execute(
                "SELECT first_cycle_at FROM jobs WHERE job = ? AND first_cycle_at IS NOT NULL",
                (job,),
            ).fetchone()
            is None
        )
        leads: dict[str, dict[str, Any]] = {}
        key_lists: dict[str, tuple[str, ...]] = {}
        for where, args in _lead_filters(job, keys):
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
            for row in self._db.execute(EVENTS_QUERY + where, args):
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

    def row_digests(self, job: str) -> dict[str, int]:
        """What each lead's row held after the last cycle that parsed it (stable digests)."""
        return dict(
            self._db.execute("SELECT lead_key, digest FROM row_digests WHERE job = ?", (job,))
        )

    def row_problems(self, job: str) -> dict[str, tuple[str, ...]]:
        """The kinds of problem each row showed after the last cycle that parsed it."""
        return {
            key: tuple(problems.split(PROBLEM_SEPARATOR))
            for key, problems in self._db.execute(
                "SELECT lead_key, problems FROM row_digests WHERE job = ? AND problems != ''",
                (job,),
            )
        }

    def save_rows(
        self,
        job: str,
        digests: Mapping[str, int],
        problems: Mapping[str, tuple[str, ...]],
        gone: Iterable[str] = (),
    ) -> None:
        """What the parsed rows hold now, with their problems; forget rows that are `gone`."""
        gone = list(gone)
        if not digests and not gone:
            return
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO row_digests (job, lead_key, digest, problems) VALUES (?, ?, ?, ?)",
                [
                    (job, key, digest, PROBLEM_SEPARATOR.join(problems.get(key, ())))
                    for key, digest in digests.items()
                ],
            )
            db.executemany(
                "DELETE FROM row_digests WHERE job = ? AND lead_key = ?",
                [(job, key) for key in gone],
            )

    def saved_header(self, job: str) -> tuple[str, ...] | None:
        """The header row the job's last cycle read, if any."""
        row = self._db.execute("SELECT header FROM jobs WHERE job = ?", (job,)).fetchone()
        return tuple(json.loads(row[0])) if row and row[0] else None

    def save_header(self, job: str, header: tuple[str, ...]) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO jobs (job) VALUES (?)", (job,))
            db.execute("UPDATE jobs SET header = ? WHERE job = ?", (json.dumps(header), job))

    def chart_id(self, job: str) -> int | None:
        """The id of the chart sheetsync made on the job's summary tab, if any."""
        row = self._db.execute("SELECT chart_id FROM jobs WHERE job = ?", (job,)).fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def save_chart_id(self, job: str, chart_id: int) -> None:
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO jobs (job) VALUES (?)", (job,))
            db.execute("UPDATE jobs SET chart_id = ? WHERE job = ?", (chart_id, job))

    def lead_count(self, job: str) -> int:
        return int(
            self._db.execute("SELECT COUNT(*) FROM leads WHERE job = ?", (job,)).fetchone()[0]
        )


def _lead_filters(job: str, keys: Iterable[str] | None) -> Iterator[tuple[str, tuple[Any, ...]]]:
    if keys is None:
        yield "WHERE job = ?", (job,)
        return
    wanted = sorted(set(keys))
    for start in range(0, len(wanted), 500):  # SQLite caps the number of parameters
        chunk = wanted[start : start + 500]
        yield f"WHERE job = ? AND lead_key IN ({','.join('?' * len(chunk))})", (job, *chunk)


def _stage_times(text: str) -> dict[str, int]:
    # Event names repeat across every lead: one shared string each, not one per lead.
    return {sys.intern(name): moment for name, moment in json.loads(text).items()}
