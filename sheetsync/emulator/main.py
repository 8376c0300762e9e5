"""`sheetsync emulator`: serve both emulators until SIGINT/SIGTERM, and say how to point a config
at them. docs/EMULATOR.md documents the control surface, with a curl example for each call."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from sheetsync.emulator import Emulators, read_csv_rows
from sheetsync.emulator.graph import DEFAULT_DATASET
from sheetsync.emulator.leadgen import DEFAULT_PAGE

TOKEN_HINT = "emulator-token"  # any non-empty token is accepted unless --token names one
DEMO_FORM = "880000000000001"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback)")
    parser.add_argument(
        "--sheets-port", type=int, default=0, help="Google Sheets port (default: a free one)"
    )
    parser.add_argument(
        "--graph-port", type=int, default=0, help="Meta Graph API port (default: a free one)"
    )
    seeded = parser.add_mutually_exclusive_group()
    seeded.add_argument(
        "--demo",
        action="store_true",
        help="start with the demo's sample sheet and a Lead Ads form, and print a whole config",
    )
    seeded.add_argument(
        "--seed-csv",
        "--csv",
        type=Path,
        help="fill the worksheet from this CSV, typed as a person would type each cell",
    )
    parser.add_argument("--spreadsheet-id", default="demo", help="the emulated spreadsheet's id")
    parser.add_argument("--worksheet", default="Leads", help="the worksheet's title")
    parser.add_argument(
        "--token", help="the only Meta access token accepted (default: any non-empty one)"
    )
    parser.add_argument(
        "--dataset-id", default=DEFAULT_DATASET, help="the Meta dataset (pixel) id it accepts"
    )


def serve(
    args: argparse.Namespace,
    demo_rows: list[list[str]] | None = None,
    demo_job: Callable[..., dict[str, Any]] | None = None,
) -> int:
    """`demo_rows` and `demo_job` come from the app layer (the demo's sheet and example job)."""
    emulators = Emulators(args.host, args.sheets_port, args.graph_port, args.token, args.dataset_id)
    rows = demo_rows if args.demo and demo_rows else None
    if rows is None:
        rows = read_csv_rows(args.seed_csv) if args.seed_csv else [[]]
    emulators.sheets.seed(args.spreadsheet_id, args.worksheet, rows)
    if args.demo:
        emulators.graph.lead_ads.add_form(DEFAULT_PAGE, DEMO_FORM, "Spring offer")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    with emulators:
        for line in (
            f"sheets: {emulators.sheets_url}",
            f"graph: {emulators.graph_url}",
            f"spreadsheet: {args.spreadsheet_id}",
            f"worksheet: {args.worksheet}",
        ):
            print(line, flush=True)
        print(config_lines(emulators, args, demo_job if args.demo else None), flush=True)
        while not stop.wait(0.2):
            pass
    sys.stdout.flush()
    return 0


def config_lines(
    emulators: Emulators, args: argparse.Namespace, demo_job: Callable[..., dict[str, Any]] | None
) -> str:
    """What to put in a config to use these emulators (with --demo: a whole, working config)."""
    connection: dict[str, Any] = {
        "google": {"api_base_url": emulators.sheets_url, "anonymous": True},
        "meta": {"graph_base_url": emulators.graph_url},
    }
    job: dict[str, Any] = {
        "name": "sales",
        "spreadsheet": args.spreadsheet_id,
        "worksheet": args.worksheet,
        "dataset_id": args.dataset_id,
    }
    exports = [f"export META_ACCESS_TOKEN={args.token or TOKEN_HINT}"]
    if demo_job is not None:
        job = demo_job(
            **job,
            poll_interval="15s",
            lead_ads={
                "page_id": DEFAULT_PAGE,
                "answers": {"full_name": "Name"},
                "other_answers": "Notes",
            },
        )
        exports.append(f"export META_PAGE_TOKEN={args.token or TOKEN_HINT}")
        data = {"state_path": "sheetsync-emulator-state.db", **connection, "jobs": [job]}
        note = "# A whole config for the demo sheet: save it as emulator.yaml"
    else:
        data = {**connection, "jobs": [job]}
        note = "# Point a config at these emulators (add the job's columns and stages):"
    body = yaml.safe_dump(data, sort_keys=False).rstrip()
    return "\n".join(
        [
            "",
            note,
            "# --- config ---",
            body,
            "# --- end ---",
            "# then, in the shell that runs sheetsync:",
            *exports,
        ]
    )
