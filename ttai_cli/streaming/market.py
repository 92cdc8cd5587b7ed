"""The market feed: one DXLink connection (the SDK's `DXLinkStreamer`), kept alive.

- `want()` sets what should be subscribed (event type -> ttai symbols); the feed diffs it
  against what the live connection has and sends only the additions and removals, so an
  alert added by another process takes effect without a restart.
- A dropped socket, a fatal `ERROR` (an expired quote token: `AUTH_STATE UNAUTHORIZED`)
  or any other failure ends the connection; the feed waits (`Backoff`: first retry within
  1 s, capped at 30 s), opens a new one, which fetches a fresh token from
  `/api-quote-tokens` as the SDK does, and subscribes everything again. The server's first
  events on a subscription are a snapshot, so a crossing during the outage is seen then.
- Events are parsed on the SDK's reader task and handed to `on_tick` at once (no queue in
  between): the lowest latency, and no buffer to grow. A malformed event is counted and
  skipped; it never ends the connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from ttai_cli import logs
from ttai_cli.broker import symbols as sym
from ttai_cli.clock import Clock
from ttai_cli.streaming.backoff import Backoff
from ttai_cli.streaming.events import Tick
from ttai_cli.streaming.health import FeedHealth

log = logs.get("stream")
EVENT_TYPES = ("Trade", "Quote", "Summary", "Greeks")
Wanted = dict[str, set[str]]  # event type -> ttai symbols
STABLE_AFTER = 30.0  # seconds a connection must last before the backoff starts over


def dxlink_symbol(symbol: str) -> str:
    """The DXLink name of a ttai symbol: `.SPY261218P450` for an OCC option, the
    symbol itself otherwise."""
    return sym.streamer_symbol(symbol) or symbol


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(value)
    except (ArithmeticError, ValueError, TypeError):
        return None
    return number if number.is_finite() else None


def tick_from_event(event_type: str, event: Any, symbol: str) -> Tick | None:
    """An SDK event as a `Tick`; None when it carries nothing usable."""
    if event_type == "Trade":
        price = _decimal(event.price)
        return Tick(symbol, "trade", price=price) if price is not None and price > 0 else None
    if event_type == "Quote":
        bid, ask = _decimal(event.bid_price), _decimal(event.ask_price)
        return Tick(symbol, "quote", bid=bid, ask=ask) if bid or ask else None
    if event_type == "Summary":
        close = _decimal(event.prev_day_close_price)
        return Tick(symbol, "summary", prev_close=close) if close else None
    if event_type == "Greeks":
        delta = _decimal(event.delta)
        return Tick(symbol, "greeks", delta=delta) if delta is not None else None
    return None


class MarketFeed:
    """Keeps one DXLink connection subscribed to `wanted`, until `stop` is set."""

    def __init__(
        self,
        session: Callable[[], Awaitable[Any]],
        on_tick: Callable[[Tick], None],
        health: FeedHealth,
        clock: Clock,
        backoff: Backoff | None = None,
        silence: float = 90.0,
    ) -> None:
        self._session = session  # async: the SDK session of the process's broker
        # a connection that delivers nothing for this long is treated as dead: DXLink
        # sends no pings, and a connection cut by a NAT or a network change stays "open"
        # until TCP gives up, about 15 minutes later
        self.silence = silence
        self._last_data = 0.0
        self.on_tick = on_tick
        self.health = health
        self.clock = clock
        self.backoff = backoff or Backoff()
        self.wanted: Wanted = {t: set() for t in EVENT_TYPES}
        self._subscribed: Wanted = {t: set() for t in EVENT_TYPES}
        self._streamer: Any = None
        self._changed = asyncio.Event()
        self._names: dict[str, str] = {}  # DXLink symbol -> ttai symbol

    # -- what to subscribe -------------------------------------------------------------------
    def want(self, wanted: Wanted) -> None:
        """Set the subscriptions; the live connection follows within moments."""
        self.wanted = {t: set(wanted.get(t, ())) for t in EVENT_TYPES}
        for symbols in self.wanted.values():
            for symbol in symbols:
                self._names[dxlink_symbol(symbol)] = symbol
        self._changed.set()

    @property
    def needed(self) -> bool:
        return any(self.wanted.values())

    async def _sync_subscriptions(self, streamer: Any) -> None:
        from tastytrade.streamer import MAP_EVENTS

        for event_type in EVENT_TYPES:
            want, have = self.wanted[event_type], self._subscribed[event_type]
            added, removed = want - have, have - want
            if removed:
                await streamer.unsubscribe(
                    MAP_EVENTS[event_type], [dxlink_symbol(s) for s in sorted(removed)]
                )
            if added:
                await streamer.subscribe(
                    MAP_EVENTS[event_type], [dxlink_symbol(s) for s in sorted(added)]
                )
            self._subscribed[event_type] = set(want)

    # -- the connection loop -----------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Connect, follow `want()`, reconnect on failure; return when `stop` is set."""
        while not stop.is_set():
            if not self.needed:
                self.health.idle = True
                await wait_any(stop, self._changed)
                self._changed.clear()
                continue
            self.health.idle = False
            started = self.clock.monotonic()
            error = await self._connect_once(stop)
            if stop.is_set():
                break
            self.health.down(self.clock.now(), error)
            if not self.needed:
                continue
            if self.clock.monotonic() - started >= STABLE_AFTER:
                self.backoff.reset()  # it worked for a while: a fresh outage starts fast
            delay = self.backoff.next_delay()
            log.warning("market stream down (%s); reconnecting in %.1fs", error, delay)
            await wait_any(stop, timeout=delay)
        self.health.down(self.clock.now(), None)

    async def _connect_once(self, stop: asyncio.Event) -> str:
        """One connection's life; returns why it ended."""
        streamer_class = _hardened_streamer_class()
        self._subscribed = {t: set() for t in EVENT_TYPES}
        try:
            async with streamer_class(await self._session()) as streamer:
                streamer.feed = self
                self._streamer = streamer
                self.health.up(self.clock.now())
                options = self.wanted["Greeks"]
                log.info(
                    "market stream connected: %d symbols%s",
                    len(self.wanted["Trade"]),
                    f", greeks of {len(options)} options" if options else "",
                )
                self._last_data = self.clock.monotonic()
                self._changed.clear()
                await self._sync_subscriptions(streamer)
                while not stop.is_set():
                    await wait_any(stop, self._changed, timeout=min(5.0, self.silence))
                    if not self.needed:
                        return "nothing to watch"
                    if self.clock.monotonic() - self._last_data > self.silence:
                        return f"no data for {self.silence:.0f}s"
                    if self._changed.is_set():
                        # cleared before the await: a want() that lands meanwhile is kept
                        self._changed.clear()
                        await self._sync_subscriptions(streamer)
                return "stopped"
        except BaseExceptionGroup as group:
            return describe_error(group)
        except Exception as exc:
            return describe_error(exc)
        finally:
            self._streamer = None

    # -- events (called on the SDK's reader task) ------------------------------------------------
    def deliver(self, event_type: str, events: list[Any], malformed: int) -> None:
        self._last_data = self.clock.monotonic()
        health = self.health
        if malformed:
            health.malformed += malformed
            log.debug("skipped %d malformed %s events", malformed, event_type)
        if not events:
            return
        health.events += len(events)
        health.last_event_at = self.clock.now()
        for event in events:
            symbol = self._names.get(event.event_symbol, event.event_symbol)
            tick = tick_from_event(event_type, event, symbol)
            if tick is None:
                health.malformed += 1
                continue
            try:
                self.on_tick(tick)
            except Exception as exc:  # one bad evaluation must not kill the connection
                log.error("handling a %s tick for %s failed: %s", event_type, symbol, exc)
                log.debug("tick failure", exc_info=True)


def describe_error(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = " ".join(str(exc).split())[:200]
    return logs.redact(f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__)


async def wait_any(*events: asyncio.Event, timeout: float | None = None) -> None:
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


_STREAMER_CLASS: Any = None


def _hardened_streamer_class() -> Any:
    """The SDK's `DXLinkStreamer`, with its event mapping replaced: events go straight to
    the feed, and a malformed one is counted and skipped instead of killing the reader."""
    global _STREAMER_CLASS
    if _STREAMER_CLASS is not None:
        return _STREAMER_CLASS
    from pydantic import ValidationError
    from tastytrade import DXLinkStreamer
    from tastytrade.streamer import MAP_EVENTS

    class HardenedDXLinkStreamer(DXLinkStreamer):
        feed: MarketFeed

        def _map_message(self, message: list[Any], channel: int) -> None:
            event_type = self._channels_reversed.get(channel)
            cls = MAP_EVENTS.get(event_type or "")
            if cls is None or event_type is None:
                return
            events: list[Any] = []
            malformed = 0
            try:
                if message and isinstance(message[0], dict):  # FULL format
                    for item in message:
                        try:
                            events.append(cls.model_validate(item))
                        except ValidationError:
                            malformed += 1
                else:  # COMPACT: [type, [values...]]
                    values = message[1]
                    size = len(cls.model_fields)
                    expected = len(values) // size if size else 0
                    if len(values) % size:
                        malformed += max(1, expected)
                    else:
                        events = cls.from_stream(values)
                        malformed += expected - len(events)
            except Exception:
                malformed += 1
            self.feed.deliver(event_type, events, malformed)

    _STREAMER_CLASS = HardenedDXLinkStreamer
    return _STREAMER_CLASS
