"""The schedule options every job command shares, and the schedule they describe.

`ScheduleOptions` holds what was typed (already parsed); `build_schedule` turns it into a
`Schedule`, refusing combinations that make no sense with one clear line (exit 2).

| typed | schedule |
|---|---|
| nothing | once, now |
| `--loop` | the job's default cadence |
| `--every D` / `--period S` / `--hourly` | a grid from now (or from `--schedule TIME`) |
| `--daily` | every day at the wall-clock time of the first run (or `--schedule TIME`) |
| `--schedule TIME` alone | once, at TIME today, else tomorrow |
| `--schedule market-open` / `--market-open` | once at the next session open; with a repeat option: from each open while the session lasts |
| `--schedule market-close` | once at the next close; with `--daily`: every close |
| `--cron EXPR` | the cron expression on New York wall-clock time |

With `--catch-up` (crontab calls ttai again and again), `--schedule TIME` alone means
every day at TIME, `--market-open` / `market-close` every session's open / close, and no
schedule option at all the job's own cadence (a briefing's time of day).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

from ttai_cli.clock import NEW_YORK
from ttai_cli.errors import UsageError
from ttai_cli.scheduling.parse import MARKET_TIMES, parse_time_of_day

if TYPE_CHECKING:
    from ttai_cli.market.calendar import MarketCalendar
    from ttai_cli.scheduling.schedules import Schedule

DEFAULT_GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class ScheduleOptions:
    loop: bool = False
    every: timedelta | None = None
    hourly: bool = False
    daily: bool = False
    at: str | None = None  # --schedule TIME | market-open | market-close
    cron: str | None = None
    days: frozenset[int] | None = None
    days_label: str = ""
    ignore_market_hours: bool = False
    catch_up: bool = False
    grace: timedelta = DEFAULT_GRACE
    max_runs: int | None = None
    timeout: timedelta | None = None
    dry_run: bool = False
    count: int = 10
    now: datetime | None = None
    as_json: bool = False
    ping: str | None = None  # --ping URL, checked and registered with the redactor

    @property
    def repeats(self) -> bool:
        return bool(self.loop or self.every or self.hourly or self.daily or self.cron)

    def validate(self) -> None:
        cadences = [
            name
            for name, given in (
                ("--every/--period", self.every),
                ("--hourly", self.hourly),
                ("--daily", self.daily),
                ("--cron", self.cron),
            )
            if given
        ]
        if len(cadences) > 1:
            raise UsageError(f"choose one of {', '.join(cadences)}")
        if self.cron and self.at:
            raise UsageError("--cron sets its own times; drop --schedule/--market-open")
        if self.at and self.at not in MARKET_TIMES:
            parse_time_of_day(self.at)
        if self.max_runs is not None and self.max_runs < 1:
            raise UsageError("--max-runs must be at least 1")
        if self.count < 1:
            raise UsageError("--count must be at least 1")
        if self.catch_up and self.dry_run:
            raise UsageError(
                "--catch-up and --dry-run do not go together; use --dry-run alone to see the slots"
            )

    def cadence(self) -> timedelta | None:
        if self.every:
            return self.every
        if self.hourly:
            return timedelta(hours=1)
        return None


def _first_at(at: str, calendar: Callable[[], MarketCalendar], now: datetime) -> Schedule:
    from ttai_cli.scheduling.schedules import Daily, Once
    from ttai_cli.scheduling.sessions import SessionCloses

    if at == "market-open":
        return Once(calendar().next_open(now - timedelta(microseconds=1)))
    if at == "market-close":
        return Once(SessionCloses(calendar()).first(now))
    wall = parse_time_of_day(at)
    return Once(Daily(wall).first(now))


def _latest_at(at: str, calendar: Callable[[], MarketCalendar], now: datetime) -> datetime:
    """The latest TIME (or session close) at or before `now`: where a --catch-up grid
    that starts at TIME is anchored, so that its slots today can be caught up."""
    from ttai_cli.scheduling.schedules import Daily
    from ttai_cli.scheduling.sessions import SessionCloses

    times: Schedule = (
        SessionCloses(calendar()) if at == "market-close" else Daily(parse_time_of_day(at))
    )
    found = times.latest(now, now.astimezone(UTC) - timedelta(days=10))
    return found if found is not None else times.first(now) or now


def build_schedule(
    options: ScheduleOptions,
    now: datetime,
    calendar: Callable[[], MarketCalendar],
    default: Callable[[MarketCalendar], Schedule | None] | None = None,
) -> Schedule:
    """The schedule the options describe. `calendar` is called only when the schedule
    needs the NYSE calendar; `default` gives the job's `--loop` cadence."""
    from ttai_cli.scheduling.schedules import Cron, Daily, Every, FirstThen, Once, localize
    from ttai_cli.scheduling.sessions import DuringSessions, SessionCloses, SessionOpens

    options.validate()
    if options.cron:
        return Cron(options.cron)
    period = options.cadence()
    if options.catch_up and not (options.repeats or options.at):
        # crontab calls `ttai briefing morning --catch-up`: the job's own times
        job_default = default(calendar()) if default else None
        if job_default is None:
            raise UsageError(
                "--catch-up needs a schedule here: give --daily, --schedule, --cron or --every"
            )
        return job_default
    if options.loop and period is None and not options.daily:
        loop_default = default(calendar()) if default else None
        if loop_default is None:
            raise UsageError(
                "--loop needs a cadence here: give --every, --hourly, --daily or --cron"
            )
        if options.at is None:
            return loop_default
        if isinstance(loop_default, Every):
            period = loop_default.period
        elif options.catch_up:
            return loop_default
        else:
            return FirstThen(_first_at(options.at, calendar, now), loop_default)

    at = options.at
    if at is None:
        if period is not None:
            # anchored at the first slot the runner asks for (a moment after `now`; an
            # anchor at `now` itself put the first run a whole period away), except for
            # crontab, to which a grid from now means nothing: midnight
            anchor = localize(now.date(), time(0, 0)) if options.catch_up else None
            return Every(period, anchor)
        if options.daily:  # now, then the same wall-clock time every day
            if options.catch_up:
                raise UsageError("--daily --catch-up needs the time of day: add --schedule TIME")
            return FirstThen(
                Once(now), Daily(now.astimezone(NEW_YORK).time().replace(microsecond=0))
            )
        return Once()
    if period is None and not options.daily:
        if options.catch_up:  # crontab runs it again and again: TIME means every day at TIME
            if at == "market-open":
                return SessionOpens(calendar())
            if at == "market-close":
                return SessionCloses(calendar())
            return Daily(parse_time_of_day(at))
        return _first_at(at, calendar, now)
    if at == "market-open":  # the first run at the next open, then while the session lasts
        if options.daily:
            return SessionOpens(calendar())
        if options.catch_up:  # crontab: the sessions' grid, already under way or not
            return DuringSessions(calendar(), period or timedelta(days=1))
        return FirstThen(
            _first_at(at, calendar, now), DuringSessions(calendar(), period or timedelta(days=1))
        )
    if at == "market-close" and options.daily:
        return SessionCloses(calendar())
    if options.daily:
        return Daily(parse_time_of_day(at))
    assert period is not None
    if options.catch_up:  # crontab: the grid from the latest TIME (or close) at or before now
        return Every(period, _latest_at(at, calendar, now))
    return FirstThen(_first_at(at, calendar, now), Every(period))
