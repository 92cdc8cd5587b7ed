"""An alert as stored, and the outcome of evaluating one: plain values, cheap to import
(listing alerts needs nothing more)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Alert:
    id: int
    symbol: str
    type: str
    condition: str
    threshold: Decimal
    note: str | None
    repeat_after: timedelta | None
    status: str
    created_at: datetime
    triggered_at: datetime | None
    cleared_at: datetime | None
    fire_count: int
    # a pnl / dte / tested alert bound to the strategy on `symbol` expiring that day
    strategy: date | None = None


@dataclass(frozen=True)
class Evaluation:
    met: bool | None
    value: Decimal | None = None
    title: str = ""
    body: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    why_unknown: str = ""


def in_days(days: int | Decimal) -> str:
    """`today`, `tomorrow`, `in 5 days`: when something is due, counted in days."""
    return "today" if days == 0 else "tomorrow" if days == 1 else f"in {days} days"
