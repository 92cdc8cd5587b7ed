"""Positions, balances and quotes as the user sees them.

P&L is sign-aware: `pnl = (mark - average_open_price) * quantity * multiplier` with a
signed quantity, so a short put bought back cheaper than it was sold is a profit.
`pnl_percent` is that P&L over the position's cost (`average_open_price * |quantity| *
multiplier`). DTE counts New York calendar days from today to the expiry date: 0 on the
expiry day itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from ttai_cli.broker import symbols as sym
from ttai_cli.broker.models import Balances, Broker, Position, Quote, Transaction
from ttai_cli.clock import NEW_YORK, Clock
from ttai_cli.errors import BrokerError, UnknownSymbolError, UsageError

if TYPE_CHECKING:
    from ttai_cli.store import Store


@dataclass(frozen=True)
class QuoteDetail:
    """A quote and what alerts test on it: an option's streamed delta, theta (dollars a
    day per share) and implied volatility (a fraction), an underlying's IV rank (0-100,
    from the day's market metrics). None where it does not apply or did not arrive."""

    quote: Quote
    delta: Decimal | None = None
    theta: Decimal | None = None
    implied_volatility: Decimal | None = None
    iv_rank: Decimal | None = None


@dataclass(frozen=True)
class PositionView:
    """One row of `ttai positions` (SPEC JSON shape)."""

    symbol: str
    underlying_symbol: str
    instrument_type: str
    quantity: Decimal
    average_open_price: Decimal
    mark: Decimal | None
    multiplier: Decimal
    expires_at: datetime | None
    dte: int | None
    pnl: Decimal | None
    pnl_percent: Decimal | None


def days_to_expiry(expires_at: datetime | None, today: date) -> int | None:
    if expires_at is None:
        return None
    return (expires_at.astimezone(NEW_YORK).date() - today).days


def position_pnl(position: Position, mark: Decimal | None) -> tuple[Decimal | None, Decimal | None]:
    """(pnl, pnl_percent) for a position at `mark`; None where it cannot be known."""
    if mark is None:
        return None, None
    pnl = (mark - position.average_open_price) * position.quantity * position.multiplier
    cost = position.average_open_price * abs(position.quantity) * position.multiplier
    percent = (pnl / cost * 100) if cost else None
    cents = Decimal("0.01")
    return (
        pnl.quantize(cents, ROUND_HALF_UP),
        percent.quantize(cents, ROUND_HALF_UP) if percent is not None else None,
    )


def position_view(position: Position, mark: Decimal | None, today: date) -> PositionView:
    pnl, pnl_percent = position_pnl(position, mark)
    return PositionView(
        symbol=position.symbol,
        underlying_symbol=position.underlying_symbol,
        instrument_type=position.instrument_type,
        quantity=position.quantity,
        average_open_price=position.average_open_price,
        mark=mark,
        multiplier=position.multiplier,
        expires_at=position.expires_at.astimezone(NEW_YORK) if position.expires_at else None,
        dte=days_to_expiry(position.expires_at, today),
        pnl=pnl,
        pnl_percent=pnl_percent,
    )


def realized_pnl(transactions: list[Transaction], symbol: str) -> Decimal | None:
    """The realised P&L of the latest round trip in `symbol` that ended flat: the net
    cash (after fees) of its trades from when the position was opened to when it was
    closed. Earlier round trips in the same symbol do not count. None when the trades
    do not show a complete round trip (the opening trade is older than the record)."""
    trades = sorted(
        (t for t in transactions if t.symbol == symbol and t.transaction_type == "Trade"),
        key=lambda t: (t.executed_at, t.id),
    )
    quantity = Decimal(0)
    cash = Decimal(0)
    opened = False
    result = None
    for trade in trades:
        action = trade.action or ""
        size = trade.quantity or Decimal(0)
        if quantity == 0:  # a new round trip starts here
            cash, opened = Decimal(0), action.endswith("to Open")
        cash += trade.net_value
        quantity += size if action.startswith("Buy") else -size
        if quantity == 0 and opened:
            result = cash
    return result


class PortfolioService:
    """Positions and balances from the last sync (`store`), or live through the broker
    (`open_broker` makes a fresh broker per call)."""

    def __init__(
        self, open_broker: Callable[[], Broker], clock: Clock, store: Store | None = None
    ) -> None:
        self.open_broker = open_broker
        self.clock = clock
        self.store = store

    def last_sync(self) -> datetime | None:
        if self.store is None:
            return None
        from ttai_cli.store.records import RecordsRepository

        return RecordsRepository(self.store).last_sync()

    def stored_positions(self) -> list[PositionView]:
        """The positions as of the last sync, P&L at the marks of that sync."""
        assert self.store is not None
        from ttai_cli.store.positions import PositionsRepository

        today = self.clock.now().date()
        views = [position_view(p, p.mark, today) for p in PositionsRepository(self.store).stored()]
        return sorted(
            views, key=lambda v: (v.underlying_symbol, v.expires_at is not None, v.symbol)
        )

    def stored_balances(self) -> Balances | None:
        assert self.store is not None
        from ttai_cli.store.records import RecordsRepository

        return RecordsRepository(self.store).latest_balances()

    async def live_positions(self) -> list[PositionView]:
        async with self.open_broker() as broker:
            positions = await broker.positions()
            unmarked = [p.symbol for p in positions if p.mark is None]
            quotes = await broker.quotes(unmarked) if unmarked else {}
        today = self.clock.now().date()
        views = []
        for p in positions:
            mark = p.mark
            if mark is None and p.symbol in quotes:
                mark = quotes[p.symbol].mark
            views.append(position_view(p, mark, today))
        return sorted(
            views, key=lambda v: (v.underlying_symbol, v.expires_at is not None, v.symbol)
        )

    async def live_balances(self) -> Balances:
        async with self.open_broker() as broker:
            return await broker.balances()

    async def quotes(self, raw_symbols: list[str]) -> list[Quote]:
        """Quotes in the order asked; `UnknownSymbolError` (exit 2) names any symbol the
        broker does not know, and nothing is returned then."""
        if not raw_symbols:
            raise UsageError("give at least one symbol")
        wanted = list(dict.fromkeys(sym.normalize(s) for s in raw_symbols))
        async with self.open_broker() as broker:
            quotes = await broker.quotes(wanted)
        missing = [s for s in wanted if s not in quotes]
        if missing:
            raise UnknownSymbolError(missing)
        return [quotes[s] for s in wanted]

    async def quote_details(
        self, raw_symbols: list[str], greeks_timeout: float = 5.0
    ) -> list[QuoteDetail]:
        """`quotes` plus what the alerts test: Greeks for the equity options (one DXLink
        subscription, at most `greeks_timeout` seconds; an option whose Greeks do not
        arrive shows none), IV rank for equities and indexes (market metrics, cached
        for the New York day when a store is given). A metrics fetch that fails leaves
        the IV rank out rather than fail the quote."""
        from ttai_cli.services.metrics import BorrowedBroker, MetricsService

        if not raw_symbols:
            raise UsageError("give at least one symbol")
        wanted = list(dict.fromkeys(sym.normalize(s) for s in raw_symbols))
        options = [s for s in wanted if sym.kind_of(s) == "equity-option"]
        underlyings = [s for s in wanted if sym.kind_of(s) in ("equity", "index")]
        async with self.open_broker() as broker:
            quotes = await broker.quotes(wanted)
            missing = [s for s in wanted if s not in quotes]
            if missing:
                raise UnknownSymbolError(missing)
            greeks = await broker.option_greeks(options, greeks_timeout) if options else {}
            metrics = {}
            if underlyings:
                try:
                    if self.store is not None:
                        metrics = await MetricsService(
                            self.store, self.clock, lambda: BorrowedBroker(broker)
                        ).get(underlyings)
                    else:
                        metrics = await broker.market_metrics(underlyings)
                except BrokerError as exc:
                    from ttai_cli import logs

                    logs.get("quote").warning("no IV rank: %s", exc)
        details = []
        for s in wanted:
            g = greeks.get(s)
            m = metrics.get(s)
            details.append(
                QuoteDetail(
                    quotes[s],
                    delta=g.delta if g else None,
                    theta=g.theta if g else None,
                    implied_volatility=g.implied_volatility if g else None,
                    iv_rank=m.iv_rank if m else None,
                )
            )
        return details
