"""A simulated DXLink streamer: the websocket protocol the SDK's `DXLinkStreamer` speaks.

Sans-IO: `DXLinkSession.receive(message)` takes one JSON message from the client and
returns the replies; the hub (`streams.StreamHub`) pushes ticks to the same session
through its connection. The conversation:

    client SETUP             -> SETUP, AUTH_STATE UNAUTHORIZED
    client AUTH (token)      -> AUTH_STATE AUTHORIZED (a token from /api-quote-tokens),
                                else ERROR UNAUTHORIZED (the SDK treats ERROR as fatal)
    client CHANNEL_REQUEST   -> CHANNEL_OPENED
    client FEED_SETUP        -> FEED_CONFIG (COMPACT, the fields the client asked for)
    client FEED_SUBSCRIPTION -> add: FEED_DATA snapshot of the added symbols at once;
                                remove: those stop; reset: the channel's all stop
    client CHANNEL_CANCEL    -> CHANNEL_CLOSED, the channel's subscriptions are dropped
    client KEEPALIVE         -> nothing

Event types: Trade, Quote, Summary, Greeks (`feed.FIELDS`); others are accepted and
never sent. FEED_DATA is COMPACT: `["Trade", [v1, v2, ..., v1, v2, ...]]`, several
events flat in one list, at most `MAX_MESSAGE_BYTES` per message (the SDK's websocket
client refuses messages over 64 KiB). Streamer symbols for equity options look like
`.SPY261218P450`; unknown symbols (ZZ...) get no events.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ttai_cli.simulator.feed import EVENT_TYPES, FIELDS

if TYPE_CHECKING:
    from ttai_cli.simulator.app import SimulatedTastytrade

MAX_MESSAGE_BYTES = 48_000
# (event type, fields, symbols) -> the events' rows now, one list per event
RowSource = Callable[[str, tuple[str, ...], list[str]], list[list[Any]]]
# (channel, event type, fields, subscribed symbols)
Wanted = tuple[int, str, tuple[str, ...], list[str]]


def feed_data(channel: int, event_type: str, rows: list[list[Any]]) -> list[dict[str, Any]]:
    """FEED_DATA messages carrying `rows`, split so that none nears the client's limit."""
    messages: list[dict[str, Any]] = []
    values: list[Any] = []
    size = 0
    for row in rows:
        # a generous estimate of the row's JSON: ~12 bytes a number plus the symbol
        estimate = 12 * len(row) + len(str(row[0]))
        if values and size + estimate > MAX_MESSAGE_BYTES:
            messages.append({"type": "FEED_DATA", "channel": channel, "data": [event_type, values]})
            values, size = [], 0
        values.extend(row)
        size += estimate
    if values:
        messages.append({"type": "FEED_DATA", "channel": channel, "data": [event_type, values]})
    return messages


class _Channel:
    def __init__(self) -> None:
        self.fields: dict[str, tuple[str, ...]] = {}
        self.symbols: dict[str, dict[str, None]] = {}  # event type -> symbols, in order


class DXLinkSession:
    """One DXLink connection's state. Thread-safe: the connection's reader calls
    `receive`, the hub's ticker reads `wanted()` at the same time."""

    kind = "dxlink"

    def __init__(self, app: SimulatedTastytrade, rows: RowSource) -> None:
        self.app = app
        self._rows = rows
        self._lock = threading.Lock()
        self.authorized = False
        self._channels: dict[int, _Channel] = {}

    # -- what the hub asks ---------------------------------------------------------
    def wanted(self) -> list[Wanted]:
        """Every (channel, event type, fields, symbols) subscribed now."""
        with self._lock:
            if not self.authorized:
                return []
            return [
                (number, event_type, self._fields(channel, event_type), list(symbols))
                for number, channel in self._channels.items()
                for event_type, symbols in channel.symbols.items()
                if symbols and event_type in FIELDS
            ]

    def subscriptions(self) -> dict[str, set[str]]:
        """Event type -> symbols subscribed on any channel."""
        out: dict[str, set[str]] = {}
        with self._lock:
            for channel in self._channels.values():
                for event_type, symbols in channel.symbols.items():
                    if symbols:
                        out.setdefault(event_type, set()).update(symbols)
        return out

    def revoke(self) -> None:
        """The quote token died: nothing more is sent to this session."""
        with self._lock:
            self.authorized = False

    # -- the protocol --------------------------------------------------------------
    def receive(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        kind = message.get("type")
        try:
            channel = int(message.get("channel", 0))
        except (TypeError, ValueError):
            channel = 0
        if kind == "SETUP":
            return [
                {
                    "type": "SETUP",
                    "channel": 0,
                    "keepaliveTimeout": 60,
                    "acceptKeepaliveTimeout": 60,
                    "version": "0.1-sim",
                },
                {"type": "AUTH_STATE", "channel": 0, "state": "UNAUTHORIZED"},
            ]
        if kind == "AUTH":
            if self.app.quote_token_valid(str(message.get("token", ""))):
                with self._lock:
                    self.authorized = True
                return [
                    {"type": "AUTH_STATE", "channel": 0, "state": "AUTHORIZED", "userId": "sim"}
                ]
            return [_error(0, "UNAUTHORIZED", "Invalid token")]
        if kind == "KEEPALIVE":
            return []
        if not self.authorized:
            return [_error(channel, "UNAUTHORIZED", "Not authorized")]
        if kind == "CHANNEL_REQUEST":
            with self._lock:
                self._channels.setdefault(channel, _Channel())
            return [
                {
                    "type": "CHANNEL_OPENED",
                    "channel": channel,
                    "service": "FEED",
                    "parameters": {"contract": "AUTO"},
                }
            ]
        if kind == "CHANNEL_CANCEL":
            with self._lock:
                self._channels.pop(channel, None)
            return [{"type": "CHANNEL_CLOSED", "channel": channel}]
        if kind == "FEED_SETUP":
            accepted = message.get("acceptEventFields") or {}
            with self._lock:
                state = self._channels.setdefault(channel, _Channel())
                state.fields = {
                    event_type: tuple(fields)
                    for event_type, fields in accepted.items()
                    if event_type in FIELDS and isinstance(fields, list)
                }
                config = {k: list(v) for k, v in state.fields.items()}
            return [
                {
                    "type": "FEED_CONFIG",
                    "channel": channel,
                    "dataFormat": "COMPACT",
                    "aggregationPeriod": 0.1,
                    "eventFields": config,
                }
            ]
        if kind == "FEED_SUBSCRIPTION":
            return self._subscription(channel, message)
        return [_error(channel, "UNSUPPORTED", f"Unsupported message {kind}")]

    def _subscription(self, channel: int, message: dict[str, Any]) -> list[dict[str, Any]]:
        added: dict[str, list[str]] = {}
        with self._lock:
            state = self._channels.setdefault(channel, _Channel())
            if message.get("reset"):
                state.symbols.clear()
            for item in _items(message.get("remove")):
                state.symbols.get(item[0], {}).pop(item[1], None)
            for event_type, symbol in _items(message.get("add")):
                subscribed = state.symbols.setdefault(event_type, {})
                if symbol not in subscribed:
                    subscribed[symbol] = None
                if event_type in EVENT_TYPES:
                    added.setdefault(event_type, []).append(symbol)
            fields = {event_type: self._fields(state, event_type) for event_type in added}
        out: list[dict[str, Any]] = []
        for event_type, symbols in added.items():
            out.extend(
                feed_data(channel, event_type, self._rows(event_type, fields[event_type], symbols))
            )
        return out

    @staticmethod
    def _fields(channel: _Channel, event_type: str) -> tuple[str, ...]:
        # a channel that never sent FEED_SETUP gets every field, in the SDK's order
        return channel.fields.get(event_type) or FIELDS[event_type]


def _items(raw: Any) -> Iterable[tuple[str, str]]:
    for item in raw or []:
        if isinstance(item, dict) and isinstance(item.get("symbol"), str):
            yield str(item.get("type", "")), item["symbol"]


def _error(channel: int, error: str, message: str) -> dict[str, Any]:
    return {"type": "ERROR", "channel": channel, "error": error, "message": message}
