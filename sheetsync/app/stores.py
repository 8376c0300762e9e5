"""Which state store a config names, opened the one way every command opens it.

`state_path` (the default): SQLite, one process at a time. `state_url`: PostgreSQL, shared by
several instances (docs/DESIGN.md, "Growing past one machine").
"""

from __future__ import annotations

from sheetsync.adapters.sqlite import SqliteStore
from sheetsync.core.config import Config
from sheetsync.core.errors import StateError
from sheetsync.core.ports import Store


def open_store(config: Config, *, reader: bool = False) -> Store | None:
    """The store; None for a reader (status, dry-run) when a SQLite state file does not exist
    yet. A reader never takes SQLite's lock, so it works beside a running daemon."""
    if config.state_url:
        from sheetsync.adapters.postgres import PostgresStore  # psycopg only when asked for

        return PostgresStore.open(config.state_url)
    if reader:
        path = config.state_path
        return SqliteStore.open(path, lock=False) if path.exists() else None
    return SqliteStore.open(config.state_path)


def open_for_reading(config: Config, missing: str) -> Store:
    """The store for a report; `missing` says why there is none yet (no state file)."""
    store = open_store(config, reader=True)
    if store is None:
        raise StateError(missing.format(path=config.state_path))
    return store


def where(config: Config) -> str:
    """The store, as messages name it (never with a password: the URL holds none)."""
    return config.state_url or str(config.state_path)


def copy_state(config: Config, url: str) -> dict[str, int]:
    """The config's SQLite state into the PostgreSQL database at `url`, whole and at once: leads,
    events with their ids and payloads (pending ones included, so nothing is resent or lost),
    row digests, cycles, the intake. Takes the state file's lock: the daemon must be stopped."""
    from urllib.parse import urlsplit

    from sheetsync.adapters.postgres import PostgresStore

    if config.state_url:
        raise StateError("this config already uses state_url: there is no state file to copy")
    if urlsplit(url).scheme not in ("postgresql", "postgres") or urlsplit(url).password:
        raise StateError(
            "--to must be a postgresql:// URL without a password",
            "libpq finds the password in PGPASSWORD, ~/.pgpass or a service file",
        )
    source = SqliteStore.open(config.state_path)
    try:
        target = PostgresStore.open(url)
        try:
            return target.import_rows(source.export_rows())
        finally:
            target.close()
    finally:
        source.close()
