"""The outbox policy (sheetsync.core.outbox): pure, so tables and properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sheetsync.core.outbox import (
    RETRY_CAP,
    SEND_MARGIN,
    SEVEN_DAYS,
    EventStatus,
    retry_delay,
    send_cutoff,
    status_after,
    too_old_to_send,
    within_window,
)

NOW = 1_795_000_000


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        ("sent", EventStatus.SENT),
        ("failed", EventStatus.FAILED),
        ("pending", EventStatus.PENDING),
        ("blocked", EventStatus.PENDING),
    ],
)
def test_where_an_outcome_takes_an_event(outcome: str, status: EventStatus) -> None:
    assert status_after(outcome) is status  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("attempts", "kind", "retry_after", "delay"),
    [
        (0, "pending", None, 60),
        (1, "pending", None, 120),
        (5, "pending", None, 1920),
        (6, "pending", None, RETRY_CAP),
        (60, "pending", None, RETRY_CAP),
        (0, "pending", 300.0, 300),
        (0, "pending", 30.0, 60),  # never sooner than the spacing
        (3, "blocked", 900.0, 0),  # retried as soon as the job may send again
    ],
)
def test_retry_spacing(attempts: int, kind: str, retry_after: float | None, delay: int) -> None:
    assert retry_delay(attempts, kind, retry_after) == delay  # type: ignore[arg-type]


@given(st.integers(0, 10_000), st.floats(0, 86400) | st.none())
def test_a_retry_waits_at_least_what_meta_asked_and_never_less_than_a_minute(
    attempts: int, retry_after: float | None
) -> None:
    delay = retry_delay(attempts, "pending", retry_after)
    assert delay >= 60 and delay >= int(retry_after or 0)
    assert retry_delay(attempts + 1, "pending", retry_after) >= delay


@pytest.mark.parametrize(
    ("age", "too_old"),
    [
        (0, False),
        (SEVEN_DAYS - SEND_MARGIN, False),  # exactly at the line: still sent
        (SEVEN_DAYS - SEND_MARGIN + 1, True),
        (SEVEN_DAYS, True),
    ],
)
def test_the_seven_day_line_with_its_margin(age: int, too_old: bool) -> None:
    assert too_old_to_send(NOW - age, NOW) is too_old
    assert send_cutoff(NOW) == NOW - SEVEN_DAYS + SEND_MARGIN


@pytest.mark.parametrize(
    ("moment", "recent"),
    [(None, False), (NOW, True), (NOW - SEVEN_DAYS, True), (NOW - SEVEN_DAYS - 1, False)],
)
def test_a_lead_is_recent_within_meta_s_seven_days(moment: int | None, recent: bool) -> None:
    assert within_window(moment, NOW) is recent
