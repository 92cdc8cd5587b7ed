"""What the live view (`ttai watch`) shows: plain values the service fills in and the
renderer (`cli/watch_view.py`) draws, one class per section; and how each section's
lines are made from what the service gathered (pure, no I/O): a position's line and
day change, the strategies at the legs' marks, an alert's line and its distance, a
fired alert's and a job's line. `services/watch.py` gathers the data and puts the
view together."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from ttai_cli.broker import symbols as sym
from ttai_cli.clock import NEW_YORK
from ttai_cli.services.portfolio import days_to_expiry, position_pnl
from ttai_cli.strategies import build_strategy, leg_of

if TYPE_CHECKING:
    from ttai_cli.alerts.models import Alert
    from ttai_cli.broker.models import Position
    from ttai_cli.store.alerts import FiredEvent
    from ttai_cli.store.jobs import JobStatus

CENTS = Decimal("0.01")


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


# -- each section's lines ----------------------------------------------------------------------
def day_change(position: Position, mark: Decimal | None, today: date) -> Decimal | None:
    """`(mark - base) x quantity x multiplier`, base being the previous close, or the open
    price for a position opened today (the briefings' rule); None without a mark."""
    if mark is None:
        return None
    opened_today = (
        position.opened_at is not None and position.opened_at.astimezone(NEW_YORK).date() == today
    )
    base = (
        position.average_open_price
        if opened_today or not position.close_price
        else position.close_price
    )
    return ((mark - base) * position.quantity * position.multiplier).quantize(CENTS)


def position_line(position: Position, mark: Decimal | None, today: date) -> PositionLine:
    """A position's line at `mark` (already rounded to the cent)."""
    pnl, pnl_percent = position_pnl(position, mark)
    return PositionLine(
        position.symbol,
        sym.readable(position.symbol, today),
        position.quantity,
        mark,
        day_change(position, mark, today),
        pnl,
        pnl_percent,
        days_to_expiry(position.expires_at, today),
    )


@dataclass(frozen=True)
class StrategyGroup:
    """A strategy's shape, found when the positions change: its figures are built
    again from the legs' marks at each draw."""

    underlying: str
    name: str
    symbols: tuple[str, ...]
    opening_order: int | None


def strategy_lines(
    groups: Sequence[StrategyGroup],
    positions: Sequence[Position],
    lines: Sequence[PositionLine],
    today: date,
) -> list[StrategyLine]:
    """The strategies at the legs' marks now (`lines`: the positions' lines), largest
    absolute P&L first."""
    by_symbol = {line.symbol: line for line in lines}
    held = {p.symbol: p for p in positions}
    out: list[StrategyLine] = []
    for group in groups:
        if not all(s in held and s in by_symbol for s in group.symbols):
            continue  # the positions changed since the grouping (regrouped next poll)
        legs = [leg_of(replace(held[s], mark=by_symbol[s].mark)) for s in group.symbols]
        price = next(
            (
                leg.position.mark
                for leg in legs
                if leg.kind != "option" and leg.position.symbol == group.underlying
            ),
            None,
        )
        strategy = build_strategy(
            group.underlying,
            legs,
            today=today,
            price=price,
            opening_order=group.opening_order,
            name=group.name,
        )
        leg_lines = [by_symbol[p.symbol] for p in strategy.legs]
        changes = [line.day_change for line in leg_lines]
        day = (
            sum((c for c in changes if c is not None), Decimal(0))
            if all(c is not None for c in changes)
            else None
        )
        out.append(
            StrategyLine(
                strategy.label,
                leg_lines,
                day,
                strategy.pnl,
                strategy.pnl_percent,
                strategy.dte,
            )
        )
    out.sort(key=lambda s: (s.pnl is None, -abs(s.pnl or Decimal(0)), s.label))
    return out


def alert_line(alert: Alert, today: date) -> AlertLine:
    """An armed alert's line, without its distance (`quote_distance` gives it)."""
    return AlertLine(
        alert.id,
        (sym.readable(alert.symbol, today) if alert.symbol else "account")
        # an alert bound to a strategy: `TSLA 1/15`
        + (f" {sym.short_date(alert.strategy, today)}" if alert.strategy else ""),
        alert.type,
        alert.condition,
        alert.threshold,
        None,
        alert.note,
    )


def fired_line(event: FiredEvent, today: date) -> FiredLine:
    return FiredLine(
        event.alert_id, sym.readable(event.symbol, today), event.fired_at, event.message
    )


def job_line(status: JobStatus) -> JobLine:
    return JobLine(
        status.job,
        status.state,
        status.last_result,
        status.last_error,
        status.last_started_at,
        status.next_run_at,
    )


def quote_distance(
    kind: str,
    condition: str,
    threshold: Decimal,
    price: Decimal | None,
    previous: Decimal | None,
) -> tuple[Decimal | None, bool | None]:
    """(distance, met) of a price or change alert: `distance` is threshold minus the value
    (percent of the price for a price alert, points of the day's % change for a change
    alert), signed; `met` says whether the condition holds now, decided as the alert job
    decides it (`above`: value >= threshold, `below`: value <= threshold), on the unrounded
    value. (None, None) without a price (or, for a change alert, a previous close)."""
    if price is None or price <= 0:
        return None, None
    if kind == "price":
        value, distance = price, (threshold - price) / price * 100
    else:
        if not previous:
            return None, None
        value = (price - previous) / previous * 100
        distance = threshold - value
    met = value >= threshold if condition == "above" else value <= threshold
    return distance.quantize(CENTS), met
