"""How sheetsync reads a cell as text and compares names: one home for each rule."""

from __future__ import annotations


def fold(name: object) -> str:
    """Headers and stage labels compare without case and runs of spaces: ' Deal  value' = 'deal value'."""
    return " ".join(str(name).split()).lower()


def cell_text(value: object) -> str:
    """A cell as text: a whole number without '.0' (Sheets sends 42 as 42.0), a checkbox as nothing."""
    if isinstance(value, bool):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
