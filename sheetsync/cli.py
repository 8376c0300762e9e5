"""The `sheetsync` command line."""

from __future__ import annotations

import argparse
import sys

from sheetsync.emulator import main as emulator_main


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sheetsync", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    emulator = commands.add_parser(
        "emulator", help="serve loopback emulators of Google Sheets and Meta"
    )
    emulator_main.add_arguments(emulator)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "emulator":
        return emulator_main.serve(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
