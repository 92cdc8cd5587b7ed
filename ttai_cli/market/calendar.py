"""The exchange calendars: NYSE (equities and equity options) and CME Globex (futures
and futures options): regular sessions, holidays, special closures and early closes.

The source is `pandas_market_calendars` (maintained; it already comes with the SDK), but
importing pandas costs about a second, so the sessions it computes are kept in the
database (`market_sessions` for NYSE, `futures_sessions` for CME Globex) and every later
question is a quick SQLite lookup. Each cache covers a contiguous range of dates recorded
in `meta`; a question outside it, or an upgraded `pandas_market_calendars`, recomputes
the whole range once. Since pandas is loaded by then anyway, a refill also fills the
other calendar where it does not cover the same range, so one import serves both.

A CME Globex session is named by its trade date and opens the evening before (Sunday
18:00 New York for Monday's); the daily 17:00-18:00 halt is the gap between one
session's close and the next one's open.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from ttai_cli.clock import NEW_YORK
from ttai_cli.store import Store

REGULAR_CLOSE = time(16, 0)
FUTURES_REGULAR_CLOSE = time(17, 0)  # New York: 16:00 Chicago
# How far around the dates asked for the cache reaches, so that it rarely needs refilling.
LOOK_BEHIND = timedelta(days=400)
LOOK_AHEAD = timedelta(days=800)


@dataclass(frozen=True)
class CalendarSpec:
    """Where one exchange calendar comes from and where its cache lives."""

    source: str  # the pandas_market_calendars calendar name
    table: str
    meta: str  # prefix of its `meta` keys: PREFIX_from, PREFIX_to, PREFIX_source
    regular_close: time  # New York; an earlier close is an early close


NYSE = CalendarSpec("NYSE", "market_sessions", "calendar", REGULAR_CLOSE)
# "CME Globex Equity": the equity index futures (/ES, /NQ, /RTY, /YM): Sunday 18:00 to
# Friday 17:00 New York, the daily 17:00-18:00 halt, CME holidays and their early closes
# (12:00 Chicago on Monday holidays, 12:15 on Black Friday and Christmas Eve). The
# plain "CME_Equity" calendar still carries the 15:15-15:30 Chicago break abolished in
# 2021 and closes at 12:00 on Black Friday.
CME_GLOBEX = CalendarSpec(
    "CME Globex Equity", "futures_sessions", "futures_calendar", FUTURES_REGULAR_CLOSE
)


@dataclass(frozen=True)
class Session:
    """One regular trading session, times aware in New York (`date` is the trade
    date: a CME Globex session opens the evening before it)."""

    date: date
    open: datetime
    close: datetime
    early_close: bool

    def contains(self, moment: datetime) -> bool:
        return self.open <= moment < self.close


def source_version() -> str:
    """The installed pandas_market_calendars version, read from its dist-info folder
    name (importlib.metadata costs ~80 ms of start-up; this costs nothing)."""
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.startswith("pandas_market_calendars-") and name.endswith(".dist-info"):
                return name[len("pandas_market_calendars-") : -len(".dist-info")]
    return "unknown"


def compute_sessions(start: date, end: date, spec: CalendarSpec = NYSE) -> list[Session]:
    """Sessions from pandas_market_calendars' calendar `spec.source` (imports pandas)."""
    import warnings

    with warnings.catch_warnings():  # pandas deprecation chatter must not reach a cron mail
        warnings.simplefilter("ignore")
        import pandas_market_calendars as mcal

        schedule = mcal.get_calendar(spec.source).schedule(
            start_date=start.isoformat(), end_date=end.isoformat()
        )
    sessions = []
    for day, row in schedule.iterrows():
        open_at = row["market_open"].to_pydatetime().astimezone(NEW_YORK)
        close_at = row["market_close"].to_pydatetime().astimezone(NEW_YORK)
        sessions.append(
            Session(day.date(), open_at, close_at, close_at.time() < spec.regular_close)
        )
    return sessions


class MarketCalendar:
    """NYSE sessions from the database cache, filled from pandas_market_calendars."""

    SPEC = NYSE

    def __init__(self, store: Store) -> None:
        self.store = store
        self._version: str | None = None

    # -- coverage --------------------------------------------------------------------------
    def _meta(self, key: str) -> str | None:
        row = self.store.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def source(self) -> str | None:
        """The pandas_market_calendars version the cache was filled with."""
        return self._meta(f"{self.SPEC.meta}_source")

    def coverage(self) -> tuple[date, date] | None:
        start, end = self._meta(f"{self.SPEC.meta}_from"), self._meta(f"{self.SPEC.meta}_to")
        if not start or not end:
            return None
        return date.fromisoformat(start), date.fromisoformat(end)

    def _covers(self, start: date, end: date) -> bool:
        if self._version is None:
            self._version = source_version()
        covered = self.coverage()
        fresh = self.source() == self._version
        return bool(covered and fresh and covered[0] <= start and end <= covered[1])

    def siblings(self) -> list[MarketCalendar]:
        """The other calendars a refill fills too, while pandas is loaded anyway."""
        return [FuturesCalendar(self.store)]

    def ensure(self, start: date, end: date) -> None:
        """Make sure the cache covers [start, end]; refill it when it does not, or when
        pandas_market_calendars was upgraded since it was filled (and fill the sibling
        calendars over the same range where they fall short, for the same import)."""
        if self._covers(start, end):
            return
        new_start, new_end = self.refill(start - LOOK_BEHIND, end + LOOK_AHEAD)
        for sibling in self.siblings():
            if not sibling._covers(new_start, new_end):
                sibling.refill(new_start, new_end)

    def refill(self, new_start: date, new_end: date) -> tuple[date, date]:
        """Recompute the cache over [new_start, new_end], widened by what it covers
        already when that is fresh; returns the range it covers now."""
        covered = self.coverage()
        if self._version is None:
            self._version = source_version()
        fresh = self.source() == self._version
        if covered and fresh:
            new_start, new_end = min(new_start, covered[0]), max(new_end, covered[1])
        sessions = compute_sessions(new_start, new_end, self.SPEC)
        table, meta = self.SPEC.table, self.SPEC.meta
        with self.store.transaction() as db:
            db.execute(f"DELETE FROM {table}")
            db.executemany(
                f"INSERT INTO {table} (date, open, close, early_close) VALUES (?, ?, ?, ?)",
                [
                    (
                        s.date.isoformat(),
                        s.open.astimezone(UTC).isoformat(),
                        s.close.astimezone(UTC).isoformat(),
                        int(s.early_close),
                    )
                    for s in sessions
                ],
            )
            for key, value in (
                (f"{meta}_from", new_start.isoformat()),
                (f"{meta}_to", new_end.isoformat()),
                (f"{meta}_source", self._version),
            ):
                db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
        return new_start, new_end

    # -- questions -------------------------------------------------------------------------
    @staticmethod
    def _row(row: tuple[str, str, str, int]) -> Session:
        return Session(
            date.fromisoformat(row[0]),
            datetime.fromisoformat(row[1]).astimezone(NEW_YORK),
            datetime.fromisoformat(row[2]).astimezone(NEW_YORK),
            bool(row[3]),
        )

    def sessions(self, start: date, end: date) -> list[Session]:
        self.ensure(start, end)
        rows = self.store.db.execute(
            f"SELECT date, open, close, early_close FROM {self.SPEC.table} WHERE date BETWEEN ? AND ? ORDER BY date",
            (start.isoformat(), end.isoformat()),
        ).fetchall()
        return [self._row(tuple(r)) for r in rows]

    def session_on(self, day: date) -> Session | None:
        self.ensure(day, day)
        row = self.store.db.execute(
            f"SELECT date, open, close, early_close FROM {self.SPEC.table} WHERE date = ?",
            (day.isoformat(),),
        ).fetchone()
        return self._row(tuple(row)) if row else None

    def next_session(self, after: date, *, inclusive: bool = False) -> Session:
        """The first session on or after (`inclusive`) / strictly after `after`."""
        day = after if inclusive else after + timedelta(days=1)
        self.ensure(day, day + timedelta(days=14))
        row = self.store.db.execute(
            f"SELECT date, open, close, early_close FROM {self.SPEC.table} WHERE date >= ? ORDER BY date LIMIT 1",
            (day.isoformat(),),
        ).fetchone()
        if row is None:  # beyond the cache: extend it and ask again
            self.ensure(day, day + timedelta(days=60))
            return self.next_session(after, inclusive=inclusive)
        return self._row(tuple(row))

    def previous_session(self, before: date) -> Session:
        """The last session strictly before `before`."""
        self.ensure(before - timedelta(days=14), before)
        row = self.store.db.execute(
            f"SELECT date, open, close, early_close FROM {self.SPEC.table} WHERE date < ? ORDER BY date DESC LIMIT 1",
            (before.isoformat(),),
        ).fetchone()
        if row is None:
            self.ensure(before - timedelta(days=60), before)
            return self.previous_session(before)
        return self._row(tuple(row))

    def session_at(self, moment: datetime) -> Session | None:
        """The session in progress at `moment`, if any."""
        session = self.session_on(moment.astimezone(NEW_YORK).date())
        return session if session and session.contains(moment) else None

    def next_open(self, moment: datetime) -> datetime:
        """The first session open strictly after `moment`."""
        day = moment.astimezone(NEW_YORK).date()
        today = self.session_on(day)
        if today and moment < today.open:
            return today.open
        return self.next_session(day).open


class FuturesCalendar(MarketCalendar):
    """CME Globex sessions (futures and futures options), cached like NYSE's.

    A session is named by its trade date but opens the evening before, so the questions
    that NYSE answers from the day's one session look at the neighbouring days too."""

    SPEC = CME_GLOBEX

    def siblings(self) -> list[MarketCalendar]:
        return [MarketCalendar(self.store)]

    def session_at(self, moment: datetime) -> Session | None:
        """The session in progress at `moment`, if any (Sunday 20:00 is in Monday's)."""
        day = moment.astimezone(NEW_YORK).date()
        for session in self.sessions(day - timedelta(days=1), day + timedelta(days=2)):
            if session.contains(moment):
                return session
        return None

    def next_open(self, moment: datetime) -> datetime:
        """The first session open strictly after `moment`."""
        day = moment.astimezone(NEW_YORK).date()
        for session in self.sessions(day - timedelta(days=1), day + timedelta(days=14)):
            if session.open > moment:
                return session.open
        return self.next_session(day + timedelta(days=14)).open

    def last_close(self, moment: datetime) -> Session | None:
        """The last session that closed at or before `moment` (within two weeks)."""
        day = moment.astimezone(NEW_YORK).date()
        closed = [s for s in self.sessions(day - timedelta(days=14), day) if s.close <= moment]
        return closed[-1] if closed else None
