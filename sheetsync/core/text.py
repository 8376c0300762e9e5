"""How sheetsync reads a cell as text, compares names and quotes cells: one home for each rule."""

from __future__ import annotations

import re
import unicodedata

QUOTE_LENGTH = 40  # a quoted cell in a message is at most this long (then "…")
# Google refuses a whole values:batchUpdate when one cell is over 50,000 characters; a status
# text stays far below, whatever the cells it quotes.
MAX_STATUS_LENGTH = 2_000
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def fold(name: object) -> str:
    """Headers and stage labels compare without case, runs of spaces or invisible characters
    (a zero-width space or BOM pasted along with a label): ' Deal  value' = 'deal value'."""
    text = str(name)
    # ASCII holds no invisible format character: the per-character pass is for the rest only.
    visible = (
        text if text.isascii() else "".join(c for c in text if unicodedata.category(c) != "Cf")
    )
    return " ".join(visible.split()).lower()


def cell_text(value: object) -> str:
    """A cell as text: a whole number without '.0' (Sheets sends 42 as 42.0), a checkbox as nothing."""
    if isinstance(value, bool):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def quoted(value: object) -> str:
    """A cell quoted in a message for people: one line, no control characters, shortened."""
    text = " ".join(_UNPRINTABLE.sub(" ", cell_text(value)).split())
    short = text if len(text) <= QUOTE_LENGTH else text[: QUOTE_LENGTH - 1] + "…"
    return f"'{short}'"


def clipped(text: str, limit: int = MAX_STATUS_LENGTH) -> str:
    """A text sheetsync writes, kept to one line and under `limit` characters."""
    text = " ".join(_UNPRINTABLE.sub(" ", text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# What people type for "nothing here": never a value to hash (docs/META_CAPI.md, "Identifiers").
PLACEHOLDERS = frozenset(
    {"n/a", "na", "n.a.", "n.a", "none", "null", "nil", "unknown", "unk", "not available",
     "not applicable", "no data", "tbd", "-", "--", "---", "—", "–", "?", "??", "???", "."}
)  # fmt: skip


def is_placeholder(text: str) -> bool:
    """`N/A`, `-`, `unknown`, `?` and the like: an empty cell in disguise."""
    return fold(text) in PLACEHOLDERS
