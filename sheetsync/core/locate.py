"""Where each lead's row stands *now*, from the key column re-read just before writing. Pure.

People sort, insert and delete rows while a cycle runs, so rows are found by key, never by
the row number they had when the cycle read them. A lead given a key this cycle has none
in the sheet yet: it is found among keyless rows (or, for a copied row, among the later
rows carrying the key it copied) by who it is: the same identity cells.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from sheetsync.core.leads import ColumnMap, key_text
from sheetsync.core.table import Table

Fingerprint = Callable[[int], int | None]  # a row number → a hash of the identity cells on it


class Placed(Protocol):
    """A lead given a key this cycle, as far as finding its row needs (a `Lead` is one)."""

    @property
    def key(self) -> str: ...
    @property
    def row(self) -> int: ...
    @property
    def who(self) -> int | None: ...


def locate_rows(
    table: Table,
    columns: ColumnMap,
    new_keys: Sequence[Placed],
    copied_from: Mapping[str, str],
    fingerprint: Fingerprint,
) -> dict[str, int]:
    """Each key's row now; `new_keys` (in row order) and `copied_from` are the plan's."""
    rows_by_key: dict[str, list[int]] = {}
    for row in range(2, table.data_rows + 2):
        rows_by_key.setdefault(key_text(table.cell(columns.key, row)), []).append(row)
    keyless = rows_by_key.pop("", [])
    rows = {key: found[0] for key, found in rows_by_key.items()}
    finders: dict[str | None, RowFinder] = {}
    for lead in new_keys:
        copied = copied_from.get(lead.key)
        if copied not in finders:
            candidates = rows_by_key.get(copied, [])[1:] if copied else keyless
            finders[copied] = RowFinder(candidates, fingerprint)
        found = finders[copied].take(lead)
        if found is not None:
            rows[lead.key] = found
    return rows


class RowFinder:
    """Among candidate rows: the row the lead was read at when it still holds the same person,
    else the nearest row that does."""

    def __init__(self, candidates: list[int], fingerprint: Fingerprint) -> None:
        self._free = set(candidates)
        self._fingerprint = fingerprint
        self._by_fingerprint: dict[int, list[int]] | None = None  # built only if rows moved

    def take(self, lead: Placed) -> int | None:
        row = lead.row if self._holds(lead.row, lead) else self._nearest(lead)
        if row is not None:
            self._free.discard(row)
        return row

    def _holds(self, row: int, lead: Placed) -> bool:
        return row in self._free and self._fingerprint(row) == lead.who

    def _nearest(self, lead: Placed) -> int | None:
        if lead.who is None:
            return None  # nothing identifies the person: only its own row will do
        if self._by_fingerprint is None:
            self._by_fingerprint = {}
            for row in sorted(self._free):
                found = self._fingerprint(row)
                if found is not None:
                    self._by_fingerprint.setdefault(found, []).append(row)
        rows = [row for row in self._by_fingerprint.get(lead.who, []) if row in self._free]
        return min(rows, key=lambda row: abs(row - lead.row)) if rows else None
