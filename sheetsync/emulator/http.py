"""Loopback HTTP plumbing shared by the emulators: a threaded server around an app.

An app is any object with `handle(Request) -> Reply`. Faults that need the
transport itself (a hang past the client's timeout) are expressed as a reply
with a delay, so every app gets them for free.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    raw_path: str  # still percent-encoded: a sheet title may hold "/"
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> object:
        return json.loads(self.body or b"{}")


@dataclass
class Reply:
    status: int
    body: object = field(default_factory=dict)  # JSON, or a str sent as an HTML page
    delay: float = 0.0  # seconds to wait before answering (a slow or hung server)
    drop: bool = False  # close the connection without answering
    headers: dict[str, str] = field(default_factory=dict)


class App(Protocol):
    def handle(self, request: Request) -> Reply: ...


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            method=self.command,
            raw_path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers={key.lower(): value for key, value in self.headers.items()},
            body=body,
        )
        reply = self.server.app.handle(request)
        if reply.delay:
            self.server.stopping.wait(reply.delay)
        if reply.drop:
            self.close_connection = True
            return
        # A str body is a page (Google's front end answers some errors with HTML), else JSON.
        is_page = isinstance(reply.body, str)
        payload = str(reply.body).encode() if is_page else json.dumps(reply.body).encode()
        try:
            self.send_response(reply.status)
            self.send_header(
                "Content-Type",
                "text/html; charset=UTF-8" if is_page else "application/json; charset=UTF-8",
            )
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (its timeout); nothing to answer

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: object) -> None:
        pass  # tests and the demo read the app's own counters, not an access log


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: App) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self.stopping = threading.Event()


class LoopbackServer:
    """Serve one app on 127.0.0.1 in a background thread."""

    def __init__(self, app: App, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = _Server((host, port), app)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        shown = host.decode() if isinstance(host, bytes) else host
        return f"http://{shown}:{port}"

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
