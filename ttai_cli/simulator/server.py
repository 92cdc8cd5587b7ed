"""Serving the simulated API: over a real local socket, or in-process to httpx2.

`serve()` runs a threaded HTTP/1.1 server on 127.0.0.1 (port 0 picks a free one) for
tests, benchmarks and `python -m ttai_cli.simulator`: REST, and the websockets at
`/dxlink` and `/account-streamer` (any other websocket path: 404), each on its own
thread that reads while the app's `StreamHub` pushes. `in_process_transport()` (from
`asgi`) hands the same application to the SDK's `httpx2.AsyncClient` without a
socket, for `--demo`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ttai_cli.simulator.app import SimulatedTastytrade
from ttai_cli.simulator.asgi import SimASGI, in_process_transport, request_of, stream_kind
from ttai_cli.simulator.streams import Peer

__all__ = ["RunningServer", "SimASGI", "in_process_transport", "mock_transport", "serve", "start"]


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
        request = request_of(self.command, self.path, dict(self.headers.items()), body)
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
        """A streaming endpoint (`/dxlink`, `/account-streamer`) over a real websocket:
        wsproto does the framing; the hub pushes through the link while this thread
        reads. Closing the link shuts the socket down, so the read below returns."""
        import wsproto
        import wsproto.events as ws

        connection = wsproto.WSConnection(wsproto.ConnectionType.SERVER)
        head = f"{self.command} {self.path} HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in self.headers.items()
        )
        connection.receive_data((head + "\r\n").encode("latin-1"))
        self.close_connection = True
        link = _SocketLink(self.request, connection)
        peer: Peer | None = None
        parts: list[str] = []
        try:
            while True:
                for event in link.events():
                    if isinstance(event, ws.Request):
                        kind = stream_kind(event.target)
                        if kind is None:
                            link.write(ws.RejectConnection(status_code=404))
                            return
                        link.write(ws.AcceptConnection())
                        peer = self.server.app.streams.connect(kind, link)
                    elif isinstance(event, ws.TextMessage) and peer is not None:
                        parts.append(event.data)
                        if event.message_finished:
                            text, parts = "".join(parts), []
                            peer.receive_text(text)
                    elif isinstance(event, ws.Ping):
                        link.write(event.response())
                    elif isinstance(event, ws.CloseConnection):
                        link.write(event.response())
                        return
                try:
                    data = self.rfile.read1(65536)
                except OSError:
                    return
                if not data:
                    return
                link.receive(data)
        finally:
            link.closed = True
            if peer is not None:
                self.server.app.streams.disconnect(peer)


class _SocketLink:
    """The hub's `Link` over a socket: writes from any thread under one lock."""

    def __init__(self, sock: socket.socket, connection: Any) -> None:
        self._sock = sock
        self._connection = connection  # wsproto.WSConnection, shared with the reader
        self._lock = threading.Lock()
        self.closed = False

    def receive(self, data: bytes) -> None:
        with self._lock:
            self._connection.receive_data(data)

    def events(self) -> list[Any]:
        with self._lock:
            return list(self._connection.events())

    def send(self, message: dict[str, Any]) -> None:
        import wsproto.events as ws

        self.write(ws.TextMessage(data=json.dumps(message, separators=(",", ":"))))

    def write(self, event: Any) -> None:
        from wsproto.utilities import LocalProtocolError

        with self._lock:
            if self.closed:
                return
            try:
                self._sock.sendall(self._connection.send(event))
            except (OSError, LocalProtocolError):
                self.closed = True

    def close(self) -> None:
        # No close frame and no lock: a writer blocked on a full socket holds the lock,
        # and shutting the socket down is what frees it (and the blocked reader).
        self.closed = True
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)


class _SimServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog is 5: a client opening a dozen connections at once
    # (`ttai ask`'s tools side by side) while the accepting thread waits for the GIL
    # overflowed it, and each dropped SYN cost the client a 1 s retransmit
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: SimulatedTastytrade) -> None:
        self.app = app
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-request (a dropped or cancelled stream, a killed
        process) is normal here; anything else is still printed, as the base class does."""
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError, OSError)):
            return
        super().handle_error(request, client_address)


class RunningServer:
    def __init__(self, server: _SimServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        host, port = server.server_address[:2]
        self.url = f"http://{host!s}:{port}"
        self.app = server.app

    def stop(self) -> None:
        self.app.streams.close()  # websocket readers return at once
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


def mock_transport(app: SimulatedTastytrade) -> Any:
    """An `httpx2.MockTransport` answering from `app`: HTTP only, for unit tests."""
    import httpx2

    async def handler(request: httpx2.Request) -> httpx2.Response:
        target = request.url.raw_path.decode("ascii")
        sim = request_of(request.method, target, dict(request.headers.items()), request.content)
        response = app.handle(sim)
        if response.delay:
            await asyncio.sleep(response.delay)
        if response.disconnect:
            raise httpx2.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        return httpx2.Response(response.status, headers=response.headers, content=response.body)

    return httpx2.MockTransport(handler)
