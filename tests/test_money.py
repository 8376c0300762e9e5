"""Deal values: taken only when a cell is unambiguously one amount (core.money)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sheetsync.core.money import MAX_AMOUNT, parse_amount


@pytest.mark.parametrize(
    ("cell", "amount"),
    [
        (1200, 1200.0),
        (1200.5, 1200.5),
        ("1200", 1200.0),
        ("1,200", 1200.0),
        ("$1,200.50", 1200.5),
        ("1.200,50", 1200.5),
        ("1.200,50 €", 1200.5),
        ("EUR 99", 99.0),
        ("12,5", 12.5),
        ("1 200", 1200.0),
        ("1\u00a0200,00 €", 1200.0),
        ("USD 1,234,567.89", 1234567.89),
        ("0", 0.0),
        ("", None),
        ("  ", None),
    ],
)
def test_amounts(cell: object, amount: float | None) -> None:
    assert parse_amount(cell) == (amount, None)


@pytest.mark.parametrize(
    ("cell", "why"),
    [
        ("approx 5,000 (was 7,000)", "is not one amount"),
        ("5 or 6", "is not one amount"),
        ("10k", "is not one amount"),
        ("2 x 500", "is not one amount"),
        ("2026-05-01", "is not one amount"),
        ("05/01/2026", "is not one amount"),
        ("1,2,3", "is not one amount"),
        ("-500", "is not one amount"),
        (-500, "is negative"),
        (2e12, "is too large"),
        ("9,999,999,999", "is too large"),
        (True, "is a checkbox"),
        ("TBD", "is not one amount"),
    ],
)
def test_not_amounts(cell: object, why: str) -> None:
    amount, reason = parse_amount(cell)
    assert amount is None and reason is not None and reason.startswith(why)


@given(st.integers(0, MAX_AMOUNT - 1), st.sampled_from(["", "$", "€ ", "USD "]))
def test_a_written_amount_reads_back(cents: int, sign: str) -> None:
    whole, fraction = divmod(cents, 100)
    written = f"{sign}{whole:,}.{fraction:02d}"
    assert parse_amount(written) == (pytest.approx(cents / 100), None)


@given(st.text(max_size=30))
def test_any_text_is_an_amount_or_a_reason(text: str) -> None:
    amount, why = parse_amount(text)
    assert (amount is None) or (why is None and 0 <= amount < MAX_AMOUNT)
