"""The state file's rows, table by table, for `sheetsync copy-state` (moving to PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sheetsync.adapters.sqlite.database import Database

# In the order a copy must insert them; `cycles` keeps its history, ids renumbered by the target.
TABLES = (
    "jobs",
    "leads",
    "events",
    "row_digests",
    "resends",
    "cycles",
    "intake_forms",
    "intake_leads",
)


class ExportRows(Database):
    def export_rows(self) -> Iterator[tuple[str, tuple[str, ...], list[tuple[Any, ...]]]]:
        """(table, columns, rows) for every table of the state, `events` in insertion order."""
        for table in TABLES:
            cursor = self._db.execute(f"SELECT * FROM {table} ORDER BY rowid")  # noqa: S608 (fixed names)
            columns = tuple(
                column[0] for column in cursor.description if table != "cycles" or column[0] != "id"
            )
            rows = cursor.fetchall()
            if table == "cycles":
                rows = [row[1:] for row in rows]  # the id is the target's to give
            yield table, columns, rows
