"""`sheetsync emulator`: serve both emulators until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from sheetsync.emulator import Emulators, read_csv_rows
from sheetsync.emulator.graph import DEFAULT_DATASET


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--sheets-port", type=int, default=0)
    parser.add_argument("--graph-port", type=int, default=0)
    parser.add_argument(
        "--seed-csv", type=Path, help="fill the worksheet from this CSV, typed as a person would"
    )
    parser.add_argument("--spreadsheet-id", default="demo")
    parser.add_argument("--worksheet", default="Leads")
    parser.add_argument(
        "--token", help="the only Meta access token accepted (default: any non-empty one)"
    )
    parser.add_argument("--dataset-id", default=DEFAULT_DATASET)


def serve(args: argparse.Namespace) -> int:
    emulators = Emulators(args.host, args.sheets_port, args.graph_port, args.token, args.dataset_id)
    rows = read_csv_rows(args.seed_csv) if args.seed_csv else [[]]
    emulators.sheets.seed(args.spreadsheet_id, args.worksheet, rows)
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
        while not stop.wait(0.2):
            pass
    sys.stdout.flush()
    return 0
