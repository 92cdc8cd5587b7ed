"""A simulated DXLink streamer: the websocket protocol the SDK's `DXLinkStreamer` speaks.

Sans-IO: `DXLinkSession.receive(message)` takes one JSON message from the client and
returns the messages to send back. The socket server and the in-process ASGI app carry
them over a real websocket. The conversation:

    client SETUP            -> SETUP, AUTH_STATE UNAUTHORIZED
    client AUTH (token)     -> AUTH_STATE AUTHORIZED (the token from /api-quote-tokens)
    client CHANNEL_REQUEST  -> CHANNEL_OPENED
    client FEED_SETUP       -> FEED_CONFIG (COMPACT, the fields the client asked for)
    client FEED_SUBSCRIPTION-> FEED_DATA ["Greeks", [values...]] for every known symbol
    client KEEPALIVE        -> nothing

Greeks come from the simulator's Black-Scholes prices, so a delta alert sees the same
market the quotes show. Streamer symbols for equity options look like `.SPY261218P450`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ttai_cli.broker.symbols import occ_from_streamer

if TYPE_CHECKING:
    from ttai_cli.simulator.app import SimulatedTastytrade

EVENT_TYPES = ("Greeks", "Quote")


class DXLinkSession:
    def __init__(self, app: SimulatedTastytrade) -> None:
        self.app = app
        self.authorized = False
        self.fields: dict[int, dict[str, list[str]]] = {}

    def receive(self, message: dict[str, Any]) -> list[dict[str, Any]]:
        kind = message.get("type")
        channel = int(message.get("channel", 0))
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
                self.authorized = True
                return [
                    {"type": "AUTH_STATE", "channel": 0, "state": "AUTHORIZED", "userId": "sim"}
                ]
            return [
                {"type": "ERROR", "channel": 0, "error": "UNAUTHORIZED", "message": "Invalid token"}
            ]
        if kind == "KEEPALIVE":
            return []
        if not self.authorized:
            return [
                {
                    "type": "ERROR",
                    "channel": channel,
                    "error": "UNAUTHORIZED",
                    "message": "Not authorized",
                }
            ]
        if kind == "CHANNEL_REQUEST":
            return [
                {
                    "type": "CHANNEL_OPENED",
                    "channel": channel,
                    "service": "FEED",
                    "parameters": {"contract": "AUTO"},
                }
            ]
        if kind == "CHANNEL_CANCEL":
            self.fields.pop(channel, None)
            return [{"type": "CHANNEL_CLOSED", "channel": channel}]
        if kind == "FEED_SETUP":
            accepted = message.get("acceptEventFields") or {}
            self.fields[channel] = {k: list(v) for k, v in accepted.items() if k in EVENT_TYPES}
            return [
                {
                    "type": "FEED_CONFIG",
                    "channel": channel,
                    "dataFormat": "COMPACT",
                    "aggregationPeriod": 0.1,
                    "eventFields": self.fields[channel],
                }
            ]
        if kind == "FEED_SUBSCRIPTION":
            return self._data(channel, message.get("add") or [])
        return [
            {
                "type": "ERROR",
                "channel": channel,
                "error": "UNSUPPORTED",
                "message": f"Unsupported message {kind}",
            }
        ]

    def _data(self, channel: int, wanted: list[dict[str, str]]) -> list[dict[str, Any]]:
        out = []
        for event_type, fields in self.fields.get(channel, {}).items():
            values: list[Any] = []
            for item in wanted:
                if item.get("type") != event_type:
                    continue
                event = self._event(event_type, item.get("symbol", ""))
                if event is not None:
                    values.extend(event.get(name, 0) for name in fields)
            if values:
                out.append({"type": "FEED_DATA", "channel": channel, "data": [event_type, values]})
        return out

    def _event(self, event_type: str, streamer_symbol: str) -> dict[str, Any] | None:
        symbol = occ_from_streamer(streamer_symbol) or streamer_symbol
        if not self.app.is_known(symbol):
            return None
        with self.app.lock:
            quote = self.app.market.quote(symbol)
        now_ms = int(time.time() * 1000)
        base: dict[str, Any] = {
            "eventSymbol": streamer_symbol,
            "eventTime": 0,
            "eventFlags": 0,
            "index": 0,
            "time": now_ms,
            "sequence": 0,
        }
        if event_type == "Quote":
            return {
                **base,
                "bidPrice": str(quote.bid),
                "askPrice": str(quote.ask),
                "bidSize": "100",
                "askSize": "100",
                "bidTime": now_ms,
                "askTime": now_ms,
                "bidExchangeCode": "Q",
                "askExchangeCode": "Q",
                "timeNanoPart": 0,
            }
        if quote.delta is None:
            return None
        return {
            **base,
            "price": str(quote.mark),
            "volatility": "0.25",
            "delta": f"{quote.delta:.4f}",
            "gamma": "0.01",
            "theta": "-0.05",
            "rho": "0.01",
            "vega": "0.10",
        }
