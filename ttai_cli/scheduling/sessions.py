"""Schedules that follow the NYSE calendar: session opens, closes (13:00 on half days),
a grid from each open while the session lasts (resuming at the next open), the last
trading day of each week, and a cadence while the market is closed (the daemon's); and
the daemon's schedules for jobs that check alerts, which follow every market with an
active alert (`DuringMarkets`, `MarketStreams`: NYSE's own schedules when it is NYSE alone).

Like every `Schedule`, they take and return UTC instants; the calendar's sessions are
New York times.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from ttai_cli.clock import NEW_YORK, elapsed
from ttai_cli.market.calendar import MarketCalendar
from ttai_cli.market.instruments import EQUITY_ONLY
from ttai_cli.scheduling.parse import format_duration
from ttai_cli.scheduling.schedules import Schedule, localize


def _ny(moment: datetime) -> datetime:
    return moment.astimezone(NEW_YORK)


class SessionOpens(Schedule):
    """Every NYSE session open."""

    def __init__(self, calendar: MarketCalendar) -> None:
        self.calendar = calendar

    def first(self, start: datetime) -> datetime | None:
        return self.calendar.next_open(start - timedelta(microseconds=1))

    def after(self, slot: datetime) -> datetime | None:
        return self.calendar.next_open(slot)

    def describe(self) -> str:
        return "at every NYSE session open"


class SessionCloses(Schedule):
    """Every NYSE session close (13:00 on half days), optionally `offset` after it."""

    def __init__(self, calendar: MarketCalendar, offset: timedelta = timedelta(0)) -> None:
        self.calendar = calendar
        self.offset = offset

    def _close_on_or_after(self, day: date) -> datetime:
        return self.calendar.next_session(day, inclusive=True).close.astimezone(UTC) + self.offset

    def first(self, start: datetime) -> datetime | None:
        slot = self._close_on_or_after(_ny(start).date())
        return (
            slot
            if slot >= start
            else self._close_on_or_after(_ny(start).date() + timedelta(days=1))
        )

    def after(self, slot: datetime) -> datetime | None:
        candidate = self._close_on_or_after(_ny(slot).date())
        return (
            candidate
            if candidate > slot
            else self._close_on_or_after(_ny(slot).date() + timedelta(days=1))
        )

    def describe(self) -> str:
        suffix = f" + {format_duration(self.offset)}" if self.offset else ""
        return f"at every NYSE session close{suffix}"


class DuringSessions(Schedule):
    """From each session's open, every `period` while the session lasts; then the next open.

    Started during a session, the first slot is the next one on that session's grid."""

    def __init__(self, calendar: MarketCalendar, period: timedelta) -> None:
        self.calendar = calendar
        self.period = period

    def first(self, start: datetime) -> datetime | None:
        session = self.calendar.session_at(start)
        if session is not None:
            if start == session.open:
                return start
            return self.after(start - timedelta(microseconds=1))
        return self.calendar.next_open(start - timedelta(microseconds=1))

    def after(self, slot: datetime) -> datetime | None:
        session = self.calendar.session_on(_ny(slot).date())
        if session is not None and slot < session.close:
            open_utc = session.open.astimezone(UTC)
            steps = max(0, (slot.astimezone(UTC) - open_utc) // self.period + 1)
            candidate = open_utc + steps * self.period
            if candidate < session.close:
                return _ny(candidate)
        return self.calendar.next_open(slot)

    def describe(self) -> str:
        return f"every {format_duration(self.period)} while NYSE is open, from each open"


class WeekEnds(Schedule):
    """At `wall` (New York) on the last trading day of each week: Friday, or Thursday in
    a week whose Friday is a holiday (Good Friday)."""

    def __init__(self, calendar: MarketCalendar, wall: time) -> None:
        self.calendar = calendar
        self.wall = wall

    def _week_end(self, day: date) -> datetime | None:
        monday = day - timedelta(days=day.weekday())
        sessions = self.calendar.sessions(monday, monday + timedelta(days=6))
        return localize(sessions[-1].date, self.wall) if sessions else None

    def first(self, start: datetime) -> datetime | None:
        day = _ny(start).date()
        for _ in range(8):  # at most a couple of sessionless weeks in a row
            slot = self._week_end(day)
            if slot is not None and slot >= start:
                return slot
            day = day - timedelta(days=day.weekday()) + timedelta(days=7)
        return None

    def after(self, slot: datetime) -> datetime | None:
        return self.first(slot + timedelta(seconds=1))

    def describe(self) -> str:
        return f"at {self.wall:%H:%M} on the last trading day of each week"


class WhileClosed(Schedule):
    """Every `period` while NYSE is closed, from each close to the next open."""

    def __init__(self, calendar: MarketCalendar, period: timedelta) -> None:
        self.calendar = calendar
        self.period = period

    def _outside(self, moment: datetime) -> datetime:
        session = self.calendar.session_at(moment)
        return session.close if session is not None else moment

    def first(self, start: datetime) -> datetime | None:
        return self._outside(start)

    def after(self, slot: datetime) -> datetime | None:
        return self._outside(_ny(slot.astimezone(UTC) + self.period))

    def describe(self) -> str:
        return f"every {format_duration(self.period)} while NYSE is closed"


class SessionStreams(Schedule):
    """The streaming job's slots: now when started during a session, else each session's
    open; a run lasts until that session's close, so the next slot is the next open."""

    def __init__(self, calendar: MarketCalendar) -> None:
        self.calendar = calendar

    def first(self, start: datetime) -> datetime | None:
        if self.calendar.session_at(start) is not None:
            return start
        return self.calendar.next_open(start - timedelta(microseconds=1))

    def after(self, slot: datetime) -> datetime | None:
        return self.calendar.next_open(slot)

    def describe(self) -> str:
        return "connected while NYSE is open, from each open to its close"


# how often a runner sleeping towards a market's open looks again at which markets its
# alerts are on (a schedule's `revise`): an alert on an open market is picked up within it
RECHECK = timedelta(minutes=1)
Watched = Callable[[], "frozenset[str] | None"]


class _FollowsMarkets:
    """What the market-following schedules share: the markets with an active alert
    (asked anew at every slot), their hours, and a look every `RECHECK` while asleep."""

    def __init__(self, calendar: MarketCalendar, markets: Watched) -> None:
        from ttai_cli.market.hours import MarketHours

        self.hours = MarketHours(calendar.store, calendar)
        self.markets = markets
        self._looked: datetime | None = None

    def watched(self) -> frozenset[str]:
        return self.markets() or EQUITY_ONLY

    def any_open(self, markets: frozenset[str], moment: datetime) -> bool:
        return any(self.hours.is_open(m, moment) for m in markets)

    def look_again(self, now: datetime) -> bool:
        """True at most once per RECHECK of wall-clock time."""
        if self._looked is not None and abs(elapsed(now, self._looked)) < RECHECK:
            return False
        self._looked = now
        return True

    def first(self, start: datetime) -> datetime | None:
        raise NotImplementedError

    def revise(self, slot: datetime, now: datetime) -> datetime | None:
        """A sooner slot than the one slept for, when a market with an active alert
        opened meanwhile (an alert added while asleep); asked at most once per RECHECK."""
        if not self.look_again(now):
            return None
        sooner = self.first(now)
        return sooner if sooner is not None and sooner < slot else None


class DuringMarkets(_FollowsMarkets, Schedule):
    """The daemon's polling jobs (monitor, alerts): every `period` while any market with
    an active alert is open, then that set's next open. NYSE alone (an equity-only
    account): exactly `DuringSessions`. Otherwise the grid is the period's on the UTC
    clock (09:30:00 and 18:00:00 are on it for 30 s, 1 min, 5 min). While it sleeps
    towards an open it looks every minute whether an alert on an open market came."""

    def __init__(self, calendar: MarketCalendar, period: timedelta, markets: Watched) -> None:
        super().__init__(calendar, markets)
        self.nyse = DuringSessions(calendar, period)
        self.period = period

    def _on_grid(self, moment: datetime, *, inclusive: bool) -> datetime:
        step = self.period.total_seconds()
        ticks = moment.astimezone(UTC).timestamp() / step
        index = math.ceil(ticks) if inclusive else math.floor(ticks) + 1
        return datetime.fromtimestamp(index * step, UTC)

    def _from(self, moment: datetime, markets: frozenset[str], *, inclusive: bool) -> datetime:
        candidate = self._on_grid(moment, inclusive=inclusive)
        if self.any_open(markets, candidate):
            return candidate
        following = self.hours.next_open(markets, candidate)
        return following if following is not None else candidate

    def first(self, start: datetime) -> datetime | None:
        markets = self.watched()
        if markets == EQUITY_ONLY:
            return self.nyse.first(start)
        return self._from(start, markets, inclusive=True)

    def after(self, slot: datetime) -> datetime | None:
        markets = self.watched()
        if markets == EQUITY_ONLY:
            return self.nyse.after(slot)
        return self._from(slot, markets, inclusive=False)

    def describe(self) -> str:
        return (
            f"every {format_duration(self.period)} while a market with an active alert is "
            "open (NYSE, CME Globex, crypto), from each open"
        )


class MarketStreams(_FollowsMarkets, Schedule):
    """The streaming job's slots: now when started while a market with an active alert
    is open, else that set's next open; a run lasts while one of them stays open (the
    job's horizon), so the next slot is the next open after that stretch. NYSE alone:
    exactly `SessionStreams`. Crypto never closes: a run with a crypto alert lasts until
    stopped (a slot an hour on stands in, should it end)."""

    def __init__(self, calendar: MarketCalendar, markets: Watched) -> None:
        super().__init__(calendar, markets)
        self.nyse = SessionStreams(calendar)

    def first(self, start: datetime) -> datetime | None:
        markets = self.watched()
        if markets == EQUITY_ONLY:
            return self.nyse.first(start)
        if self.any_open(markets, start):
            return start
        return self.hours.next_open(markets, start - timedelta(microseconds=1))

    def after(self, slot: datetime) -> datetime | None:
        markets = self.watched()
        if markets == EQUITY_ONLY:
            return self.nyse.after(slot)
        end = self.hours.open_until(markets, slot)
        if end is None:  # crypto: the run went on until it ended by itself
            return slot + timedelta(hours=1)
        following = self.hours.next_open(markets, max(end, slot))
        return following if following is not None else end

    def describe(self) -> str:
        return "connected while a market with an active alert is open (NYSE, CME Globex, crypto)"
