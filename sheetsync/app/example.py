"""The example job: the demo sheet's columns and funnel, as config.example.yaml describes them.

One home for the job that the demo runs, the tests drive and the benchmark measures; each
passes only what differs (its name, how it starts, where the sheet is).
"""

from __future__ import annotations

from typing import Any

HEADER = ["Name", "Email", "Phone", "Lead ID", "fbclid", "Created", "Stage", "Deal Value"]
COLUMNS = {
    "email": "Email",
    "phone": "Phone",
    "lead_id": "Lead ID",
    "fbclid": "fbclid",
    "created_at": "Created",
    "stage": "Stage",
}
STAGES: dict[str, Any] = {  # in funnel order: YAML and dicts keep it
    "New": "Lead",
    "Qualified": {"event": "QualifiedLead", "value": 100},
    "Meeting Booked": "Schedule",
    "Won": {"event": "Purchase", "value_column": "Deal Value"},
}


def example_job(**overrides: Any) -> dict[str, Any]:
    """The job as config data (before validation), with `overrides` applied on top."""
    job: dict[str, Any] = {
        "name": "sales",
        "spreadsheet": "demo",
        "worksheet": "Leads",
        "dataset_id": "123456789012345",
        "poll_interval": "60s",
        "default_country": "US",
        "currency": "USD",
        "initial_sync": "recent",
        "columns": dict(COLUMNS),
        "stages": dict(STAGES),
        "ignore_stages": ["Lost"],
    }
    job.update(overrides)
    return job
