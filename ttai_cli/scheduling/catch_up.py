"""Catch-up for crontab (`--catch-up`): run the latest slot within the grace once, unless
it already ran; the `Runner` does the run and its bookkeeping."""

from __future__ import annotations

from datetime import UTC, timedelta

from ttai_cli import logs
from ttai_cli.clock import NEW_YORK
from ttai_cli.errors import StoreError
from ttai_cli.scheduling.engine import Outcome, Runner

log = logs.get("scheduler")


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
