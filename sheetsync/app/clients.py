"""The Meta client, wired the same way by every command (the cycle, `check`, `resend`).

The Meta token is registered for redaction the moment it is read, and the client reads it
again before each request (a rotated credential is picked up without a restart).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable

from sheetsync.adapters.leadads import LeadAdsClient, load_page_token
from sheetsync.adapters.meta import MetaClient, load_token
from sheetsync.core.config import Config, LeadAdsConfig
from sheetsync.support.logs import redact


def meta_client(config: Config, sleep: Callable[[float], None] = time.sleep) -> MetaClient:
    """Raises TokenError, naming where the token should be, when there is none."""
    redact(load_token(config.meta))

    def token() -> str:
        value = load_token(config.meta)
        redact(value)
        return value

    return MetaClient(config.meta, token, sleep=sleep, agent=f"sheetsync ({instance_name(config)})")


def instance_name(config: Config) -> str:
    """This instance's name in status, logs, metrics and requests: the config's, else host:pid."""
    return config.instance or f"{socket.gethostname()}:{os.getpid()}"


def lead_source(config: Config, lead_ads: LeadAdsConfig) -> LeadAdsClient:
    """The Lead Ads client of one job. Its Page token is read before each request, so a missing
    or rotated token is seen by the intake (which pauses, naming it), not at start-up."""

    def token() -> str:
        value = load_page_token(lead_ads)
        redact(value)
        return value

    return LeadAdsClient(config.meta, token)
