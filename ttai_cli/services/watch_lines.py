"""What the live view (`ttai watch`) shows: plain values the service fills in and the
renderer (`cli/watch_view.py`) draws, one class per section."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class PositionLine:
    symbol: str  # OCC for options
    name: str  # readable: `QQQ 11/27 465P`
    quantity: Decimal
    mark: Decimal | None
    day_change: Decimal | None  # dollars since the previous close
    pnl: Decimal | None
    pnl_percent: Decimal | None
    dte: int | None


@dataclass(frozen=True)
class StrategyLine:
    """A strategy and its legs (grouped as `ttai positions --strategies` does)."""

    label: str  # `TSLA short strangle 1/15`
    legs: list[PositionLine]
    day_change: Decimal | None  # the legs' day changes summed; None when one is unknown
    pnl: Decimal | None
    pnl_percent: Decimal | None  # of the credit (of the debit for a debit strategy; None: a future)
    dte: int | None


@dataclass(frozen=True)
class AlertLine:
    id: int
    symbol: str  # readable
    type: str
    condition: str
    threshold: Decimal
    distance_percent: Decimal | None  # None: not a price / change alert, or no price yet
    note: str | None
    # the condition holds now (an armed alert that fires on the alerts job's next check);
    # None: not known (not a price / change alert, or no price yet)
    met: bool | None = None


@dataclass(frozen=True)
class FiredLine:
    alert_id: int
    symbol: str  # readable
    fired_at: datetime
    message: str


@dataclass(frozen=True)
class JobLine:
    job: str
    state: str  # idle, running, paused, stalled
    last_result: str | None
    last_error: str | None
    last_started_at: datetime | None
    next_run_at: datetime | None


@dataclass(frozen=True)
class MarketClock:
    open: bool
    closes_at: datetime | None  # while open
    next_open: datetime
    early_close: bool  # today's session closes early


@dataclass(frozen=True)
class WatchView:
    now: datetime
    account_number: str | None
    net_liquidating_value: Decimal | None
    day_pnl: Decimal | None
    buying_power_used_percent: Decimal | None
    beta_weighted_delta: Decimal | None
    market: MarketClock | None
    positions: list[PositionLine]
    strategies: list[StrategyLine]  # the positions grouped, largest absolute P&L first
    armed: list[AlertLine]
    fired_today: list[FiredLine]
    jobs: list[JobLine]
    stream_connected: bool | None  # a `ttai stream` process's market feed; None: none runs
    pending: dict[str, int]  # destination -> deliveries waiting
    failed: dict[str, int]  # destination -> deliveries failed for good
    source: str  # "streaming", "polling" or "snapshot"
    updated_at: datetime | None  # the last REST read that worked
    error: str | None  # the last read's failure, until one works again
