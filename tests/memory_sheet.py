"""An in-memory worksheet that implements sheetsync.core.ports.SheetPort.

For cycle-ordering tests that need no HTTP: milliseconds instead of the emulator's round trips.
Cells hold what the Sheets API returns with UNFORMATTED_VALUE (text, numbers, booleans); the
emulator stays the test of the real boundary (gspread, formats, errors).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from sheetsync.core.table import CellWrite, Layout, Scalar, Table

Edit = Callable[["MemorySheet"], None]


class MemorySheet:
    def __init__(self, rows: list[list[Scalar]], time_zone: str = "UTC") -> None:
        self.rows = [list(row) for row in rows]
        self.time_zone = time_zone
        self.tabs: dict[str, list[list[str]]] = {}
        self.counts: Counter[str] = Counter()
        self._edits: list[tuple[str, Edit]] = []
        self.fail_next_write = False

    # --- what a test does between two requests -------------------------------------------
    def before_next(self, kind: str, edit: Edit) -> None:
        self._edits.append((kind, edit))

    def _request(self, kind: str) -> None:
        self.counts[kind] += 1
        for index, (wanted, edit) in enumerate(self._edits):
            if wanted == kind:
                del self._edits[index]
                edit(self)
                return

    def column(self, header: str) -> list[Scalar]:
        index = self.rows[0].index(header)
        return [row[index] if index < len(row) else "" for row in self.rows[1:]]

    # --- the port ------------------------------------------------------------------------
    def read_header(self) -> tuple[str, ...]:
        return self.read([]).header

    def read(self, columns: Sequence[int]) -> Table:
        self._request("read")
        header = tuple(str(value) for value in self.rows[0])
        read = {
            column: [row[column - 1] if column - 1 < len(row) else "" for row in self.rows[1:]]
            for column in columns
        }
        return Table(header, read, self.time_zone)

    def ensure_headers(self, layout: Layout, wanted: Sequence[str]) -> Layout:
        missing = layout.missing(wanted)
        if missing:
            self._request("write")
            self.rows[0] = [*self.rows[0], *missing]
        return layout.with_columns(wanted)

    def ensure_worksheet(self, title: str, rows: int, columns: int) -> None:
        self.tabs.setdefault(title, [[""] * columns for _ in range(rows)])

    def ensure_chart(self, title: str, plan: object, chart_id: int | None) -> int:
        self.charts = getattr(self, "charts", 0) + (chart_id is None)
        return chart_id or 1

    def write(self, cells: Sequence[CellWrite]) -> None:
        self._request("write")
        if self.fail_next_write:
            self.fail_next_write = False
            raise RuntimeError("the write was lost")  # stands in for any failure mid-write
        for cell in cells:
            grid = self.tabs[cell.worksheet] if cell.worksheet else self.rows
            while len(grid) < cell.row:
                grid.append([])
            row = grid[cell.row - 1]
            row.extend([""] * (cell.column - len(row)))
            row[cell.column - 1] = cell.text

    def append(self, rows: Sequence[Sequence[str]]) -> None:
        self._request("append")
        last = max(
            (n for n, row in enumerate(self.rows, 1) if any(v != "" for v in row)), default=0
        )
        self.rows[last:last] = [list(row) for row in rows]
