"""What people read, from the pure core: literals in, literals out.

The figures of `status` and the summary tab (core.health, core.summary), a row's status texts
(core.status), error sentences (core.errors) and config messages (core.config).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sheetsync.core import config as config_module
from sheetsync.core import summary
from sheetsync.core.errors import (
    ConfigError,
    JobFatal,
    Retriable,
    SheetError,
    SheetUnavailable,
    render,
)
from sheetsync.core.health import JobState, job_figures
from sheetsync.core.leads import Lead, ReachedStage
from sheetsync.core.plan import EventMemory, LeadMemory
from sheetsync.core.status import JobView, row_texts
from sheetsync.core.text import clipped, fold, quoted

NOW = 1_795_000_000  # 2026-11-18 11:06:40 UTC
DAY = 86400
EVENTS = ["Lead", "QualifiedLead", "Schedule", "Purchase"]


def job(**overrides: Any) -> config_module.JobConfig:
    data = {
        "name": "sales",
        "spreadsheet": "sheet1",
        "dataset_id": "1",
        "columns": {"email": "Email", "stage": "Stage"},
        "stages": {
            "New": "Lead",
            "Qualified": "QualifiedLead",
            "Meeting": "Schedule",
            "Won": "Purchase",
        },
        **overrides,
    }
    return config_module.parse({"jobs": [data]}).jobs[0]


def event(key: str, name: str, status: str, at: int | None, keys: str = "") -> dict[str, Any]:
    return {
        "lead_key": key,
        "event_name": name,
        "status": status,
        "status_at": at,
        "match_keys": keys,
    }


# --- core.health ----------------------------------------------------------------------------
def test_job_figures_count_what_the_store_holds() -> None:
    midnight = NOW - NOW % DAY
    events = [
        event("a", "Lead", "sent", midnight + 60, "em,ph"),  # today
        event("b", "Lead", "sent", midnight - 60, "em"),  # yesterday, this week
        event("c", "Lead", "sent", NOW - 8 * DAY, "lead_id"),  # older than a week
        event("d", "Lead", "pending", NOW),
        event("a", "QualifiedLead", "failed", NOW),
        event("e", "Lead", "expired", NOW),
        event("f", "Lead", "baseline", None),
        event("a", "Purchase", "sent", None, ""),
    ]
    saved = JobState("sales", 1, NOW - 60, NOW - 120, "fine", "boom", 2, "token", NOW - 600)
    status = job_figures(
        job(test_event_code="TEST1"),
        saved,
        events,
        {"a", "b", "d", "z"},
        7,
        Counter({"phone has too few digits": 2, "unknown stage": 1}),
        3,
        NOW,
    )
    assert (status.last_cycle, status.last_success) == (
        "2026-11-18 11:05 UTC",
        "2026-11-18 11:04 UTC",
    )
    assert status.last_result == "boom"  # the error, when there is one
    assert (status.failed_cycles_in_a_row, status.paused, status.test_mode) == (2, "token", "TEST1")
    assert (status.leads, status.leads_last_30_days) == (7, 4)
    assert (status.pending, status.failed, status.expired, status.baseline) == (1, 1, 1, 1)
    lead, qualified, schedule, purchase = status.stages
    assert (lead.event, lead.sent_today, lead.sent_7_days, lead.sent_total) == ("Lead", 1, 2, 3)
    assert lead.share_of_leads == 0.75  # a, b, d of the 4 recent leads reached Lead
    assert (qualified.sent_total, qualified.share_of_leads) == (0, 0.25)
    assert (schedule.sent_total, schedule.share_of_leads) == (0, 0.0)
    assert (purchase.sent_today, purchase.sent_7_days, purchase.sent_total) == (0, 0, 1)
    assert not lead.optimisation_ready
    assert status.match_keys == {"em": 0.5, "lead_id": 0.25, "ph": 0.25}
    assert (status.rows_with_problems, status.problems) == (
        3,
        {"phone has too few digits": 2, "unknown stage": 1},
    )


def test_fifty_a_week_is_ready_for_optimisation_and_no_sends_no_shares() -> None:
    ready = job_figures(
        job(),
        JobState("sales"),
        [event(f"k{i}", "Lead", "sent", NOW - DAY) for i in range(50)],
        set(),
        50,
        Counter(),
        0,
        NOW,
    )
    assert ready.stages[0].optimisation_ready and not ready.stages[1].optimisation_ready
    assert ready.stages[0].share_of_leads == 0.0  # no recent leads: no share, no division
    assert (ready.last_cycle, ready.last_success, ready.last_result) == ("never", "never", "")
    assert job_figures(job(), JobState("s"), [], set(), 0, Counter(), 0, NOW).match_keys == {}


# --- core.summary ---------------------------------------------------------------------------
def test_the_summary_grid() -> None:
    status = job_figures(
        job(test_event_code="T9"),
        JobState("sales", blocked_reason="the token was rejected"),
        [event("a", "Lead", "sent", NOW - 60), event("b", "Lead", "pending", NOW)],
        {"a", "b"},
        2,
        Counter({"phone has too few digits": 1}),
        1,
        NOW,
    )
    grid = summary.render(status, NOW)
    assert len(grid) == summary.HEIGHT and all(len(row) == summary.WIDTH for row in grid)
    shown = [row for row in grid if any(row)]
    assert shown == [
        ["sheetsync · job sales", "", "", "", ""],
        ["Last successful sync", "2026-11-18 11:00 UTC (to the hour)", "", "", ""],
        ["Sending to Meta", "PAUSED: the token was rejected", "", "", ""],
        ["Test mode", "ON (T9): events still count in the dataset", "", "", ""],
        ["Leads in the last 30 days", "2", "", "", ""],
        ["Waiting / rejected / expired", "1 / 0 / 0", "", "", ""],
        [
            "Event",
            "Sent this week",
            "Sent in total",
            "Share of leads",
            "Optimisation target (≈50/week)",
        ],
        ["Lead", "1", "1", "100%", "not yet"],
        ["QualifiedLead", "0", "0", "0%", "not yet"],
        ["Schedule", "0", "0", "0%", "not yet"],
        ["Purchase", "0", "0", "0%", "not yet"],
        ["Row problems", "Rows", "What to fix", "", ""],
        [
            "phone has too few digits",
            "1",
            "write the phone with its country code, e.g. +1 650 555 1212",
            "",
            "",
        ],
    ]
    quiet = summary.render(job_figures(job(), JobState("s"), [], set(), 0, Counter(), 0, NOW), NOW)
    assert ["Sending to Meta", "ok", "", "", ""] in quiet
    assert ["Test mode", "off", "", "", ""] in quiet
    assert ["none", "0", "", "", ""] in quiet


@pytest.mark.parametrize(
    ("kind", "fix"),
    [
        ("unknown stage", "pick the stage from the Stage dropdown"),
        (
            "lead id lost digits because Sheets stored it as a number",
            "format Lead ID as plain text",
        ),
        ("email is not a valid address", "correct the email address"),
        ("Created is in the future", "correct the date"),
        ("Created is not a date", "write the date as 2026-12-03"),
        ("not sent: nothing Meta can match this lead by", "fill Email, Phone or Lead ID"),
        ("Email: holds a broken character", "retype the cell"),
        ("something new", "open one of these rows: its Sync Status says what to fix"),
    ],
)
def test_each_problem_kind_says_what_to_fix(kind: str, fix: str) -> None:
    assert summary.what_to_fix(kind).startswith(fix)


@pytest.mark.parametrize(
    ("problem", "kind"),
    [
        ("phone '+1 555' has too few digits (3 digits)", "phone has too few digits"),
        ("unknown stage 'Qualifed'; known: New, Won", "unknown stage"),
        ("Created '2026-13-45' is not a date", "Created is not a date"),
        ("'x'", "other"),
    ],
)
def test_problem_kinds_drop_the_values(problem: str, kind: str) -> None:
    assert summary.problem_kind(problem) == kind


# --- core.status ----------------------------------------------------------------------------
def lead(problems: tuple[str, ...] = ()) -> Lead:
    return Lead(
        2, "k1", (ReachedStage("Lead", "New", None, None),), None, (), None, None, None, problems
    )


def remembered(**events: EventMemory) -> LeadMemory:
    return LeadMemory(NOW - 600, events=events)


@pytest.mark.parametrize(
    ("memory", "notes", "view", "status", "sent", "synced"),
    [
        (None, (), JobView(), "", "", ""),
        (None, (), JobView("TEST1"), "", "", ""),  # test mode alone says nothing
        (
            remembered(Lead=EventMemory("sent", NOW - 60, "i", at=NOW - 60, match_keys=("em",))),
            (),
            JobView("TEST1"),
            "TEST mode (TEST1) · ✓ Lead sent 2026-11-18 11:05 UTC · keys: em",
            "Lead",
            "2026-11-18 11:05 UTC",
        ),
        (
            remembered(
                Lead=EventMemory("sent", NOW, "i", at=NOW - 120),
                QualifiedLead=EventMemory("failed", NOW, "j", "(Meta: bad value)", at=NOW - 60),
                Schedule=EventMemory("pending", NOW, "k", "", at=NOW),
            ),
            ("a note",),
            JobView(),
            "✗ QualifiedLead (Meta: bad value) · ✗ a note · … Schedule queued to send "
            "· ✓ Lead sent 2026-11-18 11:04 UTC",
            "Lead",
            "2026-11-18 11:05 UTC",
        ),
        (
            remembered(Lead=EventMemory("pending", NOW, "i", "Meta timed out", at=NOW)),
            (),
            JobView(),
            "… Lead waiting to retry (Meta timed out)",
            "",
            "",
        ),
        (
            remembered(Lead=EventMemory("pending", NOW, "i", at=NOW)),
            (),
            JobView(blocked_reason="Meta rejected the token; renew it. Details follow"),
            "… Lead waiting: sending is paused for this job (Meta rejected the token)",
            "",
            "",
        ),
        (
            remembered(
                Lead=EventMemory("recovered", None, None, at=NOW - 60),
                Purchase=EventMemory("expired", NOW - 9 * DAY, None, "too old", at=NOW - 30),
            ),
            (),
            JobView(),
            "✓ Lead sent before · ⌛ Purchase not sent: too old",
            "Lead",
            "2026-11-18 11:06 UTC",
        ),
        (
            remembered(
                Lead=EventMemory("baseline", None, None, "there before", at=NOW - 60),
                QualifiedLead=EventMemory("baseline", None, None, "there before", at=NOW - 60),
            ),
            (),
            JobView(),
            "— Lead, QualifiedLead not sent (there before); later stages will be",
            "",
            "2026-11-18 11:05 UTC",
        ),
    ],
)
def test_row_texts(
    memory: LeadMemory | None,
    notes: tuple[str, ...],
    view: JobView,
    status: str,
    sent: str,
    synced: str,
) -> None:
    texts = row_texts(lead(), memory, notes, view, EVENTS)
    assert (texts.status, texts.events, texts.synced_at) == (status, sent, synced)


def test_at_most_three_problems_are_spelled_out() -> None:
    texts = row_texts(lead(("p1", "p2", "p2", "p3", "p4", "p5")), None, (), JobView(), EVENTS)
    assert texts.status == "✗ p1 · ✗ p2 · ✗ p3 · (+2 more problems)"


@given(st.lists(st.text(), max_size=6), st.text())
def test_a_status_is_one_line_and_short_whatever_the_cells_say(
    problems: list[str], note: str
) -> None:
    texts = row_texts(lead(tuple(problems)), None, (note,), JobView(), EVENTS)
    assert len(texts.status) <= 2_000
    assert not any(ord(char) < 32 or 127 <= ord(char) < 160 for char in texts.status)


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("Won", "'Won'"),
        (1200.0, "'1200'"),
        ("a\nb\tc\x00d", "'a b c d'"),
        ("x" * 41, "'" + "x" * 39 + "…'"),
        ("x" * 40, "'" + "x" * 40 + "'"),
    ],
)
def test_quoted_cells(value: object, shown: str) -> None:
    assert quoted(value) == shown


def test_clipped_and_folded() -> None:
    assert clipped("a\r\nb", 10) == "a b"
    assert clipped("abcdef", 4) == "abc…"
    assert fold("  Deal\u200b  VALUE\ufeff ") == "deal value"


# --- core.errors ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("error", "sentence"),
    [
        (SheetError("no permission", "share it"), "no permission; share it"),
        (SheetUnavailable("Google failed"), "Google failed"),
        (
            ConfigError(["a: required", "b: not a number"], "c.yaml"),
            "the config c.yaml has 2 problem(s):\n  a: required\n  b: not a number",
        ),
        (FileNotFoundError(2, "No such file or directory", "/x"), "No such file or directory: /x"),
        (KeyError("k"), "unexpected KeyError: 'k'"),
    ],
)
def test_one_renderer_for_every_error(error: BaseException, sentence: str) -> None:
    assert render(error) == sentence


def test_error_kinds() -> None:
    assert isinstance(SheetUnavailable("x"), Retriable) and isinstance(
        SheetUnavailable("x"), SheetError
    )
    assert isinstance(SheetError("x"), JobFatal) and not isinstance(SheetError("x"), Retriable)
    error = ConfigError([f"p{i}" for i in range(5)], "c.yaml")
    assert str(error) == "c.yaml: p0; p1; p2 (and 2 more)"
    assert (error.message, error.hint) == (str(error), "")


# --- core.config ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("60s", 60),
        ("5m", 300),
        ("1h", 3600),
        ("1500ms", 1.5),
        (" 2.5 s ", 2.5),
        (90, 90),
        ("45", 45),
    ],
)
def test_durations(text: object, seconds: float) -> None:
    assert config_module.parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [("0s", "more than zero"), ("soon", "not a duration: 'soon'"), (True, "not a duration")],
)
def test_bad_durations(text: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        config_module.parse_duration(text)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"poll_interval": "soon"},
            "jobs[0].poll_interval: not a duration: 'soon' (write e.g. 60s, 5m or 1h)",
        ),
        (
            {"stages": {"New": 5}},
            "jobs[0].stages.New: must be a Meta event name, or a mapping with event:",
        ),
        (
            {"stages": {"New": {"event": "Lead", "value": "lots"}}},
            "jobs[0].stages.New.value: not a number",
        ),
        ({"colums": {}}, "jobs[0].colums: unknown key (check its spelling)"),
        ({"name": ""}, "jobs[0].name: String should have at least 1 character"),
    ],
)
def test_config_messages_name_the_key_without_pydantic_internals(
    change: dict[str, Any], message: str
) -> None:
    data = {
        "name": "sales",
        "spreadsheet": "sheet1",
        "dataset_id": "1",
        "columns": {"email": "Email", "stage": "Stage"},
        "stages": {"New": "Lead"},
        **change,
    }
    with pytest.raises(ConfigError) as caught:
        config_module.parse({"jobs": [data]})
    assert any(problem.startswith(message) for problem in caught.value.problems), (
        caught.value.problems
    )
    assert not any(
        marker in problem
        for problem in caught.value.problems
        for marker in ("constrained-", "function-", "StageSpec", "str.")
    )


def test_error_details() -> None:
    from sheetsync.core.errors import MissingColumns, SheetsyncError

    three = ConfigError(["a", "b", "c"], "c.yaml")
    assert str(three) == "c.yaml: a; b; c" and three.source == "c.yaml"
    assert SheetsyncError("it broke").args == ("it broke",)
    missing = MissingColumns(["no Email", "no Stage"])
    assert str(missing) == "no Email; no Stage" and missing.problems == ["no Email", "no Stage"]


def test_config_edges() -> None:
    from pathlib import Path

    assert config_module.parse_duration("0.5s") == 0.5  # under a second is still a duration
    with pytest.raises(ConfigError) as caught:
        config_module.parse(["not", "a", "mapping"], "c.yaml")
    assert caught.value.source == "c.yaml"
    assert caught.value.problems == ["the file must hold a mapping with at least a jobs: list"]
    with pytest.raises(ConfigError) as invalid:
        config_module.parse({"jobs": [{"name": "a"}]}, "d.yaml")
    assert invalid.value.source == "d.yaml"
    relative = {
        "state_path": "s.db",
        "jobs": [{"name": "a", "spreadsheet": "s", "dataset_id": "1",
                  "columns": {"email": "E", "stage": "S"}, "stages": {"New": "Lead"}}],
    }  # fmt: skip
    assert config_module.parse(relative).state_path == Path("s.db")  # no file: left as written


def test_summary_marks_a_stage_ready_and_problem_kinds_lose_trailing_marks() -> None:
    week = [event(f"k{i}", "Lead", "sent", NOW - 60) for i in range(50)]
    status = job_figures(job(), JobState("sales"), week, set(), 50, Counter(), 0, NOW)
    assert ["Lead", "50", "50", "0%", "ready"] in summary.render(status, NOW)
    assert summary.problem_kind("lead id: '12'") == "lead id"
    assert summary.problem_kind("unknown column:,") == "unknown column"
