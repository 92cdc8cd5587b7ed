"""tastytrade's live view of the NYSE session, which confirms the calendar's "open".

Asked through a fresh broker, at most once per `LIVE_CHECK_TTL` per process: a market that
is open stays open for minutes, and a check per slot would cost a request each time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from ttai_cli.market.guard import LiveCheck

if TYPE_CHECKING:
    from ttai_cli.broker.models import Broker, MarketSessionStatus

LIVE_CHECK_TTL = 300.0  # seconds: confirm an open market at most every 5 minutes


def cached_live_check(check: LiveCheck, ttl: float = LIVE_CHECK_TTL) -> LiveCheck:
    """At most one live market-status request per `ttl` seconds per process."""
    cache: dict[str, tuple[float, MarketSessionStatus]] = {}

    async def cached() -> MarketSessionStatus:
        hit = cache.get("status")
        if hit is not None and time.monotonic() - hit[0] < ttl:
            return hit[1]
        status = await check()
        cache["status"] = (time.monotonic(), status)
        return status

    return cached


def broker_live_check(open_broker: Callable[[], Broker]) -> LiveCheck:
    """tastytrade's own view of the NYSE session, through a fresh broker."""

    async def check() -> MarketSessionStatus:
        async with open_broker() as broker:
            return await broker.market_session()

    return check
