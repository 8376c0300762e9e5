"""Wiring: a validated config → one JobRunner per job, sharing one Sheets client and one store."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sheetsync.adapters.meta import MetaClient, deliver
from sheetsync.adapters.sheet import LeadSheet, cell_ref, connect
from sheetsync.app.clients import instance_name, lead_source, meta_client
from sheetsync.app.cycle import CycleReport, JobRunner, Sender
from sheetsync.app.dry_run import dry_run_lines
from sheetsync.app.leases import LeaseKeeper
from sheetsync.app.stores import open_store
from sheetsync.core.config import Config, JobConfig
from sheetsync.core.errors import render as render_error
from sheetsync.core.ports import Store
from sheetsync.core.records import OutboxEvent, Outcome, Pause
from sheetsync.support.logs import scrub


@dataclass
class Runtime:
    config: Config
    runners: list[JobRunner]  # none in a dry run
    store: Store | None
    sheets: dict[str, LeadSheet]  # job name → its worksheet
    clock: Callable[[], float] = time.time
    keeper: LeaseKeeper | None = None  # several instances share the state (state_url)

    def run_once(self) -> list[CycleReport]:
        return [runner.run_cycle() for runner in self.runners]

    def dry_run(self) -> list[CycleReport]:
        """The cycle's decision for every job, as JSON-ready lines; changes nothing."""
        reports = []
        for job in self.config.jobs:
            report = CycleReport(job.name)
            try:
                leads = lead_source(self.config, job.lead_ads) if job.lead_ads else None
                report.dry_run_lines = dry_run_lines(
                    job, self.sheets[job.name], self.store, int(self.clock()), cell_ref, leads
                )
            except Exception as error:  # the same boundary as a cycle: one job's failure
                report.error = scrub(render_error(error))
            reports.append(report)
        return reports

    def close(self) -> None:
        """Release this instance's leases (the others take its jobs at once), then the store."""
        if self.store is not None:
            if self.keeper is not None:
                self.keeper.release_all()
            self.store.close()


def sender_for(meta: MetaClient, job: JobConfig) -> Sender:
    def send(events: list[OutboxEvent]) -> tuple[list[Outcome], Pause | None]:
        outcomes, stop = deliver(meta, job.dataset_id, events, job.test_event_code)
        return outcomes, stop.pause() if stop else None

    return send


def build(
    config: Config,
    *,
    dry_run: bool = False,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Runtime:
    """Open the store (unless a dry run finds none), the Sheets client and the Meta client.

    Raises sheetsync's own errors (TokenError, SheetError, StateError) for the caller to render.
    """
    meta = meta_client(config, sleep)
    store = open_store(config, reader=dry_run)
    try:
        client = connect(config.google)
        sheets = {
            job.name: LeadSheet(client, job.spreadsheet, job.worksheet, sleep=sleep)
            for job in config.jobs
        }
        keeper = (
            LeaseKeeper(
                store, instance_name(config), config.lease_seconds, [j.name for j in config.jobs]
            )
            if config.state_url and store is not None and not dry_run
            else None
        )
        runners = [
            JobRunner(
                job,
                sheets[job.name],
                sender_for(meta, job),
                store,
                clock,
                lead_source(config, job.lead_ads) if job.lead_ads else None,
                keeper,
                send_margin=config.send_margin,
            )
            for job in config.jobs
            if store is not None and not dry_run
        ]
    except BaseException:
        if store is not None:
            store.close()
        raise
    return Runtime(config, runners, store, sheets, clock, keeper)
