"""A job's figures from what the store holds: shared by `status`, the summary tab and metrics."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from sheetsync.core.config import JobConfig
from sheetsync.core.health import DAY, JobStatus, job_figures
from sheetsync.core.ports import Store


def job_status(
    store: Store,
    job: JobConfig,
    now: float,
    problems: Mapping[str, tuple[str, ...]] | None = None,
) -> JobStatus:
    """The job's figures from what the store holds (shared by `status` and the summary tab).

    `problems`: each row's problem kinds when the caller holds fresher ones than the store (a
    cycle between its parse and its save); otherwise the store's are counted."""
    if problems is None:
        rows_with_problems, kinds = store.problem_counts(job.name)
    else:
        rows_with_problems = len(problems)
        kinds = Counter(kind for row in problems.values() for kind in row)
    figures = job_figures(
        job,
        store.job_state(job.name),
        store.event_rows(job.name),
        store.leads_seen_since(job.name, int(now - 30 * DAY)),
        store.lead_count(job.name),
        kinds,
        rows_with_problems,
        now,
    )
    if job.lead_ads is not None:
        figures.lead_ads = store.intake_state(job.name, int(now // DAY * DAY))  # since midnight UTC
    return figures
