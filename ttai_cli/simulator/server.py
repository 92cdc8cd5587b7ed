"""Serving the simulated API: over a real local socket, or in-process to httpx2.

`serve()` runs a threaded HTTP/1.1 server on 127.0.0.1 (port 0 picks a free one) for
tests, benchmarks and `ttai demo-server`; `in_process_transport()` hands the same
application to the SDK's `httpx2.AsyncClient` without a socket, for `--demo`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ttai_cli.simulator.app import SimRequest, SimulatedTastytrade


def _request(method: str, target: str, headers: dict[str, str], body: bytes) -> SimRequest:
    url = urlsplit(target)
    return SimRequest(
        method=method.upper(),
        path=url.path or "/",
        query=parse_qs(url.query, keep_blank_values=True),
        headers={k.lower(): v for k, v in headers.items()},
        body=body,
    )


class _Handler(BaseHTTPRequestHandler):
    server: _SimServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = _request(self.command, self.path, dict(self.headers.items()), body)
        response = self.server.app.handle(request)
        if response.delay:
            time.sleep(response.delay)
        if response.disconnect:
            self.close_connection = True
            return
        self.send_response(response.status)
        for key, value in response.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = _serve


class _SimServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: SimulatedTastytrade) -> None:
        self.app = app
        super().__init__(address, _Handler)


class RunningServer:
    def __init__(self, server: _SimServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        host, port = server.server_address[:2]
        self.url = f"http://{host!s}:{port}"
        self.app = server.app

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def start(app: SimulatedTastytrade, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    server = _SimServer((host, port), app)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="sim-api", daemon=True
    )
    thread.start()
    return RunningServer(server, thread)


@contextmanager
def serve(
    app: SimulatedTastytrade, host: str = "127.0.0.1", port: int = 0
) -> Iterator[RunningServer]:
    running = start(app, host, port)
    try:
        yield running
    finally:
        running.stop()


def in_process_transport(app: SimulatedTastytrade) -> Any:
    """An `httpx2.MockTransport` answering from `app` (imports httpx2: broker path only)."""
    import httpx2

    async def handler(request: httpx2.Request) -> httpx2.Response:
        target = request.url.raw_path.decode("ascii")
        sim = _request(request.method, target, dict(request.headers.items()), request.content)
        response = app.handle(sim)
        if response.delay:
            await asyncio.sleep(response.delay)
        if response.disconnect:
            raise httpx2.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        return httpx2.Response(response.status, headers=response.headers, content=response.body)

    return httpx2.MockTransport(handler)
