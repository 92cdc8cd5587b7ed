"""The simulator's live websockets: one `StreamHub` per `SimulatedTastytrade` (`app.streams`).

Every DXLink and account-streamer connection, over the socket server or in-process
(ASGI), registers a `Link` (a thread-safe `send(message)` and an abrupt `close()`) and
gets a `Peer`, to which the transport hands each text message it receives. A daemon
ticker thread, started on the first connection, pushes every `tick_interval` seconds
the current Trade, Quote and Greeks of every subscribed symbol (Summary when it
changes) and runs the hub's timers (the demo's order fill).

What tests and benchmarks drive: `publish`, `push_trade`, `drop`,
`expire_quote_tokens`, `order_event` / `position_event` / `balance_event` (orders from
`sim_order`, re-exported here from `orders`), and they read `subscriptions()`,
`connections`, `events_sent` and `received`.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from ttai_cli.simulator.accountdata import balances_json
from ttai_cli.simulator.accountstream import AccountSession, notification
from ttai_cli.simulator.dxlink import DXLinkSession, Wanted, feed_data
from ttai_cli.simulator.feed import PriceFeed
from ttai_cli.simulator.orders import schedule_demo_order, sim_order
from ttai_cli.simulator.ticker import Ticker

if TYPE_CHECKING:
    from ttai_cli.simulator.app import SimulatedTastytrade

__all__ = ["Link", "Peer", "StreamHub", "sim_order"]

KINDS = ("dxlink", "account")
RECEIVED_KEPT = 10_000  # client messages kept per kind


class Link(Protocol):
    """A live websocket as the transport offers it to the hub."""

    def send(self, message: dict[str, Any]) -> None:
        """Send one JSON message; thread-safe; silently nothing once closed."""

    def close(self) -> None:
        """Kill the connection abruptly (no close frame where the transport allows)."""


class Peer:
    """One live connection: its kind, its protocol session and its link."""

    def __init__(
        self, hub: StreamHub, kind: str, session: DXLinkSession | AccountSession, link: Link
    ) -> None:
        self.hub = hub
        self.kind = kind
        self.session = session
        self.link = link

    def receive_text(self, text: str) -> None:
        """One text message from the client: answer it (bad JSON is ignored, as noise)."""
        try:
            message = json.loads(text)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        self.hub._log(self.kind, message)
        for reply in self.session.receive(message):
            self.link.send(reply)
        if isinstance(self.session, AccountSession) and message.get("action") == "connect":
            self.hub._account_connected(self.session)


class StreamHub:
    def __init__(self, app: SimulatedTastytrade) -> None:
        self.app = app
        self.repeat_account_events = False  # send every account notification twice
        self.connections: Counter[str] = Counter()  # connects so far, per kind
        self.events_sent = 0  # dxfeed events pushed (snapshots included)
        self.received: dict[str, deque[dict[str, Any]]] = {
            kind: deque(maxlen=RECEIVED_KEPT) for kind in KINDS
        }
        self.errors: list[str] = []  # ticker failures (kept for tests; the ticker goes on)
        self.feed = PriceFeed(app)
        self.ticker = Ticker(self.tick, lambda exc: self.errors.append(f"{exc!r}"))
        self._lock = threading.RLock()
        self._feed_lock = threading.Lock()
        self._peers: list[Peer] = []
        self._summaries: dict[str, tuple[Any, ...] | None] = {}
        self._demo_started = False
        # unique across runs, so a demo fill is never taken for an earlier run's order
        self._order_ids = itertools.count(int(time.time() * 1000))

    @property
    def tick_interval(self) -> float:
        """Seconds between ticks (default 0.5)."""
        return self.ticker.interval

    @tick_interval.setter
    def tick_interval(self, seconds: float) -> None:
        self.ticker.interval = seconds

    # -- connections (the transports call these) -------------------------------------
    def connect(self, kind: str, link: Link) -> Peer:
        """Register a new connection of `kind` ("dxlink" or "account")."""
        session: DXLinkSession | AccountSession
        if kind == "dxlink":
            session = DXLinkSession(self.app, self._snapshot)
        elif kind == "account":
            session = AccountSession(self.app)
        else:
            raise ValueError(f"unknown stream kind {kind!r}")
        peer = Peer(self, kind, session, link)
        with self._lock:
            self._peers.append(peer)
            self.connections[kind] += 1
        self.ticker.ensure_running()
        return peer

    def disconnect(self, peer: Peer) -> None:
        """The connection ended (either side); forget it."""
        with self._lock:
            if peer in self._peers:
                self._peers.remove(peer)

    def active(self, kind: str | None = None) -> int:
        """Connections open now (of `kind`, or all)."""
        with self._lock:
            return sum(1 for p in self._peers if kind is None or p.kind == kind)

    # -- what tests drive ----------------------------------------------------------
    def publish(self, symbols: Iterable[str] | None = None) -> int:
        """Push the current events (Summary too) of `symbols` (default: every subscribed
        one) to every DXLink session subscribed to them, now. Returns events sent."""
        return self._push(None if symbols is None else set(symbols), summaries=True)

    def tick(self) -> int:
        """One tick, as the ticker does it: Trade, Quote, Greeks, and changed Summaries."""
        return self._push(None, summaries=False)

    def push_trade(self, symbol: str, price: Decimal | float) -> int:
        """Push one Trade at exactly `price` to the sessions subscribed to `symbol`'s
        Trades, now (the market does not change). Returns events sent."""
        batches = []
        with self._feed_lock:
            for peer, wanted in self._dxlink_wants():
                for channel, event_type, fields, symbols in wanted:
                    if event_type == "Trade" and symbol in symbols:
                        row = self.feed.trade_row(fields, symbol, float(price))
                        batches.append((peer, feed_data(channel, "Trade", [row]), 1))
        return self._send_batches(batches)

    def drop(self, kind: str | None = None) -> int:
        """Abruptly close every connection (of `kind`); returns how many."""
        with self._lock:
            victims = [p for p in self._peers if kind is None or p.kind == kind]
            for peer in victims:
                self._peers.remove(peer)
        for peer in victims:
            peer.link.close()
        return len(victims)

    def expire_quote_tokens(self) -> None:
        """Every quote token issued so far dies: connected DXLink sessions get an
        ERROR (fatal to the SDK) and lose their socket; a new token works."""
        with self.app.lock:
            self.app.quote_tokens.clear()
        with self._lock:
            victims = [p for p in self._peers if p.kind == "dxlink"]
            for peer in victims:
                self._peers.remove(peer)
        for peer in victims:
            assert isinstance(peer.session, DXLinkSession)
            peer.session.revoke()
            peer.link.send(
                {"type": "ERROR", "channel": 0, "error": "UNAUTHORIZED", "message": "Token expired"}
            )
            peer.link.close()

    def subscriptions(self) -> dict[str, set[str]]:
        """Event type -> streamer symbols subscribed, over all DXLink sessions."""
        out: dict[str, set[str]] = {}
        with self._lock:
            sessions = [p.session for p in self._peers if isinstance(p.session, DXLinkSession)]
        for session in sessions:
            for event_type, symbols in session.subscriptions().items():
                out.setdefault(event_type, set()).update(symbols)
        return out

    def order_event(self, order: dict[str, Any]) -> int:
        """Push an Order notification to the account sessions subscribed to its account,
        and keep the order's latest state for `/accounts/N/orders/live` (today's orders)."""
        with self._lock:
            self.app.orders[int(order["id"])] = order
        return self._notify("Order", order)

    def position_event(self, position: dict[str, Any]) -> int:
        """Push a CurrentPosition notification (see `accountdata.position_json`)."""
        return self._notify("CurrentPosition", position)

    def balance_event(self) -> int:
        """Push an AccountBalance notification with the account's balances now."""
        with self.app.lock:
            balances = balances_json(self.app)
        return self._notify("AccountBalance", balances)

    def next_order_id(self) -> int:
        return next(self._order_ids)

    def schedule(self, delay: float, action: Callable[[], object]) -> None:
        """Run `action` on the ticker's thread `delay` seconds from now."""
        self.ticker.ensure_running()
        self.ticker.schedule(delay, action)

    def close(self) -> None:
        """Stop the ticker and drop every connection (a new connection starts over)."""
        self.ticker.stop()
        self.drop()

    # -- internals -----------------------------------------------------------------
    def _log(self, kind: str, message: dict[str, Any]) -> None:
        self.received[kind].append(message)

    def _dxlink_wants(self) -> list[tuple[Peer, list[Wanted]]]:
        with self._lock:
            peers = [p for p in self._peers if isinstance(p.session, DXLinkSession)]
        return [(p, p.session.wanted()) for p in peers if isinstance(p.session, DXLinkSession)]

    def _snapshot(
        self, event_type: str, fields: tuple[str, ...], symbols: list[str]
    ) -> list[list[Any]]:
        """The events a new subscription starts with (counted as sent)."""
        with self._feed_lock:
            self.feed.refresh()
            rows = [r for s in symbols if (r := self.feed.row(event_type, fields, s)) is not None]
        with self._lock:
            self.events_sent += len(rows)
        return rows

    def _push(self, only: set[str] | None, *, summaries: bool) -> int:
        wants = self._dxlink_wants()
        if not wants:
            return 0
        batches = []
        with self._feed_lock:
            self.feed.refresh()
            changed: dict[str, bool] = {}
            for peer, wanted in wants:
                messages: list[dict[str, Any]] = []
                count = 0
                for channel, event_type, fields, symbols in wanted:
                    if only is not None:
                        symbols = [s for s in symbols if s in only]
                    if event_type == "Summary" and not summaries:
                        symbols = [s for s in symbols if self._summary_changed(s, changed)]
                    rows = [
                        r
                        for s in symbols
                        if (r := self.feed.row(event_type, fields, s)) is not None
                    ]
                    messages.extend(feed_data(channel, event_type, rows))
                    count += len(rows)
                batches.append((peer, messages, count))
            for symbol in changed:
                self._summaries[symbol] = self.feed.summary_key(symbol)
        return self._send_batches(batches)

    def _summary_changed(self, symbol: str, seen: dict[str, bool]) -> bool:
        if symbol not in seen:
            seen[symbol] = self.feed.summary_key(symbol) != self._summaries.get(symbol, ())
        return seen[symbol]

    def _send_batches(self, batches: list[tuple[Peer, list[dict[str, Any]], int]]) -> int:
        sent = 0
        for peer, messages, count in batches:
            for message in messages:
                peer.link.send(message)
            sent += count
        with self._lock:
            self.events_sent += sent
        return sent

    def _notify(self, kind: str, data: dict[str, Any]) -> int:
        account = str(data.get("account-number", ""))
        with self._lock:
            peers = [
                p
                for p in self._peers
                if isinstance(p.session, AccountSession) and p.session.subscribed_to(account)
            ]
        times = 2 if self.repeat_account_events else 1
        for peer in peers:
            for _ in range(times):
                peer.link.send(notification(kind, data))
        return len(peers) * times

    # -- the demo's order --------------------------------------------------------
    def _account_connected(self, session: AccountSession) -> None:
        delay = self.app.demo_fill_after
        if delay is None or not session.accounts:
            return
        with self._lock:
            if self._demo_started:  # once per app: a reconnect does not trade again
                return
            self._demo_started = True
        schedule_demo_order(self, delay)
