"""Market metrics (IV rank, beta, earnings and dividend dates), cached for the New York day.

`/market-metrics` figures change at most daily, so each symbol is fetched at most once
per New York calendar day: `get()` answers from the database what was fetched today,
and asks tastytrade (in batches of 100, one request per batch) only for symbols never
fetched or fetched on an earlier New York day. A symbol tastytrade has no metrics for is
remembered as such for the day too (it is absent from the result, and not asked again).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

from ttai_cli.broker import symbols as sym
from ttai_cli.clock import NEW_YORK, Clock
from ttai_cli.store.metrics import MetricsRepository

if TYPE_CHECKING:
    from ttai_cli.broker.models import Broker, MarketMetric
    from ttai_cli.store import Store


class MetricsService:
    """`open_broker` makes (or lends) a broker per fetch, used as `async with`; it is not
    called at all when everything asked for is cached."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        open_broker: Callable[[], AbstractAsyncContextManager[Broker]],
    ) -> None:
        self.store = store
        self.clock = clock
        self.open_broker = open_broker
        self.repository = MetricsRepository(store)

    async def get(self, symbols: list[str]) -> dict[str, MarketMetric]:
        """Metrics by symbol (normalised, e.g. `aapl` -> `AAPL`); symbols tastytrade has
        no metrics for are absent. `BrokerError` when a needed fetch fails."""
        wanted = list(dict.fromkeys(sym.normalize(s) for s in symbols))
        if not wanted:
            return {}
        now = self.clock.now()
        today = now.astimezone(NEW_YORK).date()
        found, unknown = self.repository.fetched_on(wanted, today)
        missing = [s for s in wanted if s not in found and s not in unknown]
        if missing:
            async with self.open_broker() as broker:
                fetched = await broker.market_metrics(missing)
            self.repository.save(today, now, fetched, missing)
            found.update({s: m for s, m in fetched.items() if s in missing})
        return found


class BorrowedBroker:
    """An already open broker as an `async with` that leaves it open: lets a service
    that holds a broker hand it to one that opens its own (one login, one pool)."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker

    async def __aenter__(self) -> Broker:
        return self.broker

    async def __aexit__(self, *exc: object) -> None:
        return None
