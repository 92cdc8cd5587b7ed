"""The account feed: one account-streamer connection (the SDK's `AlertStreamer`), kept alive.

It subscribes the account (`connect`), sends a `heartbeat` every 20 s (tastytrade drops
a silent connection; each one also refreshes the OAuth access token when it is near
expiry, so a day-long run keeps a valid token), and hands orders and position changes
to the service as SDK-free values. The URL comes from `TTAI_ACCOUNT_STREAMER_URL`
(SPEC). Failures reconnect with the same backoff as the market feed; a malformed message
is counted and skipped. Order notifications are keyed by order id and status in the
outbox, so the repeats a reconnect brings never notify twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from ttai_cli import logs
from ttai_cli.clock import Clock
from ttai_cli.streaming.backoff import Backoff
from ttai_cli.streaming.events import OrderEvent, OrderLeg, PositionEvent
from ttai_cli.streaming.health import FeedHealth
from ttai_cli.streaming.market import STABLE_AFTER, describe_error, wait_any

log = logs.get("stream")
HEARTBEAT_SECONDS = 20.0


def order_event(order: Any) -> OrderEvent:
    """The SDK's `PlacedOrder` as an `OrderEvent` (fill prices averaged per leg)."""
    legs = []
    filled = remaining = Decimal(0)
    for leg in order.legs:
        fills = leg.fills or []
        quantity = sum((f.quantity for f in fills), Decimal(0))
        price = (
            sum((f.fill_price * f.quantity for f in fills), Decimal(0)) / quantity
            if quantity
            else None
        )
        filled += quantity
        remaining += leg.remaining_quantity or Decimal(0)
        legs.append(
            OrderLeg(
                symbol=leg.symbol,
                action=str(getattr(leg.action, "value", leg.action)),
                quantity=Decimal(leg.quantity or 0),
                fill_price=price,
            )
        )
    return OrderEvent(
        account_number=order.account_number,
        order_id=int(order.id),
        status=str(getattr(order.status, "value", order.status)),
        underlying_symbol=order.underlying_symbol,
        order_type=str(getattr(order.order_type, "value", order.order_type)),
        legs=tuple(legs),
        filled_quantity=filled,
        remaining_quantity=remaining,
        price=order.price,
        updated_at=order.updated_at,
        reject_reason=order.reject_reason,
    )


class AccountFeed:
    """Keeps the account streamer subscribed to `accounts`, until `stop` is set."""

    def __init__(
        self,
        session: Callable[[], Awaitable[Any]],
        url: str,
        accounts: Callable[[], Any],
        on_order: Callable[[OrderEvent], None],
        on_position: Callable[[PositionEvent], None],
        health: FeedHealth,
        clock: Clock,
        backoff: Backoff | None = None,
        heartbeat: float = HEARTBEAT_SECONDS,
        recent_orders: Callable[[], Awaitable[list[OrderEvent]]] | None = None,
    ) -> None:
        # today's orders over REST, replayed after each (re)connect: a fill while the
        # socket was down is notified then (the outbox keys keep it to once)
        self.recent_orders = recent_orders
        self._session = session
        self.url = url
        self._accounts = accounts  # async: the SDK Account objects to subscribe
        self.on_order = on_order
        self.on_position = on_position
        self.health = health
        self.clock = clock
        self.backoff = backoff or Backoff()
        self.heartbeat = heartbeat

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            started = self.clock.monotonic()
            error = await self._connect_once(stop)
            if stop.is_set():
                break
            self.health.down(self.clock.now(), error)
            if self.clock.monotonic() - started >= STABLE_AFTER:
                self.backoff.reset()
            delay = self.backoff.next_delay()
            log.warning("account stream down (%s); reconnecting in %.1fs", error, delay)
            await wait_any(stop, timeout=delay)
        self.health.down(self.clock.now(), None)

    async def _connect_once(self, stop: asyncio.Event) -> str:
        streamer_class = _hardened_streamer_class()
        try:
            accounts = await self._accounts()
            streamer = streamer_class(await self._session())
            streamer.base_url = self.url
            streamer.feed = self
            async with streamer:
                await streamer.subscribe_accounts(accounts)
                self.health.up(self.clock.now())
                log.info("account stream connected")
                await self._replay()
                while not stop.is_set():
                    await wait_any(stop, timeout=self.heartbeat)
                    if not stop.is_set():
                        await streamer._subscribe(_heartbeat())
                return "stopped"
        except BaseExceptionGroup as group:
            return describe_error(group)
        except Exception as exc:
            return describe_error(exc)

    async def _replay(self) -> None:
        if self.recent_orders is None:
            return
        try:
            orders = await self.recent_orders()
        except Exception as exc:  # the stream still works; the next connect tries again
            log.warning("reading today's orders failed: %s", describe_error(exc))
            return
        for order in orders:
            try:
                self.on_order(order)
            except Exception as exc:
                log.error("handling order %s failed: %s", order.order_id, describe_error(exc))

    # -- messages (called on the SDK's reader task) ----------------------------------------------
    def deliver(self, type_name: str, data: dict[str, Any], model: Any) -> None:
        health = self.health
        health.events += 1
        health.last_event_at = self.clock.now()
        try:
            parsed = model.model_validate(data)
        except Exception as exc:  # a message we cannot read is skipped, never fatal
            health.malformed += 1
            log.warning(
                "skipped an account %s message ttai cannot read (%s)",
                type_name,
                describe_error(exc),
            )
            return
        try:
            if type_name == "Order":
                self.on_order(order_event(parsed))
            elif type_name == "CurrentPosition":
                self.on_position(
                    PositionEvent(parsed.account_number, parsed.symbol, parsed.quantity)
                )
        except Exception as exc:  # our side failed (a busy database): say so, keep going
            log.error("handling an account %s event failed: %s", type_name, describe_error(exc))


def _heartbeat() -> Any:
    from tastytrade.streamer import SubscriptionType

    return SubscriptionType.HEARTBEAT


_STREAMER_CLASS: Any = None


def _hardened_streamer_class() -> Any:
    """The SDK's `AlertStreamer` with its message mapping replaced: messages go to the
    feed, and one that does not validate is counted and skipped instead of ending the
    connection (the SDK's own mapping raises on it)."""
    global _STREAMER_CLASS
    if _STREAMER_CLASS is not None:
        return _STREAMER_CLASS
    from tastytrade import AlertStreamer
    from tastytrade.streamer import MAP_ALERTS

    class HardenedAlertStreamer(AlertStreamer):
        feed: AccountFeed

        async def _map_message(self, type_str: str, data: dict[str, Any]) -> None:
            model = MAP_ALERTS.get(type_str)
            if model is None or not isinstance(data, dict):
                return
            self.feed.deliver(type_str, data, model)

    _STREAMER_CLASS = HardenedAlertStreamer
    return _STREAMER_CLASS
