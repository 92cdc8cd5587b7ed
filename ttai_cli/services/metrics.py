"""Market metrics cached for the New York day: the interface part A builds.

stand-in until part A lands: no cache, one request per call.
"""

from __future__ import annotations

from collections.abc import Callable

from ttai_cli.broker.models import Broker, MarketMetric
from ttai_cli.clock import Clock
from ttai_cli.store import Store


class MetricsService:  # stand-in until part A lands
    def __init__(self, store: Store, clock: Clock, open_broker: Callable[[], Broker]) -> None:
        self.store = store
        self.clock = clock
        self.open_broker = open_broker

    async def get(self, symbols: list[str]) -> dict[str, MarketMetric]:
        async with self.open_broker() as broker:
            return await broker.market_metrics(symbols)
