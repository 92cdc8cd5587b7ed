"""Serving the simulated API: over a real local socket, or in-process to httpx2.

`serve()` runs a threaded HTTP/1.1 server on 127.0.0.1 (port 0 picks a free one) for
tests, benchmarks and `ttai demo-server`; `in_process_transport()` hands the same
application to the SDK's `httpx2.AsyncClient` without a socket, for `--demo`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ttai_cli.simulator.app import SimulatedTastytrade
from ttai_cli.simulator.dxlink import DXLinkSession
from ttai_cli.simulator.http import SimRequest


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
    # Headers and body go out in separate writes: without this, Nagle's algorithm and
    # the client's delayed ACK add 40 ms to every response.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def _serve(self) -> None:
        if self.headers.get("Upgrade", "").lower() == "websocket":
            self._websocket()
            return
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

    def _websocket(self) -> None:
        """The DXLink streamer endpoint, over a real websocket (wsproto does the framing)."""
        import json

        import wsproto
        import wsproto.events as ws

        connection = wsproto.WSConnection(wsproto.ConnectionType.SERVER)
        head = f"{self.command} {self.path} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in self.headers.items()
        )
        connection.receive_data((head + "\r\n").encode("latin-1"))
        session = DXLinkSession(self.server.app)
        self.close_connection = True
        while True:
            for event in connection.events():
                if isinstance(event, ws.Request):
                    if event.target != "/dxlink":
                        self.wfile.write(connection.send(ws.RejectConnection(status_code=404)))
                        return
                    self.wfile.write(connection.send(ws.AcceptConnection()))
                elif isinstance(event, ws.TextMessage):
                    for reply in session.receive(json.loads(event.data)):
                        self.wfile.write(connection.send(ws.TextMessage(data=json.dumps(reply))))
                elif isinstance(event, ws.Ping):
                    self.wfile.write(connection.send(event.response()))
                elif isinstance(event, ws.CloseConnection):
                    self.wfile.write(connection.send(event.response()))
                    return
            data = self.rfile.read1(65536)
            if not data:
                return
            connection.receive_data(data)


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
    """The simulated API, HTTP and the DXLink websocket, in this process: an ASGI app
    behind httpx2's websocket-capable ASGI transport (for `--demo`)."""
    from httpx2.websockets import ASGIWebSocketTransport

    return ASGIWebSocketTransport(SimASGI(app))


class SimASGI:
    """`app` as an ASGI application."""

    def __init__(self, app: SimulatedTastytrade) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        import asyncio
        import json

        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])
        }
        if scope["type"] == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.accept"})
            session = DXLinkSession(self.app)
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    return
                for reply in session.receive(
                    json.loads(message.get("text") or message.get("bytes") or "{}")
                ):
                    await send({"type": "websocket.send", "text": json.dumps(reply)})
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        query = scope.get("query_string", b"").decode("latin-1")
        request = _request(
            scope["method"], scope["path"] + (f"?{query}" if query else ""), headers, body
        )
        response = self.app.handle(request)
        if response.delay:
            await asyncio.sleep(response.delay)
        await send(
            {
                "type": "http.response.start",
                "status": response.status or 502,
                "headers": [(k.lower().encode(), v.encode()) for k, v in response.headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": response.body})


def mock_transport(app: SimulatedTastytrade) -> Any:
    """An `httpx2.MockTransport` answering from `app`: HTTP only, for unit tests."""
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
