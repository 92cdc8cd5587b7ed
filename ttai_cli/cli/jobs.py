"""`ttai status`, `ttai pause JOB`, `ttai resume JOB`."""

from __future__ import annotations

from typing import Annotated

import typer

from ttai_cli.cli.common import AppState, AsJson, console, emit_json, table

JobName = Annotated[
    str,
    typer.Argument(
        metavar="JOB", help="monitor, alerts, sync, briefing-morning, ... or a command job's name."
    ),
]


def _when(moment) -> str:  # type: ignore[no-untyped-def]
    return f"{moment:%m-%d %H:%M:%S}" if moment else "—"


def status(ctx: typer.Context, as_json: AsJson = False) -> None:
    """Job health from the database: runs, errors, last result, next run, running pid."""
    state = AppState.of(ctx)
    statuses = state.scheduling().statuses(state.clock.now())
    if as_json:
        emit_json({"jobs": statuses})
        return
    if not statuses:
        console().print("No job has run yet.")
        return
    rows = []
    for s in statuses:
        shown = f"{s.state} (pid {s.running_pid})" if s.running_pid else s.state
        last = s.last_result or "—"
        if s.last_error:
            last = f"{last}: {s.last_error}"
        rows.append(
            [
                s.job,
                shown,
                str(s.runs),
                str(s.errors),
                str(s.skipped),
                str(s.restarts),
                _when(s.last_started_at),
                last[:60],
                _when(s.next_run_at),
            ]
        )
    headers = [
        "Job",
        "State",
        "Runs",
        "Errors",
        "Skipped",
        "Restarts",
        "Last start",
        "Last result",
        "Next run",
    ]
    table("Jobs", headers, rows, right=(2, 3, 4, 5))


def pause(ctx: typer.Context, job: JobName) -> None:
    """Pause a job: loops and cron runs skip it from their next slot on."""
    AppState.of(ctx).scheduling().set_paused(job, True)
    console().print(f"{job}: paused")


def resume(ctx: typer.Context, job: JobName) -> None:
    """Resume a paused job."""
    AppState.of(ctx).scheduling().set_paused(job, False)
    console().print(f"{job}: resumed")


def register(app: typer.Typer) -> None:
    app.command()(status)
    app.command()(pause)
    app.command()(resume)
