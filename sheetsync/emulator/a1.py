"""A1 notation: column letters, cell references and ranges, with sheet titles.

Shared by the Sheets boundary (to address cells) and the emulator (to parse
what gspread sends). Pure functions only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_CELL = re.compile(r"^([A-Za-z]*)([0-9]*)$")


def column_letter(index: int) -> str:
    """1 → A, 26 → Z, 27 → AA, 703 → AAA."""
    if index < 1:
        raise ValueError(f"column index must be ≥ 1, got {index}")
    letters = ""
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def column_index(letters: str) -> int:
    """A → 1, Z → 26, AA → 27 (case-insensitive)."""
    if not letters or not letters.isascii() or not letters.isalpha():
        raise ValueError(f"not a column: {letters!r}")
    index = 0
    for char in letters.upper():
        index = index * 26 + ord(char) - 64
    return index


def cell_ref(row: int, column: int) -> str:
    return f"{column_letter(column)}{row}"


def quote_title(title: str) -> str:
    """A sheet title as it stands before `!`: quoted, inner quotes doubled."""
    return "'" + title.replace("'", "''") + "'"


def absolute(title: str, range_: str) -> str:
    return f"{quote_title(title)}!{range_}"


@dataclass(frozen=True)
class GridRange:
    """A rectangle of cells; None on an end means open (to the grid's edge).

    Rows and columns are 1-based and inclusive.
    """

    title: str | None
    start_row: int | None
    start_column: int | None
    end_row: int | None
    end_column: int | None


def split_title(text: str) -> tuple[str | None, str]:
    """`'My Sheet'!A1:B2` → ("My Sheet", "A1:B2"); `Leads` alone → ("Leads", "")."""
    if text.startswith("'"):
        i = 1
        title_chars: list[str] = []
        while i < len(text):
            if text[i] == "'":
                if i + 1 < len(text) and text[i + 1] == "'":
                    title_chars.append("'")
                    i += 2
                    continue
                break
            title_chars.append(text[i])
            i += 1
        else:
            raise ValueError(f"Unable to parse range: {text}")
        rest = text[i + 1 :]
        if rest and not rest.startswith("!"):
            raise ValueError(f"Unable to parse range: {text}")
        return "".join(title_chars), rest[1:]
    if "!" in text:
        title, _, rest = text.rpartition("!")
        return title, rest
    if _looks_like_cells(text):
        return None, text
    return text, ""


def _looks_like_cells(text: str) -> bool:
    parts = text.split(":")
    return len(parts) <= 2 and all(_CELL.match(part) and part for part in parts)


def parse_range(text: str) -> GridRange:
    """Parse an A1 range as the Sheets API accepts it (A1, A1:C, A:A, 2:2, Title!…)."""
    title, cells = split_title(text)
    if not cells:
        return GridRange(title, None, None, None, None)
    parts = cells.split(":")
    if len(parts) > 2:
        raise ValueError(f"Unable to parse range: {text}")
    start = _parse_cell(parts[0], text)
    end = _parse_cell(parts[1], text) if len(parts) == 2 else start
    start_row, start_column = start
    end_row, end_column = end
    if len(parts) == 1 and (start_row is None or start_column is None):
        raise ValueError(f"Unable to parse range: {text}")
    return GridRange(title, start_row, start_column, end_row, end_column)


def _parse_cell(text: str, whole: str) -> tuple[int | None, int | None]:
    match = _CELL.match(text)
    if not match or not text:
        raise ValueError(f"Unable to parse range: {whole}")
    letters, digits = match.groups()
    row = int(digits) if digits else None
    if row == 0:
        raise ValueError(f"Unable to parse range: {whole}")
    column = column_index(letters) if letters else None
    return row, column


def format_range(
    title: str, start_row: int, start_column: int, end_row: int, end_column: int
) -> str:
    """The `range` Google returns: the title quoted only when it needs it."""
    first = cell_ref(start_row, start_column)
    last = cell_ref(end_row, end_column)
    body = first if first == last else f"{first}:{last}"
    shown = title if re.fullmatch(r"[A-Za-z0-9_]+", title) else quote_title(title)
    return f"{shown}!{body}"
