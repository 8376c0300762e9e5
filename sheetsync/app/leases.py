"""This instance's side of the job leases, when several instances share a PostgreSQL state.

Each tick of a job first claims its lease (taken, or renewed, for `lease_seconds` of the
database's clock). Jobs spread over the live instances: an instance takes a free job only while
it holds fewer than ⌈jobs / live instances⌉, and lets one go when it holds more, so with every
instance healthy none holds more than that plus one (while a newcomer is being counted). The
log says when a job arrives on this instance or leaves it.
"""

from __future__ import annotations

import logging
import math

from sheetsync.core.ports import Store

log = logging.getLogger("sheetsync.leases")


class LeaseKeeper:
    def __init__(self, store: Store, instance: str, seconds: float, jobs: list[str]) -> None:
        self.store = store
        self.instance = instance
        self.seconds = seconds
        self.jobs = jobs
        self._mine: set[str] = set()

    @property
    def held(self) -> frozenset[str]:
        return frozenset(self._mine)

    def claim(self, job: str) -> int | None:
        """The job's fencing token when this instance runs it now; None when it does not."""
        held = {name for name, (holder, left) in self.store.leases().items()
                if holder == self.instance and left > 0}  # fmt: skip
        alive = set(self.store.instances_alive(self.seconds)) | {self.instance}
        share = math.ceil(len(self.jobs) / len(alive))
        if job in held and len(held) > share:
            self.store.release_lease(job, self.instance)  # another instance has room for it
            self._lost(job, "to spread the jobs over the live instances")
            return None
        if job not in held and len(held) >= share:
            self.store.heartbeat(self.instance)  # alive, with its hands full
            self._lost(job, "")
            return None
        token = self.store.take_lease(job, self.instance, self.seconds)
        if token is None:
            self._lost(job, "")
            return None
        if job not in self._mine:
            self._mine.add(job)
            log.info("job %s arrives on instance %s (lease token %d)", job, self.instance, token)
        return token

    def _lost(self, job: str, why: str) -> None:
        if job in self._mine:
            self._mine.discard(job)
            log.warning("job %s leaves instance %s%s", job, self.instance, f" {why}" if why else "")

    def lost(self, job: str) -> None:
        """The cycle found the lease gone (this instance was frozen or cut off past it)."""
        self._lost(job, "(its lease passed to another instance)")

    def release_all(self) -> None:
        """On SIGTERM: every job may move at once (a rolling restart waits for no lease)."""
        for job in sorted(self._mine):
            self.store.release_lease(job, self.instance)
            log.info("job %s released by instance %s", job, self.instance)
        self._mine.clear()
