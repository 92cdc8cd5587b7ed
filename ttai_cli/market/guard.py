"""The market guard: is NYSE open at this instant, and if not, why not.

The calendar decides. When broker credentials are configured, tastytrade's live session
status may *confirm* an open market (an unscheduled closure then reads as closed); if
that live check fails, the calendar's answer stands. A failed check never turns into
"run anyway", and a calendar "closed" is never overruled, so a market-closed skip costs
no network request at all.
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

if TYPE_CHECKING:
    from ttai_cli.broker.models import MarketSessionStatus

log = logs.get("market")
LiveCheck = Callable[[], Awaitable["MarketSessionStatus"]]


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
    def __init__(self, calendar: MarketCalendar, live_check: LiveCheck | None = None) -> None:
        self.calendar = calendar
        self.live_check = live_check

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
        status = self.status(moment)
        return status.open, status.reason

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
