"""`ttai market status` and `ttai market calendar`.

`status` is NYSE's (what `--market-open` and the briefings mean), with every market's
own hours beside it (`markets`: equity = NYSE, futures = CME Globex, crypto always open).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from ttai_cli.clock import Clock
from ttai_cli.errors import UsageError
from ttai_cli.market.calendar import MarketCalendar, Session
from ttai_cli.market.guard import LiveCheck, MarketGuard, MarketStatus
from ttai_cli.market.hours import MarketHours, MarketState
from ttai_cli.market.instruments import CRYPTO, EQUITY, FUTURES
from ttai_cli.store import Store

MAX_CALENDAR_DAYS = 366 * 60


class MarketService:
    def __init__(self, store: Store, clock: Clock, live_check: LiveCheck | None = None) -> None:
        self.calendar = MarketCalendar(store)
        self.clock = clock
        self.live_check = live_check

    def status_at(self, moment: datetime) -> MarketStatus:
        """The calendar's answer for any instant (no network, no event loop)."""
        return MarketGuard(self.calendar).status(moment)

    async def status(self) -> MarketStatus:
        """The market now, confirmed with tastytrade when credentials allow."""
        return await MarketGuard(self.calendar, self.live_check).confirmed_status(self.clock.now())

    def markets(self, status: MarketStatus) -> dict[str, MarketState]:
        """Each market at `status.now`: equity is NYSE as `status` has it (confirmed by
        tastytrade when it was), futures CME Globex, crypto always open."""
        hours = MarketHours(self.calendar.store, self.calendar)
        equity = MarketState(
            EQUITY,
            status.open,
            status.next_open,
            status.next_close,
            status.reason.removeprefix("market "),
        )
        return {
            EQUITY: equity,
            FUTURES: hours.state(FUTURES, status.now),
            CRYPTO: hours.state(CRYPTO, status.now),
        }

    def sessions(self, start: date | None, end: date | None) -> list[Session]:
        today = self.clock.now().date()
        start = start or today
        end = end or start + timedelta(days=30)
        if end < start:
            raise UsageError("--to is before --from")
        if (end - start).days > MAX_CALENDAR_DAYS:
            raise UsageError("ask for at most 60 years at a time")
        return self.calendar.sessions(start, end)
