"""One run of a job: started with its context, given its time limit, asked to terminate
on a stop or the time limit and given the grace, then cancelled; kept alive to the
dead-man's switch meanwhile. Says how it ended; the `Runner` records it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime

from ttai_cli import logs
from ttai_cli.clock import Clock
from ttai_cli.errors import TtaiError
from ttai_cli.jobs.base import Job, RunContext, RunStopped
from ttai_cli.store import Store

log = logs.get("scheduler")


async def run_job(
    job: Job,
    local: datetime,
    market_open: bool | None,
    *,
    clock: Clock,
    stop: asyncio.Event,
    timeout: float | None,
    stop_grace: float,
    store: Store,
    keep_alive: Callable[[Callable[[], str | None]], Awaitable[None]] | None,
) -> tuple[str, str | None, str | None, TtaiError | None]:
    """Run `job` for the slot at `local`: (result, error, summary, and the error of ours
    that failed it, if one did). `keep_alive` is the pings' (`RunPings.keep_alive`), if any."""
    name = job.name
    task = asyncio.ensure_future(job.run(RunContext(name, local, clock, market_open)))
    stopper = asyncio.ensure_future(stop.wait())
    # a run that lasts a session (the stream) tells the check it is healthy meanwhile
    liveness: Callable[[], str | None] | None = getattr(job, "liveness", None)
    alive = (
        asyncio.ensure_future(keep_alive(liveness))
        if keep_alive is not None and liveness is not None
        else None
    )
    result, error, summary = "ok", None, None
    failed_by: TtaiError | None = None
    try:
        done, _ = await asyncio.wait(
            {task, stopper}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if task not in done:
            # a stop and the time limit alike: ask the run to end, give it the grace
            if stopper in done:
                result, error, why = "cancelled", "stopped before the run finished", "stop"
            else:
                result, error = "timeout", f"run took longer than {timeout:g}s"
                why = "time limit"
            log.info("%s: %s; giving the run %.0fs to finish", name, why, stop_grace)
            await job.terminate()
            done, _ = await asyncio.wait({task}, timeout=stop_grace)
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
                failed_by = store.damage(exc)
        else:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    finally:
        stopper.cancel()
        if alive is not None:
            alive.cancel()
    return result, error, summary, failed_by
