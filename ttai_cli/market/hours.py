"""Every market's own hours: NYSE, CME Globex, and crypto, which never closes.

`MarketHours` answers, for one market or a set of them, whether it is open at an
instant, until when, when it next opens, and why, from the cached calendars
(`calendar.py`): no pandas, no network. The loops ask it about the markets that have
an active alert (`instruments.market_of`); the per-alert guard asks it through
`OpenAt` (one run's slot) or `OpenNow` (the stream, tick after tick), which remember
each market's answer so that a cycle costs one calendar lookup per market, not one
per alert.

Reasons name the market: `NYSE closed: Sunday`, `futures (CME Globex) open until Mon
17:00 (daily halt)`, `crypto open (it never closes)`. A time not on the instant's own
New York day carries its weekday: a Sunday evening's session runs to Monday's halt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ttai_cli.clock import NEW_YORK, Clock
from ttai_cli.market.calendar import FuturesCalendar, MarketCalendar, Session
from ttai_cli.market.instruments import CRYPTO, EQUITY, FUTURES, LABELS, MARKETS
from ttai_cli.store import Store

# which markets an alert may be checked in now: `OpenAt`, `OpenNow`
MarketFilter = Callable[[str], bool]
# how far `open_until` follows overlapping sessions of several markets
_MAX_STRETCH_STEPS = 32


@dataclass(frozen=True)
class MarketState:
    """One market at one instant (times in New York; none for crypto)."""

    market: str
    open: bool
    next_open: datetime | None
    next_close: datetime | None
    reason: str  # without the market's name: "open until 17:00 (daily halt)"

    @property
    def changes_at(self) -> datetime | None:
        """When this answer stops being true (None: never)."""
        return self.next_close if self.open else self.next_open

    def line(self) -> str:
        """`futures (CME Globex) open until 17:00 (daily halt)`."""
        return f"{LABELS[self.market]} {self.reason}"


class MarketHours:
    """The three markets' hours from the cached calendars."""

    def __init__(self, store: Store, equity: MarketCalendar | None = None) -> None:
        self.store = store
        self.equity = equity if equity is not None else MarketCalendar(store)
        self.futures = FuturesCalendar(store)

    def calendar(self, market: str) -> MarketCalendar:
        return self.futures if market == FUTURES else self.equity

    # -- one market ----------------------------------------------------------------------------
    def is_open(self, market: str, moment: datetime) -> bool:
        """Open at `moment` (a session is [open, close))."""
        if market == CRYPTO:
            return True
        return self.calendar(market).session_at(moment) is not None

    def closing_at(self, market: str, moment: datetime) -> Session | None:
        """The session of `market` whose close is exactly `moment` (to the second)."""
        if market == CRYPTO:
            return None
        local = moment.astimezone(NEW_YORK).replace(microsecond=0)
        session = self.calendar(market).session_on(local.date())
        return session if session is not None and session.close == local else None

    def state(self, market: str, moment: datetime) -> MarketState:
        """Open or closed at `moment`, the next open and close, and why."""
        if market == CRYPTO:
            return MarketState(CRYPTO, True, None, None, "open (it never closes)")
        if market == FUTURES:
            return self._futures_state(moment)
        from ttai_cli.market.guard import MarketGuard

        status = MarketGuard(self.equity).status(moment)
        return MarketState(
            EQUITY,
            status.open,
            status.next_open,
            status.next_close,
            status.reason.removeprefix("market "),
        )

    def _futures_state(self, moment: datetime) -> MarketState:
        calendar = self.futures
        local = moment.astimezone(NEW_YORK)
        session = calendar.session_at(moment)
        following = calendar.next_open(moment)
        if session is not None:
            close = session.close
            # an evening's session closes the next day: say which (`Mon 17:00`)
            until = f"{close:%H:%M}" if close.date() == local.date() else f"{close:%a %H:%M}"
            if session.early_close:
                why = f"open until {until} (early close)"
            elif following.date() == close.date():  # reopens the same evening
                why = f"open until {until} (daily halt)"
            else:  # the weekend or a holiday follows
                why = f"open until {until} (closed until {following:%a %H:%M})"
            return MarketState(FUTURES, True, following, close, why)
        upcoming = calendar.session_at(following)
        next_close = upcoming.close if upcoming is not None else None
        return MarketState(
            FUTURES, False, following, next_close, self._futures_closed(local, following)
        )

    def _futures_closed(self, local: datetime, following: datetime) -> str:
        """Why CME Globex is closed at `local`: the daily halt, the weekend, a holiday, an
        early close; and until when."""
        until = (
            f"{following:%H:%M}" if following.date() == local.date() else f"{following:%a %H:%M}"
        )
        last = self.futures.last_close(local)
        if last is not None and last.close.date() == local.date():  # it closed earlier today
            if last.early_close:
                return f"closed: after the {last.close:%H:%M} early close, until {until}"
            if following.date() == local.date():
                return f"closed: daily halt until {until}"
            if local.weekday() == 4:
                return f"closed: weekend until {until}"
            return f"closed: after the {last.close:%H:%M} close, until {until}"
        if local.weekday() >= 5:
            return f"closed: weekend until {until}"
        if self.futures.session_on(local.date()) is None:
            return f"closed: holiday until {until}"
        return f"closed until {until}"

    # -- several markets -----------------------------------------------------------------------
    def describe(self, markets: Iterable[str], moment: datetime) -> tuple[bool, str]:
        """Whether any of `markets` is open at `moment`, and a reason naming each: the
        open ones first (`futures (CME Globex) open until Mon 17:00 (daily halt); NYSE
        closed: Sunday`)."""
        states = [self.state(m, moment) for m in MARKETS if m in markets]
        ordered = [s for s in states if s.open] + [s for s in states if not s.open]
        return any(s.open for s in states), "; ".join(s.line() for s in ordered)

    def next_open(self, markets: Iterable[str], moment: datetime) -> datetime | None:
        """The earliest open of one of `markets` strictly after `moment` (crypto has
        none: it never closes)."""
        opens = [
            self.calendar(m).next_open(moment) for m in MARKETS if m in markets and m != CRYPTO
        ]
        return min(opens) if opens else None

    def open_until(self, markets: Iterable[str], moment: datetime) -> datetime | None:
        """The end of the stretch of time from `moment` during which one of `markets` is
        open: `moment` itself when none is, None when it never ends (crypto). Sessions
        that overlap or touch are one stretch (NYSE's 16:00 close inside CME's day)."""
        wanted = [m for m in MARKETS if m in markets]
        if CRYPTO in wanted:
            return None
        at = moment
        for _ in range(_MAX_STRETCH_STEPS):
            closes = []
            for market in wanted:
                session = self.calendar(market).session_at(at)
                if session is not None:
                    closes.append(session.close)
            if not closes:
                return at
            at = max(closes)
        return at


class OpenAt:
    """Which markets count as open for a run at `moment` (its slot): open then, or, for
    NYSE, closing exactly then (a slot at the close belongs to the session, as the
    market guard says). Each market is looked up once, when first asked."""

    def __init__(self, hours: MarketHours, moment: datetime) -> None:
        self.hours = hours
        self.moment = moment
        self._known: dict[str, bool] = {}

    def __call__(self, market: str) -> bool:
        known = self._known.get(market)
        if known is None:
            known = self.hours.is_open(market, self.moment) or (
                market == EQUITY and self.hours.closing_at(EQUITY, self.moment) is not None
            )
            self._known[market] = known
        return known


class OpenNow:
    """Which markets are open now, for a run that lasts (the stream): each market's
    answer is kept until the instant it changes (its next close or open), so a tick
    costs a dictionary lookup and a comparison."""

    def __init__(self, hours: MarketHours, clock: Clock) -> None:
        self.hours = hours
        self.clock = clock
        self._known: dict[str, tuple[bool, datetime | None]] = {}

    def __call__(self, market: str) -> bool:
        now = self.clock.now()
        known = self._known.get(market)
        if known is not None and (known[1] is None or now < known[1]):
            return known[0]
        state = self.hours.state(market, now)
        until = state.changes_at
        if until is not None and until <= now:  # never cache an answer already stale
            until = now + timedelta(seconds=1)
        self._known[market] = (state.open, until)
        return state.open
