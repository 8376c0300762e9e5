"""What sheetsync knows of a worksheet after one read: sheetsync's own type, not gspread's."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sheetsync.core.text import fold

# A cell read with UNFORMATTED_VALUE: text, a number (dates as serial numbers) or a boolean.
Scalar = str | int | float | bool


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    columns: Mapping[int, Sequence[Scalar]]  # 1-based column → values of rows 2, 3, …
    time_zone: str = "UTC"

    @property
    def data_rows(self) -> int:
        return max((len(values) for values in self.columns.values()), default=0)

    def cell(self, column: int, row_number: int) -> Scalar:
        """The value at a sheet row number (2 = first data row); "" when blank or not read."""
        values = self.columns.get(column, ())
        index = row_number - 2
        return values[index] if 0 <= index < len(values) else ""


@dataclass(frozen=True, slots=True)  # a first cycle writes 300,000 of them
class CellWrite:
    row: int
    column: int
    text: str
    worksheet: str | None = (
        None  # another tab of the same spreadsheet (the summary); None = the job's
    )


@dataclass(frozen=True)
class Layout:
    """Where each header stands (1-based), by its trimmed, lower-cased name."""

    positions: Mapping[str, int] = field(default_factory=dict)
    width: int = 0
    names: tuple[str, ...] = ()  # as written, for messages
    repeated: Mapping[str, tuple[int, ...]] = field(default_factory=dict)  # name → its positions

    @staticmethod
    def of(header: Sequence[str]) -> Layout:
        positions: dict[str, int] = {}
        everywhere: dict[str, list[int]] = {}
        for index, name in enumerate(header, start=1):
            key = normalise_header(name)
            if key:
                positions.setdefault(key, index)
                everywhere.setdefault(key, []).append(index)
        return Layout(
            positions,
            len(header),
            tuple(str(name) for name in header if str(name).strip()),
            {key: tuple(found) for key, found in everywhere.items() if len(found) > 1},
        )

    def positions_of(self, name: str) -> tuple[int, ...]:
        """Every column whose header reads as `name` (more than one is a problem)."""
        key = normalise_header(name)
        found = self.positions.get(key)
        return self.repeated.get(key) or ((found,) if found is not None else ())

    def find(self, name: str) -> int | None:
        return self.positions.get(normalise_header(name))

    def missing(self, names: Sequence[str]) -> list[str]:
        return [name for name in names if self.find(name) is None]

    def with_columns(self, names: Sequence[str]) -> Layout:
        """This layout once the missing `names` are added at the right of the header."""
        added = self.missing(names)
        positions = dict(self.positions)
        for offset, name in enumerate(added, start=1):
            positions[normalise_header(name)] = self.width + offset
        return Layout(positions, self.width + len(added), self.names + tuple(added), self.repeated)


normalise_header = fold  # headers compare as every name does


def column_letter(column: int) -> str:
    """1 → A, 28 → AB: how people name a column."""
    letters = ""
    while column > 0:
        column, remainder = divmod(column - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters
