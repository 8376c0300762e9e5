"""The managers' summary tab: a job's health and figures as a small grid of text. Pure.

It changes only when something a manager cares about changes (the last-sync time is
shown to the hour), so a quiet sheet is not rewritten every cycle.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime

from sheetsync.core.health import JobStatus

HEIGHT = 40  # rows the tab owns; unused ones are cleared
WIDTH = 5


def problem_kind(problem: str) -> str:
    """'phone has too few digits (3 digits)' → 'phone has too few digits'; values are dropped."""
    text = re.sub(r"'[^']*'|\([^)]*\)", "", problem.split(";", maxsplit=1)[0])
    words = [word for word in text.split() if not any(char.isdigit() for char in word)]
    return " ".join(words).rstrip(":,") or "other"


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
    rows += [[], ["Row problems", "Rows"]]
    rows += [
        [kind, str(count)] for kind, count in Counter(status.problems).most_common(HEIGHT)
    ] or [["none", "0"]]
    padded = [(row + [""] * WIDTH)[:WIDTH] for row in rows[:HEIGHT]]
    return padded + [[""] * WIDTH for _ in range(HEIGHT - len(padded))]
