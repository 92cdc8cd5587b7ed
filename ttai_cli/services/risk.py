"""The portfolio at a glance (`ttai risk`): buying power used, beta-weighted delta, theta,
vega, concentration by underlying, and the held underlyings' upcoming events.

The numbers, per underlying U held (stock, options on it, futures):
- delta in shares: a stock or future position is `quantity x multiplier` shares (long
  positive, short negative); an option is `delta x quantity x multiplier`, delta from the
  streamed Greeks. An option with no Greeks in time adds nothing and is listed in
  `missing_greeks`.
- beta-weighted delta (SPY-equivalent shares): `delta_shares x beta x price(U) /
  price(SPY)`. A missing beta counts as 1.0 and is flagged (`beta_missing`, `beta` None).
- notional: the underlying's value controlled, `|quantity| x multiplier x price(U)`
  summed over U's positions (an option controls `multiplier` shares per contract), and
  its percent of net liquidating value.
Account-wide: buying power used = maintenance requirement / NLV x 100; theta and vega are
`greek x quantity x multiplier` summed, in dollars (theta per day, vega per point of
implied volatility), signed (a short option's theta is positive: it earns the decay).
Events: earnings and ex-dividend dates of held underlyings from today through
`horizon_days` ahead, both ends included.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Literal

from ttai_cli.broker.models import Balances, MarketMetric, OptionGreeks, Position, Quote
from ttai_cli.clock import NEW_YORK, Clock
from ttai_cli.errors import BrokerError

if TYPE_CHECKING:
    from ttai_cli.broker.models import Broker
    from ttai_cli.store import Store

BENCHMARK = "SPY"
HORIZON_DAYS = 14
CENTS = Decimal("0.01")
ZERO = Decimal(0)


def _round(value: Decimal) -> Decimal:
    return value.quantize(CENTS, ROUND_HALF_UP)


@dataclass(frozen=True)
class UnderlyingRisk:
    symbol: str
    beta: Decimal | None  # None: tastytrade has no beta (counted as 1.0)
    beta_missing: bool
    delta_shares: Decimal
    beta_weighted_delta: Decimal  # SPY-equivalent shares
    notional: Decimal
    percent_of_nlv: Decimal


@dataclass(frozen=True)
class EventDate:
    symbol: str
    kind: Literal["earnings", "ex-dividend"]
    date: date
    days: int  # New York calendar days from today: 0 is today


@dataclass(frozen=True)
class RiskReport:
    net_liquidating_value: Decimal
    maintenance_requirement: Decimal
    buying_power_used_percent: Decimal
    beta_weighted_delta: Decimal
    theta: Decimal  # dollars per day, whole portfolio
    vega: Decimal  # dollars per point of implied volatility
    by_underlying: list[UnderlyingRisk]  # largest notional first
    events: list[EventDate]  # soonest first
    as_of: datetime
    missing_greeks: list[str]  # option symbols counted with no delta, theta or vega

    @property
    def beta_missing(self) -> list[str]:
        return [u.symbol for u in self.by_underlying if u.beta_missing]


def buying_power_used(maintenance: Decimal, nlv: Decimal) -> Decimal:
    """Maintenance requirement as a percent of NLV; with no positive NLV it is 0 when
    nothing is required, else 100 (everything is used)."""
    if nlv <= 0:
        return ZERO if maintenance <= 0 else Decimal(100)
    return _round(maintenance / nlv * 100)


def _underlying_of(position: Position) -> str:
    return position.underlying_symbol or position.symbol


def compute_risk(
    positions: Sequence[Position],
    balances: Balances,
    underlying_prices: dict[str, Decimal],
    spy_price: Decimal,
    greeks: dict[str, OptionGreeks],
    metrics: dict[str, MarketMetric],
    today: date,
    horizon_days: int = HORIZON_DAYS,
    *,
    as_of: datetime | None = None,
) -> RiskReport:
    """The report from plain inputs (no I/O). An underlying with no price in
    `underlying_prices` is priced at its stock position's mark when there is one, else
    it counts 0 notional and 0 beta-weighted delta. `as_of` defaults to the balances'
    time. Figures are rounded to cents (shares to hundredths) after summing."""
    nlv = balances.net_liquidating_value
    delta: dict[str, Decimal] = {}
    controlled: dict[str, Decimal] = {}  # shares (or units) controlled, long or short
    theta = vega = ZERO
    missing: list[str] = []
    prices = dict(underlying_prices)
    for p in positions:
        underlying = _underlying_of(p)
        if underlying not in prices and not p.is_option and p.mark is not None:
            prices[underlying] = p.mark
        delta.setdefault(underlying, ZERO)
        size = p.quantity * p.multiplier
        controlled[underlying] = controlled.get(underlying, ZERO) + abs(size)
        if p.is_option:
            g = greeks.get(p.symbol)
            if g is None:
                missing.append(p.symbol)
            else:
                delta[underlying] += g.delta * size
                theta += g.theta * size
                vega += g.vega * size
        else:
            delta[underlying] += size
    rows: list[UnderlyingRisk] = []
    total_bwd = ZERO
    for underlying, shares in delta.items():
        price = prices.get(underlying)
        metric = metrics.get(underlying)
        beta = metric.beta if metric is not None else None
        weighted = (
            shares * (beta if beta is not None else Decimal(1)) * price / spy_price
            if price is not None and spy_price
            else ZERO
        )
        value = controlled[underlying] * price if price is not None else ZERO
        total_bwd += weighted
        rows.append(
            UnderlyingRisk(
                symbol=underlying,
                beta=beta,
                beta_missing=beta is None,
                delta_shares=_round(shares),
                beta_weighted_delta=_round(weighted),
                notional=_round(value),
                percent_of_nlv=_round(value / nlv * 100) if nlv > 0 else ZERO,
            )
        )
    rows.sort(key=lambda r: (-r.notional, r.symbol))
    return RiskReport(
        net_liquidating_value=nlv,
        maintenance_requirement=balances.maintenance_requirement,
        buying_power_used_percent=buying_power_used(balances.maintenance_requirement, nlv),
        beta_weighted_delta=_round(total_bwd),
        theta=_round(theta),
        vega=_round(vega),
        by_underlying=rows,
        events=upcoming_events(list(delta), metrics, today, horizon_days),
        as_of=as_of or balances.updated_at,
        missing_greeks=missing,
    )


def upcoming_events(
    symbols: Sequence[str], metrics: dict[str, MarketMetric], today: date, horizon_days: int
) -> list[EventDate]:
    """Earnings and ex-dividend dates of `symbols` from `today` to `today + horizon_days`
    (both included), soonest first."""
    events: list[EventDate] = []
    for symbol in dict.fromkeys(symbols):
        metric = metrics.get(symbol)
        if metric is None:
            continue
        kinds: tuple[tuple[Literal["earnings", "ex-dividend"], date | None], ...] = (
            ("earnings", metric.earnings_date),
            ("ex-dividend", metric.ex_dividend_date),
        )
        for kind, day in kinds:
            if day is not None and 0 <= (day - today).days <= horizon_days:
                events.append(EventDate(symbol, kind, day, (day - today).days))
    return sorted(events, key=lambda e: (e.date, e.symbol, e.kind))


class RiskService:
    """`snapshot(broker)`: the report for the account `broker` reads, fetched with one
    positions and one balances request, one (batched) quotes call for the held
    underlyings and SPY, metrics through the day's cache (`MetricsService`), and the
    options' Greeks from one streamer subscription (at most `greeks_timeout` seconds)."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        greeks_timeout: float = 10.0,
        quote_source: Callable[[Broker, list[str]], Awaitable[dict[str, Quote]]] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.greeks_timeout = greeks_timeout
        # the daemon's shared quote cache: a briefing and a monitor at 09:30 ask once
        self.quote_source = quote_source

    async def snapshot(self, broker: Broker) -> RiskReport:
        """The report; its figures are also kept as the account's latest risk snapshot."""
        import asyncio  # here: importing this module (`ttai metrics`) must stay cheap

        from ttai_cli.services.metrics import BorrowedBroker, MetricsService

        positions = await broker.positions()  # first: it looks the account up once
        underlyings = list(dict.fromkeys(_underlying_of(p) for p in positions))
        options = [p.symbol for p in positions if p.is_option]
        metrics_service = MetricsService(self.store, self.clock, lambda: BorrowedBroker(broker))

        async def no_greeks() -> dict[str, OptionGreeks]:
            return {}

        wanted = [*underlyings, BENCHMARK] if underlyings else []
        balances, quotes, metrics, greeks = await asyncio.gather(
            broker.balances(),
            self.quote_source(broker, wanted) if self.quote_source else broker.quotes(wanted),
            metrics_service.get(underlyings),
            broker.option_greeks(options, self.greeks_timeout) if options else no_greeks(),
        )
        prices = {s: q.price for s, q in quotes.items() if q.price is not None}
        spy = prices.get(BENCHMARK)
        if spy is None and underlyings:
            raise BrokerError(f"tastytrade sent no {BENCHMARK} price: cannot beta-weight")
        now = self.clock.now()
        report = compute_risk(
            positions,
            balances,
            prices,
            spy or ZERO,
            greeks,
            metrics,
            now.astimezone(NEW_YORK).date(),
            as_of=now,
        )
        self._keep(balances.account_number, report)
        return report

    def _keep(self, account_number: str, report: RiskReport) -> None:
        """Keep the report's figures as the account's latest (`ttai metrics` reads them).
        The report is what was asked for: a database too busy to take them is logged,
        not an error."""
        from ttai_cli.store.risk import RiskRepository, RiskSnapshot

        try:
            RiskRepository(self.store).save(
                RiskSnapshot(
                    account_number=account_number,
                    at=report.as_of,
                    net_liquidating_value=report.net_liquidating_value,
                    maintenance_requirement=report.maintenance_requirement,
                    buying_power_used_percent=report.buying_power_used_percent,
                    beta_weighted_delta=report.beta_weighted_delta,
                    theta=report.theta,
                    vega=report.vega,
                )
            )
        except sqlite3.Error as exc:
            from ttai_cli import logs

            logs.get("risk").warning("risk figures not kept for `ttai metrics`: %s", exc)

    async def fetch(self, open_broker: Callable[[], Broker]) -> RiskReport:
        """`snapshot` through a broker of its own (opened and closed here)."""
        async with open_broker() as broker:
            return await self.snapshot(broker)
