"""The NYSE calendar: regular sessions, holidays, special closures and early closes.

The source is `pandas_market_calendars` (maintained; it already comes with the SDK), but
importing pandas costs about a second, so the sessions it computes are kept in the
database (`market_sessions`) and every later question is a quick SQLite lookup. The
cache covers a contiguous range of dates recorded in `meta`; a question outside it, or
an upgraded `pandas_market_calendars`, recomputes the whole range once.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from ttai_cli.clock import NEW_YORK
from ttai_cli.store import Store

REGULAR_CLOSE = time(16, 0)
# How far around the dates asked for the cache reaches, so that it rarely needs refilling.
LOOK_BEHIND = timedelta(days=400)
LOOK_AHEAD = timedelta(days=800)


@dataclass(frozen=True)
class Session:
    """One regular NYSE trading session, times aware in New York."""

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


def compute_sessions(start: date, end: date) -> list[Session]:
    """Sessions from pandas_market_calendars' NYSE calendar (imports pandas)."""
    import warnings

    with warnings.catch_warnings():  # pandas deprecation chatter must not reach a cron mail
        warnings.simplefilter("ignore")
        import pandas_market_calendars as mcal

        schedule = mcal.get_calendar("NYSE").schedule(
            start_date=start.isoformat(), end_date=end.isoformat()
        )
    sessions = []
    for day, row in schedule.iterrows():
        open_at = row["market_open"].to_pydatetime().astimezone(NEW_YORK)
        close_at = row["market_close"].to_pydatetime().astimezone(NEW_YORK)
        sessions.append(Session(day.date(), open_at, close_at, close_at.time() < REGULAR_CLOSE))
    return sessions


class MarketCalendar:
    """NYSE sessions from the database cache, filled from pandas_market_calendars."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._version: str | None = None

    # -- coverage --------------------------------------------------------------------------
    def _meta(self, key: str) -> str | None:
        row = self.store.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def source(self) -> str | None:
        """The pandas_market_calendars version the cache was filled with."""
        return self._meta("calendar_source")

    def coverage(self) -> tuple[date, date] | None:
        start, end = self._meta("calendar_from"), self._meta("calendar_to")
        if not start or not end:
            return None
        return date.fromisoformat(start), date.fromisoformat(end)

    def ensure(self, start: date, end: date) -> None:
        """Make sure the cache covers [start, end]; refill it when it does not, or when
        pandas_market_calendars was upgraded since it was filled."""
        covered = self.coverage()
        if self._version is None:
            self._version = source_version()
        fresh = self._meta("calendar_source") == self._version
        if covered and fresh and covered[0] <= start and end <= covered[1]:
            return
        new_start, new_end = start - LOOK_BEHIND, end + LOOK_AHEAD
        if covered and fresh:
            new_start, new_end = min(new_start, covered[0]), max(new_end, covered[1])
        sessions = compute_sessions(new_start, new_end)
        with self.store.transaction() as db:
            db.execute("DELETE FROM market_sessions")
            db.executemany(
                "INSERT INTO market_sessions (date, open, close, early_close) VALUES (?, ?, ?, ?)",
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
                ("calendar_from", new_start.isoformat()),
                ("calendar_to", new_end.isoformat()),
                ("calendar_source", self._version),
            ):
                db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

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
            "SELECT date, open, close, early_close FROM market_sessions WHERE date BETWEEN ? AND ? ORDER BY date",
            (start.isoformat(), end.isoformat()),
        ).fetchall()
        return [self._row(tuple(r)) for r in rows]

    def session_on(self, day: date) -> Session | None:
        self.ensure(day, day)
        row = self.store.db.execute(
            "SELECT date, open, close, early_close FROM market_sessions WHERE date = ?",
            (day.isoformat(),),
        ).fetchone()
        return self._row(tuple(row)) if row else None

    def next_session(self, after: date, *, inclusive: bool = False) -> Session:
        """The first session on or after (`inclusive`) / strictly after `after`."""
        day = after if inclusive else after + timedelta(days=1)
        self.ensure(day, day + timedelta(days=14))
        row = self.store.db.execute(
            "SELECT date, open, close, early_close FROM market_sessions WHERE date >= ? ORDER BY date LIMIT 1",
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
            "SELECT date, open, close, early_close FROM market_sessions WHERE date < ? ORDER BY date DESC LIMIT 1",
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
