"""What a job is to the scheduling engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ttai_cli.clock import Clock
from ttai_cli.errors import TtaiError

if TYPE_CHECKING:
    from ttai_cli.market.calendar import MarketCalendar
    from ttai_cli.scheduling.schedules import Schedule


class RunStopped(TtaiError):
    """A run that ended because it was asked to terminate (a stop or the time limit):
    the engine records it as cancelled (or as the timeout), not as the job's failure."""


@dataclass(frozen=True)
class RunContext:
    """What one run knows: which slot it is for, and whether the market was open for it
    (NYSE, or for a job with alerts on other markets, any of those)."""

    job: str
    slot: datetime
    clock: Clock
    market_open: bool | None  # None when market hours were not consulted


class Job:
    """A unit of work the engine runs on a schedule.

    `market_aware` jobs skip slots while NYSE is closed unless --ignore-market-hours is
    given (jobs that check alerts: while every market they have an alert on is closed). `run` returns a one-line summary (or None); raising marks the run failed.
    `terminate` is called when the process is asked to stop during a run, before the
    grace period after which the run is cancelled.
    """

    name: str = "job"
    market_aware: bool = False
    # Talks to tastytrade: credentials are checked before the first run, so that a
    # missing one is a configuration error (exit 2), not a failure every cycle.
    needs_broker: bool = False
    # The daemon's cadence while NYSE is open, for jobs that poll (monitor, alerts).
    cadence: timedelta | None = None
    # Sends notifications of its own (False: a briefing --print-only, ask --no-notify): a
    # route to a backend without its URL refuses only runs that send (or that repeat,
    # whose failures are notified).
    sends: bool = True

    def default_schedule(self, calendar: MarketCalendar) -> Schedule | None:
        """The cadence of `--loop`; None when the job has none (then --loop is an error)."""
        return None

    def defer_reason(self) -> str | None:
        """A reason to skip the due slot because other work covers it now, or None."""
        return None

    def alert_markets(self) -> frozenset[str] | None:
        """The markets this job has an active alert on (NYSE always among them), whose
        hours its slots follow: it runs while any of them is open. None (the default):
        NYSE's hours alone, as for the briefings, sync and commands."""
        return None

    def open_market_cadence(self) -> timedelta | None:
        """How often the job repeats while NYSE is open (monitor 60 s, alerts 30 s, sync
        5 min): with --ignore-market-hours, `--loop` and the daemon keep it at all hours.
        None for jobs bound to a time of day (the briefings)."""
        return self.cadence

    async def run(self, ctx: RunContext) -> str | None:
        raise NotImplementedError

    async def terminate(self) -> None:
        """Ask a run in progress to wind down (a child process gets SIGTERM)."""

    async def close(self) -> None:
        """Release what the job holds for the process (its broker), at exit."""
