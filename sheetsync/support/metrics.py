"""Prometheus metrics on 127.0.0.1, through prometheus_client.

One process-wide registry of typed metrics: the boundaries count their API calls, the daemon
records each cycle. A metric exists as soon as it is declared here, so none can be updated and
silently never shown.
"""

from __future__ import annotations

from wsgiref.simple_server import WSGIServer

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

prometheus_client.disable_created_metrics()  # the `_created` series only add noise here
REGISTRY = CollectorRegistry(auto_describe=True)

EVENTS = Counter(
    "sheetsync_events",
    "Events by job, event name and outcome (sent, failed, pending, blocked, expired).",
    ["job", "event", "outcome"],
    registry=REGISTRY,
)
CYCLES = Counter(
    "sheetsync_cycles",
    "Cycles by job and result (ok, failed).",
    ["job", "result"],
    registry=REGISTRY,
)
CYCLE_DURATION = Gauge(
    "sheetsync_cycle_duration_seconds",
    "Duration of the job's last cycle.",
    ["job"],
    registry=REGISTRY,
)
CYCLE_SECONDS = Histogram(
    "sheetsync_cycle_seconds",
    "Cycle durations by job, as a histogram (a heatmap or a p95 on the dashboard).",
    ["job"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120),
    registry=REGISTRY,
)
INSTANCE = Gauge(
    "sheetsync_instance_info",
    "Always 1, labelled with this instance's name (join it to tell instances apart).",
    ["instance"],
    registry=REGISTRY,
)
LEASES_HELD = Gauge(
    "sheetsync_leases_held",
    "Jobs this instance runs now (several instances on one PostgreSQL state).",
    ["instance"],
    registry=REGISTRY,
)
LAST_SUCCESS = Gauge(
    "sheetsync_last_success_timestamp_seconds",
    "Unix time of the job's last successful cycle.",
    ["job"],
    registry=REGISTRY,
)
FAILED_IN_A_ROW = Gauge(
    "sheetsync_failed_cycles_in_a_row",
    "Cycles of the job that failed since its last successful one.",
    ["job"],
    registry=REGISTRY,
)
API_CALLS = Counter(
    "sheetsync_api_calls",
    "Requests to Google Sheets and Meta, by api and kind.",
    ["api", "kind"],
    registry=REGISTRY,
)


def serve(port: int, host: str = "127.0.0.1") -> WSGIServer:
    """Serve /metrics on loopback in a background thread; `shutdown()` the result to stop."""
    server, _thread = prometheus_client.start_http_server(port, addr=host, registry=REGISTRY)
    return server
