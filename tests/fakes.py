"""Fakes of our own services for unit tests: a clock you can move, a sleep that records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
        """Absolute time passes (through a DST change the wall clock jumps or repeats)."""
        self._now = (self._now.astimezone(UTC) + timedelta(seconds=seconds)).astimezone(NEW_YORK)
        self._mono += seconds

    def jump_wall(self, seconds: float) -> None:
        """The wall clock jumps (suspend/resume) while the monotonic one does not."""
        self._now = (self._now.astimezone(UTC) + timedelta(seconds=seconds)).astimezone(NEW_YORK)

    def set(self, moment: datetime) -> None:
        delta = (moment.astimezone(UTC) - self._now.astimezone(UTC)).total_seconds()
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

    async def close(self) -> None:
        pass


class VirtualClock:
    """Virtual time shared by several tasks (the daemon's jobs).

    `sleep` parks the caller until virtual time reaches its wake-up; `drive` advances time
    to the earliest wake-up, but only once every task it watches is asleep, so real work
    (requests to the simulator over a socket) always finishes before time moves on.
    """

    def __init__(self, start: datetime) -> None:
        import itertools

        self._now = start.astimezone(NEW_YORK)
        self._mono = 1000.0
        self._order = itertools.count()
        self._sleeping: list[tuple[datetime, int, object]] = []

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    async def sleep(self, seconds: float) -> None:
        import asyncio
        import heapq

        future = asyncio.get_running_loop().create_future()
        wake = self._now.astimezone(UTC) + timedelta(
            seconds=max(0.0, seconds)
        )  # UTC: DST-proof order
        heapq.heappush(self._sleeping, (wake, next(self._order), future))
        await future

    def asleep(self) -> int:
        self._sleeping = [w for w in self._sleeping if not w[2].done()]  # type: ignore[attr-defined]
        return len(self._sleeping)

    async def drive(self, until: datetime, still_running) -> None:  # type: ignore[no-untyped-def]
        """Advance to `until`, one wake-up at a time, once `still_running()` tasks sleep."""
        import asyncio
        import heapq

        while True:
            await asyncio.sleep(0.001)
            if self.asleep() < still_running():
                continue  # somebody is working for real
            if not self._sleeping or self._sleeping[0][0] > until:
                self._advance(until)
                return
            target = self._sleeping[0][0]
            self._advance(target)
            while self._sleeping and self._sleeping[0][0] <= self._now:
                _, _, future = heapq.heappop(self._sleeping)
                if not future.done():  # type: ignore[attr-defined]
                    future.set_result(None)  # type: ignore[attr-defined]

    def _advance(self, target: datetime) -> None:
        gap = (target.astimezone(UTC) - self._now.astimezone(UTC)).total_seconds()
        if gap > 0:
            self._mono += gap
            self._now = target.astimezone(NEW_YORK)
