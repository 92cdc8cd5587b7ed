"""A real local webhook receiver for the notification tests.

It answers from a script of responses (status, headers, body, delay), then 200; a
notification whose `Idempotency-Key` is in `failing` always gets that reply. Like a
well-behaved integration it deduplicates by `Idempotency-Key`: `requests` is every HTTP
request that arrived, `delivered` the ids its "application" processed, once each, in
arrival order. `stop()` then `start()` again reuses the port, so "receiver down" is a
real refused connection.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        receiver = self.server.receiver
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        received = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        reply = receiver.next_reply(received)
        if reply.delay:
            time.sleep(reply.delay)
        if 200 <= reply.status < 300:
            receiver.accept(received)
        self.send_response(reply.status)
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], receiver: Receiver) -> None:
        self.receiver = receiver
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client giving up mid-request (a timeout under test) is not the receiver's error
        import sys

        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.delivered: list[str] = []
        self.script: list[Reply] = []
        self.failing: dict[str, Reply] = {}  # Idempotency-Key -> the reply it always gets
        self.port = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Receiver:
        self._server = _Server(("127.0.0.1", self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def next_reply(self, received: Received) -> Reply:
        with self._lock:
            self.requests.append(received)
            poisoned = self.failing.get(received.headers.get("idempotency-key", ""))
            if poisoned is not None:
                return poisoned
            return self.script.pop(0) if self.script else Reply()

    def accept(self, received: Received) -> None:
        key = received.headers.get("idempotency-key")
        if not key:
            try:
                key = str(received.json().get("id"))
            except (ValueError, AttributeError):  # a text body (a ping): each one counts
                key = f"{received.path}#{len(self.requests)}"
        with self._lock:
            if key not in self.delivered:
                self.delivered.append(key)

    def attempts(self, key: str) -> int:
        return sum(1 for r in self.requests if r.headers.get("idempotency-key") == key)
