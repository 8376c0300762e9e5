"""The Meta client, wired the same way by every command (the cycle, `check`, `resend`).

The Meta token is registered for redaction the moment it is read, and the client reads it
again before each request (a rotated credential is picked up without a restart).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sheetsync.adapters.meta import MetaClient, load_token
from sheetsync.core.config import Config
from sheetsync.support.logs import redact


def meta_client(config: Config, sleep: Callable[[float], None] = time.sleep) -> MetaClient:
    """Raises TokenError, naming where the token should be, when there is none."""
    redact(load_token(config.meta))

    def token() -> str:
        value = load_token(config.meta)
        redact(value)
        return value

    return MetaClient(config.meta, token, sleep=sleep)
