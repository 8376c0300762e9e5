"""`sheetsync dry-run`: the cycle's own decide and render, printed instead of carried out.

Every row is parsed (nothing is remembered between dry runs), the status columns a real cycle
would add are imagined, and what Meta's answers would do to the memory is simulated by
`memory_after`. Sends nothing, writes nothing, records nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sheetsync.app.columns import ColumnReader
from sheetsync.core.config import JobConfig, funnel
from sheetsync.core.decide import RowsSeen, decide, render
from sheetsync.core.plan import Memory, memory_after
from sheetsync.core.ports import SheetPort, Store
from sheetsync.core.status import JobView


def dry_run_lines(
    job: JobConfig,
    sheet: SheetPort,
    store: Store | None,
    now: int,
    cell_ref: Callable[[int, int], str],
) -> list[dict[str, Any]]:
    """JSON-ready lines: one per event that would be sent, one per cell that would be written."""
    table, columns, _ = ColumnReader(job, sheet, imagine_headers=True).read()
    remembered = store.memory(job.name) if store else Memory(first_cycle=True)
    decision = decide(table, columns, lambda keys: remembered, job, now, RowsSeen())
    decided = decision.plan
    rows = {lead.key: lead.row for lead in decided.leads}
    lines: list[dict[str, Any]] = [
        {
            "job": job.name,
            "lead_key": event.lead_key,
            "row": rows.get(event.lead_key),
            "event": dict(event.payload),
        }
        for event in decided.events
    ]
    after = memory_after(remembered, decided, now)
    events = [stage.event for stage in funnel(job)]
    blocked = store.job_state(job.name).blocked_reason if store else None
    changes = render(
        decided.leads, decided, after, columns, JobView(job.test_event_code, blocked), events
    )
    lines += [
        {"job": job.name, "cell": cell_ref(rows[key], column), "value": text}
        for key, pairs in changes.items()
        for column, text in pairs
    ]
    return lines
