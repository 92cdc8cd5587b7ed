"""`ttai stream`: the real-time job in the foreground."""

from __future__ import annotations

from typing import Annotated

import typer

from ttai_cli.cli import common
from ttai_cli.errors import UsageError

IgnoreHours = Annotated[
    bool,
    typer.Option(
        "--ignore-market-hours",
        help="Stream even while NYSE is closed (default: disconnect at the close, reconnect at the open).",
    ),
]

Ping = Annotated[
    str | None,
    typer.Option(
        "--ping",
        metavar="URL",
        help="Dead-man's switch (healthchecks.io): URL/start at each session's open, success every 5 min while streaming and at the close, URL/fail when the stream fails.",
    ),
]


def stream(ctx: typer.Context, ignore_market_hours: IgnoreHours = False, ping: Ping = None) -> None:
    """Stream prices and account events: alerts on every tick, fills the moment they
    happen. Runs until SIGTERM or Ctrl-C (exit 0)."""
    from ttai_cli.cli.schedule_options import parse_ping, require_credentials_for
    from ttai_cli.jobs.stream import StreamJob
    from ttai_cli.scheduling.options import ScheduleOptions
    from ttai_cli.services.stream import preflight

    ping = parse_ping(ping)
    state = common.AppState.of(ctx)
    if not state.settings.streaming:
        raise UsageError(
            "streaming is turned off by TTAI_STREAMING; unset it, or poll alerts with "
            "`ttai alerts check --loop`"
        )
    context = state.job_context()
    job = StreamJob(context, ignore_market_hours=ignore_market_hours)
    require_credentials_for(state, [job])
    scheduling = state.scheduling()
    holder = scheduling.running_elsewhere(job.name)
    if holder is not None:  # before logging in: nothing to do, say so and exit 0
        from ttai_cli import logs

        pid = f" (pid {holder})" if holder > 0 else ""
        logs.get("scheduler").info("stream: already running%s; nothing to do", pid)
        return
    common.run(preflight(context))
    options = ScheduleOptions(loop=True, ignore_market_hours=ignore_market_hours, ping=ping)
    code = scheduling.run_and_wait([job], options)
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command()(stream)
