"""The managers' summary tab: a job's health and figures as a small grid of text. Pure.

It changes only when something a manager cares about changes (the last-sync time is
shown to the hour), so a quiet sheet is not rewritten every cycle.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from sheetsync.core.health import CHART_DAYS, DAY, JobStatus

HEIGHT = 40  # rows the tab owns; unused ones are cleared
WIDTH = 5


def problem_kind(problem: str) -> str:
    """'phone has too few digits (3 digits)' → 'phone has too few digits'; values are dropped."""
    text = re.sub(r"'[^']*'|\([^)]*\)", "", problem.split(";", maxsplit=1)[0])
    words = [word for word in text.split() if not any(char.isdigit() for char in word)]
    return " ".join(words).rstrip(":,") or "other"


# A problem kind → what a person does about it, for the summary tab (the rows' own statuses
# say it for each row). The first rule whose words all appear in the kind wins.
_FIXES = (
    (("broken character",), "retype the cell"),
    (("unknown stage",), "pick the stage from the Stage dropdown (one of the configured stages)"),
    (("lead id",), "format Lead ID as plain text and paste the id again"),
    (("email",), "correct the email address"),
    (("phone",), "write the phone with its country code, e.g. +1 650 555 1212"),
    (("nothing meta can match",), "fill Email, Phone or Lead ID"),
    (("in the future",), "correct the date (the row's events wait for it)"),
    (("before 2000",), "correct the date (the row's events wait for it)"),
    (("not a date",), "write the date as 2026-12-03 or 12/03/2026 14:30"),
    (("copy of the row",), "nothing: the copy was given its own key"),
    (("fbclid",), "paste the click id again, without spaces"),
    (("value",), "write the deal value as one amount, e.g. 1200"),
)


def what_to_fix(kind: str) -> str:
    folded = kind.lower()
    for words, fix in _FIXES:
        if all(word in folded for word in words):
            return fix
    return "open one of these rows: its Sync Status says what to fix"


def _lead_ads_rows(status: JobStatus) -> list[list[str]]:
    """One line on the Lead Ads intake: paused and why, or the leads it brought today."""
    intake = status.lead_ads
    if intake is None:
        return []
    if intake.paused:
        return [["New leads from Lead Ads", f"PAUSED: {intake.paused}"]]
    today = sum(form.appended_since for form in intake.forms)
    total = sum(form.appended_total for form in intake.forms)
    return [["New leads from Lead Ads", f"{today} today, {total} in all"]]


def render(status: JobStatus, now: float) -> list[list[str]]:
    hour = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d %H:00 UTC")
    rows: list[list[str]] = [
        [f"sheetsync · job {status.job}", "", "", "", ""],
        # Written by a cycle that is succeeding, so "now" is right; to the hour, so quiet cycles skip it.
        ["Last successful sync", f"{hour} (to the hour)"],
        ["Sending to Meta", f"PAUSED: {status.paused}" if status.paused else "ok"],
        [
            "Test mode",
            f"ON ({status.test_mode}): events still count in the dataset"
            if status.test_mode
            else "off",
        ],
        ["Leads in the last 30 days", str(status.leads_last_30_days)],
        ["Waiting / rejected / expired", f"{status.pending} / {status.failed} / {status.expired}"],
        *_lead_ads_rows(status),
        [],
        [
            "Event",
            "Sent this week",
            "Sent in total",
            "Share of leads",
            "Optimisation target (≈50/week)",
        ],
    ]
    for stage in status.stages:
        rows.append(
            [
                stage.event,
                str(stage.sent_7_days),
                str(stage.sent_total),
                f"{stage.share_of_leads:.0%}",
                "ready" if stage.optimisation_ready else "not yet",
            ]
        )
    rows += [[], ["Row problems", "Rows", "What to fix"]]
    rows += [
        [kind, str(count), what_to_fix(kind)]
        for kind, count in Counter(status.problems).most_common(HEIGHT)
    ] or [["none", "0"]]
    padded = [(row + [""] * WIDTH)[:WIDTH] for row in rows[:HEIGHT]]
    return padded + [[""] * WIDTH for _ in range(HEIGHT - len(padded))]


# --- the managers' chart: events sent per funnel stage per day --------------------------------
CHART_TITLE = f"Events sent to Meta per funnel stage, last {CHART_DAYS} days"
CHART_COLUMN = WIDTH + 2  # the chart's data stands right of the grid, after one empty column


@dataclass(frozen=True)
class ChartPlan:
    """What the chart shows, in the summary tab's own cells: a day column and one series per
    funnel stage, in rows `top`..`bottom` (the first is the header). The Sheets adapter turns it
    into Google's chart spec."""

    title: str
    top: int
    bottom: int
    domain_column: int
    series_columns: tuple[int, ...]


def chart_table(status: JobStatus, now: float) -> list[list[str]]:
    """The chart's data: a header, then one row per day (oldest first), counts per stage."""
    today = int(now) // DAY
    rows = [["Day", *(stage.event for stage in status.stages)]]
    for index in range(CHART_DAYS):
        day = datetime.fromtimestamp((today - CHART_DAYS + 1 + index) * DAY, UTC).strftime("%m-%d")
        rows.append([day, *(str(_day_count(stage.sent_by_day, index)) for stage in status.stages)])
    return rows


def chart_plan(status: JobStatus) -> ChartPlan:
    series = tuple(range(CHART_COLUMN + 1, CHART_COLUMN + 1 + len(status.stages)))
    return ChartPlan(CHART_TITLE, 1, 1 + CHART_DAYS, CHART_COLUMN, series)


def _day_count(days: tuple[int, ...], index: int) -> int:
    return days[index] if index < len(days) else 0
