"""Portfolio risk: the interface part A builds (issue #12 plan).

stand-in until part A lands: only the names and signatures part B (alerts) uses. The
snapshot raises, so theta and beta-delta alerts are skipped as unknown until then.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from ttai_cli.broker.models import Broker
from ttai_cli.clock import Clock
from ttai_cli.errors import BrokerError
from ttai_cli.store import Store


@dataclass(frozen=True)
class RiskReport:  # stand-in until part A lands
    net_liquidating_value: Decimal
    maintenance_requirement: Decimal
    buying_power_used_percent: Decimal
    beta_weighted_delta: Decimal
    theta: Decimal
    vega: Decimal
    by_underlying: list[Any]
    events: list[Any]
    as_of: datetime
    missing_greeks: list[str]


class RiskService:  # stand-in until part A lands
    def __init__(self, store: Store, clock: Clock, open_broker: Callable[[], Broker]) -> None:
        self.store = store
        self.clock = clock
        self.open_broker = open_broker

    async def snapshot(self, broker: Broker) -> RiskReport:
        raise BrokerError("portfolio risk is not available in this build")
