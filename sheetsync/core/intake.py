"""Lead Ads intake rules (issue #14), pure: which fetched leads are new, and the row each becomes.

A lead is appended once: not when its id already stands in the sheet's lead id column (wherever
a person moved the row), nor when the state says it was appended before (a person may have
deleted the row on purpose). Ids are text throughout, never numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sheetsync.core.config import JobConfig, LeadAdsConfig
from sheetsync.core.records import FormCheckpoint, IntakeLead
from sheetsync.core.table import Layout
from sheetsync.core.text import fold

# Meta may list a lead late, with a created time older than leads already fetched: each fetch
# reaches back this far before the checkpoint, and duplicates are dropped by id.
OVERLAP = 3600
ANSWER_SEPARATOR = ", "  # the values of a multiple-choice answer, in one cell


@dataclass(frozen=True)
class LeadForm:
    id: str
    name: str
    status: str = "ACTIVE"
    questions: tuple[str, ...] = ()  # the form's question keys (email, phone_number, custom …)


@dataclass(frozen=True)
class FetchedLead:
    id: str
    created_time: int  # Unix seconds
    form_id: str
    answers: tuple[tuple[str, tuple[str, ...]], ...] = ()  # question key → values, form order
    ad_name: str = ""
    campaign_name: str = ""
    is_organic: bool = False


def fetch_since(checkpoint: int | None, now: int, lead_ads: LeadAdsConfig) -> int:
    """The `time_created` a form's fetch starts after: the lookback on the first run, else the
    checkpoint less the overlap."""
    if checkpoint is None:
        return now - lead_ads.lookback_days * 86_400
    return checkpoint - OVERLAP


def new_leads(
    fetched: Iterable[FetchedLead], in_sheet: set[str], known: set[str]
) -> tuple[list[FetchedLead], list[FetchedLead]]:
    """(to append, oldest first; already in the sheet but not yet recorded)."""
    unique = {lead.id: lead for lead in fetched}  # a lead on two pages (the overlap) counts once
    fresh = [lead for lead in unique.values() if lead.id not in in_sheet and lead.id not in known]
    found = [lead for lead in unique.values() if lead.id in in_sheet and lead.id not in known]
    return sorted(fresh, key=lambda lead: (lead.created_time, lead.id)), found


def checkpoints(
    fetched: Iterable[FetchedLead], forms: Iterable[LeadForm], before: Mapping[str, int], now: int
) -> list[FormCheckpoint]:
    """Each form's newest created time fetched (never back in time; never past now)."""
    newest: dict[str, int] = {}
    for lead in fetched:
        newest[lead.form_id] = max(newest.get(lead.form_id, 0), min(lead.created_time, now))
    result = []
    for form in forms:
        moment = max(newest.get(form.id, 0), before.get(form.id, 0))
        result.append(FormCheckpoint(form.id, form.name, moment or now - OVERLAP))
    return result


def recorded(leads: Iterable[FetchedLead]) -> list[IntakeLead]:
    return [IntakeLead(lead.id, lead.form_id, lead.created_time) for lead in leads]


def lead_row(
    lead: FetchedLead, job: JobConfig, layout: Layout, form_names: Mapping[str, str]
) -> list[str]:
    """The new row, as text, in the sheet's own column order."""
    lead_ads = job.lead_ads
    assert lead_ads is not None
    cells: dict[str, str] = {}
    columns = job.columns
    assert columns.lead_id and columns.created_at and columns.stage
    cells[columns.lead_id] = lead.id
    cells[columns.created_at] = datetime.fromtimestamp(lead.created_time, UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )  # an instant, whatever the sheet's time zone
    # The stage as the config spells it (the dropdown's own label).
    cells[columns.stage] = next(
        (label for label in job.stages if fold(label) == fold(lead_ads.stage)), lead_ads.stage
    )
    other: list[str] = []
    answered = {key for key, _ in lead.answers}
    for key, values in lead.answers:
        text = ANSWER_SEPARATOR.join(value.strip() for value in values)
        header = answer_header(key, job)
        if header:
            cells.setdefault(header, text)
        elif text:
            other.append(f"{key}: {text}")
        if key == "full_name" and not answered & {"first_name", "last_name"}:
            # A full name feeds the first and last name match keys when the sheet has them.
            first, _, last = text.rpartition(" ")
            for header, part in ((columns.first_name, first), (columns.last_name, last)):
                if header and part:
                    cells.setdefault(header, part)
    if is_test_lead(lead):
        other.insert(0, TEST_LEAD_MARK)
    if lead.is_organic:
        other.append("source: organic (not from an ad)")
    if lead_ads.other_answers and other:
        cells[lead_ads.other_answers] = "\n".join(other)
    where = lead_ads.columns
    form = form_names.get(lead.form_id, lead.form_id)
    for header, text in (
        (where.form, f"{form} (test lead)" if is_test_lead(lead) else form),
        (where.ad, lead.ad_name),
        (where.campaign, lead.campaign_name),
    ):
        if header:
            cells[header] = text
    row = [""] * layout.width
    for header, text in cells.items():
        positions = layout.positions_of(header)
        if positions:
            row[positions[0] - 1] = text
    while row and row[-1] == "":
        row.pop()
    return row


TEST_LEAD_MARK = "TEST LEAD (from Meta's Lead Ads Testing Tool)"


def is_test_lead(lead: FetchedLead) -> bool:
    """Meta's Lead Ads Testing Tool fills every answer with "<test lead: dummy data for …>"."""
    return any(
        value.strip().lower().startswith("<test lead")
        for _, values in lead.answers
        for value in values
    )


# Meta's standard question keys → the job's column they fill when `answers` does not name one,
# so an email or a phone from a form feeds the match keys through the usual normalisation.
STANDARD_ANSWERS = {
    "email": "email",
    "phone_number": "phone",
    "first_name": "first_name",
    "last_name": "last_name",
    "date_of_birth": "date_of_birth",
    "gender": "gender",
    "city": "city",
    "state": "state",
    "province": "state",
    "zip_code": "zip",
    "post_code": "zip",
    "country": "country",
}


def answer_header(key: str, job: JobConfig) -> str | None:
    """The header an answer goes to: the one `answers` names, else the job's own column for a
    standard key (`email` → columns.email), else none (it goes to other_answers)."""
    assert job.lead_ads is not None
    named = job.lead_ads.answers.get(key)
    if named:
        return named
    field = STANDARD_ANSWERS.get(key)
    return getattr(job.columns, field) if field else None


def unmapped_keys(answers: Iterable[str], job: JobConfig) -> list[str]:
    """Question keys of the forms that have no column to go to."""
    return sorted({key for key in answers if not answer_header(key, job)})
