"""The `sheetsync` command line: once, run, dry-run, check, status, resend, demo, emulator."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sheetsync.app import config_file
from sheetsync.app.cycle import CycleReport
from sheetsync.app.runtime import build
from sheetsync.core.config import Config
from sheetsync.core.errors import SheetsyncError
from sheetsync.core.errors import render as render_error
from sheetsync.emulator import main as emulator_main
from sheetsync.support.logs import setup_logging

log = logging.getLogger("sheetsync")
EXIT_FATAL = 1
EXIT_USAGE = 2


class Fatal(Exception):
    """One clear sentence for the person at the terminal (or the journal)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sheetsync", description="Google Sheet of leads → Meta Conversions API."
    )
    parser.add_argument("--verbose", action="store_true", help="debug logs and tracebacks")
    parser.add_argument("--log-format", choices=["text", "json"], default=None)
    commands = parser.add_subparsers(dest="command", required=True)

    def with_config(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text)
        sub.add_argument(
            "--config", type=Path, default=None, help="config file (default: $SHEETSYNC_CONFIG)"
        )
        return sub

    with_config("once", "run one cycle of every job, then exit")
    with_config("run", "run the daemon: every job on its poll interval")
    with_config(
        "dry-run", "print, as JSON lines, what one cycle would send and write; change nothing"
    )
    with_config("check", "check the config, the sheets and the Meta token; exit 0 only when ready")
    status = with_config("status", "what the state file says of each job")
    status.add_argument("--json", action="store_true")
    copy = with_config(
        "copy-state", "copy the SQLite state (pending events included) into a PostgreSQL database"
    )
    copy.add_argument("--to", required=True, help="postgresql://user@host:5432/database")
    resend = with_config("resend", "send a lead's event again, with a new event id")
    resend.add_argument("--job", required=True)
    resend.add_argument("--lead", required=True, help="the lead's Sync Key")
    resend.add_argument("--event", help="one event name (default: every sent event of the lead)")
    demo = commands.add_parser("demo", help="watch sheetsync work on emulated Google and Meta")
    demo.add_argument(
        "--seconds", type=float, default=60.0, help="how long the simulated team works"
    )
    emulator = commands.add_parser(
        "emulator", help="serve loopback emulators of Google Sheets and Meta"
    )
    emulator_main.add_arguments(emulator)
    return parser


def load_config(args: argparse.Namespace) -> Config:
    path: Path | None = args.config
    chosen = path or (
        Path(os.environ["SHEETSYNC_CONFIG"]) if os.environ.get("SHEETSYNC_CONFIG") else None
    )
    if chosen is None:
        raise Fatal("no config given: pass --config FILE or set SHEETSYNC_CONFIG")
    config = config_file.load(chosen)
    if _chosen_log_format(args) is None:  # the config's log_format, unless the command line says
        setup_logging(config.log_format, verbose=args.verbose)
    return config


def _chosen_log_format(args: argparse.Namespace) -> str | None:
    return args.log_format or os.environ.get("SHEETSYNC_LOG_FORMAT") or None


@contextmanager
def fatal_errors(verbose: bool) -> Iterator[None]:
    """Every known error becomes one sentence naming what to fix; tracebacks only with --verbose."""
    try:
        yield
    except SheetsyncError as error:
        raise Fatal(render_error(error)) from None
    except BrokenPipeError:
        raise  # the reader went away: main() ends quietly
    except OSError as error:
        if verbose:
            raise
        raise Fatal(render_error(error)) from None


def cmd_once(args: argparse.Namespace) -> int:
    config = load_config(args)
    runtime = build(config)
    try:
        reports = runtime.run_once()
    finally:
        runtime.close()
    for report in reports:
        if report.ok:
            log.info("%s", report.summary())
    return _exit_for(reports)


def _exit_for(reports: list[CycleReport]) -> int:
    """0 when every job's cycle ran; otherwise one sentence per failed job (logged once)."""
    failed = [report for report in reports if not report.ok]
    if failed:
        raise Fatal("; ".join(f"job {report.job}: {report.error}" for report in failed))
    return 0


def cmd_dry_run(args: argparse.Namespace) -> int:
    config = load_config(args)
    runtime = build(config, dry_run=True)
    try:
        reports = runtime.dry_run()
    finally:
        runtime.close()
    for report in reports:
        for line in report.dry_run_lines:
            print(json.dumps(line, ensure_ascii=False), flush=True)
    return _exit_for(reports)


def cmd_run(args: argparse.Namespace) -> int:
    from sheetsync.app.daemon import run_daemon

    return run_daemon(args.config, lambda: load_config(args))


def cmd_check(args: argparse.Namespace) -> int:
    from sheetsync.app.check import run_check

    return run_check(load_config(args))


def cmd_status(args: argparse.Namespace) -> int:
    from sheetsync.app.report import print_status

    return print_status(load_config(args), as_json=args.json)


def cmd_copy_state(args: argparse.Namespace) -> int:
    from sheetsync.app.stores import copy_state

    config = load_config(args)
    copied = copy_state(config, args.to)
    counts = ", ".join(f"{rows} {table}" for table, rows in copied.items() if rows)
    print(f"copied {counts} from {config.state_path} to {args.to}")
    print(
        f"now set `state_url: {args.to}` in the config (instead of state_path) and start sheetsync"
    )
    return 0


def cmd_resend(args: argparse.Namespace) -> int:
    from sheetsync.app.report import resend

    return resend(load_config(args), args.job, args.lead, args.event)


def cmd_demo(args: argparse.Namespace) -> int:
    from sheetsync.app.demo import run_demo

    return run_demo(seconds=args.seconds)


def cmd_emulator(args: argparse.Namespace) -> int:
    from sheetsync.app.demo import demo_rows
    from sheetsync.app.example import example_job

    return emulator_main.serve(args, demo_rows(), example_job)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "once": cmd_once,
    "dry-run": cmd_dry_run,
    "run": cmd_run,
    "check": cmd_check,
    "status": cmd_status,
    "resend": cmd_resend,
    "copy-state": cmd_copy_state,
    "demo": cmd_demo,
    "emulator": cmd_emulator,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(_chosen_log_format(args) or "text", verbose=args.verbose)
    try:
        with fatal_errors(args.verbose):
            return COMMANDS[args.command](args)
    except Fatal as error:
        log.critical("%s", error)
        return EXIT_FATAL
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`sheetsync status | head`): not an error. Point stdout at
        # /dev/null so the interpreter's final flush does not complain either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
