"""`ttai run [JOB...] [-- COMMAND...]`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ttai_cli.cli import common
from ttai_cli.cli.schedule_options import (
    require_credentials_for,
    run_scheduled,
    with_schedule_options,
)
from ttai_cli.errors import UsageError

if TYPE_CHECKING:
    from ttai_cli.jobs.base import Job
    from ttai_cli.scheduling.options import ScheduleOptions


Jobs = Annotated[
    list[str] | None,
    typer.Argument(
        show_default=False,
        help="Jobs: monitor alerts sync briefing-morning briefing-eod briefing-weekly stream.",
    ),
]
Name = Annotated[
    str | None, typer.Option("--name", help="Job name for a COMMAND (status, pause, lock).")
]
MetricsFileOption = Annotated[
    Path | None,
    typer.Option(
        "--metrics-file",
        metavar="FILE",
        dir_okay=False,
        help="Keep FILE up to date with `ttai metrics` (at start, every minute, at exit), "
        "e.g. for node_exporter's textfile collector.",
    ),
]
MAX_NAME = 200  # a lock file's name must stay under the usual 255-byte limit
WhenClosed = Annotated[
    str,
    typer.Option(
        "--when-closed",
        metavar="DURATION|pause",
        help="Daemon only: how often monitor and alerts run while NYSE is closed (default: pause until the open).",
    ),
]


def split_command(arguments: list[str]) -> tuple[list[str], list[str]]:
    """(jobs, command): what came before and after `--` on the command line."""
    argv = common.ARGV
    if "--" not in argv:
        return arguments, []
    command = argv[argv.index("--") + 1 :]
    if not command:
        raise UsageError("give the command to run after --")
    if command and arguments[-len(command) :] == command:
        return arguments[: -len(command)], command
    return arguments, command


@with_schedule_options
def run(
    ctx: typer.Context,
    jobs: Jobs = None,
    name: Name = None,
    when_closed: WhenClosed = "pause",
    metrics_file: MetricsFileOption = None,
    *,
    schedule: ScheduleOptions,
) -> None:
    """Run jobs, or any program after --, on the schedule, market-aware. With neither: the
    daemon, every job at its own cadence in one process."""
    from ttai_cli.jobs import create_job
    from ttai_cli.jobs.command import CommandJob

    names, command = split_command(jobs or [])
    state = common.AppState.of(ctx)
    if names and command:
        raise UsageError("give jobs or a command after --, not both")
    if metrics_file is not None and schedule.dry_run:
        raise UsageError("--metrics-file goes with running jobs, not --dry-run")
    if not names and not command:
        run_daemon(state, schedule, when_closed, metrics_file)
        return
    if when_closed != "pause":
        raise UsageError("--when-closed applies to the daemon (`ttai run` with no job)")
    selected: list[Job]
    if name is not None and not command:
        raise UsageError("--name names a command run after --; built-in jobs keep their names")
    if command:
        from ttai_cli.jobs import built_in_job
        from ttai_cli.services.notifications import FLUSH_LOCK

        if name is not None and not name.strip():
            raise UsageError("--name must not be empty")
        if name is not None and len(name) > MAX_NAME:  # it names the job's lock file
            raise UsageError(f"--name is too long (at most {MAX_NAME} characters)")
        # it would share the built-in job's lock, status, pause and ping (the outbox's
        # delivery lock too: a command holding it would stop every delivery)
        if name is not None and (built_in_job(name) or name == FLUSH_LOCK):
            raise UsageError(f"--name {name} is a built-in job's name; choose another")
        selected = [CommandJob(command, name)]
    else:
        from ttai_cli.jobs.stream import StreamJob

        context = state.job_context()
        selected = [create_job(n, context) for n in dict.fromkeys(names)]
        for job in selected:
            if isinstance(job, StreamJob):  # as in `ttai stream` and the daemon
                if not state.settings.streaming:
                    raise UsageError("streaming is turned off by TTAI_STREAMING: drop `stream`")
                job.ignore_market_hours = schedule.ignore_market_hours
                context.stream_health = job.health  # alerts / monitor here leave prices to it
    run_scheduled(state, selected, schedule, metrics_file=metrics_file)


def run_daemon(
    state: common.AppState,
    schedule: ScheduleOptions,
    when_closed: str,
    metrics_file: Path | None = None,
) -> None:
    """Every job at its own cadence in one process, supervised (SPEC `run`)."""
    import dataclasses

    from ttai_cli.broker.sharing import QuoteCache
    from ttai_cli.jobs import JOB_NAMES, create_job
    from ttai_cli.jobs.backup import BackupJob
    from ttai_cli.jobs.stream import StreamJob
    from ttai_cli.scheduling.parse import parse_duration
    from ttai_cli.services.scheduling import DaemonOptions
    from ttai_cli.services.stream import StreamSettings

    if schedule.repeats or schedule.at or schedule.catch_up or schedule.dry_run:
        raise UsageError(
            "the daemon runs each job at its own cadence; to choose one, run a job: ttai run monitor --every 2m"
        )
    closed = (
        None
        if when_closed.strip().lower() == "pause"
        else parse_duration(when_closed, option="--when-closed")
    )
    if closed is not None and schedule.ignore_market_hours:
        raise UsageError(
            "--when-closed and --ignore-market-hours conflict: with --ignore-market-hours "
            "the jobs keep their open-market cadence at all hours"
        )
    context = dataclasses.replace(state.job_context(), quote_source=QuoteCache(ttl=5.0))
    # TTAI_STREAMING=0: no stream job; the polling alerts job does all the work
    names = [n for n in JOB_NAMES if n != "stream" or state.settings.streaming]
    jobs = [create_job(n, context) for n in names]
    from ttai_cli.cli.ask import daemon_jobs

    jobs += daemon_jobs(state, context)  # config.toml's [ask.NAME] tables: jobs ask:NAME
    jobs.append(BackupJob(context))  # the daemon's own: one backup a day, the last 7 kept
    for job in jobs:
        if isinstance(job, StreamJob):
            # the daemon's polling `alerts` job takes over while the stream is down
            job.settings = StreamSettings(fallback=False, slow_kinds=())
            job.ignore_market_hours = schedule.ignore_market_hours  # then: connected from now
            context.stream_health = job.health
    require_credentials_for(state, jobs)
    code = state.scheduling().run_and_wait(
        jobs, schedule, daemon=DaemonOptions(when_closed=closed), metrics_file=metrics_file
    )
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command(context_settings={"allow_interspersed_args": True})(run)
