"""Prometheus metrics on 127.0.0.1, with the standard library (no client dependency).

Counters and gauges live in one process-wide registry; the boundaries and the daemon
update it; `serve()` exposes it in the text exposition format.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HELP = {
    "sheetsync_events_total": (
        "counter",
        "Events by job, event name and outcome (sent, failed, expired).",
    ),
    "sheetsync_cycles_total": ("counter", "Cycles by job and result (ok, failed)."),
    "sheetsync_cycle_duration_seconds": ("gauge", "Duration of the job's last cycle."),
    "sheetsync_last_success_timestamp_seconds": (
        "gauge",
        "Unix time of the job's last successful cycle.",
    ),
    "sheetsync_api_calls_total": (
        "counter",
        "Requests to Google Sheets and Meta, by api and kind.",
    ),
}
Labels = tuple[tuple[str, str], ...]


class Registry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, dict[Labels, float]] = defaultdict(dict)

    def inc(self, name: str, amount: float = 1, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._values[name][key] = self._values[name].get(key, 0) + amount

    def set(self, name: str, value: float, **labels: str) -> None:
        with self._lock:
            self._values[name][tuple(sorted(labels.items()))] = value

    def get(self, name: str, **labels: str) -> float:
        with self._lock:
            return self._values[name].get(tuple(sorted(labels.items())), 0)

    def exposition(self) -> str:
        lines: list[str] = []
        with self._lock:
            for name, (kind, text) in HELP.items():
                lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
                for labels, value in sorted(self._values.get(name, {}).items()):
                    rendered = ",".join(f'{key}="{_escape(val)}"' for key, val in labels)
                    lines.append(
                        f"{name}{{{rendered}}} {value:g}" if rendered else f"{name} {value:g}"
                    )
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


METRICS = Registry()


def serve(port: int, host: str = "127.0.0.1", registry: Registry = METRICS) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] != "/metrics":
                self.send_error(404)
                return
            body = registry.exposition().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.2,), daemon=True).start()
    return server
