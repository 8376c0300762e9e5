"""Records that cross module boundaries: an event waiting in the outbox, and what became of it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

OutcomeKind = Literal["sent", "failed", "pending", "blocked"]


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    job: str
    lead_key: str
    event_name: str
    event_id: str
    event_time: int
    payload: Mapping[str, Any]
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class Pause:
    """The whole job must stop sending: a bad token or permission (until a person fixes it:
    `wait` None), or Meta's rate limit (for `wait` seconds)."""

    reason: str
    wait: float | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """sent: Meta took it. failed: Meta refused it for good (detail says why). pending: try again
    later (transient). blocked: the job cannot send at all (token, permission, policy)."""

    event_id: str
    kind: OutcomeKind
    detail: str = ""
    fbtrace_id: str = ""
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class IntakeLead:
    """A Lead Ads lead that stands in the sheet: appended by sheetsync, or found there."""

    lead_id: str
    form_id: str
    created_time: int


@dataclass(frozen=True, slots=True)
class FormCheckpoint:
    """Where the next fetch of a form starts: the created time of the newest lead fetched."""

    form_id: str
    form_name: str
    checkpoint: int


@dataclass(frozen=True, slots=True)
class FormFigures:
    form_id: str
    form_name: str
    checkpoint: int
    last_fetch_at: int | None
    appended_since: int  # leads appended since the moment asked for (today, for `status`)
    appended_total: int


@dataclass(frozen=True, slots=True)
class IntakeState:
    paused: str | None = None  # why the intake waits (throttled, access lost), in plain words
    paused_until: int | None = None  # None with a reason: until the next cycle's try
    forms: tuple[FormFigures, ...] = ()
