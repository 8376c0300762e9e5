"""`sheetsync run`: every job on its poll interval, under APScheduler 3.x, speaking to systemd.

- one scheduler job per sheet; no overlapping runs of a job; missed runs coalesced;
- cycles run one at a time (one worker), so jobs share Google's and Meta's quotas
  and a job never has two requests in flight;
- APScheduler swallows job exceptions: every cycle is wrapped, its failures counted
  per job and surfaced (log, STATUS=, `sheetsync status`, the watchdog);
- SIGTERM/SIGINT: the running cycle finishes (each step is its own transaction, so
  nothing is half-recorded), then exit 0; SIGHUP reloads the config, keeping the
  old one when the new one is bad;
- WATCHDOG=1 only while some job has succeeded recently: a daemon whose every
  cycle fails is restarted by systemd instead of kept alive.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from wsgiref.simple_server import WSGIServer

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from sheetsync.app.cycle import CycleReport, JobRunner
from sheetsync.app.runtime import Runtime, build
from sheetsync.core.config import Config
from sheetsync.core.errors import SheetError, SheetsyncError
from sheetsync.core.errors import render as render_error
from sheetsync.support import metrics
from sheetsync.support.logs import scrub
from sheetsync.support.notify import notify, watchdog_interval

log = logging.getLogger("sheetsync.daemon")


class Daemon:
    def __init__(
        self, load_config: Callable[[], Config], clock: Callable[[], float] = time.time
    ) -> None:
        self._load_config = load_config
        self._clock = clock
        self._runtime: Runtime | None = None
        self._scheduler: BackgroundScheduler | None = None
        self._stop = threading.Event()
        self._reload = threading.Event()
        self._lock = threading.Lock()
        self._last_success: dict[str, float] = {}
        self._standing_by = 0.0  # last tick that found a job held by another instance
        self._sent_today: tuple[str, int] = ("", 0)
        self._started = clock()
        self._metrics: WSGIServer | None = None
        self._exit_code = 0

    # --- life cycle ------------------------------------------------------------------------
    def run(self) -> int:
        config = self._load_config()
        self._runtime = build(config)
        if config.metrics_port:
            self._metrics = metrics.serve(config.metrics_port)
            log.info("metrics on http://127.0.0.1:%d/metrics", config.metrics_port)
        self._check_connections(self._runtime)
        self._schedule(self._runtime)
        if self._runtime.keeper is not None:
            metrics.INSTANCE.labels(instance=self._runtime.keeper.instance).set(1)
        notify("READY=1", f"STATUS={self._status_line()}")
        log.info("sheetsync running %d job(s)", len(self._runtime.runners))
        watchdog = watchdog_interval()
        try:
            while not self._stop.is_set():
                self._stop.wait(min(watchdog or 1.0, 1.0))
                if self._reload.is_set():
                    self._reload.clear()
                    self._apply_reload()
                if watchdog and self._healthy():
                    notify("WATCHDOG=1")
        finally:
            notify("STOPPING=1")
            log.info("stopping: letting the current cycle finish")
            self._shutdown()
        return self._exit_code

    def request_stop(self, *_: object) -> None:
        self._stop.set()

    def request_reload(self, *_: object) -> None:
        self._reload.set()

    def _stop_jobs(self) -> None:
        """Stop scheduling (waiting for a running cycle to finish), then close the runtime."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None

    def _shutdown(self) -> None:
        self._stop_jobs()
        if self._metrics is not None:
            self._metrics.shutdown()
            self._metrics.server_close()

    # --- scheduling -------------------------------------------------------------------------
    def _check_connections(self, runtime: Runtime) -> None:
        for name, sheet in runtime.sheets.items():
            try:
                sheet.open()
            except SheetError as error:
                log.error("job %s: %s", name, render_error(error))

    def _schedule(self, runtime: Runtime) -> None:
        scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )
        for runner in runtime.runners:
            scheduler.add_job(
                self._tick,
                "interval",
                seconds=runner.job.poll_interval,
                args=[runner],
                id=runner.job.name,
                next_run_time=datetime.now(UTC),
            )
        scheduler.start()
        self._scheduler = scheduler

    def _tick(self, runner: JobRunner) -> None:
        if self._stop.is_set():
            return
        with self._lock:
            started = time.monotonic()
            try:
                report = runner.run_cycle()  # the cycle records its own failures
            except Exception as error:  # recording itself failed: never let APScheduler swallow it
                log.exception("job %s: cycle could not be recorded", runner.job.name)
                report = CycleReport(
                    runner.job.name, error=scrub(render_error(error)), crashed=True
                )
            report.duration = time.monotonic() - started
            if runner.keeper is not None:
                metrics.LEASES_HELD.labels(instance=runner.keeper.instance).set(
                    len(runner.keeper.held)
                )
            if report.elsewhere:  # another instance runs it: this one is alive, on standby
                self._standing_by = self._clock()
                return
            self._after_cycle(runner, report)

    def _after_cycle(self, runner: JobRunner, report: CycleReport) -> None:
        name = runner.job.name
        failures = runner.store.job_state(name).consecutive_failures
        metrics.CYCLES.labels(job=name, result="ok" if report.ok else "failed").inc()
        metrics.CYCLE_DURATION.labels(job=name).set(report.duration)
        metrics.CYCLE_SECONDS.labels(job=name).observe(report.duration)
        metrics.FAILED_IN_A_ROW.labels(job=name).set(failures)
        for (event, outcome), count in report.outcomes_by_event.items():
            metrics.EVENTS.labels(job=name, event=event, outcome=outcome).inc(count)
        if report.expired:
            metrics.EVENTS.labels(job=name, event="any", outcome="expired").inc(report.expired)
        if report.ok:
            metrics.LAST_SUCCESS.labels(job=name).set(self._clock())
            self._last_success[name] = self._clock()
            log.info("%s", report.summary())
        else:
            log.error("%s (%d failed cycle(s) in a row)", report.summary(), failures)
        today = datetime.now(UTC).strftime("%Y-%m-%d")
        day, count = self._sent_today
        self._sent_today = (today, (count if day == today else 0) + report.sent)
        notify(f"STATUS={self._status_line()}")

    def _status_line(self) -> str:
        runtime = self._runtime
        jobs = runtime.runners if runtime else []
        horizon = self._clock() - 3 * max((runner.job.poll_interval for runner in jobs), default=60)
        ok = sum(1 for runner in jobs if self._last_success.get(runner.job.name, 0) >= horizon)
        last = datetime.now(UTC).strftime("%H:%M:%S")
        return f"{ok}/{len(jobs)} jobs ok · {self._sent_today[1]} events sent today · last cycle {last}"

    def _healthy(self) -> bool:
        """Some job succeeded within three poll intervals (a grace period covers start-up)."""
        runtime = self._runtime
        if runtime is None:
            return False
        window = 3 * max((runner.job.poll_interval for runner in runtime.runners), default=60)
        newest = max([*self._last_success.values(), self._standing_by], default=self._started)
        newest = max(newest, self._started) if not self._last_success else newest
        return self._clock() - newest <= window

    # --- reload -----------------------------------------------------------------------------
    def _apply_reload(self) -> None:
        notify("RELOADING=1")
        try:
            config = self._load_config()
        except (SheetsyncError, OSError) as error:
            log.error("config reload refused, keeping the running config: %s", render_error(error))
            notify("READY=1")
            return
        running = self._runtime.config if self._runtime else None
        self._stop_jobs()  # no cycle runs while the runtime is swapped (and the state lock is free)
        try:
            self._runtime = build(config)
        except (SheetsyncError, OSError) as error:
            log.error("config reload refused, keeping the running config: %s", render_error(error))
            if not self._restore(running):
                return
        else:
            log.info("config reloaded: %d job(s)", len(self._runtime.runners))
        assert self._runtime is not None
        self._schedule(self._runtime)
        notify("READY=1")

    def _restore(self, config: Config | None) -> bool:
        """Build the running config again after a refused reload; if even that fails, stop with a
        non-zero exit so systemd's Restart=on-failure brings the service back."""
        try:
            if config is None:
                raise SheetsyncError("no running config to go back to")
            self._runtime = build(config)
        except (SheetsyncError, OSError) as error:
            log.critical("the running config cannot be restored: %s", render_error(error))
            self._exit_code = 1
            self._stop.set()
            return False
        return True


def run_daemon(config_path: Path | None, load_config: Callable[[], Config]) -> int:
    daemon = Daemon(load_config)

    def stop(signum: int, frame: FrameType | None) -> None:
        daemon.request_stop()

    def reload(signum: int, frame: FrameType | None) -> None:
        daemon.request_reload()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, reload)
    return daemon.run()
