"""What the jobs know of a broker: plain, typed, SDK-free values.

Money and quantities stay `Decimal` end to end (the API sends decimal strings); signs
are already applied (a short position has a negative quantity, a debit a negative
value), so nothing downstream looks at `*-effect` fields again.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ttai_cli.streaming.events import OrderEvent


@dataclass(frozen=True)
class AccountInfo:
    account_number: str
    nickname: str
    account_type: str


@dataclass(frozen=True)
class Position:
    symbol: str
    underlying_symbol: str
    instrument_type: str
    quantity: Decimal  # signed: negative for a short position
    average_open_price: Decimal
    close_price: Decimal
    multiplier: Decimal
    mark: Decimal | None  # per-unit mark price, when the broker sent one
    expires_at: datetime | None
    realized_today: Decimal = Decimal(0)
    opened_at: datetime | None = None

    @property
    def is_option(self) -> bool:
        return "Option" in self.instrument_type


@dataclass(frozen=True)
class Balances:
    account_number: str
    net_liquidating_value: Decimal
    cash_balance: Decimal
    equity_buying_power: Decimal
    derivative_buying_power: Decimal
    maintenance_requirement: Decimal
    pending_cash: Decimal
    updated_at: datetime


@dataclass(frozen=True)
class Quote:
    symbol: str
    instrument_type: str
    bid: Decimal | None
    ask: Decimal | None
    last: Decimal | None
    mark: Decimal | None
    prev_close: Decimal | None
    updated_at: datetime

    @property
    def price(self) -> Decimal | None:
        """The last trade, else the mark: what "AAPL is now $X" means."""
        return self.last if self.last is not None else self.mark

    @property
    def change_percent(self) -> Decimal | None:
        """Percent change of `price` against the previous close, if both are known."""
        price = self.price
        if price is None or not self.prev_close:
            return None
        return (price - self.prev_close) / self.prev_close * 100


@dataclass(frozen=True)
class Transaction:
    id: int
    executed_at: datetime
    transaction_date: date
    transaction_type: str
    transaction_sub_type: str
    description: str
    symbol: str | None
    underlying_symbol: str | None
    instrument_type: str | None
    action: str | None
    quantity: Decimal | None
    price: Decimal | None
    value: Decimal  # signed: a debit is negative
    net_value: Decimal  # signed, after fees
    commission: Decimal | None
    fees: Decimal  # clearing + regulatory + index fees, signed
    # the order the fill belongs to (the API's `order-id`); None for what no order made
    # (deposits, expirations, assignments) and for records stored before it was kept
    order_id: int | None = None


@dataclass(frozen=True)
class MarketMetric:
    """A symbol's /market-metrics. The event fields are None when tastytrade has none
    (an ETF reports no earnings, a stock that pays no dividend has no ex-date)."""

    symbol: str
    iv_rank: Decimal | None  # percent, 0-100
    iv_percentile: Decimal | None  # percent, 0-100
    implied_volatility: Decimal | None
    beta: Decimal | None = None  # against SPY
    earnings_date: date | None = None  # the next expected report date
    ex_dividend_date: date | None = None  # the upcoming (else latest) ex-dividend date
    dividend_amount: Decimal | None = None  # dollars per share, per payment
    liquidity_rating: int | None = None  # tastytrade's liquidity rating, 0-5


@dataclass(frozen=True)
class OptionGreeks:
    """One option's Greeks as DXLink streams them: per share of one contract, theta in
    dollars per day, vega in dollars per point (1 %) of implied volatility."""

    delta: Decimal
    theta: Decimal
    vega: Decimal
    implied_volatility: Decimal | None = None  # Black-Scholes, a fraction (0.25 = 25 %)


@dataclass(frozen=True)
class MarketSessionStatus:
    """The broker's view of the NYSE session: used to confirm the calendar."""

    state: str  # "Open", "Closed", "Pre-market", "Extended"
    open_at: datetime | None
    close_at: datetime | None
    next_open_at: datetime | None


@dataclass
class BrokerStats:
    """Counters the benchmarks and tests read: requests sent, by path."""

    requests: int = 0
    retries: int = 0
    token_refreshes: int = 0
    by_path: Counter[str] = field(default_factory=Counter)

    def copy(self) -> BrokerStats:
        return BrokerStats(self.requests, self.retries, self.token_refreshes, Counter(self.by_path))

    def since(self, earlier: BrokerStats) -> BrokerStats:
        """What happened after `earlier` (a shared broker counts for the whole process)."""
        return BrokerStats(
            self.requests - earlier.requests,
            self.retries - earlier.retries,
            self.token_refreshes - earlier.token_refreshes,
            self.by_path - earlier.by_path,
        )


class Broker(Protocol):
    """The read-only broker interface every job uses. Async; open it with `async with`."""

    stats: BrokerStats

    async def __aenter__(self) -> Broker: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def accounts(self) -> list[AccountInfo]: ...

    async def positions(self) -> list[Position]: ...

    async def balances(self) -> Balances: ...

    async def quotes(self, symbols: list[str]) -> dict[str, Quote]:
        """Quotes for any number of symbols (batched per the API's 100-symbol limit).

        Symbols the broker does not know are absent from the result.
        """
        ...

    async def transactions(self, since: date) -> list[Transaction]: ...

    async def market_metrics(self, symbols: list[str]) -> dict[str, MarketMetric]: ...

    async def greeks(self, option_symbols: list[str], timeout: float = 10.0) -> dict[str, Decimal]:
        """Delta per option symbol (DXLink streamer); missing ones are absent."""
        ...

    async def option_greeks(
        self, option_symbols: list[str], timeout: float = 10.0
    ) -> dict[str, OptionGreeks]:
        """Delta, theta and vega per option symbol, from one DXLink subscription;
        options with no Greeks within `timeout` seconds are absent."""
        ...

    async def market_session(self) -> MarketSessionStatus: ...

    async def account_number(self) -> str:
        """The number of the account this broker reads."""
        ...

    async def order_history(self, since: date) -> list[OrderEvent]:
        """The account's orders received since `since` (a New York date), working ones
        included, newest first. Read only: `GET /accounts/N/orders`."""
        ...
