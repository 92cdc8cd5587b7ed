"""Fakes of our own services for unit tests: a clock you can move, a sleep that records."""

from __future__ import annotations

from datetime import datetime, timedelta

from ttai_cli.clock import NEW_YORK


class FakeClock:
    """A clock that only moves when told to (or when something sleeps on it)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FakeClock needs an aware datetime")
        self._now = start.astimezone(NEW_YORK)
        self._mono = 1000.0
        self.history: list[float] = []  # every sleep asked for, in seconds

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._now = (self._now + timedelta(seconds=seconds)).astimezone(NEW_YORK)
        self._mono += seconds

    def jump_wall(self, seconds: float) -> None:
        """The wall clock jumps (suspend/resume) while the monotonic one does not."""
        self._now = (self._now + timedelta(seconds=seconds)).astimezone(NEW_YORK)

    def set(self, moment: datetime) -> None:
        delta = (moment - self._now).total_seconds()
        self.advance(delta)

    async def sleep(self, seconds: float) -> None:
        self.history.append(seconds)
        self.advance(max(0.0, seconds))


class RecordingSleep:
    """Stands in for `asyncio.sleep` in retry policies: records, never waits."""

    def __init__(self) -> None:
        self.history: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.history.append(seconds)


class RecordingJob:
    """A job that records each run (slot, and the clock when it started) and takes
    `duration` seconds of the fake clock; it fails on the slots listed in `fail_on`."""

    market_aware = False

    def __init__(
        self, name: str = "fake", duration: float = 0.0, market_aware: bool = False
    ) -> None:
        self.name = name
        self.duration = duration
        self.market_aware = market_aware
        self.history: list[tuple[datetime, datetime]] = []  # (slot, started at)
        self.fail_on: set[datetime] = set()
        self.terminated = 0

    def default_schedule(self, calendar: object) -> None:
        return None

    async def run(self, ctx: object) -> str:
        slot, clock = ctx.slot, ctx.clock  # type: ignore[attr-defined]
        self.history.append((slot, clock.now()))
        if self.duration:
            await clock.sleep(self.duration)
        if slot in self.fail_on:
            raise RuntimeError("boom")
        return "done"

    async def terminate(self) -> None:
        self.terminated += 1
