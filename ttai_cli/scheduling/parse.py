"""Parsing what users type for schedules: durations, times of day, weekdays, instants.

Every error is a `UsageError` with one line saying what was expected.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from ttai_cli.clock import NEW_YORK
from ttai_cli.errors import UsageError

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|sec|min|hr|s|m|h|d)", re.IGNORECASE)
_UNIT_SECONDS = {
    "ms": 0.001,
    "s": 1,
    "sec": 1,
    "m": 60,
    "min": 60,
    "h": 3600,
    "hr": 3600,
    "d": 86400,
}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MARKET_TIMES = ("market-open", "market-close")


def parse_duration(
    raw: str,
    *,
    option: str = "duration",
    minimum: timedelta | None = None,
    seconds_if_bare: bool = False,
) -> timedelta:
    """`30s`, `5m`, `1h`, `1d`, `1h30m`, `5min`, `10sec`, `2hr`, `1.5s`, `250ms`. Must be
    positive, at most a year, and at least `minimum` when given. A bare number is a
    usage error (`--repeat-after 1` would silently be one second), except where
    `seconds_if_bare` (`--period SECONDS`, the one unit-less option)."""
    text = raw.strip().lower().replace(" ", "")
    seconds: float
    if re.fullmatch(r"\d+(\.\d+)?", text):
        if not seconds_if_bare:
            raise UsageError(f"{option}: {raw!r} has no unit (write {text}s, {text}m or {text}h)")
        seconds = float(text)
    else:
        parts = _DURATION_PART.findall(text)
        if not parts or "".join(n + u for n, u in parts).lower() != text:
            raise UsageError(
                f"{option}: {raw!r} is not a duration (examples: 30s, 5m, 1h, 1d, 1h30m)"
            )
        seconds = sum(float(n) * _UNIT_SECONDS[u.lower()] for n, u in parts)
    if seconds <= 0:
        raise UsageError(f"{option}: {raw!r} must be longer than zero")
    if seconds > 366 * 86400:
        raise UsageError(f"{option}: {raw!r} is longer than a year")
    if minimum is not None and seconds < minimum.total_seconds():
        raise UsageError(f"{option}: {raw!r} is shorter than {format_duration(minimum)}")
    return timedelta(seconds=seconds)


def parse_time_of_day(raw: str) -> time:
    """`9:30am`, `4pm`, `16:00`, `9:30`, `0930`? no: `HH:MM` or `H[:MM](am|pm)`."""
    text = raw.strip().lower().replace(" ", "").replace(".", "")
    match = re.fullmatch(r"(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?(am|pm)?", text)
    if not match:
        raise UsageError(
            f"--schedule: {raw!r} is not a time (examples: 9:30am, 4pm, 16:00, market-open)"
        )
    hour, minute, second = int(match[1]), int(match[2] or 0), int(match[3] or 0)
    suffix = match[4]
    if suffix is None and match[2] is None:
        raise UsageError(f"--schedule: {raw!r} is ambiguous; write 9am, 9:00 or 21:00")
    if suffix:
        if not 1 <= hour <= 12:
            raise UsageError(f"--schedule: {raw!r}: the hour must be 1-12 with am/pm")
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if hour > 23 or minute > 59 or second > 59:
        raise UsageError(f"--schedule: {raw!r} is not a valid time of day")
    return time(hour, minute, second)


def parse_days(raw: str) -> frozenset[int]:
    """`mon-fri`, `mon,wed,fri`, `sat-sun`, `weekdays`, `weekends`: Monday is 0."""
    text = raw.strip().lower()
    aliases = {"weekdays": "mon-fri", "weekends": "sat-sun", "daily": "mon-sun", "all": "mon-sun"}
    text = aliases.get(text, text)
    days: set[int] = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        bounds = [b.strip()[:3] for b in part.split("-")]
        if len(bounds) > 2 or any(b not in WEEKDAYS for b in bounds):
            raise UsageError(
                f"--days: {raw!r} is not a list of weekdays (examples: mon-fri, mon,wed,fri)"
            )
        first, last = WEEKDAYS.index(bounds[0]), WEEKDAYS.index(bounds[-1])
        span = range(first, last + 1) if first <= last else [*range(first, 7), *range(0, last + 1)]
        days.update(span)
    if not days:
        raise UsageError("--days: no weekday given")
    return frozenset(days)


def parse_instant(raw: str, *, option: str = "--now") -> datetime:
    """An ISO 8601 instant; without an offset it is New York time."""
    text = raw.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"{option}: {raw!r} is not an ISO 8601 time (example: 2026-03-09T09:30:00-04:00)"
        ) from None
    if moment.tzinfo is None:
        from ttai_cli.scheduling.schedules import localize

        return localize(moment.date(), moment.time())
    return moment.astimezone(NEW_YORK)


def parse_date(raw: str, *, option: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise UsageError(f"{option}: {raw!r} is not a date (YYYY-MM-DD)") from None


def format_duration(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
