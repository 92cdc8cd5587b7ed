"""Time, injected: every job, the scheduler and the market guard take a `Clock`.

All wall-clock values are aware datetimes in America/New_York. Tests pass a fake clock
(tests/fakes.py) instead of patching `datetime`.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, aware, in America/New_York."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never jumps (for durations and timeouts)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` (a fake clock advances instead)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(NEW_YORK)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        import asyncio  # lazily: importing asyncio costs ~40 ms of start-up

        await asyncio.sleep(max(0.0, seconds))


def elapsed(later: datetime, earlier: datetime) -> timedelta:
    """`later - earlier` in absolute time. (Two datetimes sharing a tzinfo subtract by
    their wall clocks, which is an hour off across a DST change.)"""
    return later.astimezone(UTC) - earlier.astimezone(UTC)


def to_new_york(moment: datetime) -> datetime:
    """An aware datetime converted to New York time; naive input is refused."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: ttai only works with aware times")
    return moment.astimezone(NEW_YORK)
