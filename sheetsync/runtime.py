"""Wiring: a validated config → one JobRunner per job, sharing one Sheets client and one state file."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sheetsync.config import Config
from sheetsync.cycle import CycleReport, JobRunner
from sheetsync.logs import redact
from sheetsync.meta import MetaClient, load_token
from sheetsync.sheet import LeadSheet, connect
from sheetsync.state import StateStore


@dataclass
class Runtime:
    config: Config
    runners: list[JobRunner]
    state: StateStore | None

    def run_once(self, dry_run: bool = False) -> list[CycleReport]:
        return [runner.run_cycle(dry_run=dry_run) for runner in self.runners]

    def close(self) -> None:
        if self.state is not None:
            self.state.close()


def build(
    config: Config,
    *,
    dry_run: bool = False,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Runtime:
    """Open the state file (unless a dry run finds none), the Sheets client and the Meta client.

    Raises the boundary modules' own errors (TokenError, SheetError, StateError) for the CLI to word.
    """
    token = load_token(config.meta)
    redact(token)
    state = _open_state(config.state_path, dry_run)
    try:
        client = connect(config.google)
        meta = MetaClient(config.meta, lambda: load_token(config.meta), sleep=sleep)
        runners = [
            JobRunner(
                job,
                LeadSheet(client, job.spreadsheet, job.worksheet, sleep=sleep),
                meta,
                state,
                clock,
            )
            for job in config.jobs
        ]
    except BaseException:
        if state is not None:
            state.close()
        raise
    return Runtime(config, runners, state)


def _open_state(path: Path, dry_run: bool) -> StateStore | None:
    if dry_run:
        # A dry run changes nothing: it reads an existing state file and never creates one.
        return StateStore.open(path, lock=False) if path.exists() else None
    return StateStore.open(path)
