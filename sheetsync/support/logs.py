"""Logging for people (text to stderr; journald adds timestamps) or pipelines (JSON lines).

A filter scrubs registered secrets from every record as a last line of defence:
no code path should log the token, and this makes sure none does.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time

_secrets: set[str] = set()


def redact(secret: str) -> None:
    """Register a value that must never appear in a log line."""
    if len(secret) >= 6:
        _secrets.add(secret)


def scrub(text: str) -> str:
    for secret in _secrets:
        text = text.replace(secret, "[redacted]")
    return text


class _ScrubFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = None
        return True


class _TextFormatter(logging.Formatter):
    """`[time] LEVEL message`, and the traceback below it: the whole text scrubbed, since a
    traceback quotes exception messages (and locals' reprs) that no filter on the message itself
    sees. The time (UTC) is left out under journald, which stamps every line itself."""

    converter = staticmethod(time.gmtime)  # type: ignore[assignment]

    def __init__(self, timestamps: bool = True) -> None:
        if timestamps:
            super().__init__("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%SZ")
        else:
            super().__init__("%(levelname)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created)),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["traceback"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(log_format: str = "text", verbose: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ScrubFilter())
    if log_format == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        # systemd sets JOURNAL_STREAM when stderr goes to the journal.
        handler.setFormatter(_TextFormatter(timestamps="JOURNAL_STREAM" not in os.environ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("urllib3", "apscheduler", "google", "gspread"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)
