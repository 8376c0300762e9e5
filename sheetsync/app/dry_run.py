"""`sheetsync dry-run`: the cycle's own decide and render, printed instead of carried out.

Every row is parsed (nothing is remembered between dry runs), the status columns a real cycle
would add are imagined, and what Meta's answers would do to the memory is simulated by
`memory_after`. Sends nothing, writes nothing, records nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sheetsync.app import intake
from sheetsync.app.columns import ColumnReader
from sheetsync.core.config import JobConfig, LeadAdsConfig, funnel
from sheetsync.core.decide import RowsSeen, decide, render
from sheetsync.core.errors import SheetsyncError
from sheetsync.core.intake import new_leads
from sheetsync.core.plan import Memory, memory_after
from sheetsync.core.ports import LeadSource, SheetPort, Store
from sheetsync.core.status import JobView
from sheetsync.core.table import Layout
from sheetsync.core.text import cell_text


def dry_run_lines(
    job: JobConfig,
    sheet: SheetPort,
    store: Store | None,
    now: int,
    cell_ref: Callable[[int, int], str],
    leads: LeadSource | None = None,
) -> list[dict[str, Any]]:
    """JSON-ready lines: one per event that would be sent, one per cell that would be written,
    one per Lead Ads lead that would be appended (as the row it would become)."""
    reader = ColumnReader(job, sheet, imagine_headers=True)
    table, columns, _ = reader.read()
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
    if job.lead_ads is not None and leads is not None:
        assert reader.layout is not None
        in_sheet = {cell_text(v) for v in table.columns.get(columns.fields["lead_id"], ())}
        lines += _appends(job, job.lead_ads, leads, store, now, in_sheet, reader.layout)
    return lines


def _appends(
    job: JobConfig,
    lead_ads: LeadAdsConfig,
    source: LeadSource,
    store: Store | None,
    now: int,
    in_sheet: set[str],
    layout: Layout,
) -> list[dict[str, Any]]:
    """The rows the Lead Ads intake would append now (or why it would not)."""
    checkpoints = store.intake_checkpoints(job.name) if store else {}
    try:
        forms, fetched = intake.fetch(source, lead_ads, checkpoints, now)
    except SheetsyncError as error:
        return [{"job": job.name, "lead_ads": f"paused: {error}"}]
    known = store.intake_known(job.name, [lead.id for lead in fetched]) if store else set()
    fresh, _ = new_leads(fetched, in_sheet, known)
    header = layout.names
    return [
        {"job": job.name, "append": {header[i]: text for i, text in enumerate(row) if text}}
        for row in intake.rows(job, fresh, forms, layout)
    ]
