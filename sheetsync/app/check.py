"""`sheetsync check`: is everything ready? Config, sheets, headers, Meta token and dataset.

Prints a table of what it found and exits 0 only when every job is ready. The
config itself was already validated (every problem at once) before this runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from sheetsync.adapters.sheet import LeadSheet, SheetError, connect
from sheetsync.adapters.sqlite.database import location_problem
from sheetsync.app.clients import lead_source, meta_client
from sheetsync.app.stores import open_store, where
from sheetsync.core.config import Config, JobConfig, LeadAdsConfig
from sheetsync.core.errors import MissingColumns, SheetsyncError, TokenError
from sheetsync.core.events import likely_typos
from sheetsync.core.intake import unmapped_keys
from sheetsync.core.leads import resolve_columns
from sheetsync.core.table import Layout


@dataclass(frozen=True)
class Finding:
    job: str
    what: str
    ok: bool
    detail: str
    warn: bool = False  # worth reading, but does not stop `ready`


def run_check(config: Config) -> int:
    findings = [Finding("-", "config", True, f"{len(config.jobs)} job(s)")]
    findings.append(_check_state(config))
    findings += _check_token(config)
    token_ok = all(f.ok for f in findings)
    try:
        client = connect(config.google)
    except SheetError as error:
        findings.append(Finding("-", "google credentials", False, str(error)))
        client = None
    for job in config.jobs:
        if client is not None:
            findings += _check_sheet(client, job)
        if token_ok:
            findings += _check_dataset(config, job)
        if job.lead_ads is not None:
            findings += _check_lead_ads(config, job, job.lead_ads)
        for event, standard in likely_typos(job):
            findings.append(
                Finding(
                    job.name,
                    "event name",
                    True,
                    f"{event!r} is not a Meta standard event; did you mean {standard!r}? "
                    "(Meta accepts it, but cannot optimise for it as the standard event)",
                    warn=True,
                )
            )
        if job.test_event_code:
            findings.append(
                Finding(
                    job.name,
                    "test mode",
                    True,
                    f"ON ({job.test_event_code}): events go to Test Events and still count in "
                    "the dataset; remove test_event_code to go live",
                )
            )
    _print(findings)
    return 0 if all(f.ok for f in findings) else 1


def _check_state(config: Config) -> Finding:
    if config.state_url:
        try:
            open_store(config, reader=True).close()  # type: ignore[union-attr]
        except SheetsyncError as error:
            return Finding("-", "state database", False, str(error))
        return Finding("-", "state database", True, f"{where(config)} reachable, schema current")
    problem = location_problem(config.state_path)
    return Finding(
        "-", "state file", problem is None, problem or f"{config.state_path} is writable"
    )


def _check_token(config: Config) -> list[Finding]:
    try:
        meta_client(config)
    except TokenError as error:
        return [Finding("-", "meta token", False, str(error))]
    return [Finding("-", "meta token", True, "found")]


def _check_sheet(client: object, job: JobConfig) -> list[Finding]:
    sheet = LeadSheet(client, job.spreadsheet, job.worksheet)  # type: ignore[arg-type]
    try:
        header = sheet.read_header()
    except SheetError as error:
        return [Finding(job.name, "sheet", False, str(error))]
    found = [Finding(job.name, "sheet", True, f"{job.spreadsheet} / {job.worksheet} opened")]
    layout = Layout.of(header)
    added = job.status_columns.headers() + (job.lead_ads.headers() if job.lead_ads else [])
    missing_status = layout.missing(added)
    try:
        resolve_columns(layout.with_columns(missing_status), job)
    except MissingColumns as missing:
        return [*found, Finding(job.name, "headers", False, "; ".join(missing.problems))]
    note = f"; will add {', '.join(missing_status)}" if missing_status else ""
    return [*found, Finding(job.name, "headers", True, f"every configured column found{note}")]


def _check_lead_ads(config: Config, job: JobConfig, lead_ads: LeadAdsConfig) -> list[Finding]:
    """The Page token works, which forms it sees, and which answers have no column."""
    try:
        forms = lead_source(config, lead_ads).forms(lead_ads.page_id)
    except SheetsyncError as error:  # the token is missing, cannot read leads, or Meta is down
        return [Finding(job.name, "lead ads", False, str(error))]
    if lead_ads.forms != "all":
        wanted = set(lead_ads.forms)
        missing = sorted(wanted - {form.id for form in forms})
        forms = [form for form in forms if form.id in wanted]
        if missing:
            gone = ", ".join(missing)
            return [
                Finding(
                    job.name,
                    "lead ads",
                    False,
                    f"form(s) {gone} not found on Page {lead_ads.page_id}",
                )
            ]
    named = ", ".join(f"{form.name} ({form.id})" for form in forms) or "none yet"
    found = [
        Finding(job.name, "lead ads", True, f"Page token works; {len(forms)} form(s): {named}")
    ]
    unmapped = unmapped_keys((key for form in forms for key in form.questions), job)
    if unmapped:
        where = (
            f"they go to {lead_ads.other_answers!r}"
            if lead_ads.other_answers
            else "they are dropped (set lead_ads.other_answers to keep them)"
        )
        found.append(
            Finding(
                job.name,
                "lead ads answers",
                True,
                f"no column for {', '.join(unmapped)}: {where}",
                warn=True,
            )
        )
    return found


def _check_dataset(config: Config, job: JobConfig) -> list[Finding]:
    client = meta_client(config)
    failure = client.check_dataset(job.dataset_id)
    if failure is None:
        return [
            Finding(job.name, "meta dataset", True, f"{job.dataset_id} reachable with the token")
        ]
    return [Finding(job.name, "meta dataset", False, failure.message)]


def _print(findings: list[Finding]) -> None:
    width = max(len(f.what) for f in findings)
    job_width = max(len(f.job) for f in findings)
    for finding in findings:
        mark = ("WRN" if finding.warn else "ok ") if finding.ok else "ERR"
        print(f"{mark}  {finding.job:<{job_width}}  {finding.what:<{width}}  {finding.detail}")
    ready = all(f.ok for f in findings)
    print("ready" if ready else "not ready: fix the lines marked ERR")
