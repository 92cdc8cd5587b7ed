"""The market guard: is the market open at this instant, and if not, why not.

A job that checks alerts gives the guard the markets it has an active alert on
(`markets`): NYSE always, CME Globex for futures, crypto (never closed); the guard then
says open while ANY of them is open, and its reason names each market. Every other job
(and a job with equity alerts only, word for word as before) asks about NYSE alone.

The calendar decides. When broker credentials are configured, tastytrade's live session
status may *confirm* an open market (an unscheduled closure then reads as closed); if
that live check fails, the calendar's answer stands. A failed check never turns into
"run anyway", and a calendar "closed" is never overruled, so a market-closed skip costs
no network request at all. tastytrade's status is NYSE's: it is asked only when NYSE is
the one open market the job cares about.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from ttai_cli import logs
from ttai_cli.clock import NEW_YORK
from ttai_cli.errors import CredentialsError
from ttai_cli.market.calendar import MarketCalendar, Session
from ttai_cli.market.instruments import EQUITY, EQUITY_ONLY

if TYPE_CHECKING:
    from ttai_cli.broker.models import MarketSessionStatus
    from ttai_cli.market.hours import MarketHours

log = logs.get("market")
LiveCheck = Callable[[], Awaitable["MarketSessionStatus"]]
# the markets a job has an active alert on (None: NYSE alone)
WatchedMarkets = Callable[[], "frozenset[str] | None"]


@dataclass(frozen=True)
class MarketStatus:
    now: datetime
    open: bool
    session: Session | None  # today's session, if today is a trading day
    next_open: datetime
    next_close: datetime
    source: str  # "calendar" or "tastytrade"
    reason: str  # why it is open or closed, for humans and skip records


def closed_reason(moment: datetime, session: Session | None) -> str:
    """Why the market is closed at `moment` (given that day's session, if any)."""
    local = moment.astimezone(NEW_YORK)
    if session is None:
        if local.weekday() >= 5:
            return f"market closed: {local:%A}"
        return f"market closed: holiday (no session on {local:%a %Y-%m-%d})"
    if local < session.open:
        return f"market closed: before the {session.open:%H:%M} open"
    kind = "early close" if session.early_close else "close"
    return f"market closed: after the {session.close:%H:%M} {kind}"


class MarketGuard:
    def __init__(
        self,
        calendar: MarketCalendar,
        live_check: LiveCheck | None = None,
        markets: WatchedMarkets | None = None,
    ) -> None:
        self.calendar = calendar
        self.live_check = live_check
        self.markets = markets
        self._hours: MarketHours | None = None

    def watched(self) -> frozenset[str]:
        """The markets whose hours count: NYSE, and those with an active alert."""
        markets = self.markets() if self.markets is not None else None
        return markets if markets else EQUITY_ONLY

    @property
    def hours(self) -> MarketHours:
        if self._hours is None:
            from ttai_cli.market.hours import MarketHours

            self._hours = MarketHours(self.calendar.store, self.calendar)
        return self._hours

    def status(self, now: datetime) -> MarketStatus:
        """The calendar's view of `now` (no network)."""
        now = now.astimezone(NEW_YORK)
        today = self.calendar.session_on(now.date())
        if today is not None and today.contains(now):
            kind = "early close" if today.early_close else "close"
            return MarketStatus(
                now,
                True,
                today,
                self.calendar.next_open(now),
                today.close,
                "calendar",
                f"market open until the {today.close:%H:%M} {kind}",
            )
        next_open = self.calendar.next_open(now)
        next_session = self.calendar.session_on(next_open.date())
        assert next_session is not None
        return MarketStatus(
            now, False, today, next_open, next_session.close, "calendar", closed_reason(now, today)
        )

    def session_closing_at(self, moment: datetime) -> Session | None:
        """The session whose close is exactly `moment` (to the second), if any: a slot
        at the close (`--schedule market-close`, `4pm`) belongs to that session."""
        local = moment.astimezone(NEW_YORK).replace(microsecond=0)
        session = self.calendar.session_on(local.date())
        return session if session is not None and session.close == local else None

    def is_open(self, moment: datetime) -> tuple[bool, str]:
        """Whether a watched market is open at `moment`, and why (NYSE alone: the
        calendar's reason as always; several markets: each named)."""
        watched = self.watched()
        if watched == EQUITY_ONLY:
            status = self.status(moment)
            return status.open, status.reason
        return self.hours.describe(watched, moment)

    async def confirmed(self, now: datetime) -> tuple[bool, str]:
        """`is_open(now)`, with NYSE confirmed by tastytrade when it is the only watched
        market open (another open market runs the job whatever tastytrade says of NYSE)."""
        watched = self.watched()
        if watched == EQUITY_ONLY:
            status = await self.confirmed_status(now)
            return status.open, status.reason
        is_open, reason = self.hours.describe(watched, now)
        others = [m for m in watched if m != EQUITY and self.hours.is_open(m, now)]
        if not is_open or others or self.live_check is None:
            return is_open, reason
        status = await self.confirmed_status(now)
        if status.open:
            return True, reason
        return False, status.reason.replace("market closed", "NYSE closed", 1)

    async def confirmed_status(self, now: datetime) -> MarketStatus:
        """`status(now)`, with an "open" confirmed by tastytrade when a live check is
        configured. A failed live check leaves the calendar's answer."""
        status = self.status(now)
        if not status.open or self.live_check is None:
            return status
        try:
            live = await self.live_check()
        except Exception as exc:  # any failure: the calendar's answer stands
            # a revoked refresh token is reported by the run itself, in one line
            level = logging.DEBUG if isinstance(exc, CredentialsError) else logging.WARNING
            log.log(level, "live market status unavailable (%s); using the calendar", exc)
            return status
        if live.state == "Open":
            return replace(status, source="tastytrade")
        return replace(
            status,
            open=False,
            source="tastytrade",
            reason=f"market closed: tastytrade reports the session as {live.state}",
        )
