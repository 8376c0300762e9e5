"""The shared state store on PostgreSQL (issue #15): the same store as SQLite's — the same
mixins, the same SQL, translated by `dialect` — on a database several instances can share.

`PostgresStore.open(url)` connects (libpq finds the password: PGPASSWORD, ~/.pgpass, a service
file; never the YAML) and migrates. Payloads are kept as text, byte for byte (not JSONB, which
reorders keys), so a resend after a failover is the identical event.
"""

from __future__ import annotations

from sheetsync.adapters.postgres.database import PostgresDatabase
from sheetsync.adapters.sqlite.health import HealthTables
from sheetsync.adapters.sqlite.intake import IntakeTables
from sheetsync.adapters.sqlite.memory import MemoryTables
from sheetsync.adapters.sqlite.outbox import OutboxTables
from sheetsync.adapters.sqlite.queries import QueryViews


class PostgresStore(  # type: ignore[misc]  # PostgresDatabase stands in for the SQLite file
    PostgresDatabase, OutboxTables, MemoryTables, HealthTables, QueryViews, IntakeTables
):
    """Every Store method, on PostgreSQL."""


__all__ = ["PostgresStore"]
