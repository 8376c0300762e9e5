"""The cycle is each job's error boundary: any failure is a failed cycle that every surface shows.

An unexpected exception cannot be produced through the real interfaces without a real defect, so
these tests put one in: the cycle's decide step is replaced by one that raises (the only stand-in;
the sheet, Meta, the store, the CLI and the log handler are the real ones).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from support import TOKEN, Clock, at, config_dict, day, job_config, run_cli, runtime, write_config

from sheetsync.app import cycle
from sheetsync.app.daemon import Daemon
from sheetsync.emulator import Emulators
from sheetsync.support import logs, metrics

NOW = at("2026-06-01 12:00")
HEADER = ["Name", "Email", "Phone", "Lead ID", "fbclid", "Created", "Stage", "Deal Value"]


def seed(emulators: Emulators) -> None:
    emulators.sheets.seed(
        "sheet1",
        "Leads",
        [HEADER, ["Ann", "ann@example.com", "", "", "", day(NOW - 3600), "New", ""]],
    )


def broken_decide(*args: object, **kwargs: object) -> object:
    raise RuntimeError(f"defect while deciding (token {TOKEN} in the message)")


def sample(name: str, **labels: str) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels) or 0.0


def test_an_unexpected_exception_is_a_failed_cycle_in_status_and_metrics(
    emulators: Emulators, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(emulators)
    job = job_config(name="boundary")
    sync = runtime(emulators, tmp_path, Clock(NOW), jobs=[job])
    daemon = Daemon(lambda: sync.config, clock=Clock(NOW))
    daemon._runtime = sync
    failed_before = sample("sheetsync_cycles_total", job="boundary", result="failed")

    monkeypatch.setattr(cycle, "decide_rows", broken_decide)
    daemon._tick(sync.runners[0])
    daemon._tick(sync.runners[0])

    assert sample("sheetsync_cycles_total", job="boundary", result="failed") == failed_before + 2
    assert sample("sheetsync_failed_cycles_in_a_row", job="boundary") == 2
    assert sample("sheetsync_last_success_timestamp_seconds", job="boundary") == 0
    assert not daemon._last_success  # so the watchdog is not fed by this job
    sync.close()
    config = write_config(tmp_path / "c.yaml", config_dict(emulators, tmp_path / "state.db", [job]))
    shown = run_cli("status", "--config", str(config))
    assert shown.returncode == 0, shown.stderr
    assert "job boundary: 2 failed cycles in a row" in shown.stdout
    assert "last success never" in shown.stdout
    assert "last cycle never" not in shown.stdout
    assert "unexpected RuntimeError: defect while deciding" in shown.stdout
    assert TOKEN not in shown.stdout

    monkeypatch.undo()  # the defect is fixed: the next cycle succeeds and the count resets
    again = runtime(emulators, tmp_path, Clock(NOW + 60), jobs=[job])
    daemon._runtime = again
    daemon._tick(again.runners[0])
    assert sample("sheetsync_failed_cycles_in_a_row", job="boundary") == 0
    assert sample("sheetsync_last_success_timestamp_seconds", job="boundary") > 0


def test_a_traceback_is_logged_once_per_distinct_error_and_never_with_the_token(
    emulators: Emulators,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed(emulators)
    sync = runtime(emulators, tmp_path, Clock(NOW))  # registers the token for redaction
    logs.setup_logging("text")  # the format the systemd unit uses
    try:
        monkeypatch.setattr(cycle, "decide_rows", broken_decide)
        first = sync.runners[0].run_cycle()
        second = sync.runners[0].run_cycle()
    finally:
        logging.getLogger().handlers.clear()
    err = capsys.readouterr().err
    assert not first.ok and first.crashed and not second.ok
    assert err.count("Traceback (most recent call last)") == 1
    assert "RuntimeError: defect while deciding (token [redacted] in the message)" in err
    assert "cycle failed again" in err
    assert TOKEN not in err


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_log_scrubber_covers_tracebacks(
    log_format: str, capsys: pytest.CaptureFixture[str]
) -> None:
    logs.redact(TOKEN)
    logs.setup_logging(log_format)
    try:
        try:
            raise ValueError(f"request failed: access_token={TOKEN}")
        except ValueError:
            logging.getLogger("sheetsync.test").exception("it broke")
    finally:
        logging.getLogger().handlers.clear()
    err = capsys.readouterr().err
    assert "ValueError" in err and "[redacted]" in err
    assert TOKEN not in err
