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


def _when(moment, now) -> str:  # type: ignore[no-untyped-def]
    """New York time, the date only when it is not today's (`13:03:12`, `11-28 16:00`):
    the Jobs table fits 80 columns (--json has the full timestamps)."""
    if not moment:
        return "—"
    from ttai_cli.clock import NEW_YORK

    moment = moment.astimezone(NEW_YORK)
    if moment.date() == now.astimezone(NEW_YORK).date():
        return f"{moment:%H:%M:%S}"
    return f"{moment:%m-%d %H:%M}"


def status(ctx: typer.Context, as_json: AsJson = False) -> None:
    """Job health from the database: runs, errors, last result, next run, running pid."""
    state = AppState.of(ctx)
    now = state.clock.now()
    service = state.scheduling()
    statuses = service.statuses(now)
    streams = service.stream_states(now)
    asked = _ask_usage(state, now)
    if as_json:
        emit_json(
            {
                "jobs": statuses,
                "streams": [f.as_json(now) for f in streams],
                "ask": [
                    {
                        "job": u.job,
                        "runs": u.runs,
                        "input_tokens": u.input_tokens,
                        "output_tokens": u.output_tokens,
                        "last_started_at": u.last_started_at,
                        "model": u.last_model,
                    }
                    for u in asked
                ],
            }
        )
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
                _when(s.last_started_at, now),
                last[:60],
                _when(s.next_run_at, now),
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
    # the counters that matter least give way first on a narrow terminal
    table("Jobs", headers, rows, right=(2, 3, 4, 5), wrap=(7,), optional=(5, 4))
    if streams:
        _stream_table(streams, now)
    if asked:
        _ask_table(asked, now)


def _ask_usage(state: AppState, now):  # type: ignore[no-untyped-def]
    """`ttai ask`'s answered runs and tokens per job over the last 30 days."""
    from ttai_cli.ask.record import AskRepository

    return AskRepository(state.store()).usage(now)


def _ask_table(asked, now) -> None:  # type: ignore[no-untyped-def]
    from ttai_cli.ask.record import RECENT_DAYS

    rows = [
        [
            u.job,
            str(u.runs),
            f"{u.input_tokens:,}",
            f"{u.output_tokens:,}",
            _when(u.last_started_at, now),
            u.last_model or "—",
        ]
        for u in asked
    ]
    headers = ["Ask job", "Answers", "Tokens in", "Tokens out", "Last answer", "Model"]
    table(f"Ask (last {RECENT_DAYS} days)", headers, rows, right=(1, 2, 3))


def _stream_table(streams, now) -> None:  # type: ignore[no-untyped-def]
    rows = []
    for f in streams:
        info = f.as_json(now)
        if not f.live:
            shown = "stopped"
        elif f.idle:
            shown = "idle (nothing to watch)"
        elif f.connected:
            shown = f"connected since {_when(f.since, now)}"
        else:
            shown = f"down since {_when(f.since, now)}" + (
                " (polling)" if f.fallback_polling else ""
            )
        age = info["last_event_age_s"]
        rows.append(
            [
                f"{f.job} {f.feed}",
                shown,
                str(f.reconnects),
                f"{f.events:,}",
                f"{age:.0f}s ago" if isinstance(age, float) else "—",
                str(f.malformed),
                (f.last_error or "")[:50],
            ]
        )
    headers = ["Stream", "State", "Reconnects", "Events", "Last event", "Malformed", "Last error"]
    table("Streams", headers, rows, right=(2, 3, 5))


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
