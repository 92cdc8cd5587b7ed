"""The account's strategies (`ttai positions --strategies`), from the last sync or live.

The grouping itself is `ttai_cli.strategies.group_strategies` (pure); this service
gathers its inputs:
- from the last sync: the stored positions (marks of that sync), the stored transactions
  since the day before the oldest held position opened (for the opening orders), the
  stored cash balance (cash-secured puts), and underlying prices: the held shares' or
  future's mark of that sync, else one live quotes request for the rest. That request
  is a nicety: when it fails (no network, no credentials) the strategies are shown
  without those prices (not tested, no distance) and a warning is logged;
- live: positions, balances, the transactions since the day before the oldest held
  position opened (90 days when no position says when), and one quotes request for
  the underlyings and any position the broker sent without a mark.
`as_of` is when the positions were fetched: the last sync, or now; `price_as_of(u)` when
an underlying's price was (the last sync for a held share's or future's mark, the live
quotes request otherwise: from the last sync, legs and underlying prices differ in age).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from ttai_cli import logs
from ttai_cli.broker.models import Broker, Position, Quote, Transaction
from ttai_cli.clock import NEW_YORK, Clock
from ttai_cli.errors import BrokerError, ConfigError
from ttai_cli.strategies import DEFAULT_TESTED_WITHIN, Strategy, group_strategies

if TYPE_CHECKING:
    from ttai_cli.store import Store

log = logs.get("strategies")
HISTORY_DAYS = 90  # live: how far back to look when no position says when it opened


@dataclass(frozen=True)
class StrategiesReport:
    strategies: list[Strategy]
    as_of: datetime  # when the positions were fetched
    # when an underlying's price was fetched, where that is not `as_of` (stored(): those
    # quoted live, after the sync)
    quoted_at: dict[str, datetime] = field(default_factory=dict)

    def price_as_of(self, underlying: str) -> datetime:
        """When `underlying`'s price was fetched: its live quote's request, else `as_of`."""
        return self.quoted_at.get(underlying, self.as_of)


def history_start(positions: Sequence[Position], today: date) -> date:
    """The first day of transactions that shows every held position's opening fill:
    the day before the oldest `opened_at` (New York date), else 90 days back."""
    opened = [p.opened_at for p in positions if p.opened_at is not None]
    if not opened:
        return today - timedelta(days=HISTORY_DAYS)
    return min(opened).astimezone(NEW_YORK).date() - timedelta(days=1)


def _priced_by_own_mark(positions: Sequence[Position]) -> dict[str, Decimal]:
    """Underlyings priced by a held non-option position in that very symbol (shares,
    a future): its mark."""
    return {
        p.symbol: p.mark
        for p in positions
        if not p.is_option and p.mark is not None and p.symbol == p.underlying_symbol
    }


def _underlyings(positions: Sequence[Position]) -> list[str]:
    return list(dict.fromkeys(p.underlying_symbol or p.symbol for p in positions))


class StrategiesService:
    """`stored()` from the last sync (`store`), `live()` through the broker
    (`open_broker` makes a fresh broker per call). `quote_source`: where `stored()` gets
    the underlyings' prices (the daemon's shared quote cache: a morning briefing and its
    risk figures at 09:30 ask once); None: straight from the broker."""

    def __init__(
        self,
        open_broker: Callable[[], Broker],
        clock: Clock,
        store: Store | None = None,
        tested_within: Decimal = DEFAULT_TESTED_WITHIN,
        quote_source: Callable[[Broker, list[str]], Awaitable[dict[str, Quote]]] | None = None,
    ) -> None:
        self.open_broker = open_broker
        self.clock = clock
        self.store = store
        self.tested_within = tested_within
        self.quote_source = quote_source

    def last_sync(self) -> datetime | None:
        """When the last sync fetched what `stored()` shows; None if never (or no store)."""
        if self.store is None:
            return None
        from ttai_cli.store.records import RecordsRepository

        return RecordsRepository(self.store).last_sync()

    def _today(self) -> date:
        return self.clock.now().astimezone(NEW_YORK).date()

    def _group(
        self,
        positions: Sequence[Position],
        transactions: Sequence[Transaction],
        prices: dict[str, Decimal],
        cash: Decimal | None,
    ) -> list[Strategy]:
        return group_strategies(
            positions,
            transactions,
            prices,
            today=self._today(),
            tested_within=self.tested_within,
            cash=cash,
        )

    async def stored(self, *, quote: bool = True) -> StrategiesReport:
        """The strategies as of the last sync (`as_of`: that sync; now if never synced).
        `quote=False`: no live request for underlying prices (not tested, no distance,
        unless the shares or the future are held)."""
        assert self.store is not None
        from ttai_cli.store.positions import PositionsRepository
        from ttai_cli.store.records import RecordsRepository

        records = RecordsRepository(self.store)
        positions = PositionsRepository(self.store).stored()
        today = self._today()
        transactions = records.transactions_between(history_start(positions, today), today)
        balances = records.latest_balances()
        prices = _priced_by_own_mark(positions)
        wanted = [u for u in _underlyings(positions) if u not in prices]
        quoted_at: dict[str, datetime] = {}
        if quote and wanted and any(p.is_option for p in positions):
            asked = self.clock.now()
            quoted = await self._quoted(wanted)
            prices.update(quoted)
            quoted_at = dict.fromkeys(quoted, asked)
        strategies = self._group(
            positions, transactions, prices, balances.cash_balance if balances else None
        )
        return StrategiesReport(strategies, records.last_sync() or self.clock.now(), quoted_at)

    async def _quoted(self, symbols: list[str]) -> dict[str, Decimal]:
        """Live prices for `symbols`, or none (logged) when tastytrade cannot be asked."""
        try:
            async with self.open_broker() as broker:
                if self.quote_source is not None:
                    quotes = await self.quote_source(broker, symbols)
                else:
                    quotes = await broker.quotes(symbols)
        except (BrokerError, ConfigError) as exc:
            log.warning("no underlying prices (not tested, no distance): %s", exc)
            return {}
        return {s: q.price for s, q in quotes.items() if q.price is not None}

    async def live(self) -> StrategiesReport:
        """The strategies now: positions, balances, transactions and quotes from tastytrade."""
        today = self._today()
        async with self.open_broker() as broker:
            fetched_at = self.clock.now()
            positions = await broker.positions()
            balances = await broker.balances()
            transactions = await broker.transactions(history_start(positions, today))
            prices = _priced_by_own_mark(positions)
            wanted = [u for u in _underlyings(positions) if u not in prices]
            wanted += [p.symbol for p in positions if p.mark is None]
            quotes = await broker.quotes(list(dict.fromkeys(wanted))) if wanted else {}
        marked = [
            replace(p, mark=quotes[p.symbol].mark) if p.mark is None and p.symbol in quotes else p
            for p in positions
        ]
        underlyings = set(_underlyings(positions))
        prices.update(
            {s: q.price for s, q in quotes.items() if q.price is not None and s in underlyings}
        )
        strategies = self._group(marked, transactions, prices, balances.cash_balance)
        return StrategiesReport(strategies, fetched_at)
