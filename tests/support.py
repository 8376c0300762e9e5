"""Helpers for scenario tests: configs pointed at the emulators, a movable clock, the lead sheet."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from sheetsync.app.example import HEADER, example_job
from sheetsync.app.runtime import Runtime, build
from sheetsync.core import config as config_module
from sheetsync.core.config import Config
from sheetsync.emulator import Emulators
from sheetsync.emulator.sheets import SheetsEmulator

__all__ = ["HEADER"]  # tests take the example header from here, beside their other helpers

TOKEN = "EAAB-test-token-that-must-never-leak-0123456789"


@dataclass
class Clock:
    now: float

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def day(moment: float) -> str:
    """A date-time as a person types it into the sheet."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%d %H:%M")


def job_config(**overrides: Any) -> dict[str, Any]:
    """The example job on sheet1, sending everything on its first cycle."""
    defaults: dict[str, Any] = {
        "spreadsheet": "https://docs.google.com/spreadsheets/d/sheet1/edit#gid=0",
        "initial_sync": "all",
        "ignore_stages": ["Lost", "Junk"],
    }
    return example_job(**{**defaults, **overrides})


def config_dict(
    emulators: Emulators, state_path: Path, jobs: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {
        "state_path": str(state_path),
        "google": {"api_base_url": emulators.sheets_url, "anonymous": True, "timeout": 5},
        "meta": {"graph_base_url": emulators.graph_url, "api_version": "v26.0", "timeout": 2},
        "jobs": jobs or [job_config()],
    }


def write_config(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def runtime(
    emulators: Emulators,
    tmp_path: Path,
    clock: Clock,
    jobs: list[dict[str, Any]] | None = None,
    dry_run: bool = False,
) -> Runtime:
    os.environ["META_ACCESS_TOKEN"] = TOKEN
    config: Config = config_module.parse(config_dict(emulators, tmp_path / "state.db", jobs))
    built = build(config, dry_run=dry_run, clock=clock, sleep=lambda seconds: None)
    OPEN_RUNTIMES.append(built)
    return built


OPEN_RUNTIMES: list[Runtime] = []  # closed after each test by conftest


def close_runtimes() -> None:
    while OPEN_RUNTIMES:
        OPEN_RUNTIMES.pop().close()


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 60,
    without: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """`sheetsync ARGS` as a process, with the test token and `env`, and none of `without`."""
    full_env = {**os.environ, "META_ACCESS_TOKEN": TOKEN, **(env or {})}
    for name in without:
        full_env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "sheetsync", *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )


def sheet_rows(
    emulators: Emulators, spreadsheet: str = "sheet1", worksheet: str = "Leads"
) -> list[dict[str, str]]:
    """The worksheet as a person sees it, one dict per data row keyed by header."""
    shown = emulators.sheets.worksheet(spreadsheet, worksheet).displayed()
    header = shown[0]
    return [
        dict(zip(header, row + [""] * (len(header) - len(row)), strict=True)) for row in shown[1:]
    ]


def before_read(emulators: Emulators, number: int, edit: Callable[[SheetsEmulator], None]) -> None:
    """Run `edit` just before the `number`-th read request from now (1 = the next one).

    A fresh process's first cycle reads three times: the header, the data, then the key column
    again just before writing (to find where each lead stands now). An edit meant to happen
    "mid-cycle" must come before that third read, after the data read."""
    if number <= 1:
        emulators.sheets.before_next("read", edit)
        return
    emulators.sheets.before_next("read", lambda _: before_read(emulators, number - 1, edit))
