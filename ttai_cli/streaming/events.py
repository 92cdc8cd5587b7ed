"""What the streams deliver, as plain SDK-free values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class Tick:
    """One market event for one symbol (ttai's symbol: OCC for options).

    `kind` is `trade` (price), `quote` (bid, ask), `summary` (prev_close, the previous
    session's close) or `greeks` (delta). Fields a kind does not carry are None."""

    symbol: str
    kind: str
    price: Decimal | None = None
    bid: Decimal | None = None
    ask: Decimal | None = None
    prev_close: Decimal | None = None
    delta: Decimal | None = None


@dataclass(frozen=True)
class OrderLeg:
    symbol: str
    action: str  # "Buy to Open", "Sell to Close", ...
    quantity: Decimal
    fill_price: Decimal | None  # the quantity-weighted average of the leg's fills


@dataclass(frozen=True)
class OrderEvent:
    """An order's state as the account streamer sent it."""

    account_number: str
    order_id: int
    status: str  # the API's: "Filled", "Cancelled", "Rejected", "Expired", "Live", ...
    underlying_symbol: str
    order_type: str
    legs: tuple[OrderLeg, ...]
    filled_quantity: Decimal = Decimal(0)  # over all legs' fills so far
    remaining_quantity: Decimal = Decimal(0)
    price: Decimal | None = None  # signed: a credit is positive
    updated_at: datetime | None = None
    reject_reason: str | None = None


@dataclass(frozen=True)
class PositionEvent:
    """A position changed (opened, resized, closed): the service re-reads positions."""

    account_number: str
    symbol: str
    quantity: Decimal = field(default=Decimal(0))
