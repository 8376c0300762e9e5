"""Lead Ads intake (issue #14): new leads of the Page's forms become new rows of the sheet.

Run at the end of a cycle, with the lead ids the cycle's read found in the sheet. Exactly once:
a lead whose id stands in the sheet, or that the state recorded as appended, is never appended
again; the rows are appended in one request that is never retried (a lost answer is settled by
the next read), and the leads and the forms' checkpoints are recorded after it. A crash at any
instant therefore ends with each lead in the sheet once: before the append nothing changed;
after it, the next cycle's read finds the ids. The next cycle parses the new rows like any
other: their Lead event goes out with the lead's created time.

Throttling or lost access pause the intake only; the job's stage sync goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sheetsync.core import intake
from sheetsync.core.config import JobConfig, LeadAdsConfig
from sheetsync.core.errors import LeadSourceUnavailable, SheetsyncError
from sheetsync.core.intake import FetchedLead, LeadForm
from sheetsync.core.ports import LeadSource, SheetPort, Store
from sheetsync.core.status import when
from sheetsync.core.table import Layout

log = logging.getLogger("sheetsync.intake")
THROTTLE_WAIT = 300  # seconds, when Meta throttles without saying for how long
ACCESS_RETRY = 3600  # lost access is tried again hourly (a person may have fixed the token)


@dataclass
class IntakeReport:
    appended: int = 0
    paused: str | None = None  # why no leads were fetched this cycle, in plain words

    def summary(self) -> str:
        if self.paused:
            return f"Lead Ads intake paused: {self.paused}"
        return f"{self.appended} new leads from Lead Ads"


class LeadIntake:
    def __init__(self, job: JobConfig, sheet: SheetPort, source: LeadSource, store: Store) -> None:
        assert job.lead_ads is not None
        self.job = job
        self.lead_ads = job.lead_ads
        self.sheet = sheet
        self.source = source
        self.store = store

    def run(self, now: int, in_sheet: set[str], layout: Layout) -> IntakeReport:
        state = self.store.intake_state(self.job.name, now)
        if state.paused and state.paused_until and now < state.paused_until:
            return IntakeReport(paused=state.paused)
        before = self.store.intake_checkpoints(self.job.name)
        try:
            forms, fetched = fetch(self.source, self.lead_ads, before, now)
        except SheetsyncError as error:  # throttled, access lost, token missing, Meta down
            return IntakeReport(paused=self._pause(error, now))
        known = self.store.intake_known(self.job.name, [lead.id for lead in fetched])
        fresh, found = intake.new_leads(fetched, in_sheet, known)
        self.sheet.append(rows(self.job, fresh, forms, layout))
        self.store.record_intake(
            self.job.name,
            intake.recorded([*fresh, *found]),
            intake.checkpoints(fetched, forms, before, now),
            now,
        )
        if fresh:
            log.info("job %s: %d new leads from Lead Ads appended", self.job.name, len(fresh))
        return IntakeReport(appended=len(fresh))

    def _pause(self, error: SheetsyncError, now: int) -> str:
        kind = error.kind if isinstance(error, LeadSourceUnavailable) else "auth"
        wait = error.wait if isinstance(error, LeadSourceUnavailable) else None
        page = f"Page {self.lead_ads.page_id}"
        until: int | None = None
        if kind == "rate_limit":
            until = now + int(wait or THROTTLE_WAIT)
            reason = f"{error.message} for {page}; new leads are fetched again after {when(until)}"
        elif kind == "auth":
            until = now + ACCESS_RETRY
            reason = f"{error} ({page}); tried again hourly, the stage sync goes on"
        else:
            reason = f"{error.message} ({page}); tried again next cycle"
        before = self.store.intake_state(self.job.name, now).paused
        self.store.set_intake_pause(self.job.name, reason, until)
        if reason != before:  # one line per new reason, not one per cycle
            log.warning("job %s: Lead Ads intake paused: %s", self.job.name, reason)
        return reason


def fetch(
    source: LeadSource, lead_ads: LeadAdsConfig, checkpoints: Mapping[str, int], now: int
) -> tuple[list[LeadForm], list[FetchedLead]]:
    """The forms, and their leads since each form's checkpoint (read only: changes nothing)."""
    forms = source.forms(lead_ads.page_id)
    if lead_ads.forms != "all":
        wanted = set(lead_ads.forms)
        forms = [form for form in forms if form.id in wanted]  # a form gone is no error
    fetched: list[FetchedLead] = []
    for form in forms:
        since = intake.fetch_since(checkpoints.get(form.id), now, lead_ads)
        try:
            fetched.extend(source.leads(form.id, since))
        except LeadSourceUnavailable as error:
            if error.kind != "gone":
                raise
    return forms, fetched


def rows(
    job: JobConfig, leads: list[FetchedLead], forms: list[LeadForm], layout: Layout
) -> list[list[str]]:
    names = {form.id: form.name for form in forms}
    return [intake.lead_row(lead, job, layout, names) for lead in leads]
