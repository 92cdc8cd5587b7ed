"""The engine: wait for each slot, decide run or skip, run with a time limit, record.

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
  on a one-off run 130). A run over `timeout` gets the same grace.
- Every run, skip and failure goes to the database (`JobsRepository`).
- The database failing (a full disk, a lock held too long: a `StoreError`) ends a one-off
  run with that error (the CLI edge prints it: exit 1). A loop counts it as a failed run
  and tries again at its next slot: the failure streak (kept in memory when the database
  cannot keep it) makes its one `error` notification. A damaged or read-only database
  (exit code 2) cannot get better by waiting: it ends a loop too.
- No split brain: before every run the database file is checked to still be the one at
  its path (`ProcessRuns.database_usable`); when it is not (`DatabaseMoved`), or SQLite
  finds it damaged, every runner of the process stops and nothing more is written to it.
- Pings (`pings`, optional): a run's start and end, a guard's skip, a long wait or a long
  run's keep-alive are reported to a dead-man's switch (`services/pings.py`, which
  decides what is sent and bounds how long it may take).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol, TypeVar

from ttai_cli import logs
from ttai_cli.clock import NEW_YORK, Clock
from ttai_cli.errors import (
    CredentialsError,
    DatabaseDamaged,
    DatabaseMoved,
    StoreError,
    TtaiError,
)
from ttai_cli.jobs.base import Job, RunContext, RunStopped
from ttai_cli.scheduling.policy import Policy
from ttai_cli.scheduling.schedules import Schedule
from ttai_cli.store import Store
from ttai_cli.store.jobs import JobsRepository

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
class ProcessRuns:
    """What the runners of one process share. A refresh token revoked before any run of
    the process that talks to tastytrade has worked (a one-off, a loop's first run) is
    `fatal`: every runner stops and the process exits 2; revoked later, the runners go on
    (the user is told). A damaged or read-only database is fatal whenever it is met; in a
    one-off, so is any database failure. The CLI edge prints the fatal error: one line,
    its exit code.

    A database that is damaged (exit 2) or no longer the file at its path (exit 1) is
    lost: `store`, when set, is checked before every run (and by the service every
    second), and nothing more is written to a lost database."""

    worked: bool = False
    fatal: TtaiError | None = None
    store: Store | None = None

    @property
    def store_lost(self) -> bool:
        """The database is damaged or no longer at its path: nothing more is written to it."""
        return isinstance(self.fatal, DatabaseMoved | DatabaseDamaged)

    def end(self, error: TtaiError, stop: asyncio.Event) -> None:
        """Stop every runner of the process; the process exits with `error` (the first one
        met, except that a lost database wins: it is what the user must see to)."""
        if isinstance(error, DatabaseMoved | DatabaseDamaged):
            self.lose_store(error, stop)
            return
        if self.fatal is None:
            self.fatal = error
        stop.set()

    def lose_store(self, error: DatabaseMoved | DatabaseDamaged, stop: asyncio.Event) -> None:
        """Stop every runner of the process; the first such error is the one reported. A
        moved database is abandoned, never closed (see `Store.abandon`)."""
        if not self.store_lost:
            self.fatal = error
        if isinstance(error, DatabaseMoved) and self.store is not None:
            self.store.abandon()
        stop.set()

    def database_usable(self, stop: asyncio.Event) -> bool:
        """True while the database this process opened is still the file at its path (a
        few `stat` calls); otherwise every runner is told to stop, and False."""
        if self.store_lost:
            return False
        if self.store is None:
            return True
        try:
            self.store.verify()
        except DatabaseMoved as exc:
            self.lose_store(exc, stop)
            return False
        return True


def ends_loops(exc: StoreError) -> bool:
    """Whether a database failure ends a loop too (not only a one-off): no wait mends a
    damaged or read-only database (exit code 2), nor one that is no longer at its path."""
    return exc.exit_code == 2 or isinstance(exc, DatabaseMoved)


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
    _last_skip_reason: str | None = None

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
            if not quiet:
                log.warning("%s: could not record %s: %s", self.job.name, what, exc)
            return exc
        return None

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
            result, error, summary, failed_by = await self._run_job(local, market_open)
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
        if ids:
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

    async def _run_job(
        self, local: datetime, market_open: bool | None
    ) -> tuple[str, str | None, str | None, TtaiError | None]:
        """Run the job for the slot at `local`: (result, error, summary, and the error
        of ours that failed it, if one did)."""
        name = self.job.name
        task = asyncio.ensure_future(self.job.run(RunContext(name, local, self.clock, market_open)))
        stopper = asyncio.ensure_future(self.stop.wait())
        # a run that lasts a session (the stream) tells the check it is healthy meanwhile
        liveness: Callable[[], str | None] | None = getattr(self.job, "liveness", None)
        alive = (
            asyncio.ensure_future(self.pings.keep_alive(liveness))
            if self.pings is not None and liveness is not None
            else None
        )
        result, error, summary = "ok", None, None
        failed_by: TtaiError | None = None
        try:
            done, _ = await asyncio.wait(
                {task, stopper}, timeout=self.timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if task not in done:
                # a stop and the time limit alike: ask the run to end, give it the grace
                if stopper in done:
                    result, error, why = "cancelled", "stopped before the run finished", "stop"
                else:
                    result, error = "timeout", f"run took longer than {self.timeout:g}s"
                    why = "time limit"
                log.info("%s: %s; giving the run %.0fs to finish", name, why, self.stop_grace)
                await self.job.terminate()
                done, _ = await asyncio.wait({task}, timeout=self.stop_grace)
            if task in done and result == "timeout":
                _ = task.cancelled() or task.exception()  # the time limit failed the run
            elif task in done:
                try:
                    summary = task.result()
                    result, error = "ok", None  # it finished within the grace
                except RunStopped:
                    pass  # it ended because it was stopped: recorded as cancelled
                except TtaiError as exc:  # a revoked token, the database, the broker
                    result, error, failed_by = "error", str(exc), exc
                except Exception as exc:  # a job's own bug: record it, keep the loop alive
                    log.debug("%s: run failed", name, exc_info=True)
                    result, error = "error", f"{exc.__class__.__name__}: {exc}"
                    # SQLite's "malformed" from a connection of the job's own (not ours)
                    failed_by = self.repo.store.damage(exc)
            else:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        finally:
            stopper.cancel()
            if alive is not None:
                alive.cancel()
        return result, error, summary, failed_by


async def catch_up(runner: Runner, grace: timedelta) -> Outcome:
    """For crontab: run the latest slot <= now once, if it is within `grace` and has not
    run yet; otherwise do nothing. A run that fails is not marked done, so the next cron
    invocation within the grace tries again. A database failure ends it (`ended_by`)."""
    try:
        return await _catch_up(runner, grace)
    except StoreError as exc:
        return runner.ended_by(exc)


async def _catch_up(runner: Runner, grace: timedelta) -> Outcome:
    now = runner.clock.now()
    slot = runner.schedule.latest(now, now.astimezone(UTC) - grace)  # absolute: DST-proof
    name = runner.job.name
    if slot is None:
        log.info("%s: no slot due within the last %s; nothing to do", name, grace)
        if runner.pings is not None:
            await runner.pings.nothing_due(f"no slot within the last {grace}")
        return runner.outcome
    done = runner.repo.last_slot(name)
    if done is not None and done >= slot:
        shown = f"{slot.astimezone(NEW_YORK):%Y-%m-%d %H:%M %Z}"
        log.info("%s: the %s slot already ran", name, shown)
        if runner.pings is not None:
            await runner.pings.nothing_due(f"the {shown} slot already ran")
        return runner.outcome
    runner.remember_slots = True
    decision = await runner.unless_stopped(runner.policy.confirm(slot, now))
    if decision is None or runner.stop.is_set():
        runner.outcome.stopped = True
        return runner.outcome
    if decision.run:
        await runner.execute(slot, decision.market_open)
    else:
        runner.skip(slot, decision.reason)
        if runner.pings is not None:
            await runner.pings.skipped(decision.reason, always=True)
    return runner.outcome


def install_stop_handlers(stop: asyncio.Event, received: list[int] | None = None) -> None:
    """SIGTERM, SIGINT and SIGHUP set `stop`; the first signal is appended to `received`
    (the caller decides the exit code by it). A SIGHUP that is ignored (nohup) stays
    ignored, so closing the terminal does not stop a nohup'd loop."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        if sig == signal.SIGHUP and signal.getsignal(sig) == signal.SIG_IGN:
            continue
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows
            loop.add_signal_handler(sig, _on_signal, stop, sig, received)


def _on_signal(stop: asyncio.Event, sig: signal.Signals, received: list[int] | None) -> None:
    if not stop.is_set():
        log.info("received %s: stopping", signal.Signals(sig).name)
        if received is not None:
            received.append(sig)
    stop.set()
