"""Orders in the API's JSON shape, for the account streamer's Order notifications.

`sim_order()` builds what tastytrade sends (dasherized keys, decimal strings, a
positive `price` with its `price-effect`, legs with `fills`); `tastytrade.order.
PlacedOrder(**order)` validates it. Statuses are the SDK's `OrderStatus` values:
there is no "Partially Filled" status. A partial fill is an order still `Live` (or
`Cancelled` / `Expired` at the end) whose legs carry fills and a `remaining-quantity`
above zero: pass `filled_quantity`.

`schedule_demo_order()` is the demo's order: buy back one contract of the short option
expiring first (else sell one share of the first stock): Live after a delay, Filled a
little later, booked in the account (transaction, position) when it fills.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ttai_cli.broker.symbols import kind_of, parse_occ
from ttai_cli.simulator.account import _iso
from ttai_cli.simulator.marketdata import KIND_TO_TYPE

if TYPE_CHECKING:
    from ttai_cli.simulator.app import SimulatedTastytrade
    from ttai_cli.simulator.streams import StreamHub

STATUSES = frozenset(
    {
        "Received",
        "Routed",
        "In Flight",
        "Live",
        "Contingent",
        "Cancel Requested",
        "Replace Requested",
        "Filled",
        "Cancelled",
        "Expired",
        "Rejected",
        "Removed",
        "Partially Removed",
    }
)
DEMO_FILL_STEP = 1.5  # seconds from the demo order going Live to its fill (at most)
TERMINAL = frozenset({"Filled", "Cancelled", "Expired", "Rejected", "Removed"})
# one leg: (symbol, action such as "Buy to Close", quantity, fill price or None)
OrderLeg = tuple[str, str, "Decimal | int | str", "Decimal | float | str | None"]


def _number(value: Decimal) -> int | str:
    return int(value) if value == value.to_integral_value() else str(value)


def sim_order(
    app: SimulatedTastytrade,
    status: str,
    *,
    order_id: int,
    legs: Sequence[OrderLeg],
    underlying: str,
    order_type: str = "Limit",
    price: Decimal | float | str | None = None,
    time_in_force: str = "Day",
    filled_quantity: Decimal | int | None = None,
    reject_reason: str | None = None,
    account_number: str | None = None,
    at: datetime | None = None,
) -> dict[str, Any]:
    """An order as the account streamer sends it.

    `filled_quantity`: how much of each leg has filled; default all of it when
    `status` is Filled, none otherwise. Filled legs get one fill each at the leg's
    fill price. `price` defaults to the net of the legs' fill prices per unit
    (credit when selling), or the market's marks for legs without one.
    """
    if status not in STATUSES:
        raise ValueError(
            f"unknown order status {status!r} (a partial fill is 'Live' with filled_quantity)"
        )
    when = at or app.now()
    sizes = [Decimal(str(quantity)) for _, _, quantity, _ in legs]
    size = Decimal(math.gcd(*(int(q) for q in sizes))) if sizes else Decimal(1)
    net = Decimal(0)
    leg_json: list[dict[str, Any]] = []
    for (symbol, action, _, fill_price), quantity in zip(legs, sizes, strict=True):
        each = Decimal(str(fill_price)) if fill_price is not None else app.market.quote(symbol).mark
        net += each * quantity * (1 if action.startswith("Sell") else -1)
        done = quantity if filled_quantity is None and status == "Filled" else Decimal(0)
        if filled_quantity is not None:
            done = min(quantity, Decimal(filled_quantity))
        fills = []
        if done > 0:
            fills.append(
                {
                    "ext-group-fill-id": f"{order_id}-{len(leg_json)}",
                    "ext-exec-id": f"sim-{order_id}-{len(leg_json)}",
                    "fill-id": f"{order_id}_{len(leg_json)}",
                    "quantity": _number(done),
                    "fill-price": str(each),
                    "filled-at": _iso(when),
                    "destination-venue": "SIM",
                }
            )
        leg_json.append(
            {
                "instrument-type": KIND_TO_TYPE[kind_of(symbol)],
                "symbol": symbol,
                "quantity": _number(quantity),
                "remaining-quantity": _number(quantity - done),
                "action": action,
                "fills": fills,
            }
        )
    per_unit = (net / size) if size else net
    amount = abs(Decimal(str(price))) if price is not None else abs(per_unit)
    order: dict[str, Any] = {
        "id": order_id,
        "account-number": account_number or app.account.account_number,
        "time-in-force": time_in_force,
        "order-type": order_type,
        "size": _number(size),
        "underlying-symbol": underlying,
        "underlying-instrument-type": KIND_TO_TYPE[kind_of(underlying)],
        "price": str(amount.quantize(Decimal("0.01"))),
        "price-effect": "Credit" if per_unit > 0 else "Debit",
        "status": status,
        "cancellable": status not in TERMINAL,
        "editable": status not in TERMINAL,
        "edited": False,
        "ext-exchange-order-number": f"SIM{order_id}",
        "ext-client-order-id": f"sim-{order_id}",
        "ext-global-order-number": order_id % 100_000,
        "received-at": _iso(when - timedelta(milliseconds=50)),
        "updated-at": int(when.timestamp() * 1000),  # the streamer's epoch milliseconds
        "in-flight-at": _iso(when - timedelta(milliseconds=40)),
        "live-at": _iso(when - timedelta(milliseconds=30)),
        "legs": leg_json,
        "source": "WBT",
    }
    if status in TERMINAL:
        order["terminal-at"] = _iso(when)
    if status == "Cancelled":
        order["cancelled-at"] = _iso(when)
    if status == "Rejected":
        order["reject-reason"] = reject_reason or "Simulated rejection"
    return order


def order_history(app: SimulatedTastytrade) -> list[dict[str, Any]]:
    """Every order of the account, latest state, in the API's shape: a Filled order per
    order id of the booked trades (its fills are the trades), and the orders streamed
    today (`app.orders`, which win for the same id). What `GET /accounts/N/orders`
    pages through."""
    legs: dict[int, list[dict[str, Any]]] = {}
    for txn in app.account.transactions:
        if txn.get("transaction-type") == "Trade" and txn.get("order-id") is not None:
            legs.setdefault(int(txn["order-id"]), []).append(txn)
    orders: dict[int, dict[str, Any]] = {}
    for order_id, fills in legs.items():
        first = fills[0]
        orders[order_id] = sim_order(
            app,
            "Filled",
            order_id=order_id,
            legs=[(t["symbol"], t["action"], t["quantity"], t["price"]) for t in fills],
            underlying=first["underlying-symbol"],
            at=datetime.fromisoformat(first["executed-at"].replace("Z", "+00:00")),
        )
    orders.update(app.orders)
    return list(orders.values())


def schedule_demo_order(hub: StreamHub, delay: float) -> None:
    """Announce the demo's order Live `delay` seconds from now, and Filled a moment later
    (announced only: the positions stay as the demo builds them); nothing when the
    account holds nothing to close. Outside regular hours (a weekend, a holiday, the
    night) the order stays Live: a real account's orders do not fill then."""
    from ttai_cli.simulator.calendar import in_regular_hours

    app = hub.app
    with app.lock:
        held = list(app.account.positions.values())
    shorts = sorted(
        (p for p in held if p.quantity < 0 and parse_occ(p.symbol)),
        key=lambda p: p.symbol[6:12],  # the OCC expiration, YYMMDD
    )
    stocks = [p for p in held if p.quantity > 0 and p.instrument_type == "Equity"]
    if shorts:
        pos, action = shorts[0], "Buy to Close"
    elif stocks:
        pos, action = stocks[0], "Sell to Close"
    else:
        return
    with app.lock:
        quote = app.market.quote(pos.symbol)
    price = quote.ask if action.startswith("Buy") else quote.bid
    common: dict[str, Any] = {
        "order_id": hub.next_order_id(),
        "underlying": pos.underlying,
        "price": price,
    }
    live = sim_order(app, "Live", legs=[(pos.symbol, action, 1, None)], **common)

    def fill() -> None:
        # announced, not booked: every demo process starts the account afresh from the
        # date, so a booked fill would read as the position changing back at the next start
        hub.order_event(sim_order(app, "Filled", legs=[(pos.symbol, action, 1, price)], **common))

    hub.schedule(delay, lambda: hub.order_event(live))
    if in_regular_hours(app.now()):
        hub.schedule(delay + min(DEMO_FILL_STEP, delay), fill)
