"""The embedded state store: one SQLite file, split by concern, behind sheetsync.core.ports.Store."""

from __future__ import annotations

from sheetsync.adapters.sqlite.export import ExportRows
from sheetsync.adapters.sqlite.health import HealthTables
from sheetsync.adapters.sqlite.intake import IntakeTables
from sheetsync.adapters.sqlite.leases import SoleLeases
from sheetsync.adapters.sqlite.memory import MemoryTables
from sheetsync.adapters.sqlite.outbox import OutboxTables
from sheetsync.adapters.sqlite.queries import QueryViews


class SqliteStore(
    OutboxTables, MemoryTables, HealthTables, QueryViews, IntakeTables, ExportRows, SoleLeases
):
    """`SqliteStore.open(path)` takes the file's lock; `open(path, lock=False)` reads beside a
    running daemon (status, dry-run)."""


__all__ = ["SqliteStore"]
