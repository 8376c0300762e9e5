"""Read-only views of the state for `status`, the summary tab and metrics."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sheetsync.adapters.sqlite.database import Database
from sheetsync.adapters.sqlite.memory import PROBLEM_SEPARATOR


class QueryViews(Database):
    def event_rows(self, job: str) -> list[dict[str, Any]]:
        cursor = self._db.execute(
            "SELECT lead_key, event_name, status, event_time, status_at, detail, match_keys FROM events "
            "WHERE job = ?",
            (job,),
        )
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def leads_seen_since(self, job: str, since: int) -> set[str]:
        return {
            key
            for (key,) in self._db.execute(
                "SELECT lead_key FROM leads WHERE job = ? AND first_seen_at >= ?", (job, since)
            )
        }

    def problem_counts(self, job: str) -> tuple[int, Counter[str]]:
        """(rows showing a problem, rows by kind of problem), as of each row's last parse."""
        rows = 0
        kinds: Counter[str] = Counter()
        for (problems,) in self._db.execute(
            "SELECT problems FROM row_digests WHERE job = ? AND problems != ''", (job,)
        ):
            rows += 1
            kinds.update(problems.split(PROBLEM_SEPARATOR))
        return rows, kinds
