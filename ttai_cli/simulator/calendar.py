"""The simulator's own NYSE calendar: the holiday rules in plain Python, so that the
demo (served in-process) never imports pandas. The simulated account's expirations and
trade times come from here; `tests/test_simulator_calendar.py` checks these rules
against `pandas_market_calendars` (the production calendar) over 2006-2036.

Not modelled: unscheduled closures (national days of mourning, storms). None of them
fell on a Friday since 2006, so weekly expirations are unaffected; trade times avoid
them only as far as they are listed in `SPECIAL_CLOSURES`.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache

from ttai_cli.clock import NEW_YORK

# Closures no rule predicts (2006 on), as pandas_market_calendars lists them.
SPECIAL_CLOSURES = frozenset(
    {
        date(2007, 1, 2),  # President Ford
        date(2012, 10, 29),  # Hurricane Sandy
        date(2012, 10, 30),
        date(2018, 12, 5),  # President G. H. W. Bush
        date(2025, 1, 9),  # President Carter
    }
)


def _easter(year: int) -> date:
    """Western Easter Sunday (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month = (h + el - 7 * m + 114) // 31
    day = (h + el - 7 * m + 114) % 31 + 1
    return date(year, month, day)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> date:
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _observed(day: date) -> date | None:
    """A fixed-date holiday's weekday: Saturday -> Friday, Sunday -> Monday. New Year's
    Day on a Saturday is not observed (NYSE rule 7.2: it would fall in the old year)."""
    if day.weekday() == 5:
        return None if (day.month, day.day) == (1, 1) else day - timedelta(days=1)
    if day.weekday() == 6:
        return day + timedelta(days=1)
    return day


@cache
def holidays(year: int) -> frozenset[date]:
    """The NYSE's full-day holidays in `year`."""
    days: set[date | None] = {
        _observed(date(year, 1, 1)),
        _nth_weekday(year, 1, 0, 3),  # Martin Luther King Jr. Day
        _nth_weekday(year, 2, 0, 3),  # Washington's Birthday
        _easter(year) - timedelta(days=2),  # Good Friday
        _last_weekday(year, 5, 0),  # Memorial Day
        _observed(date(year, 7, 4)),
        _nth_weekday(year, 9, 0, 1),  # Labor Day
        _nth_weekday(year, 11, 3, 4),  # Thanksgiving
        _observed(date(year, 12, 25)),
    }
    if year >= 2022:
        days.add(_observed(date(year, 6, 19)))  # Juneteenth
    return frozenset(d for d in days if d is not None)


def is_trading_day(day: date) -> bool:
    return day.weekday() < 5 and day not in holidays(day.year) and day not in SPECIAL_CLOSURES


def is_early_close(day: date) -> bool:
    """A 1 pm close: July 3 and December 24 on a weekday (when a session), and the day
    after Thanksgiving. Erring on the early side only costs a trade an earlier time."""
    if (day.month, day.day) in ((7, 3), (12, 24)):
        return True
    return day == _nth_weekday(day.year, 11, 3, 4) + timedelta(days=1)


def in_regular_hours(moment: datetime) -> bool:
    """Whether `moment` (aware) falls in a session: 9:30 to 16:00 New York time, to
    13:00 on an early close."""
    local = moment.astimezone(NEW_YORK)
    if not is_trading_day(local.date()):
        return False
    close = time(13, 0) if is_early_close(local.date()) else time(16, 0)
    return time(9, 30) <= local.time() < close


def full_session_on_or_before(day: date) -> date:
    """The latest trading day with a regular (9:30-16:00) session on or before `day`."""
    while not is_trading_day(day) or is_early_close(day):
        day -= timedelta(days=1)
    return day


def weekly_expiration(day: date) -> date:
    """The weekly expiration of `day`'s week from `day` on: its Friday, or the last
    trading day before it when the Friday is a holiday (Thursday, as listed options do).
    A week with no trading day left from `day` rolls to the next week's."""
    friday = day + timedelta(days=(4 - day.weekday()) % 7)
    expiry = friday
    while not is_trading_day(expiry):
        expiry -= timedelta(days=1)
    if expiry < day:
        return weekly_expiration(friday + timedelta(days=3))
    return expiry


def monthly_expiration(year: int, month: int) -> date:
    """The standard monthly: the third Friday, or the trading day before it."""
    expiry = _nth_weekday(year, month, 4, 3)
    while not is_trading_day(expiry):
        expiry -= timedelta(days=1)
    return expiry


WEEKLIES = 8  # weeks of weekly expirations listed ahead
MONTHLIES = 30  # months of standard monthlies (LEAPS included)


@cache
def chain_expirations(today: date) -> tuple[date, ...]:
    """Every expiration the simulator lists from `today` on, sorted: the next
    WEEKLIES weeklies, then the standard monthlies for MONTHLIES months."""
    found: set[date] = set()
    day = today
    for _ in range(WEEKLIES):
        expiry = weekly_expiration(day)
        found.add(expiry)
        day = expiry + timedelta(days=7 - expiry.weekday())  # next Monday
    year, month = today.year, today.month
    for _ in range(MONTHLIES):
        expiry = monthly_expiration(year, month)
        if expiry >= today:
            found.add(expiry)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return tuple(sorted(found))
