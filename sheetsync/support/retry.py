"""Bounded, jittered exponential backoff around one remote call.

Both Google and Meta ask for it; gspread's own backoff client never gives up
(docs/SHEETS_API.md), so sheetsync keeps its own, with an injectable sleep
so tests move time instead of waiting.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    tries: int = 4
    base_delay: float = 1.0
    max_delay: float = 32.0

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Full jitter: a random wait up to base·2^attempt, capped."""
        ceiling = min(self.max_delay, self.base_delay * 2**attempt)
        return (rng or random).uniform(ceiling / 2, ceiling)


def call_with_retries(
    call: Callable[[], T],
    is_transient: Callable[[Exception], bool],
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
    wait_hint: Callable[[Exception], float | None] = lambda error: None,
) -> T:
    """Run `call`; retry transient failures up to `policy.tries` times in all, then re-raise."""
    for attempt in range(policy.tries):
        try:
            return call()
        except Exception as error:
            if not is_transient(error) or attempt == policy.tries - 1:
                raise
            hinted = wait_hint(error)
            sleep(min(policy.max_delay, hinted) if hinted else policy.delay(attempt))
    raise AssertionError("unreachable: the loop returns or raises")
