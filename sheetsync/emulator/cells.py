"""How Google Sheets stores and shows a cell: typed input, doubles, dates.

The emulator keeps each cell as Sheets does internally — text, a number (a
double rounded to 15 significant digits, as Sheets keeps it), a boolean or a
date (a serial number with the pattern it was typed in) — and renders it
FORMATTED or UNFORMATTED as the API would.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal

# Sheets' day zero: serial 0 is 1899-12-30.
_EPOCH = datetime(1899, 12, 30, tzinfo=UTC)
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_DATE_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$"), "%Y-%m-%d"),
    (re.compile(r"^\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{2}$"), "%Y-%m-%d %H:%M"),
    (re.compile(r"^\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{2}:\d{2}$"), "%Y-%m-%d %H:%M:%S"),
    (re.compile(r"^\d{1,2}/\d{1,2}/\d{4}$"), "%m/%d/%Y"),
    (re.compile(r"^\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2}$"), "%m/%d/%Y %H:%M:%S"),
]


@dataclass(frozen=True)
class DateCell:
    """A date or date-time: Sheets stores a serial number and shows a pattern."""

    serial: float
    pattern: str

    def formatted(self) -> str:
        moment = _EPOCH + timedelta(days=self.serial)
        return moment.strftime(self.pattern)


@dataclass(frozen=True)
class ShownNumber:
    """A number typed with a format (`50%`, `$1,200`): Sheets keeps the number and shows the
    format, so UNFORMATTED_VALUE reads 0.5 and 1200."""

    number: float
    shown: str


@dataclass(frozen=True)
class Formula:
    """A formula and the value Sheets computed for it: the API returns the value (the formula
    only with valueRenderOption=FORMULA, which sheetsync never asks for)."""

    text: str
    value: float | str | bool


CellValue = str | float | bool | DateCell | ShownNumber | Formula | None
_PERCENT = re.compile(r"^([+-]?\d[\d,]*(?:\.\d+)?)\s*%$")
_DOLLARS = re.compile(r"^([+-]?)\$(\d{1,3}(?:,\d{3})*(?:\.\d+)?|\d+(?:\.\d+)?)$")


def round_like_sheets(number: float) -> float:
    """Sheets keeps 15 significant digits and drops the rest: 1234567890123456 → 1234567890123450."""
    if number == 0 or not math.isfinite(number):
        return number
    exact = Decimal(repr(number))
    digits_before_point = exact.adjusted() + 1
    step = Decimal(1).scaleb(digits_before_point - 15)
    return float(exact.quantize(step, rounding=ROUND_DOWN))


def typed(text: str) -> CellValue:
    """A value typed by a person (USER_ENTERED): numbers, booleans and dates are parsed."""
    if text == "":
        return None
    if text.startswith("'"):
        return text[1:]
    stripped = text.strip()
    if stripped.startswith("="):
        return Formula(stripped, _evaluate(stripped))
    if percent := _PERCENT.match(stripped):
        return ShownNumber(float(percent.group(1).replace(",", "")) / 100, stripped)
    if dollars := _DOLLARS.match(stripped):
        amount = float(dollars.group(2).replace(",", ""))
        return ShownNumber(-amount if dollars.group(1) == "-" else amount, stripped)
    if _NUMBER.match(stripped) and math.isfinite(float(stripped)):
        return round_like_sheets(float(stripped))  # 1E400 overflows: Sheets keeps it as text
    if stripped.upper() in ("TRUE", "FALSE"):
        return stripped.upper() == "TRUE"
    for pattern, fmt in _DATE_PATTERNS:
        if pattern.match(stripped):
            try:
                moment = datetime.strptime(stripped, fmt).replace(tzinfo=UTC)
            except ValueError:
                return text
            serial = (moment - _EPOCH).total_seconds() / 86400
            return DateCell(serial, fmt)
    return text


def raw(value: object) -> CellValue:
    """A value written with valueInputOption=RAW: stored exactly as sent."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return round_like_sheets(float(value))
    return str(value)


def format_number(number: float) -> str:
    """Sheets' automatic number format, as the default en_US locale shows it."""
    if number == int(number) and abs(number) < 1e15:
        return str(int(number))
    if abs(number) >= 1e15 or abs(number) < 1e-9:
        mantissa, exponent = f"{number:.5E}".split("E")
        mantissa = mantissa.rstrip("0").rstrip(".")
        sign = "+" if int(exponent) >= 0 else "-"
        return f"{mantissa}E{sign}{abs(int(exponent)):02d}"
    return f"{number:.10g}"


def _evaluate(formula: str) -> float | str:
    """What Sheets shows for a formula: plain arithmetic is computed; anything else the emulator
    cannot compute shows as Sheets' #NAME? (what an unknown function gives)."""
    expression = formula[1:].strip()
    if re.fullmatch(r"[\d\s.+\-*/()]+", expression):
        try:
            return float(eval(expression, {"__builtins__": {}}, {}))  # noqa: S307 (digits and operators only)
        except (SyntaxError, ZeroDivisionError, ValueError):
            return "#ERROR!"
    return "#NAME?"


def formatted(value: CellValue) -> str:
    if value is None:
        return ""
    if isinstance(value, ShownNumber):
        return value.shown
    if isinstance(value, Formula):
        return formatted(value.value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return format_number(value)
    if isinstance(value, DateCell):
        return value.formatted()
    return value


def unformatted(value: CellValue, dates_as_strings: bool) -> object:
    """UNFORMATTED_VALUE: JSON numbers and booleans; dates as serials or text."""
    if value is None:
        return ""
    if isinstance(value, ShownNumber):
        return _json_number(value.number)
    if isinstance(value, Formula):
        return unformatted(value.value, dates_as_strings)
    if isinstance(value, DateCell):
        return value.formatted() if dates_as_strings else _json_number(value.serial)
    if isinstance(value, float):
        return _json_number(value)
    return value


def _json_number(number: float) -> int | float:
    return int(number) if number == int(number) and abs(number) < 2**53 else number
