"""Leases on SQLite: the state file has one user at a time (its lock), so every lease is its own."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

from sheetsync.adapters.sqlite.database import Database


class SoleLeases(Database):
    def take_lease(self, job: str, instance: str, seconds: float) -> int | None:
        return 1

    def release_lease(self, job: str, instance: str) -> None:
        return None

    def heartbeat(self, instance: str) -> None:
        return None

    def leases(self) -> dict[str, tuple[str, float]]:
        return {}

    def instances_alive(self, within: float) -> list[str]:
        return []

    @contextlib.contextmanager
    def fenced(self, job: str, instance: str, token: int) -> Iterator[None]:
        yield

    def lease_left(self, job: str, instance: str, token: int) -> float:
        return math.inf
