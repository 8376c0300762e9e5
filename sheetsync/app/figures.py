"""A job's figures from what the store holds: shared by `status`, the summary tab and metrics."""

from __future__ import annotations

from sheetsync.core.config import JobConfig
from sheetsync.core.health import JobStatus, job_figures
from sheetsync.core.ports import Store

DAY = 86400


def job_status(store: Store, job: JobConfig, now: float) -> JobStatus:
    """The job's figures from what the store holds (shared by `status` and the summary tab)."""
    rows_with_problems, kinds = store.problem_counts(job.name)
    return job_figures(
        job,
        store.job_state(job.name),
        store.event_rows(job.name),
        store.leads_seen_since(job.name, int(now - 30 * DAY)),
        store.lead_count(job.name),
        kinds,
        rows_with_problems,
        now,
    )
