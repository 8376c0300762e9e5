"""The outbox policy: what an event's status may become, when to try again, when it is too late.

Pure: the store only persists what these functions decide. Meta's 7-day window lives here and
nowhere else (docs/META_CAPI.md, "event_time"): the planner, the outbox and `resend` all ask it.
"""

from __future__ import annotations

from enum import StrEnum

from sheetsync.core.records import OutcomeKind

SEVEN_DAYS = 7 * 24 * 3600
# Meta refuses an event older than 7 days when it arrives, not when it leaves: one that is this
# close to the line is not started (the cycle, retries and the request itself take time).
SEND_MARGIN = 3600
RETRY_BASE = 60  # seconds before the first retry on a later cycle; doubles with each attempt
RETRY_CAP = 3600


class EventStatus(StrEnum):
    PENDING = "pending"  # in the outbox, to be sent (again)
    SENT = "sent"  # Meta took it
    FAILED = "failed"  # Meta refused it for good; waits for the row to change
    EXPIRED = "expired"  # too old for Meta's window
    BASELINE = "baseline"  # there before sheetsync started: never sent
    RECOVERED = "recovered"  # the sheet says it was sent (state lost): not sent again


# Where each kind of Meta answer takes a pending event.
AFTER_OUTCOME: dict[OutcomeKind, EventStatus] = {
    "sent": EventStatus.SENT,
    "failed": EventStatus.FAILED,
    "pending": EventStatus.PENDING,
    "blocked": EventStatus.PENDING,
}


def status_after(outcome: OutcomeKind) -> EventStatus:
    return AFTER_OUTCOME[outcome]


def retry_delay(attempts_before: int, kind: OutcomeKind, retry_after: float | None) -> int:
    """Seconds until a pending event is tried again.

    A transient failure waits 60 s, 120 s, … up to an hour, or longer when Meta said so. An event
    held back because the whole job cannot send is retried as soon as the job may send again.
    """
    if kind == "blocked":
        return 0
    spacing = min(RETRY_CAP, RETRY_BASE * 2 ** min(attempts_before, 16))
    return max(spacing, int(retry_after or 0))


def send_cutoff(now: int) -> int:
    """Events that happened before this moment are not sent any more (too close to 7 days)."""
    return now - SEVEN_DAYS + SEND_MARGIN


def too_old_to_send(event_time: int, now: int) -> bool:
    return event_time < send_cutoff(now)


def within_window(moment: int | None, now: int) -> bool:
    """A date of the lead's own within Meta's 7 days (the first-cycle 'recent' rule)."""
    return moment is not None and moment >= now - SEVEN_DAYS
