"""Running jobs on their schedules: locks, guard, runners, dry runs, catch-up.

The CLI hands over parsed `ScheduleOptions` and the jobs; this service opens the
database, takes each job's lock (a job another process already runs is left alone:
exit 0), builds each job's schedule and policy, and runs them in one event loop until
they end or a signal stops them.
"""

from __future__ import annotations

import os
import time as _time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ttai_cli import logs
from ttai_cli.clock import Clock
from ttai_cli.config import Settings
from ttai_cli.errors import UsageError
from ttai_cli.jobs import JOB_NAMES
from ttai_cli.jobs.base import Job
from ttai_cli.market.calendar import MarketCalendar
from ttai_cli.market.guard import LiveCheck, MarketGuard
from ttai_cli.scheduling.locks import JobLock
from ttai_cli.scheduling.options import ScheduleOptions, build_schedule
from ttai_cli.scheduling.policy import Policy
from ttai_cli.store import Store, open_store
from ttai_cli.store.jobs import JobsRepository, JobStatus

if TYPE_CHECKING:
    from ttai_cli.broker.models import Broker, MarketSessionStatus
    from ttai_cli.scheduling.engine import Outcome

log = logs.get("scheduler")
LIVE_CHECK_TTL = 300.0  # seconds: confirm an open market at most every 5 minutes


@dataclass(frozen=True)
class SlotPreview:
    """One line of `--dry-run`: SPEC `{"at", "action", "reason"}`."""

    at: datetime
    action: str
    reason: str


def cached_live_check(check: LiveCheck, ttl: float = LIVE_CHECK_TTL) -> LiveCheck:
    """At most one live market-status request per `ttl` seconds per process."""
    cache: dict[str, tuple[float, MarketSessionStatus]] = {}

    async def cached() -> MarketSessionStatus:
        hit = cache.get("status")
        if hit is not None and _time.monotonic() - hit[0] < ttl:
            return hit[1]
        status = await check()
        cache["status"] = (_time.monotonic(), status)
        return status

    return cached


class SchedulingService:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        live_check: LiveCheck | None = None,
        store: Store | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.live_check = cached_live_check(live_check) if live_check else None
        self._store = store

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.settings.database_path)
        return self._store

    @property
    def repo(self) -> JobsRepository:
        return JobsRepository(self.store)

    def calendar(self) -> MarketCalendar:
        return MarketCalendar(self.store)

    def policy(self, job: Job, options: ScheduleOptions, *, live: bool) -> Policy:
        guard = None
        if job.market_aware and not options.ignore_market_hours:
            guard = MarketGuard(self.calendar(), self.live_check if live else None)
        reason = (
            "market hours ignored" if job.market_aware else "scheduled (not bound to market hours)"
        )
        return Policy(job.name, self.repo, guard, options.days, options.days_label, reason)

    # -- dry run -----------------------------------------------------------------------------
    def dry_run(self, job: Job, options: ScheduleOptions) -> list[SlotPreview]:
        """The next `options.count` slots from `options.now` (default now), each with the
        decision the calendar gives today. Runs nothing, takes no lock, no network."""
        now = options.now or self.clock.now()
        schedule = build_schedule(options, now, self.calendar, job.default_schedule)
        policy = self.policy(job, options, live=False)
        previews: list[SlotPreview] = []
        slot = schedule.first(now)
        while slot is not None and len(previews) < options.count:
            decision = policy.decide(slot)
            previews.append(SlotPreview(slot, "run" if decision.run else "skip", decision.reason))
            slot = schedule.after(slot)
        return previews

    # -- running -----------------------------------------------------------------------------
    def execute(self, jobs: list[Job], options: ScheduleOptions, *, stop_grace: float = 5.0) -> int:
        """Run `jobs` per `options` in this process; the exit code per SPEC."""
        import asyncio

        if options.now is not None:
            raise UsageError("--now only goes with --dry-run (or `ttai market status`)")
        return asyncio.run(self._execute(jobs, options, stop_grace))

    async def _execute(self, jobs: list[Job], options: ScheduleOptions, stop_grace: float) -> int:
        import asyncio

        from ttai_cli.scheduling.engine import Runner, catch_up, install_stop_handlers

        stop = asyncio.Event()
        install_stop_handlers(stop)
        pid = os.getpid()
        held: list[tuple[JobLock, Job]] = []
        runs: list[Awaitable[Outcome]] = []
        outcomes: list[Outcome] = []
        try:
            now = self.clock.now()
            for job in jobs:
                schedule = build_schedule(options, now, self.calendar, job.default_schedule)
                lock = JobLock(self.settings.locks_dir, job.name)
                if not lock.acquire():
                    holder = lock.holder()
                    log.info(
                        "%s: already running%s; nothing to do",
                        job.name,
                        f" (pid {holder})" if holder else "",
                    )
                    continue
                held.append((lock, job))
                self.repo.claim(job.name, pid, now)
                runner = Runner(
                    job=job,
                    schedule=schedule,
                    policy=self.policy(job, options, live=True),
                    clock=self.clock,
                    repo=self.repo,
                    stop=stop,
                    max_runs=options.max_runs,
                    timeout=options.timeout.total_seconds() if options.timeout else None,
                    stop_grace=stop_grace,
                    pid=pid,
                )
                runs.append(catch_up(runner, options.grace) if options.catch_up else runner.run())
            outcomes = await asyncio.gather(*runs)
        finally:
            for lock, job in held:
                self.repo.release(job.name, pid, self.clock.now())
                lock.release()
        return max((o.exit_code for o in outcomes), default=0)

    # -- status / pause / resume --------------------------------------------------------------
    def statuses(self) -> list[JobStatus]:
        return self.repo.statuses()

    def known_job(self, name: str) -> str:
        known = set(JOB_NAMES) | set(self.repo.known_jobs())
        if name not in known:
            raise UsageError(f"unknown job {name!r} (jobs: {', '.join(sorted(known))})")
        return name

    def set_paused(self, name: str, paused: bool) -> None:
        self.repo.set_paused(self.known_job(name), paused, self.clock.now())


def broker_live_check(open_broker: Callable[[], Broker]) -> LiveCheck:
    """tastytrade's own view of the NYSE session, through a fresh broker."""

    async def check() -> MarketSessionStatus:
        async with open_broker() as broker:
            return await broker.market_session()

    return check
