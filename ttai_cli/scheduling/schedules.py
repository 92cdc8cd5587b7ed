"""Schedules: the instants ("slots") at which a job is due.

A schedule answers two questions: `first(start)`, the first slot at or after `start`,
and `after(slot)`, the next slot strictly after a given one (None when it is done).
Whether a due slot then runs or is skipped (market closed, paused, wrong weekday) is
decided elsewhere; schedules only know time.

Rules, all in America/New_York:
- Fixed periods (`Every`) are a grid in absolute time anchored at the first slot: slot k
  is `anchor + k * period`, whatever the runs took. `--every 1d` is 24 hours, so across a
  DST change it moves by an hour on the wall clock; `--daily` does not.
- Wall-clock times (`Daily`, `Cron`) fire once per occurrence of the wall time. A time
  that does not exist (2:30 on the spring-forward day) fires once at the first valid
  instant after it (3:00 EDT); a time that occurs twice (1:30 on the fall-back day) fires
  once, at its first occurrence (EDT).
- Session schedules (`ttai_cli.scheduling.sessions`) follow the NYSE calendar.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from ttai_cli.clock import NEW_YORK
from ttai_cli.scheduling.parse import format_duration


def localize(day: date, wall: time) -> datetime:
    """The instant New York's wall clock reads `wall` on `day` (rules in the module doc)."""
    naive = datetime.combine(day, wall)
    first = naive.replace(tzinfo=NEW_YORK, fold=0)
    if first.astimezone(UTC).astimezone(NEW_YORK).replace(tzinfo=None) == naive:
        return first  # exists; for an ambiguous time fold=0 is the first occurrence
    # In the spring-forward gap: find the first instant whose wall time is past `naive`.
    low = naive.replace(tzinfo=NEW_YORK, fold=1).astimezone(UTC)  # before the gap
    high = first.astimezone(UTC)  # after the gap
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(NEW_YORK).replace(tzinfo=None) >= naive:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0).astimezone(NEW_YORK)


def _ny(moment: datetime) -> datetime:
    return moment.astimezone(NEW_YORK)


def _in_utc(
    method: Callable[[Any, datetime], datetime | None],
) -> Callable[[Any, datetime], datetime | None]:
    @functools.wraps(method)
    def wrapper(self: Any, moment: datetime) -> datetime | None:
        result = method(self, moment.astimezone(UTC))
        return result.astimezone(UTC) if result is not None else None

    return wrapper


class Schedule(ABC):
    """Slots go in and come out as UTC instants (every subclass's `first` and `after` are
    wrapped to do so). This is not cosmetic: Python compares and subtracts two datetimes
    that share a tzinfo by their wall clocks, ignoring `fold`, so in the repeated hour of
    the fall-back day 01:30 EST would sort before 01:55 EDT."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name in ("first", "after"):
            if name in cls.__dict__:
                setattr(cls, name, _in_utc(cls.__dict__[name]))

    @abstractmethod
    def first(self, start: datetime) -> datetime | None:
        """The first slot at or after `start`."""

    @abstractmethod
    def after(self, slot: datetime) -> datetime | None:
        """The next slot strictly after `slot`, or None when the schedule is done."""

    @abstractmethod
    def describe(self) -> str: ...

    def revise(self, slot: datetime, now: datetime) -> datetime | None:
        """A slot earlier than `slot` (the one a runner sleeps towards) that has come
        into view since `slot` was computed, or None. Schedules that follow what can
        change (the markets with an active alert) say so here; the runner asks at every
        chunk of its sleep, so an answer must be cheap; the default never revises."""
        return None

    def latest(self, now: datetime, since: datetime) -> datetime | None:
        """The last slot in [since, now], if any (used by --catch-up)."""
        now = now.astimezone(UTC)
        slot = self.first(since)
        found = None
        while slot is not None and slot <= now:
            found = slot
            slot = self.after(slot)
        return found


class Once(Schedule):
    """A single slot: now (or `at`)."""

    def __init__(self, at: datetime | None = None) -> None:
        self.at = at

    def first(self, start: datetime) -> datetime | None:
        return _ny(self.at) if self.at is not None else _ny(start)

    def after(self, slot: datetime) -> datetime | None:
        return None

    def describe(self) -> str:
        return f"once at {self.at:%Y-%m-%d %H:%M:%S %Z}" if self.at else "once, now"


class Every(Schedule):
    """A fixed grid: anchor + k * period, in absolute time."""

    def __init__(self, period: timedelta, anchor: datetime | None = None) -> None:
        if period <= timedelta(0):
            raise ValueError("period must be positive")
        self.period = period
        self.anchor = anchor

    def first(self, start: datetime) -> datetime | None:
        if self.anchor is None:
            self.anchor = start.astimezone(UTC)
        if self.anchor >= start:
            return _ny(self.anchor)
        return self._slot_at_or_after(start)

    def _slot_at_or_after(self, moment: datetime) -> datetime:
        assert self.anchor is not None
        anchor = self.anchor.astimezone(UTC)
        steps = -((anchor - moment.astimezone(UTC)) // self.period)  # ceiling division
        return _ny(anchor + max(0, steps) * self.period)

    def after(self, slot: datetime) -> datetime | None:
        if self.anchor is None:
            self.anchor = slot.astimezone(UTC)
        anchor = self.anchor.astimezone(UTC)
        steps = (slot.astimezone(UTC) - anchor) // self.period + 1
        return _ny(anchor + max(0, steps) * self.period)

    def describe(self) -> str:
        return f"every {format_duration(self.period)}"


class Daily(Schedule):
    """The same New York wall-clock time every day."""

    def __init__(self, wall: time) -> None:
        self.wall = wall

    def first(self, start: datetime) -> datetime | None:
        day = _ny(start).date()
        slot = localize(day, self.wall)
        return slot if slot >= start else localize(day + timedelta(days=1), self.wall)

    def after(self, slot: datetime) -> datetime | None:
        day = _ny(slot).date()
        candidate = localize(day, self.wall)
        if candidate > slot:
            return candidate
        return localize(day + timedelta(days=1), self.wall)

    def describe(self) -> str:
        return f"daily at {self.wall:%H:%M} New York time"


class Cron(Schedule):
    """A 5-field cron expression evaluated on the New York wall clock (croniter)."""

    def __init__(self, expression: str) -> None:
        from croniter import croniter

        if len(expression.split()) != 5 or not croniter.is_valid(expression):
            from ttai_cli.errors import UsageError

            raise UsageError(
                f"--cron: {expression!r} is not a 5-field cron expression (example: '*/5 9-16 * * mon-fri')"
            )
        self.expression = expression

    def _next_after(self, moment: datetime) -> datetime:
        from croniter import croniter

        wall = _ny(moment).replace(tzinfo=None)
        iterator = croniter(self.expression, wall)
        while True:
            candidate = iterator.get_next(datetime)
            slot = localize(candidate.date(), candidate.time())
            if slot > moment:
                return slot

    def first(self, start: datetime) -> datetime | None:
        return self._next_after(start - timedelta(microseconds=1))

    def after(self, slot: datetime) -> datetime | None:
        return self._next_after(slot)

    def describe(self) -> str:
        return f"cron '{self.expression}' (New York time)"


class FirstThen(Schedule):
    """A first slot (e.g. `--schedule 9:30am`), then another schedule from there."""

    def __init__(self, first_at: Schedule, then: Schedule) -> None:
        self.first_at = first_at
        self.then = then

    def first(self, start: datetime) -> datetime | None:
        slot = self.first_at.first(start)
        if slot is None:
            return None
        if isinstance(self.then, Every) and self.then.anchor is None:
            self.then.anchor = slot  # the grid is anchored at the first run
        return slot

    def after(self, slot: datetime) -> datetime | None:
        return self.then.after(slot)

    def describe(self) -> str:
        return f"{self.first_at.describe()}, then {self.then.describe()}"


class Merged(Schedule):
    """The slots of several schedules together, in order, each instant once."""

    def __init__(self, *schedules: Schedule) -> None:
        self.schedules = schedules

    def first(self, start: datetime) -> datetime | None:
        slots = [s.first(start) for s in self.schedules]
        return min((s for s in slots if s is not None), default=None)

    def after(self, slot: datetime) -> datetime | None:
        # each part's `after` takes any instant, not only one of its own slots
        candidates = [s.after(slot) for s in self.schedules]
        return min((c for c in candidates if c is not None and c > slot), default=None)

    def describe(self) -> str:
        return " and ".join(s.describe() for s in self.schedules)
