"""Loopback stand-ins for Google Sheets and Meta's Graph API (tests, demo, benchmarks)."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from sheetsync.emulator.graph import DEFAULT_DATASET, GraphEmulator, GraphFault
from sheetsync.emulator.http import LoopbackServer
from sheetsync.emulator.sheets import Fault, SheetsEmulator


@dataclass
class Emulators:
    """Both emulators, each on its own loopback port."""

    host: str = "127.0.0.1"
    sheets_port: int = 0
    graph_port: int = 0
    token: str | None = None
    dataset_id: str = DEFAULT_DATASET
    sheets: SheetsEmulator = field(default_factory=SheetsEmulator)
    graph: GraphEmulator = field(init=False)

    def __post_init__(self) -> None:
        self.graph = GraphEmulator(token=self.token, datasets=(self.dataset_id,))
        self._servers = [
            LoopbackServer(self.sheets, self.host, self.sheets_port),
            LoopbackServer(self.graph, self.host, self.graph_port),
        ]

    @property
    def sheets_url(self) -> str:
        return self._servers[0].url

    @property
    def graph_url(self) -> str:
        return self._servers[1].url

    def start(self) -> Emulators:
        for server in self._servers:
            server.start()
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.stop()

    def __enter__(self) -> Emulators:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def read_csv_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [row for row in csv.reader(handle)]


__all__ = ["Emulators", "Fault", "GraphEmulator", "GraphFault", "SheetsEmulator", "read_csv_rows"]
