"""The simulated API as an ASGI application, for `--demo` (no socket).

HTTP requests go to `SimulatedTastytrade.handle()`; websockets at `/dxlink` and
`/account-streamer` register with the app's `StreamHub` like the socket server's do.
The hub pushes from its ticker thread, so a connection's messages go through an
asyncio queue (`loop.call_soon_threadsafe`) drained by one sender task; an abrupt
close becomes a `websocket.close` with code 1011 (ASGI has no way to cut a socket).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from ttai_cli.simulator.http import SimRequest

if TYPE_CHECKING:
    from ttai_cli.simulator.app import SimulatedTastytrade

STREAM_PATHS = {"/dxlink": "dxlink", "/account-streamer": "account"}
_CLOSE = object()


def stream_kind(target: str) -> str | None:
    """The hub's kind for a websocket path (query ignored), None for no such endpoint."""
    return STREAM_PATHS.get(urlsplit(target).path.rstrip("/") or "/")


def request_of(method: str, target: str, headers: dict[str, str], body: bytes) -> SimRequest:
    url = urlsplit(target)
    return SimRequest(
        method=method.upper(),
        path=url.path or "/",
        query=parse_qs(url.query, keep_blank_values=True),
        headers={k.lower(): v for k, v in headers.items()},
        body=body,
    )


def in_process_transport(app: SimulatedTastytrade) -> Any:
    """The simulated API, HTTP and both websockets, in this process: an ASGI app behind
    httpx2's websocket-capable ASGI transport (for `--demo`)."""
    import anyio
    from httpx2.websockets import ASGIWebSocketTransport

    class SerializedOpens(ASGIWebSocketTransport):  # type: ignore[misc]
        """httpx2 keeps the scope of a websocket being opened on the transport itself
        (`self.scope`), so two opened at once (the stream's DXLink and account sockets)
        could both get the second one's path. One open at a time; traffic stays parallel."""

        _opening: anyio.Lock | None = None

        async def _handle_ws_request(self, request: Any, scope: Any) -> Any:
            if self._opening is None:
                self._opening = anyio.Lock()
            async with self._opening:
                return await super()._handle_ws_request(request, scope)

    return SerializedOpens(SimASGI(app))


class _QueueLink:
    """The hub's `Link` for an ASGI websocket: any thread hands messages to the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.queue: asyncio.Queue[object] = asyncio.Queue()
        self.closed = False

    def send(self, message: dict[str, Any]) -> None:
        self._put(json.dumps(message, separators=(",", ":")))

    def close(self) -> None:
        self._put(_CLOSE)
        self.closed = True

    def _put(self, item: object) -> None:
        if self.closed:
            return
        try:
            self._loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # the event loop is gone: so is the connection
            self.closed = True


class SimASGI:
    """`app` as an ASGI application."""

    def __init__(self, app: SimulatedTastytrade) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            return
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])
        }
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        query = scope.get("query_string", b"").decode("latin-1")
        request = request_of(
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

    async def _websocket(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        await receive()  # websocket.connect
        kind = stream_kind(scope.get("path", "/"))
        if kind is None:  # the denial extension: a plain 404
            await send({"type": "websocket.http.response.start", "status": 404, "headers": []})
            await send({"type": "websocket.http.response.body", "body": b"Not found"})
            return
        await send({"type": "websocket.accept"})
        link = _QueueLink(asyncio.get_running_loop())
        peer = self.app.streams.connect(kind, link)
        sender = asyncio.create_task(self._sender(link, send))
        try:
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    return
                text = message.get("text")
                if text is None and message.get("bytes") is not None:
                    text = message["bytes"].decode("utf-8", "replace")
                if text is not None:
                    peer.receive_text(text)
        finally:
            link.closed = True
            self.app.streams.disconnect(peer)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender

    @staticmethod
    async def _sender(link: _QueueLink, send: Any) -> None:
        while True:
            item = await link.queue.get()
            try:
                if item is _CLOSE:
                    await send({"type": "websocket.close", "code": 1011, "reason": "dropped"})
                    return
                await send({"type": "websocket.send", "text": item})
            except Exception:  # the client went away: nothing left to send to
                link.closed = True
                return
