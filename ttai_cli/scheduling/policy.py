"""Whether a due slot runs: the pause flag, the weekdays, and market hours (NYSE's, or,
for a job with alerts on futures or crypto, those of every market it has an alert on:
the guard says which and names them in the reason).

Kept apart from the engine (and asyncio) so that a dry run or a market-closed skip
decides without importing more than it needs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from ttai_cli.clock import NEW_YORK
from ttai_cli.market.guard import MarketGuard
from ttai_cli.store.jobs import JobsRepository

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Decision:
    run: bool
    reason: str
    market_open: bool | None = None
    at_close: bool = False  # the slot is a session's closing instant


@dataclass
class Policy:
    """When a due slot may run: pause flag, weekdays, market hours."""

    job: str
    repo: JobsRepository | None
    guard: MarketGuard | None  # None: market hours are ignored
    days: frozenset[int] | None = None
    days_label: str = ""
    run_reason: str = "market hours ignored"  # what a run without a guard is "because of"
    defer: Callable[[], str | None] | None = None  # other work covers the slot now: skip

    def decide(self, slot: datetime) -> Decision:
        """Run or skip `slot`, by the calendar alone (no network: dry runs use this)."""
        if self.repo is not None and self.repo.is_paused(self.job):
            return Decision(False, f"paused (ttai resume {self.job})")
        weekday = slot.astimezone(NEW_YORK).weekday()
        if self.days is not None and weekday not in self.days:
            return Decision(False, f"not on {self.days_label} ({DAY_NAMES[weekday]})")
        deferred = self.defer() if self.defer is not None else None
        if deferred:
            return Decision(False, deferred)
        if self.guard is None:
            return Decision(True, self.run_reason)
        is_open, reason = self.guard.is_open(slot)
        if not is_open:
            # the session is [open, close); a slot at the close instant is the user asking
            # for "at the close", which must run, not skip every day
            closing = self.guard.session_closing_at(slot)
            if closing is not None:
                kind = "early close" if closing.early_close else "close"
                return Decision(True, f"at the {closing.close:%H:%M} {kind}", True, at_close=True)
        return Decision(is_open, reason, market_open=is_open)

    async def confirm(self, slot: datetime, now: datetime) -> Decision:
        """`decide`, with an open market confirmed live when the guard can."""
        decision = self.decide(slot)
        if (
            not decision.run
            or decision.at_close  # tastytrade may already report the session as closed
            or self.guard is None
            or self.guard.live_check is None
        ):
            return decision
        is_open, reason = await self.guard.confirmed(now)
        return Decision(is_open, reason, market_open=is_open)
