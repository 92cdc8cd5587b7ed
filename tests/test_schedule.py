"""Schedules and the engine with an injected clock: grid, overlap, DST, sessions, catch-up, suspend."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, time, timedelta

import pytest

from tests.fakes import FakeClock, RecordingJob
from ttai_cli.clock import NEW_YORK
from ttai_cli.config import load_settings
from ttai_cli.market.calendar import MarketCalendar
from ttai_cli.market.guard import MarketGuard
from ttai_cli.scheduling.catch_up import catch_up
from ttai_cli.scheduling.engine import MISSED, OVERLAP, Runner
from ttai_cli.scheduling.options import ScheduleOptions, build_schedule
from ttai_cli.scheduling.policy import Policy
from ttai_cli.scheduling.schedules import Daily, Schedule, localize
from ttai_cli.store.jobs import JobsRepository


def ny(text: str) -> datetime:
    """'2026-03-09 09:30' in New York."""
    return localize(datetime.fromisoformat(text).date(), datetime.fromisoformat(text).time())


def slots(schedule: Schedule, start: datetime, count: int) -> list[datetime]:
    out = []
    slot = schedule.first(start)
    while slot is not None and len(out) < count:
        out.append(slot)
        slot = schedule.after(slot)
    return out


def hm(moments: list[datetime]) -> list[str]:
    return [f"{m.astimezone(NEW_YORK):%a %m-%d %H:%M}" for m in moments]


def schedule_for(store, now: datetime, **options) -> Schedule:  # type: ignore[no-untyped-def]
    return build_schedule(ScheduleOptions(**options), now, lambda: MarketCalendar(store))


def make_runner(store, clock, job, schedule, *, guard=False, **kwargs) -> Runner:  # type: ignore[no-untyped-def]
    repo = JobsRepository(store)
    policy = Policy(job.name, repo, MarketGuard(MarketCalendar(store)) if guard else None)
    return Runner(
        job=job,
        schedule=schedule,
        policy=policy,
        clock=clock,
        repo=repo,
        stop=asyncio.Event(),
        max_chunk=kwargs.pop("max_chunk", 3600.0),
        **kwargs,
    )


# -- the grid ---------------------------------------------------------------------------------
def test_grid_without_drift_under_slow_runs(store) -> None:  # type: ignore[no-untyped-def]
    start = ny("2026-03-10 10:00:00.250")
    clock = FakeClock(start)
    job = RecordingJob(duration=1.5)
    runner = make_runner(
        store, clock, job, schedule_for(store, start, every=timedelta(seconds=2)), max_runs=30
    )
    outcome = asyncio.run(runner.run())
    assert outcome.runs == 30
    offsets = [(started - start).total_seconds() for _, started in job.history]
    assert offsets == [2.0 * k for k in range(30)], (
        "slot k starts at start + 2k seconds, whatever runs take"
    )


def test_skipped_overlapping_slot_is_recorded_not_stacked(store) -> None:  # type: ignore[no-untyped-def]
    start = ny("2026-03-10 10:00")
    clock = FakeClock(start)
    job = RecordingJob(duration=3.0)  # longer than the 2 s period
    runner = make_runner(
        store, clock, job, schedule_for(store, start, every=timedelta(seconds=2)), max_runs=4
    )
    asyncio.run(runner.run())
    offsets = [(started - start).total_seconds() for _, started in job.history]
    assert offsets == [0, 4, 8, 12], "the slot at +2 s came while run 1 was going: skipped"
    history = JobsRepository(store).history("fake")
    skips = [r for r in history if r.result == "skipped"]
    assert skips and all(r.reason == OVERLAP for r in skips)
    assert sum(r.count for r in skips) == 3
    status = JobsRepository(store).statuses()[0]
    assert (status.runs, status.skipped, status.errors) == (4, 3, 0)


def test_failed_run_is_recorded_and_the_loop_goes_on(store) -> None:  # type: ignore[no-untyped-def]
    start = ny("2026-03-10 10:00")
    clock = FakeClock(start)
    job = RecordingJob()
    job.fail_on.add(start + timedelta(seconds=10))
    runner = make_runner(
        store, clock, job, schedule_for(store, start, every=timedelta(seconds=10)), max_runs=3
    )
    outcome = asyncio.run(runner.run())
    assert outcome.runs == 3 and outcome.failures == 1 and outcome.exit_code == 0
    status = JobsRepository(store).statuses()[0]
    assert status.errors == 1 and status.last_result == "ok"
    failed = [r for r in JobsRepository(store).history("fake") if r.result == "error"]
    assert failed and failed[0].error == "RuntimeError: boom"


# -- --schedule TIME ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("now", "expected"),
    [
        ("2026-03-10 08:00", ["Tue 03-10 09:30"]),  # before 9:30: today
        ("2026-03-10 09:30", ["Tue 03-10 09:30"]),  # exactly 9:30: now
        ("2026-03-10 09:31", ["Wed 03-11 09:30"]),  # after 9:30: the next day
    ],
    ids=["before-930-today", "at-930-now", "after-930-next-day"],
)
def test_schedule_930am_alone_runs_once(store, now: str, expected: list[str]) -> None:  # type: ignore[no-untyped-def]
    assert hm(slots(schedule_for(store, ny(now), at="9:30am"), ny(now), 5)) == expected


def test_schedule_930am_then_hourly(store) -> None:  # type: ignore[no-untyped-def]
    now = ny("2026-03-10 08:10")
    got = hm(slots(schedule_for(store, now, at="9:30am", hourly=True), now, 4))
    assert got == ["Tue 03-10 09:30", "Tue 03-10 10:30", "Tue 03-10 11:30", "Tue 03-10 12:30"]


# -- sessions ---------------------------------------------------------------------------------
def session_slots(store, start: str, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    now = ny(start)
    return hm(
        slots(schedule_for(store, now, at="market-open", every=timedelta(minutes=30)), now, count)
    )


def test_market_open_every_30m_across_a_weekend(store) -> None:  # type: ignore[no-untyped-def]
    got = session_slots(store, "2026-03-13 15:00", 3)  # Friday afternoon
    assert got == ["Mon 03-16 09:30", "Mon 03-16 10:00", "Mon 03-16 10:30"]
    full_day = session_slots(store, "2026-03-16 08:00", 14)
    assert full_day[-1] == "Tue 03-17 09:30" and full_day[-2] == "Mon 03-16 15:30"
    assert len([s for s in full_day if s.startswith("Mon")]) == 13, "09:30 .. 15:30"


def test_market_open_every_30m_skips_good_friday(store) -> None:  # type: ignore[no-untyped-def]
    got = session_slots(store, "2026-04-02 08:00", 14)  # Thursday before Good Friday (Apr 3)
    assert got[0] == "Thu 04-02 09:30" and got[-2:] == ["Thu 04-02 15:30", "Mon 04-06 09:30"]


def test_market_open_every_30m_stops_at_the_1pm_half_day_close(store) -> None:  # type: ignore[no-untyped-def]
    got = session_slots(store, "2026-11-27 08:00", 9)  # day after Thanksgiving
    assert got[:7] == [
        "Fri 11-27 09:30",
        "Fri 11-27 10:00",
        "Fri 11-27 10:30",
        "Fri 11-27 11:00",
        "Fri 11-27 11:30",
        "Fri 11-27 12:00",
        "Fri 11-27 12:30",
    ]
    assert got[7] == "Mon 11-30 09:30"


@pytest.mark.parametrize(
    "monday", ["2026-03-09", "2026-11-02"], ids=["spring-forward-week", "fall-back-week"]
)
def test_market_open_every_30m_in_the_dst_weeks_of_2026(store, monday: str) -> None:  # type: ignore[no-untyped-def]
    now = ny(f"{monday} 00:00") - timedelta(days=3)  # the Friday before the change
    schedule = schedule_for(store, now, at="market-open", every=timedelta(minutes=30))
    week = slots(schedule, now, 14 * 6)
    opens = [s for s in week if s.astimezone(NEW_YORK).time() == time(9, 30)]
    assert all(s.astimezone(NEW_YORK).time() < time(16, 0) for s in week)
    assert {s.astimezone(NEW_YORK).strftime("%H:%M") for s in week} == {
        f"{h:02d}:{m:02d}" for h in range(9, 16) for m in (0, 30) if (h, m) >= (9, 30)
    }, "the same 13 wall-clock slots every day, DST or not"
    after_change = [s for s in opens if s.astimezone(NEW_YORK).date().isoformat() >= monday][:5]
    assert len(after_change) == 5
    utc_hours = {s.date(): s.astimezone(UTC).hour for s in after_change}
    assert set(utc_hours.values()) == {13 if monday.startswith("2026-03") else 14}


# -- --daily across DST -------------------------------------------------------------------------
def test_daily_930_is_1430z_in_winter_and_1330z_in_summer(store) -> None:  # type: ignore[no-untyped-def]
    start = ny("2026-03-06 09:30")
    got = slots(schedule_for(store, start, at="9:30am", daily=True), start, 5)
    assert [s.astimezone(UTC).strftime("%m-%d %H:%MZ") for s in got] == [
        "03-06 14:30Z",
        "03-07 14:30Z",
        "03-08 13:30Z",
        "03-09 13:30Z",
        "03-10 13:30Z",
    ]


def test_daily_across_fall_back_fires_once_a_day(store) -> None:  # type: ignore[no-untyped-def]
    start = ny("2026-10-30 09:30")
    got = slots(schedule_for(store, start, at="9:30am", daily=True), start, 4)
    assert [s.astimezone(UTC).strftime("%m-%d %H:%MZ") for s in got] == [
        "10-30 13:30Z",
        "10-31 13:30Z",
        "11-01 14:30Z",
        "11-02 14:30Z",
    ]


def test_daily_nonexistent_0230_fires_once_at_0300_on_spring_forward_day() -> None:
    schedule = Daily(time(2, 30))
    got = slots(schedule, ny("2026-03-07 00:00"), 3)
    assert hm(got) == ["Sat 03-07 02:30", "Sun 03-08 03:00", "Mon 03-09 02:30"]
    assert got[1].astimezone(UTC).strftime("%H:%MZ") == "07:00Z"


def test_daily_ambiguous_0130_fires_once_on_fall_back_day() -> None:
    schedule = Daily(time(1, 30))
    got = slots(schedule, ny("2026-10-31 00:00"), 3)
    assert [s.astimezone(UTC).strftime("%m-%d %H:%MZ") for s in got] == [
        "10-31 05:30Z",
        "11-01 05:30Z",
        "11-02 06:30Z",
    ], "01:30 EDT on Nov 1 (its first occurrence) and never again that day"


def test_every_1d_is_24_hours_so_it_moves_on_the_wall_clock_across_dst(store) -> None:  # type: ignore[no-untyped-def]
    start = ny("2026-03-07 09:30")
    got = slots(schedule_for(store, start, every=timedelta(days=1)), start, 3)
    assert hm(got) == ["Sat 03-07 09:30", "Sun 03-08 10:30", "Mon 03-09 10:30"]


def test_daily_alone_runs_now_then_at_that_wall_time(store) -> None:  # type: ignore[no-untyped-def]
    start = ny("2026-03-07 11:15:42")
    got = slots(schedule_for(store, start, daily=True), start, 3)
    assert got[0] == start
    assert hm(got[1:]) == ["Sun 03-08 11:15", "Mon 03-09 11:15"]


def test_cron_on_new_york_time_across_spring_forward(store) -> None:  # type: ignore[no-untyped-def]
    start = ny("2026-03-08 01:00")
    got = slots(schedule_for(store, start, cron="*/30 1-3 * * *"), start, 5)
    assert hm(got) == [
        "Sun 03-08 01:00",
        "Sun 03-08 01:30",
        "Sun 03-08 03:00",
        "Sun 03-08 03:30",
        "Mon 03-09 01:00",
    ]


# -- guard decisions while running ----------------------------------------------------------------
def test_market_aware_loop_skips_the_weekend_with_a_reason(store) -> None:  # type: ignore[no-untyped-def]
    start = ny("2026-03-13 15:30")  # Friday
    clock = FakeClock(start)
    job = RecordingJob(market_aware=True)
    runner = make_runner(
        store,
        clock,
        job,
        schedule_for(store, start, every=timedelta(hours=1)),
        guard=True,
        max_runs=2,
    )
    asyncio.run(runner.run())
    assert hm([s for s, _ in job.history]) == ["Fri 03-13 15:30", "Mon 03-16 09:30"]
    reasons = {r.reason for r in JobsRepository(store).history("fake") if r.result == "skipped"}
    assert reasons == {
        "market closed: after the 16:00 close",
        "market closed: Saturday",
        "market closed: Sunday",
        "market closed: before the 09:30 open",
    }


def test_paused_job_skips_until_resumed(store) -> None:  # type: ignore[no-untyped-def]
    start = ny("2026-03-10 10:00")
    clock = FakeClock(start)
    repo = JobsRepository(store)
    repo.set_paused("fake", True, start)
    job = RecordingJob()
    runner = make_runner(
        store, clock, job, schedule_for(store, start, every=timedelta(minutes=1)), max_runs=1
    )

    async def scenario() -> None:
        task = asyncio.ensure_future(runner.run())
        while clock.now() < start + timedelta(minutes=3):
            await asyncio.sleep(0)
        repo.set_paused("fake", False, clock.now())
        await task

    asyncio.run(scenario())
    assert len(job.history) == 1 and job.history[0][0] >= start + timedelta(minutes=3)
    assert any((r.reason or "").startswith("paused") for r in repo.history("fake"))


# -- --catch-up -----------------------------------------------------------------------------------
def catch_up_run(store, now: str, grace: timedelta = timedelta(hours=1)) -> RecordingJob:  # type: ignore[no-untyped-def]
    clock = FakeClock(ny(now))
    job = RecordingJob(name="briefing")
    schedule = schedule_for(store, ny(now), at="9:30am", daily=True, catch_up=True)
    runner = make_runner(store, clock, job, schedule, guard=False)
    asyncio.run(catch_up(runner, grace))
    return job


def test_catch_up_inside_the_grace_runs_the_missed_slot_once(store) -> None:  # type: ignore[no-untyped-def]
    job = catch_up_run(store, "2026-03-10 10:10")  # the machine was down at 9:30
    assert hm([s for s, _ in job.history]) == ["Tue 03-10 09:30"]
    assert catch_up_run(store, "2026-03-10 10:15").history == [], "the next cron run does nothing"


def test_catch_up_outside_the_grace_does_nothing(store) -> None:  # type: ignore[no-untyped-def]
    assert catch_up_run(store, "2026-03-10 10:45").history == []
    assert catch_up_run(store, "2026-03-10 09:20").history == [], "before the slot: nothing due yet"


def test_catch_up_retries_a_failed_slot_on_the_next_cron_run(store) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock(ny("2026-03-10 09:31"))
    job = RecordingJob(name="briefing")
    job.fail_on.add(ny("2026-03-10 09:30"))
    runner = make_runner(
        store, clock, job, schedule_for(store, clock.now(), at="9:30am", daily=True, catch_up=True)
    )
    asyncio.run(catch_up(runner, timedelta(hours=1)))
    assert len(catch_up_run(store, "2026-03-10 09:36").history) == 1


@pytest.mark.parametrize(
    ("options", "now", "expected"),
    [
        ({"at": "market-open"}, "2026-11-27 09:41", ["Fri 11-27 09:30"]),
        ({"at": "market-open"}, "2026-11-26 09:41", []),  # Thanksgiving: no session, nothing due
        ({"at": "market-close"}, "2026-11-27 13:20", ["Fri 11-27 13:00"]),  # half day
        (
            {"at": "9:30am"},
            "2026-11-26 09:41",
            ["Thu 11-26 09:30"],
        ),  # a plain time knows no holidays
    ],
    ids=["market-open", "market-open-holiday", "market-close-half-day", "plain-time"],
)
def test_catch_up_with_a_time_alone_means_every_day(
    store, options, now: str, expected: list[str]
) -> None:  # type: ignore[no-untyped-def]
    clock = FakeClock(ny(now))
    job = RecordingJob(name="cron")
    runner = make_runner(
        store, clock, job, schedule_for(store, clock.now(), catch_up=True, **options)
    )
    asyncio.run(catch_up(runner, timedelta(hours=1)))
    assert hm([s for s, _ in job.history]) == expected


# -- suspend --------------------------------------------------------------------------------------
class SuspendingClock(FakeClock):
    """The machine sleeps at `at` and wakes `for_seconds` later: the wall clock jumps."""

    def __init__(self, start: datetime, at: datetime, for_seconds: float) -> None:
        super().__init__(start)
        self.suspend_at, self.for_seconds, self.done = at, for_seconds, False

    async def sleep(self, seconds: float) -> None:
        await super().sleep(seconds)
        if not self.done and self.now() >= self.suspend_at:
            self.done = True
            self.jump_wall(self.for_seconds)
            self.woke_at = self.now()


def test_suspend_fires_the_due_slot_at_once_after_resume(store) -> None:  # type: ignore[no-untyped-def]
    start = ny("2026-03-10 08:00")
    clock = SuspendingClock(
        start, at=ny("2026-03-10 08:05"), for_seconds=3 * 3600
    )  # asleep 08:05-11:05
    job = RecordingJob()
    runner = make_runner(
        store,
        clock,
        job,
        schedule_for(store, start, at="9:30am", daily=True),
        max_runs=1,
        max_chunk=1.0,
    )
    asyncio.run(runner.run())
    ((slot, started),) = job.history
    assert hm([slot]) == ["Tue 03-10 09:30"]
    assert (started - clock.woke_at).total_seconds() <= 1.0, (
        "fired within one chunk of waking, not hours later"
    )


def test_suspend_across_many_slots_fires_the_latest_and_records_the_rest_missed(store) -> None:  # type: ignore[no-untyped-def]
    start = ny("2026-03-10 10:00")
    clock = SuspendingClock(start, at=ny("2026-03-10 10:00:30"), for_seconds=600)
    job = RecordingJob()
    runner = make_runner(
        store,
        clock,
        job,
        schedule_for(store, start, every=timedelta(minutes=1)),
        max_runs=2,
        max_chunk=1.0,
    )
    asyncio.run(runner.run())
    assert hm([s for s, _ in job.history]) == ["Tue 03-10 10:00", "Tue 03-10 10:10"]
    missed = [r for r in JobsRepository(store).history("fake") if r.reason == MISSED]
    assert missed and missed[0].count == 9


# -- stop -----------------------------------------------------------------------------------------
def test_stop_during_a_run_waits_the_grace_then_cancels(store) -> None:  # type: ignore[no-untyped-def]
    class Hanging(RecordingJob):
        async def run(self, ctx: object) -> str:
            await asyncio.Event().wait()
            return "never"

    start = ny("2026-03-10 10:00")
    clock = FakeClock(start)
    job = Hanging()
    runner = make_runner(
        store, clock, job, schedule_for(store, start, every=timedelta(minutes=1)), stop_grace=0.05
    )

    async def scenario():  # type: ignore[no-untyped-def]
        task = asyncio.ensure_future(runner.run())
        await asyncio.sleep(0.01)
        runner.stop.set()
        return await task

    outcome = asyncio.run(scenario())
    assert outcome.exit_code == 0 and outcome.stopped
    assert job.terminated >= 1
    assert JobsRepository(store).history("fake")[0].result == "cancelled"


def test_stop_during_a_slow_live_market_check_ends_at_once_without_a_run(store) -> None:  # type: ignore[no-untyped-def]
    async def hanging_live_check():  # type: ignore[no-untyped-def]
        await asyncio.Event().wait()  # tastytrade does not answer

    start = ny("2026-03-10 10:00")  # open by the calendar: tastytrade is asked to confirm
    job = RecordingJob()
    runner = make_runner(store, FakeClock(start), job, schedule_for(store, start))
    runner.policy.guard = MarketGuard(MarketCalendar(store), hanging_live_check)

    async def scenario():  # type: ignore[no-untyped-def]
        task = asyncio.ensure_future(runner.run())
        await asyncio.sleep(0.01)
        runner.stop.set()
        return await asyncio.wait_for(task, timeout=1.0)

    outcome = asyncio.run(scenario())
    assert outcome.stopped and outcome.runs == 0 and job.history == []


def test_timeout_marks_the_run_failed(store) -> None:  # type: ignore[no-untyped-def]
    class Slow(RecordingJob):
        async def run(self, ctx: object) -> str:
            await asyncio.sleep(5)
            return "late"

    start = ny("2026-03-10 10:00")
    runner = make_runner(
        store, FakeClock(start), Slow(), schedule_for(store, start), timeout=0.05, stop_grace=0.05
    )
    outcome = asyncio.run(runner.run())
    assert outcome.exit_code == 1
    status = JobsRepository(store).statuses()[0]
    assert status.last_result == "timeout" and "longer than 0.05s" in (status.last_error or "")


# -- the repeated hour of the fall-back day (found in review) --------------------------------
@pytest.mark.parametrize(
    ("start_utc", "every", "runs"),
    [
        ("2026-11-01T04:00", timedelta(hours=1), 5),
        ("2026-11-01T05:30", timedelta(minutes=5), 20),
        ("2026-03-08T06:30", timedelta(minutes=10), 9),
    ],
    ids=[
        "hourly-through-fall-back",
        "every-5m-through-fall-back",
        "every-10m-through-spring-forward",
    ],
)
def test_grid_through_a_dst_change_runs_every_slot_on_time(
    store, start_utc: str, every: timedelta, runs: int
) -> None:  # type: ignore[no-untyped-def]
    start = datetime.fromisoformat(start_utc).replace(tzinfo=UTC)
    clock = FakeClock(start)
    job = RecordingJob()
    runner = make_runner(
        store,
        clock,
        job,
        schedule_for(store, clock.now(), every=every),
        max_runs=runs,
        max_chunk=1.0,
    )
    asyncio.run(runner.run())
    slots = [slot.astimezone(UTC) for slot, _ in job.history]
    assert slots == [start + k * every for k in range(runs)], "absolute spacing, through the change"
    assert all(
        abs((started.astimezone(UTC) - slot).total_seconds()) < 1
        for slot, (_, started) in zip(slots, job.history, strict=True)
    )
    assert not [r for r in JobsRepository(store).history("fake", 100) if r.result == "skipped"], (
        "nothing marked missed"
    )


# -- a crash outside the job: the runner resumes (found in review) ---------------------------
class FlakyRepository(JobsRepository):
    """Our repository, failing once while recording a run (a locked database, say)."""

    failures = 1

    def run_finished(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.failures:
            self.failures -= 1
            raise sqlite3.OperationalError("database is locked")
        return super().run_finished(*args, **kwargs)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, ["10:00:00"]),
        ({"every": timedelta(seconds=61), "max_runs": 2}, ["10:00:00", "10:01:01"]),
    ],
    ids=["once-runs-once", "grid-and-max-runs-survive-a-restart"],
)
def test_a_crash_while_recording_does_not_repeat_or_shift_runs(
    store, options, expected: list[str]
) -> None:  # type: ignore[no-untyped-def]
    from ttai_cli.services.scheduling import DaemonOptions, SchedulingService

    clock = FakeClock(ny("2026-03-10 10:00:00"))
    job = RecordingJob()
    service = SchedulingService(load_settings(environ={}), clock, store=store)
    repo = FlakyRepository(store)
    stop = asyncio.Event()
    schedule = service.schedule_for(job, ScheduleOptions(**options), clock.now(), None)  # type: ignore[arg-type]

    def make() -> Runner:
        return Runner(
            job=job,
            schedule=schedule,
            policy=Policy(job.name, repo, None),
            clock=clock,
            repo=repo,
            stop=stop,
            max_runs=options.get("max_runs"),
            max_chunk=3600.0,
        )

    asyncio.run(asyncio.wait_for(service.supervise(job, make, stop, DaemonOptions()), 5))  # type: ignore[arg-type]
    assert [f"{slot:%H:%M:%S}" for slot, _ in job.history] == expected
    assert JobsRepository(store).statuses()[0].restarts == 1


@pytest.mark.parametrize(
    ("options", "times", "runs"),
    [
        (
            {"at": "9:30am", "every": timedelta(hours=1)},
            ["2026-03-10 09:30:02", "2026-03-10 09:35", "2026-03-10 10:30:01", "2026-03-10 11:31"],
            [1, 0, 1, 1],
        ),
        (
            {"at": "market-open", "every": timedelta(minutes=30)},
            ["2026-03-11 09:30:02", "2026-03-11 09:40", "2026-03-11 10:00:01", "2026-03-11 10:31"],
            [1, 0, 1, 1],
        ),
    ],
    ids=["schedule-time-then-every", "market-open-then-every"],
)
def test_catch_up_with_a_time_and_a_repeat_runs_each_slot_once(
    store, options, times: list[str], runs: list[int]
) -> None:  # type: ignore[no-untyped-def]
    counts = []
    for when in times:
        clock = FakeClock(ny(when))
        job = RecordingJob(name="cron-grid")
        runner = make_runner(
            store, clock, job, schedule_for(store, clock.now(), catch_up=True, **options)
        )
        asyncio.run(catch_up(runner, timedelta(hours=1)))
        counts.append(len(job.history))
    assert counts == runs


def test_daily_catch_up_needs_a_time(store) -> None:  # type: ignore[no-untyped-def]
    from ttai_cli.errors import UsageError

    with pytest.raises(UsageError, match="--daily --catch-up needs the time of day"):
        schedule_for(store, ny("2026-03-10 10:00"), daily=True, catch_up=True)


def test_every_loop_runs_at_once_when_the_runner_starts_a_moment_after_the_build() -> None:
    from ttai_cli.scheduling.options import ScheduleOptions, build_schedule

    built = datetime(2026, 12, 1, 20, 0, tzinfo=NEW_YORK)
    schedule = build_schedule(
        ScheduleOptions(every=timedelta(minutes=5)), built, lambda: None, lambda c: None
    )  # type: ignore[arg-type, return-value]
    started = built + timedelta(milliseconds=3)  # the real clock moved on meanwhile
    assert schedule.first(started) == started, "not 5 minutes later"
    assert schedule.after(started) == started + timedelta(minutes=5)
