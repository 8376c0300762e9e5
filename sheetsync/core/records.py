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
