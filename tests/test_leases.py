"""Job leases on a real PostgreSQL (issue #15): one holder at a time, the database's clock,
fencing of every write, release on demand, and jobs spread over the live instances."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from sheetsync.adapters.postgres import PostgresStore
from sheetsync.app.leases import LeaseKeeper
from sheetsync.core.errors import LeaseLost
from sheetsync.core.plan import Observation, Plan

NOW = 1_795_000_000


@pytest.fixture
def url(postgres: Any) -> str:
    return str(postgres.new_database())


@pytest.fixture
def two(url: str) -> Iterator[tuple[PostgresStore, PostgresStore]]:
    """Two instances' connections to one state."""
    first, second = PostgresStore.open(url), PostgresStore.open(url)
    yield first, second
    first.close()
    second.close()


def a_plan(key: str) -> Plan:
    return Plan((), (), (Observation(key, NOW, None, {"Lead": NOW}),), (), (), {})


def test_one_holder_at_a_time_and_a_frozen_one_writes_nothing(
    two: tuple[PostgresStore, PostgresStore],
) -> None:
    a, b = two
    token = a.take_lease("sales", "A", 0.5)
    assert token == 1 and a.take_lease("sales", "A", 0.5) == 1  # renewed: the same token
    assert b.take_lease("sales", "B", 0.5) is None  # held by A
    with a.fenced("sales", "A", token):
        a.record_plan("sales", a_plan("k1"), NOW)  # A holds it: written
    time.sleep(0.6)  # A is frozen past its lease
    assert b.take_lease("sales", "B", 30) == 2  # B takes over, with a new token
    with a.fenced("sales", "A", token), pytest.raises(LeaseLost, match="another instance runs it"):
        a.record_plan("sales", a_plan("k2"), NOW)
    assert set(b.memory("sales").leads) == {"k1"}  # nothing of A's after the lease moved
    assert a.lease_left("sales", "A", token) == 0.0
    assert 25 < b.lease_left("sales", "B", 2) <= 30
    assert b.leases()["sales"][0] == "B"


def test_a_released_lease_is_taken_at_once(two: tuple[PostgresStore, PostgresStore]) -> None:
    a, b = two
    assert a.take_lease("sales", "A", 60) == 1
    a.release_lease("sales", "A")  # SIGTERM
    assert b.take_lease("sales", "B", 60) == 2


def test_jobs_spread_over_the_live_instances(two: tuple[PostgresStore, PostgresStore]) -> None:
    a, b = two
    jobs = ["j1", "j2", "j3"]
    first = LeaseKeeper(a, "A", 30, jobs)
    assert all(first.claim(job) for job in jobs)  # alone, A runs every job
    second = LeaseKeeper(b, "B", 30, jobs)
    assert [second.claim(job) for job in jobs] == [None, None, None]  # all held by A
    assert [first.claim(job) is not None for job in jobs].count(True) == 2  # A lets one go
    assert [second.claim(job) is not None for job in jobs].count(True) == 1  # and B takes it
    holders = [holder for holder, _ in a.leases().values()]
    assert sorted(holders) == ["A", "A", "B"]  # ⌈3 / 2⌉ = 2 at most each
