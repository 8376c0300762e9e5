"""A deal value from a cell, only when it is unambiguously an amount. Pure.

Sheets numbers are taken as they are. Text is taken when it is one amount written the way
people write money: an optional currency sign or code, digits with thousands separators, an
optional decimal part (`1200`, `1,200`, `$1,200.50`, `1.200,50 €`, `EUR 99`). Anything else —
prose (`approx 5,000 (was 7,000)`), ranges (`5 or 6`), shorthand (`10k`), sums (`2 x 500`), a
date, a negative or an absurd amount — is not guessed at: the event is sent without a value
and the row says why.
"""

from __future__ import annotations

import re

MAX_AMOUNT = 1_000_000_000  # above this, a deal value is a typo (an id pasted in the column)
_CURRENCY = r"(?:[$€£¥₹]|[A-Z]{3})"
_AMOUNT = re.compile(rf"^{_CURRENCY}?\s*(?P<number>\d[\d.,\s]*?)\s*{_CURRENCY}?$")
_PLAIN = re.compile(r"^\d+(?:\.\d+)?$")  # 1200, 1200.5
_US = re.compile(r"^\d{1,3}(?:,\d{3})+(?:\.\d+)?$")  # 1,200 / 1,200.50
_EUROPEAN = re.compile(r"^\d{1,3}(?:[.\s]\d{3})+(?:,\d{1,2})?$|^\d+,\d{1,2}$")  # 1.200,50 / 12,5
_SPACED = re.compile(r"^\d{1,3}(?:\s\d{3})+(?:\.\d+)?$")  # 1 200 / 1 200.50


def parse_amount(value: object) -> tuple[float | None, str | None]:
    """(amount, None), or (None, why it is not one). Blank cells are (None, None)."""
    if isinstance(value, bool):
        return None, "is a checkbox, not an amount"
    if isinstance(value, int | float):
        return _plausible(float(value))
    text = str(value).strip()
    if not text:
        return None, None
    match = _AMOUNT.match(text.replace("\u00a0", " "))
    if not match:
        return None, "is not one amount (write just the number, e.g. 1200 or 1,200.50)"
    number = match.group("number").strip()
    if _PLAIN.match(number) or _US.match(number):
        return _plausible(float(number.replace(",", "")))
    if _SPACED.match(number):
        return _plausible(float(number.replace(" ", "")))
    if _EUROPEAN.match(number):
        return _plausible(float(number.replace(".", "").replace(" ", "").replace(",", ".")))
    return None, "is not one amount (write just the number, e.g. 1200 or 1,200.50)"


def _plausible(amount: float) -> tuple[float | None, str | None]:
    if amount < 0:
        return None, "is negative"
    if amount >= MAX_AMOUNT:
        return None, "is too large to be a deal value"
    return amount, None
