"""The engine: wait for each slot, decide run or skip, run with a time limit, record.

This module is the `Runner` (the loop over slots, its sleeps, skips and bookkeeping, and
recording each run). Beside it: `execution` runs one job (time limit, stop, grace),
`process` is what the runners of one process share (the database's loss), `catch_up` is
crontab's one run, and `stop_signals` turns SIGTERM, SIGINT and SIGHUP into a stop.

Guarantees, each covered by tests with an injected clock:
- Fixed grid, no drift: slots come from the schedule, never from "end of run + period".
- No stacking: a slot that comes due while the previous run is still going is recorded as
  skipped ("previous run still going"), and the next run waits for the next slot.
- Suspend-safe: sleeps are short chunks that re-read the wall clock, so after a laptop
  resumes, the most recent due slot fires at once (older ones are recorded as missed).
  Each chunk also lets the schedule bring its next slot forward (`Schedule.revise`: an
  alert on a market that is open now was added while the runner slept until NYSE's open).
- Stop: SIGTERM, SIGINT and SIGHUP end a sleep (or a live market check) at once; a run
  in progress is asked to terminate and gets `stop_grace` seconds, then it is cancelled;
  it is recorded as cancelled, not as failed. The exit code is 0 (the service makes Ctrl-C
  on a one-off run 130). A run over `timeout` gets the same grace (`execution.run_job`).
- Every run, skip and failure goes to the database (`JobsRepository`).
- The database failing (a full disk, a lock held too long: a `StoreError`) ends a one-off
  run with that error (the CLI edge prints it: exit 1). A loop counts it as a failed run
  and tries again at its next slot: the failure streak (kept in memory when the database
  cannot keep it) makes its one `error` notification, and the runs it could not record
  are recorded as soon as it can (`UnrecordedRuns`), so that `ttai status` and the
  metrics count them. A damaged or read-only database (exit code 2) cannot get better by
  waiting: it ends a loop too.
- No split brain: before every run the database file is checked to still be the one at
  its path (`process.ProcessRuns.database_usable`); when it is not (`DatabaseMoved`), or SQLite
  finds it damaged, every runner of the process stops and nothing more is written to it.
- Pings (`pings`, optional): a run's start and end, a guard's skip, a long wait or a long
  run's keep-alive are reported to a dead-man's switch (`services/pings.py`, which
  decides what is sent and bounds how long it may take).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, TypeVar

from ttai_cli import logs
from ttai_cli.clock import NEW_YORK, Clock
from ttai_cli.errors import CredentialsError, StoreError
from ttai_cli.jobs.base import Job
from ttai_cli.scheduling.execution import run_job
from ttai_cli.scheduling.policy import Policy
from ttai_cli.scheduling.process import ProcessRuns, ends_loops
from ttai_cli.scheduling.schedules import Schedule
from ttai_cli.store.jobs import JobsRepository, UnrecordedRuns

log = logs.get("scheduler")
T = TypeVar("T")
OVERLAP = "previous run still going"
MISSED = "missed: the process was asleep or suspended"


class RunPings(Protocol):
    """What the engine tells a job's dead-man's switch (`services.pings.JobPings`).
    Each call returns within the ping's time limit and never raises."""

    async def started(self, slot: datetime) -> None: ...

    async def finished(
        self, result: str, error: str | None, summary: str | None, duration: float
    ) -> None: ...

    async def skipped(self, reason: str, *, always: bool = False) -> None: ...

    async def nothing_due(self, reason: str) -> None: ...

    async def waiting(self, until: datetime) -> None: ...

    async def keep_alive(self, liveness: Callable[[], str | None]) -> None: ...


@dataclass
class Outcome:
    runs: int = 0
    failures: int = 0
    last_failed: bool = False
    stopped: bool = False

    @property
    def exit_code(self) -> int:
        return 1 if self.last_failed and not self.stopped else 0


@dataclass
class Runner:
    """Runs one job on one schedule until the schedule ends, `max_runs`, or a stop."""

    job: Job
    schedule: Schedule
    policy: Policy
    clock: Clock
    repo: JobsRepository
    stop: asyncio.Event
    max_runs: int | None = None
    timeout: float | None = None
    stop_grace: float = 5.0
    max_chunk: float = 1.0
    remember_slots: bool = False
    heartbeat_every: float = 30.0  # real seconds between signs of life in the database
    # called after each run with (job, failure streak before, after, error, whether the
    # refresh token was revoked while the process ran): the service turns a streak into one
    # `error` notification and its end into one `info`, and a revoked token into one `error`
    on_streak: Callable[[str, int, int, str | None, bool], Awaitable[None]] | None = None
    process: ProcessRuns = field(default_factory=ProcessRuns)
    pings: RunPings | None = None
    pid: int = field(default_factory=os.getpid)
    # a one-off run (no repeat option, --catch-up): a database failure ends it
    one_off: bool = False
    # whether the database says this process runs the job (`claim`); a loop that could
    # not say so at start (a full disk, a busy database) tries again each cycle
    claimed: bool = True
    outcome: Outcome = field(default_factory=Outcome)
    last_slot: datetime | None = None
    streak: int = 0  # consecutive failed runs, as far as this process knows
    # runs that ended while the database could not record them, until it can
    unrecorded: UnrecordedRuns = field(default_factory=UnrecordedRuns)
    _last_skip_reason: str | None = None
    _not_recorded: set[str] = field(default_factory=set)  # bookkeeping failing, already said

    async def run(self) -> Outcome:
        beating = asyncio.ensure_future(self._beat())
        try:
            return await self._loop()
        except StoreError as exc:
            return self.ended_by(exc)
        finally:
            beating.cancel()

    def ended_by(self, exc: StoreError) -> Outcome:
        """A database failure outside a run: it ends a one-off, and a loop on a damaged,
        read-only or moved database (the process exits with it); other loops raise it on
        to their supervisor, which starts them again."""
        if not (self.one_off or ends_loops(exc)):
            raise exc
        self.process.end(exc, self.stop)
        self.outcome.last_failed = True
        return self.outcome

    async def _beat(self) -> None:
        """Write a heartbeat every `heartbeat_every` seconds of real time, sleeping or
        running: `ttai status` reads a loop that misses three as stalled (a blocked
        event loop, a machine that froze)."""
        while True:
            await asyncio.sleep(self.heartbeat_every)
            try:
                self.repo.heartbeat(self.job.name, self.clock.now())
            except Exception as exc:  # a busy database must not kill the loop
                log.debug("heartbeat not written: %s", exc)

    async def _loop(self) -> Outcome:
        # After a crash the same runner goes on from the last slot it took up: a one-shot
        # does not run again, the grid keeps its anchor, --max-runs keeps its count.
        if self.last_slot is None:
            slot = self.schedule.first(self.clock.now())
        else:
            slot = self.schedule.after(self.last_slot)
        while slot is not None and not self.stop.is_set():
            self.record_late()
            if not self.claimed:
                self.claimed = None is self.bookkeeping(
                    "that this process runs it",
                    lambda: self.repo.claim(self.job.name, self.pid, self.clock.now(), 30.0),
                )
            beat = functools.partial(self.repo.heartbeat, self.job.name, self.clock.now(), slot)
            self.bookkeeping("a heartbeat", beat)
            reached = await self._sleep_until(slot)
            if reached is None:
                break
            if not self.process.database_usable(self.stop):
                break  # never a run on a file other processes no longer see
            slot = self._latest_due(reached)
            self.last_slot = slot
            decision = await self.unless_stopped(self.policy.confirm(slot, self.clock.now()))
            if decision is None or self.stop.is_set():  # no run starts after a stop
                break
            if decision.run:
                await self.execute(slot, decision.market_open)
                if self.max_runs is not None and self.outcome.runs >= self.max_runs:
                    break
            else:
                self.skip(slot, decision.reason)
                if self.pings is not None:  # a holiday is not an outage: success, why
                    await self.pings.skipped(decision.reason)
            slot = self._next_after_run(slot)
        if self.unrecorded and not self.process.store_lost:
            with self.repo.store.patience(1.0):  # on the way out: its last chance, briefly
                self.record_late()
        self.outcome.stopped = self.stop.is_set()
        return self.outcome

    # -- time ----------------------------------------------------------------------------------
    async def _sleep_until(self, target: datetime) -> datetime | None:
        """Sleep in chunks, re-reading the wall clock, until `target`, or an earlier slot
        the schedule revises it to meanwhile (`Schedule.revise`); that slot, or None if
        stopped first."""
        stopper = asyncio.ensure_future(self.stop.wait())
        try:
            while not self.stop.is_set():
                now = self.clock.now()
                revised = self.schedule.revise(target, now)
                if revised is not None and revised < target:
                    target = revised
                    self.repo.heartbeat(self.job.name, now, target)
                remaining = (target - now).total_seconds()
                if remaining <= 0:
                    return target
                if self.pings is not None:  # alive and on schedule (at most every 5 min)
                    await self.pings.waiting(target)
                sleeper = asyncio.ensure_future(self.clock.sleep(min(remaining, self.max_chunk)))
                await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
                if not sleeper.done():
                    sleeper.cancel()
            return None
        finally:
            stopper.cancel()

    async def unless_stopped(self, awaitable: Awaitable[T]) -> T | None:
        """The result of `awaitable`, or None when a stop comes first: it is cancelled
        then, so a slow live market check cannot hold up the exit."""
        task = asyncio.ensure_future(awaitable)
        stopper = asyncio.ensure_future(self.stop.wait())
        try:
            await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            if not task.done():
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        return None if task.cancelled() else task.result()

    def _latest_due(self, slot: datetime) -> datetime:
        """After a sleep that overshot (suspend, a busy machine), fire the most recent
        due slot and record the older ones as missed."""
        now = self.clock.now()
        missed = 0
        following = self.schedule.after(slot)
        while following is not None and following <= now:
            missed += 1
            slot, following = following, self.schedule.after(following)
        if missed:
            self.skip(slot, MISSED, count=missed)
        return slot

    def _next_after_run(self, slot: datetime) -> datetime | None:
        """The next slot in the future; those that came due meanwhile are skipped, not stacked."""
        following = self.schedule.after(slot)
        now = self.clock.now()
        overlapped = 0
        last = following
        while following is not None and following <= now:
            overlapped += 1
            last = following
            following = self.schedule.after(following)
        if overlapped and last is not None:
            self.skip(last, OVERLAP, count=overlapped)
        return following

    # -- outcomes ------------------------------------------------------------------------------
    def bookkeeping(
        self, what: str, write: Callable[[], object], *, quiet: bool = False
    ) -> StoreError | None:
        """Make a bookkeeping write; the database's failure, if it failed. It ends a
        one-off (the error goes up to the CLI edge) and a loop on a damaged, read-only or
        moved database; any other loop logs it and goes on."""
        try:
            write()
        except StoreError as exc:
            if self.one_off or ends_loops(exc):
                raise
            # said once while the database keeps failing it: a full disk lasts many cycles
            level = logging.DEBUG if quiet or what in self._not_recorded else logging.WARNING
            log.log(level, "%s: could not record %s: %s", self.job.name, what, exc)
            self._not_recorded.add(what)
            return exc
        self._not_recorded.discard(what)
        return None

    def record_late(self) -> None:
        """Record the runs that ended while the database could not keep them (a loop on a
        full or busy database), once it can: `ttai status` then counts their errors, and
        its last result is theirs until the next run. Tried before every cycle and run."""
        if not self.unrecorded or self.one_off or self.process.store_lost:
            return
        runs = self.unrecorded
        failed = self.bookkeeping(
            "the runs that could not be recorded",
            lambda: self.repo.record_unrecorded(self.job.name, self.pid, runs),
            quiet=True,
        )
        if failed is None:
            log.info(
                "%s: recorded %d run(s) the database could not keep", self.job.name, runs.total
            )
            self.unrecorded = UnrecordedRuns()

    def skip(self, slot: datetime, reason: str, count: int = 1) -> None:
        self.bookkeeping(
            "a skipped slot",
            lambda: self.repo.skipped(
                self.job.name,
                slot,
                reason,
                self.clock.now(),
                self.pid,
                count,
                remember_slot=self.remember_slots,
            ),
        )
        level = logging.INFO if reason != self._last_skip_reason else logging.DEBUG
        log.log(
            level,
            "%s: skipped %s%s: %s",
            self.job.name,
            f"{slot.astimezone(NEW_YORK):%Y-%m-%d %H:%M:%S}",
            f" (+{count - 1} more)" if count > 1 else "",
            reason,
        )
        self._last_skip_reason = reason

    async def execute(self, slot: datetime, market_open: bool | None) -> None:
        name = self.job.name
        if self.pings is not None:  # /start, sent beside the run
            await self.pings.started(slot)
        started = self.clock.monotonic()
        ids: list[int] = []
        self.record_late()
        failure = self.bookkeeping(
            "the start of a run",
            lambda: ids.append(self.repo.run_started(name, slot, self.clock.now(), self.pid)),
            quiet=True,  # the failed run says it
        )
        result: str = "error"
        error: str | None = str(failure)
        summary: str | None = None
        revoked: CredentialsError | None = None
        if failure is None:  # (else nothing could keep the run's results: it fails unstarted)
            local = slot.astimezone(NEW_YORK)
            log.info("%s: run for %s started", name, f"{local:%Y-%m-%d %H:%M:%S %Z}")
            self._last_skip_reason = None
            result, error, summary, failed_by = await run_job(
                self.job,
                local,
                market_open,
                clock=self.clock,
                stop=self.stop,
                timeout=self.timeout,
                stop_grace=self.stop_grace,
                store=self.repo.store,
                keep_alive=self.pings.keep_alive if self.pings is not None else None,
            )
            revoked = failed_by if isinstance(failed_by, CredentialsError) else None
            failure = failed_by if isinstance(failed_by, StoreError) else None
        duration = self.clock.monotonic() - started
        error = logs.redact(error) if error else None
        self.outcome.runs += 1  # counted before recording: a crash while recording keeps it
        self.outcome.last_failed = result not in ("ok", "cancelled")
        self.outcome.failures += int(self.outcome.last_failed)
        # only a job that talks to tastytrade proves the login works (not the daemon's backup)
        self.process.worked |= result == "ok" and getattr(self.job, "needs_broker", True)
        fatal = revoked is not None and not self.process.worked
        if fatal:  # nothing has worked yet: stop every runner; the CLI edge says why, exit 2
            assert revoked is not None
            self.process.end(revoked, self.stop)
        if failure is not None and (self.one_off or ends_loops(failure)):
            fatal = True  # the database failed a one-off, or cannot get better: it ends here
            self.process.end(failure, self.stop)  # (damaged, moved: the database is lost)
        if self.process.store_lost:  # the CLI edge says why; nothing more goes into the file
            log.debug("%s: %s after %.2fs: %s (not recorded)", name, result, duration, error)
            return
        recorded: list[tuple[int, int]] = []
        if not ids:  # nothing of it could be kept: it is, once the database can
            if not self.one_off:  # (a one-off ends with the database's error)
                self.unrecorded.add(result, error, self.clock.now(), round(duration, 3))
        else:
            try:
                self.bookkeeping(
                    "the end of the run",
                    lambda: recorded.append(
                        self.repo.run_finished(
                            ids[0],
                            name,
                            result=result,
                            now=self.clock.now(),
                            duration_s=round(duration, 3),
                            error=error,
                            slot=slot,
                            remember_slot=self.remember_slots and result == "ok",
                        )
                    ),
                )
            except StoreError as exc:
                if not fatal:
                    if self.pings is not None:  # the process ends with it: the check hears why
                        await self.pings.finished("error", logs.redact(str(exc)), None, duration)
                    raise
                # the process already ends with the error the run met
            if not recorded and not self.one_off:  # its start was kept, its end could not be
                self.unrecorded.add(result, error, self.clock.now(), round(duration, 3), ids[0])
        before, after = self._streak(recorded[0] if recorded else None, result)
        if self.on_streak is not None:
            try:
                await self.on_streak(name, before, after, error, bool(revoked and not fatal))
            except Exception as exc:  # telling about a failure must not become one
                log.warning("%s: could not notify about its failures: %s", name, exc)
        if result == "ok":
            log.info("%s: ok in %.2fs%s", name, duration, f": {summary}" if summary else "")
        elif fatal:  # the process ends with this one line on stderr
            log.debug("%s: %s after %.2fs: %s", name, result, duration, error)
        else:
            log.error("%s: %s after %.2fs: %s", name, result, duration, error)
        if self.pings is not None:
            await self.pings.finished(result, error, summary, duration)

    def _streak(self, recorded: tuple[int, int] | None, result: str) -> tuple[int, int]:
        """The failure streak before and after this run: the database's count (it spans
        processes: cron's one-offs) or this process's own, whichever is longer, so that a
        streak the database could not record (a full disk) still makes its notification."""
        before = max(self.streak, recorded[0] if recorded else 0)
        after = before + 1 if result not in ("ok", "cancelled") else 0 if result == "ok" else before
        self.streak = after
        return before, after
