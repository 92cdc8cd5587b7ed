"""Running jobs on their schedules: locks, guard, runners, dry runs, catch-up.

The CLI hands over parsed `ScheduleOptions` and the jobs; this service opens the
database, takes each job's lock (a job another process already runs is left alone:
exit 0), builds each job's schedule and policy, and runs them in one event loop until
they end or a signal stops them.

Pings (`--ping URL`, `[jobs.NAME] ping` in config.toml; `services/pings.py`): a process
that runs one job gives it the command line's `--ping`, else the file's URL for it
(`cmd:NAME` or `NAME` for `ttai run --name NAME -- COMMAND`). A process that runs several
jobs (`ttai run monitor sync`, the daemon) keeps each job's file URL, and `--ping` is the
process's own check: `/start` when it starts, every minute success (or `/fail` with the
error while a job's failures have made their `error` notification), and at the end
success, or `/fail` when the exit code is not 0; nothing after a stop by a signal. A
process that ends with an error outside a run (the database failing a one-off before or
between its runs, a revoked token, a one-off's crash) sends each job's check a `/fail`
with it, unless that job's last ping already was its run's `/fail`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ttai_cli import logs
from ttai_cli.clock import NEW_YORK, Clock
from ttai_cli.config import Settings
from ttai_cli.errors import DatabaseMoved, Interrupted, StoreError, TtaiError, UsageError
from ttai_cli.jobs import JOB_NAMES
from ttai_cli.jobs.base import Job
from ttai_cli.market.calendar import MarketCalendar
from ttai_cli.market.guard import LiveCheck, MarketGuard
from ttai_cli.market.live import cached_live_check
from ttai_cli.scheduling.locks import JobLock
from ttai_cli.scheduling.options import ScheduleOptions, build_schedule
from ttai_cli.scheduling.policy import Policy
from ttai_cli.store import Store, open_settings_store
from ttai_cli.store.jobs import JobsRepository, JobStatus

if TYPE_CHECKING:
    import asyncio
    from pathlib import Path

    from ttai_cli.scheduling.engine import Outcome, Runner
    from ttai_cli.scheduling.process import ProcessRuns
    from ttai_cli.scheduling.schedules import Schedule
    from ttai_cli.services.exposition import MetricsFile
    from ttai_cli.services.notifications import Notifier
    from ttai_cli.services.pings import JobPings, Pinger
    from ttai_cli.store.stream import FeedState

log = logs.get("scheduler")
FAILURES_BEFORE_ALERT = 3  # consecutive failed runs that make one `error` notification
# README: a stopped process ends within 5 s. A run in progress gets 4 of them to finish;
# cancelling it, closing the broker and the database, and leaving take the rest.
STOP_GRACE = 4.0
RELEASE_WAIT = 1.0  # seconds the release of a job waits for a busy database on the way out
# How often a running process checks that its database file is still the one at its
# path, besides before every run: a run that lasts (the stream's) stops within it.
DATABASE_CHECK_EVERY = 1.0


@dataclass(frozen=True)
class DaemonOptions:
    """`ttai run` with no job: every job at its own cadence, supervised."""

    when_closed: timedelta | None = None  # polling jobs' cadence while closed; None: paused
    restart_base: float = 1.0  # seconds before restarting a crashed task, doubling
    restart_max: float = 60.0


@dataclass(frozen=True)
class SlotPreview:
    """One line of `--dry-run`: SPEC `{"at", "action", "reason"}`."""

    at: datetime
    action: str
    reason: str


class SchedulingService:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        live_check: LiveCheck | None = None,
        store: Store | None = None,
    ) -> None:
        from ttai_cli.services.pings import PING_TIMEOUT

        self.settings = settings
        self.clock = clock
        self.live_check = cached_live_check(live_check) if live_check else None
        self._store = store
        self._notifier: Notifier | None = None
        self._told_revoked = False  # the one `error` notification about a revoked token went out
        self.ping_timeout = PING_TIMEOUT  # seconds a ping may hold up a job (tests: less)
        # job -> (consecutive failures, last error): the process check of `run --ping`
        self._streaks: dict[str, tuple[int, str | None]] = {}

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_settings_store(self.settings)
        return self._store

    @property
    def repo(self) -> JobsRepository:
        return JobsRepository(self.store)

    def calendar(self) -> MarketCalendar:
        return MarketCalendar(self.store)

    def policy(self, job: Job, options: ScheduleOptions, *, live: bool) -> Policy:
        own: ScheduleOptions | None = getattr(job, "own_schedule", None)
        if own is not None:  # a daemon job with a schedule of its own ([ask.NAME]): its days
            ignore = own.ignore_market_hours or options.ignore_market_hours
            options = dataclasses.replace(own, ignore_market_hours=ignore)
        guard = None
        if job.market_aware and not options.ignore_market_hours:
            live = live and getattr(job, "confirm_live", True)
            guard = MarketGuard(
                self.calendar(),
                self.live_check if live else None,
                getattr(job, "alert_markets", None),  # jobs that check alerts: their markets
            )
        reason = (
            "market hours ignored" if job.market_aware else "scheduled (not bound to market hours)"
        )
        return Policy(
            job.name,
            self.repo,
            guard,
            options.days,
            options.days_label,
            reason,
            getattr(job, "defer_reason", None),
        )

    # -- dry run -----------------------------------------------------------------------------
    def dry_run(self, job: Job, options: ScheduleOptions) -> list[SlotPreview]:
        """The next `options.count` slots from `options.now` (default now), each with the
        decision the calendar gives today; with --max-runs, no further than the slot that
        would be the last run. Runs nothing, takes no lock, no network."""
        now = options.now or self.clock.now()
        schedule = self.schedule_for(job, options, now, None)
        policy = self.policy(job, options, live=False)
        previews: list[SlotPreview] = []
        slot = schedule.first(now)
        runs = 0
        while slot is not None and len(previews) < options.count:
            decision = policy.decide(slot)
            previews.append(
                SlotPreview(
                    slot.astimezone(NEW_YORK), "run" if decision.run else "skip", decision.reason
                )
            )
            runs += decision.run
            if options.max_runs is not None and runs >= options.max_runs:
                break
            slot = schedule.after(slot)
        return previews

    # -- running -----------------------------------------------------------------------------
    def run_and_wait(
        self,
        jobs: list[Job],
        options: ScheduleOptions,
        *,
        stop_grace: float = STOP_GRACE,
        daemon: DaemonOptions | None = None,
        metrics_file: Path | None = None,
    ) -> int:
        """Run `jobs` per `options` (or, as the daemon, each at its own cadence) in this
        process; the exit code per SPEC. `metrics_file`: keep the Prometheus exposition
        there (at start, every minute, at the end)."""
        import asyncio

        if options.now is not None:
            raise UsageError("--now only goes with --dry-run (or `ttai market status`)")
        return asyncio.run(
            self.run_jobs(
                jobs, options, stop_grace=stop_grace, daemon=daemon, metrics_file=metrics_file
            )
        )

    def schedule_for(
        self, job: Job, options: ScheduleOptions, now: datetime, daemon: DaemonOptions | None
    ) -> Schedule:
        from ttai_cli.scheduling.schedules import Every, Merged
        from ttai_cli.scheduling.sessions import DuringMarkets, DuringSessions, WhileClosed

        # --ignore-market-hours: a job that repeats while NYSE is open (monitor, alerts,
        # sync) keeps that cadence at all hours, under --loop and in the daemon
        every = job.open_market_cadence() if options.ignore_market_hours else None
        if daemon is None:
            if every is not None and options.loop:
                return build_schedule(options, now, self.calendar, lambda _: Every(every))
            return build_schedule(options, now, self.calendar, job.default_schedule)
        if every is not None:
            return Every(every)
        calendar = self.calendar()
        if job.cadence is not None:  # polling jobs: at their cadence while open
            markets = getattr(job, "alert_markets", None)
            during: Schedule = (
                DuringMarkets(calendar, job.cadence, markets)  # jobs that check alerts
                if markets is not None  # NYSE alone: DuringSessions' own slots
                else DuringSessions(calendar, job.cadence)
            )
            return (
                during
                if daemon.when_closed is None
                else Merged(during, WhileClosed(calendar, daemon.when_closed))
            )
        schedule = job.default_schedule(calendar)
        if schedule is None:
            raise UsageError(f"{job.name} has no cadence of its own to run in the daemon")
        return schedule

    def ping_urls(
        self, jobs: list[Job], options: ScheduleOptions, daemon: DaemonOptions | None
    ) -> tuple[dict[str, str], str | None]:
        """(job name -> its ping URL, the process's own ping URL or None)."""
        several = daemon is not None or len(jobs) > 1
        urls: dict[str, str] = {}
        for job in jobs:
            url = None if several else options.ping
            for name in config_names(job):
                url = url or self.settings.file.ping_for(name)
            if url:
                urls[job.name] = url
        return urls, options.ping if several else None

    async def run_jobs(
        self,
        jobs: list[Job],
        options: ScheduleOptions,
        *,
        stop_grace: float = STOP_GRACE,
        daemon: DaemonOptions | None = None,
        stop: asyncio.Event | None = None,
        max_chunk: float = 1.0,
        metrics_file: Path | None = None,
    ) -> int:
        """The event-loop side of `run_and_wait` (tests drive it with a virtual clock)."""
        import asyncio

        from ttai_cli.scheduling import sd_notify
        from ttai_cli.scheduling.catch_up import catch_up
        from ttai_cli.scheduling.engine import Outcome, Runner
        from ttai_cli.scheduling.process import ProcessRuns
        from ttai_cli.scheduling.stop_signals import install_stop_handlers

        received: list[int] = []  # the stop signal, if one came
        # A one-off (no repeat option, --catch-up) is never restarted: whatever ends it
        # ends the process, with one line (a full disk: exit 1). Loops and the daemon are
        # supervised: a crash restarts the loop after a backoff.
        one_off = daemon is None and (options.catch_up or not options.repeats)
        if stop is None:
            stop = asyncio.Event()
            install_stop_handlers(stop, received)
        pid = os.getpid()
        process = ProcessRuns(store=self.store)
        ping_urls, process_ping = self.ping_urls(jobs, options, daemon)
        pinger = None
        if ping_urls or process_ping:
            began = time.perf_counter()
            from ttai_cli.services.pings import Pinger

            pinger = Pinger(self.clock, stop, timeout=self.ping_timeout)
            pinger.waited = time.perf_counter() - began
        liveness: asyncio.Future[None] | None = None
        job_pings: list[JobPings] = []
        ended_by: Exception | None = None  # what ends the process before its runs do
        held: list[tuple[JobLock, Job]] = []
        runs: list[Awaitable[Outcome]] = []
        outcomes: list[Outcome | BaseException] = []
        watchdog: asyncio.Future[None] | None = None
        metrics = self.metrics_file(metrics_file)
        refreshing: asyncio.Future[None] | None = None
        deliverer: asyncio.Future[None] | None = None
        watcher: asyncio.Future[None] | None = None
        try:
            for job in jobs:
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
                url = ping_urls.get(job.name)
                pings = pinger.for_job(job.name, url) if pinger and url else None
                if pings is not None:
                    job_pings.append(pings)
                claimed = self._claim(job, pid, one_off)
                policy = self.policy(job, options, live=True)
                if (
                    daemon is not None
                    and daemon.when_closed is not None
                    and job.cadence is not None
                ):
                    policy.guard = None  # asked to poll while closed too
                    policy.run_reason = "scheduled (daemon polls while closed)"

                def make_runner(
                    job: Job = job,
                    policy: Policy = policy,
                    claimed: bool = claimed,
                    pings: JobPings | None = pings,
                ) -> Runner:
                    return Runner(
                        job=job,
                        schedule=self.schedule_for(job, options, self.clock.now(), daemon),
                        policy=policy,
                        clock=self.clock,
                        repo=self.repo,
                        stop=stop,
                        max_runs=options.max_runs,
                        timeout=options.timeout.total_seconds() if options.timeout else None,
                        stop_grace=stop_grace,
                        max_chunk=max_chunk,
                        pid=pid,
                        on_streak=self.notify_streak,
                        process=process,
                        one_off=one_off,
                        claimed=claimed,
                        pings=pings,
                    )

                if options.catch_up:
                    runs.append(catch_up(make_runner(), options.grace))
                elif one_off:
                    runs.append(make_runner().run())
                else:
                    runs.append(self.supervise(job, make_runner, stop, daemon or DaemonOptions()))
            if metrics is not None:  # once the jobs are claimed: they show as running
                await metrics.write()
                refreshing = asyncio.ensure_future(metrics.refresh(stop))
            if runs:
                sd_notify.notify(f"READY=1\nSTATUS=running {', '.join(j.name for _, j in held)}")
                interval = sd_notify.watchdog_interval()
                if interval:
                    watchdog = asyncio.ensure_future(_ping_watchdog(interval))
                if daemon is not None and self.settings.file.quiet_hours is not None:
                    # quiet hours end at 07:00 while the jobs wait for the open: deliver then
                    deliverer = asyncio.ensure_future(self.notifier().deliver_released(stop))
                watcher = asyncio.ensure_future(_watch_database(process, stop))
                if pinger is not None and process_ping is not None:
                    names = ", ".join(j.name for _, j in held)
                    await pinger.send(process_ping, "start", f"ttai run: {names}", what="ttai run")
                    liveness = asyncio.ensure_future(
                        self._process_liveness(pinger, process_ping, names)
                    )
            outcomes = list(await asyncio.gather(*runs, return_exceptions=True))
        except Exception as exc:  # (the database failed a one-off's claim)
            ended_by = exc
            raise
        finally:
            for task in (watchdog, watcher, liveness):
                if task is not None:
                    task.cancel()
            if refreshing is not None:
                refreshing.cancel()
                await asyncio.gather(refreshing, return_exceptions=True)
            if deliverer is not None:
                deliverer.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await deliverer
            if runs:
                sd_notify.notify("STOPPING=1")
            # leaving because the database failed (or anything else did): no more waiting
            patience = 0.0 if process.fatal or sys.exc_info()[0] else RELEASE_WAIT
            for lock, job in held:
                if not process.store_lost:  # a lost database is not written to any more
                    self._release(job, pid, patience)
                lock.release()
            for job in jobs:
                await job.close()
            if metrics is not None and not process.store_lost:  # the jobs' last runs
                await metrics.write()
            crashed = (o for o in outcomes if isinstance(o, Exception))
            ended_by = ended_by or process.fatal or next(crashed, None)
            if ended_by is not None:  # each job's check hears why the process ends
                why = logs.redact(str(ended_by) or ended_by.__class__.__name__)
                # side by side: each waits at most its cap, never one after another
                await asyncio.gather(*(pings.ended(why) for pings in job_pings))
        if process.store_lost and not one_off:  # a loop that stops tells the user why
            await self._tell_stopped(process.fatal)
        code = max((o.exit_code for o in outcomes if isinstance(o, Outcome)), default=0)
        crash = next((o for o in outcomes if isinstance(o, BaseException)), None)
        if pinger is not None and process_ping is not None and runs:
            await self._process_ended(pinger, process_ping, process, code, crash, stop.is_set())
        if pinger is not None:  # what the pings cost this process (bench/ops.py reads it)
            log.debug(
                "pings: %d taken, %d not, %.1f ms spent on them",
                pinger.sent,
                pinger.failed,
                pinger.waited * 1000,
            )
        if process.fatal is not None:  # (a revoked token, the database) one line, its code
            raise process.fatal
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome  # a one-off's crash: never restarted, it ends the process
        if one_off and received[:1] == [signal.SIGINT]:
            raise Interrupted("interrupted")  # Ctrl-C: 130; a loop stopped by any signal: 0
        if stop.is_set() and runs:
            log.info("stopped cleanly")
        return code

    def _claim(self, job: Job, pid: int, one_off: bool) -> bool:
        """Record that this process runs `job`; whether that worked. A database that
        fails it ends a one-off (and any run on a damaged or read-only database); a loop
        goes on, and its runner tries again each cycle."""
        try:
            self.repo.claim(job.name, pid, self.clock.now(), heartbeat_s=30.0)
        except StoreError as exc:
            if one_off or exc.exit_code == 2:
                raise
            log.warning("%s: could not record that this process runs it: %s", job.name, exc)
            return False
        return True

    def _release(self, job: Job, pid: int, patience: float) -> None:
        """Best effort, on the way out, waiting at most `patience` seconds for a busy
        database: it must not hold up the exit (a running_pid left behind belongs to a
        dead process, which `ttai status` reads as not running)."""
        try:
            with self.store.patience(patience):
                self.repo.release(job.name, pid, self.clock.now())
        except StoreError as exc:
            log.debug("%s: release not recorded: %s", job.name, exc)

    def metrics_file(self, path: Path | None) -> MetricsFile | None:
        """The refresher of `ttai run --metrics-file` (None without one)."""
        if path is None:
            return None
        from ttai_cli.services.exposition import (
            ExpositionService,
            MetricsFile,
            configured_destinations,
        )

        service = ExpositionService(self.store, self.clock, configured_destinations(self.settings))
        return MetricsFile(path, service, self.clock)

    def _failing(self) -> list[str]:
        """`job: last error line` for each job whose failures made an `error` notification."""
        from ttai_cli.services.pings import last_line

        return [
            f"{job} failed {count} times in a row: {last_line(error)}"
            for job, (count, error) in self._streaks.items()
            if count >= FAILURES_BEFORE_ALERT
        ]

    async def _process_liveness(self, pinger: Pinger, url: str, names: str) -> None:
        """`ttai run --ping URL` with several jobs: every minute, success while no job
        keeps failing, else `/fail` naming the jobs that do (the check stays down until
        they work again; healthchecks.io alerts once per change)."""
        from ttai_cli.services.pings import LIVENESS_EVERY

        while True:
            await self.clock.sleep(LIVENESS_EVERY)
            failing = self._failing()
            if failing:
                await pinger.send(url, "fail", "; ".join(failing), what="ttai run")
            else:
                await pinger.send(url, "success", f"ttai run: {names} running", what="ttai run")

    async def _process_ended(
        self,
        pinger: Pinger,
        url: str,
        process: ProcessRuns,
        code: int,
        crash: BaseException | None,
        stopped: bool,
    ) -> None:
        """The process check's last word: `/fail` when the process fails (a revoked
        token, the database, a one-off's crash, a job's last run failed), success when it
        ends well; after a stop by a signal nothing (as for a cancelled run)."""
        import asyncio

        from ttai_cli.services.pings import last_line

        if process.fatal is not None:
            await pinger.send(url, "fail", f"ttai run: {process.fatal}", what="ttai run")
        elif crash is not None and not isinstance(crash, asyncio.CancelledError):
            text = f"ttai run: {last_line(str(crash)) or crash.__class__.__name__}"
            await pinger.send(url, "fail", text, what="ttai run")
        elif stopped:
            return
        elif code:
            failed = [
                f"{job}: {last_line(error)}"
                for job, (count, error) in self._streaks.items()
                if count
            ]
            await pinger.send(url, "fail", "; ".join(failed) or "ttai run failed", what="ttai run")
        else:
            await pinger.send(url, "success", "ttai run: done", what="ttai run")

    async def supervise(
        self,
        job: Job,
        make_runner: Callable[[], Runner],
        stop: asyncio.Event,
        daemon: DaemonOptions,
    ) -> Outcome:
        """Run the job's loop; if it crashes (an error outside a run), record it, wait
        (1 s, 2 s, 4 s ... up to a minute, on the clock) and start it again. Other jobs
        in the process are not affected."""
        import asyncio

        delay = daemon.restart_base
        runner = make_runner()  # one runner: a restart resumes it, it does not start over
        while True:
            try:
                return await runner.run()
            except Exception as exc:
                damaged = self.store.damage(exc)
                if damaged is not None:
                    runner.process.lose_store(damaged, stop)
                if runner.process.store_lost:  # no restart mends a damaged or moved database
                    runner.outcome.stopped = True
                    return runner.outcome
                message = logs.redact(f"crashed: {exc.__class__.__name__}: {exc}")
                log.error("%s: %s; restarting in %.0fs", job.name, message, delay)
                log.debug("%s: crash", job.name, exc_info=True)
                with contextlib.suppress(Exception):  # the database may be what failed
                    self.repo.restarted(job.name, self.clock.now(), message)
            waiting = asyncio.ensure_future(self.clock.sleep(delay))
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            stopping.cancel()
            if stop.is_set():
                runner.outcome.stopped = True
                return runner.outcome
            delay = min(delay * 2, daemon.restart_max)

    async def notify_streak(
        self, job: str, before: int, after: int, error: str | None, revoked: bool = False
    ) -> None:
        """One `error` notification when a job has failed FAILURES_BEFORE_ALERT times in
        a row, one `info` when it works again: never one per failed cycle. A refresh token
        revoked while the process ran makes one `error` notification at once, for all its
        jobs, and no "keeps failing" one after it, until a run works again. A notification
        the database cannot store (a full disk) is logged instead."""
        from ttai_cli.notify.models import Notification

        self._streaks[job] = (after, error)
        if revoked:
            if self._told_revoked:
                return
            self._told_revoked = True
            notification = Notification(
                "error",
                "ttai: tastytrade rejected the refresh token",
                f"{job}: {error}, then restart ttai. Until then every job that talks to "
                "tastytrade fails (`ttai status` shows it).",
                {"job": job, "error": error},
            )
        elif after == FAILURES_BEFORE_ALERT:
            notification = Notification(
                "error",
                f"ttai {job} keeps failing",
                f"{job} failed {after} times in a row. Last error: {error}",
                {"job": job, "failures": after, "error": error},
            )
        elif after == 0 and before > 0 and (before >= FAILURES_BEFORE_ALERT or self._told_revoked):
            self._told_revoked = False  # the token works again: a new revocation is news
            notification = Notification(
                "info",
                f"ttai {job} works again",
                f"{job} succeeded after {before} failures in a row.",
                {"job": job, "failures": before},
            )
        else:
            return
        try:
            await self.notifier().notify(notification)
        except StoreError as exc:  # a full disk cannot keep it either: the log has it
            log.error("%s: %s (not notified: %s)", notification.title, notification.body, exc)

    def notifier(self) -> Notifier:
        if self._notifier is None:
            from ttai_cli.services.notifications import Notifier

            # routes were checked before the runs of a process that sends (exit 2); a
            # one-off that sends nothing of its own may still tell of a revoked token
            self._notifier = Notifier(self.settings, self.store, self.clock, strict=False)
        return self._notifier

    async def _tell_stopped(self, error: TtaiError | None) -> None:
        """One `error` notification that a loop stopped over its database (moved or
        damaged). It is not stored: the database is the thing that cannot be trusted, so
        it goes out once, now, to each destination; what cannot be delivered is logged."""
        from ttai_cli.notify.models import Notification

        moved = isinstance(error, DatabaseMoved)
        notification = Notification(
            "error",
            "ttai stopped: its database file was moved or replaced"
            if moved
            else "ttai stopped: its database is damaged",
            f"{error}",
            {"path": str(self.settings.database_path), "reason": "moved" if moved else "damaged"},
        )
        try:
            failures = await self.notifier().send_unstored(notification)
        except Exception as exc:  # telling must not hide the error itself
            failures = {"all": f"{exc.__class__.__name__}: {exc}"}
        for destination, why in failures.items():
            log.warning("could not notify %s that ttai stopped: %s", destination, why)

    # -- status / pause / resume --------------------------------------------------------------
    def statuses(self, now: datetime | None = None) -> list[JobStatus]:
        return self.repo.statuses(now)

    def running_elsewhere(self, name: str) -> int | None:
        """The pid of another process running job `name` (-1 when unknown), else None."""
        lock = JobLock(self.settings.locks_dir, name)
        if lock.acquire():
            lock.release()
            return None
        return lock.holder() or -1

    def stream_states(self, now: datetime) -> list[FeedState]:
        """The streams' feeds as their jobs last wrote them (any process)."""
        from ttai_cli.store.stream import StreamStateRepository

        return StreamStateRepository(self.store).states(now)

    def known_job(self, name: str) -> str:
        known = set(JOB_NAMES) | set(self.repo.known_jobs()) | {"ask"}
        known |= {f"ask:{n}" for n in self.settings.file.ask_jobs}
        if name not in known:
            raise UsageError(f"unknown job {name!r} (jobs: {', '.join(sorted(known))})")
        return name

    def set_paused(self, name: str, paused: bool) -> None:
        self.repo.set_paused(self.known_job(name), paused, self.clock.now())


async def _watch_database(process: ProcessRuns, stop: asyncio.Event) -> None:
    """Every DATABASE_CHECK_EVERY seconds (real time), check the database file is still
    the one at its path; if not, every runner stops (also in the middle of a long run)."""
    import asyncio

    while not stop.is_set():
        await asyncio.sleep(DATABASE_CHECK_EVERY)
        if not process.database_usable(stop):
            return


def config_names(job: Job) -> list[str]:
    """The `[jobs.NAME]` tables that may hold a job's ping: its name; for `ttai run --name
    NAME -- COMMAND`, `cmd:NAME` (SPEC: a bare `[jobs.NAME]` is not a job's table, and
    config.toml refuses one that names no job)."""
    from ttai_cli.jobs.command import CommandJob

    if isinstance(job, CommandJob) and not job.name.startswith("cmd:"):
        return [f"cmd:{job.name}"]
    return [job.name]


async def _ping_watchdog(interval: float) -> None:
    import asyncio

    from ttai_cli.scheduling import sd_notify

    while True:
        sd_notify.notify("WATCHDOG=1")
        await asyncio.sleep(interval)
