"""Order notifications from the account stream: which order states deserve one, and
their text (`Order filled: SPY` / `Sell to open 1 SPY 12/19 450P at $2.35`) and SPEC data.

Pure: the stream service stores them under a key per order id and status (a partial fill
per filled quantity), so each is notified once across reconnects and restarts.
"""

from __future__ import annotations

from datetime import date, datetime

from ttai_cli.clock import NEW_YORK
from ttai_cli.notify.models import Notification
from ttai_cli.streaming.events import OrderEvent, OrderLeg

ORDER_TYPES = {
    "Filled": "order_filled",
    "Cancelled": "order_cancelled",
    "Rejected": "order_rejected",
    "Expired": "order_expired",
}
ORDER_WORDS = {
    "order_filled": "filled",
    "order_partially_filled": "partially filled",
    "order_cancelled": "cancelled",
    "order_rejected": "rejected",
    "order_expired": "expired",
}


def order_key(order: OrderEvent, kind: str) -> str:
    """The outbox key that makes each order state one notification: per account, order id
    and status, and for a partial fill per filled quantity (each new fill is news)."""
    key = f"order:{order.account_number}:{order.order_id}:{kind}"
    if kind == "order_partially_filled":
        key += f":{order.filled_quantity}"
    return key


def order_notification_type(order: OrderEvent) -> str | None:
    """The notification an order state deserves, or None (working, routed, ...)."""
    kind = ORDER_TYPES.get(order.status)
    if kind is not None:
        return kind
    if order.filled_quantity > 0 and order.remaining_quantity > 0:
        return "order_partially_filled"
    return None


def _leg_text(leg: OrderLeg, with_price: bool, today: date) -> str:
    from ttai_cli.broker.symbols import readable

    name = readable(leg.symbol, today)
    price = f" at ${leg.fill_price:,.2f}" if with_price and leg.fill_price is not None else ""
    return f"{leg.action.lower()} {leg.quantity.normalize():f} {name}{price}"


def order_notification(order: OrderEvent, kind: str, now: datetime) -> Notification:
    """`Order filled: SPY` / `Sell to open 1 SPY 12/19 450P at $2.35` (SPEC data fields)."""
    from datetime import UTC

    filled = kind in ("order_filled", "order_partially_filled")
    legs = (
        "; ".join(_leg_text(leg, filled, now.astimezone(NEW_YORK).date()) for leg in order.legs)
        or "no legs"
    )
    body = legs[0].upper() + legs[1:]
    if kind == "order_partially_filled":
        body += f" ({order.filled_quantity.normalize():f} filled, {order.remaining_quantity.normalize():f} to go)"
    if kind == "order_rejected" and order.reject_reason:
        body += f": {order.reject_reason}"
    return Notification(
        kind,
        f"Order {ORDER_WORDS[kind]}: {order.underlying_symbol}",
        body,
        {
            "order_id": order.order_id,
            "status": order.status,
            "underlying_symbol": order.underlying_symbol,
            "legs": [
                {
                    "symbol": leg.symbol,
                    "action": leg.action,
                    "quantity": float(leg.quantity),
                    "fill_price": float(leg.fill_price) if leg.fill_price is not None else None,
                }
                for leg in order.legs
            ],
        },
        created_at=now.astimezone(UTC),
    )
