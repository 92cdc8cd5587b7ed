"""`ttai run [JOB...] [-- COMMAND...]`."""

from __future__ import annotations

from typing import Annotated

import typer

from ttai_cli.cli import common
from ttai_cli.cli.schedule_options import run_scheduled, with_schedule_options
from ttai_cli.errors import UsageError
from ttai_cli.jobs.base import Job
from ttai_cli.scheduling.options import ScheduleOptions

Jobs = Annotated[
    list[str] | None,
    typer.Argument(
        show_default=False,
        help="Jobs: monitor alerts sync briefing-morning briefing-eod briefing-weekly.",
    ),
]
Name = Annotated[
    str | None, typer.Option("--name", help="Job name for a COMMAND (status, pause, lock).")
]


def split_command(arguments: list[str]) -> tuple[list[str], list[str]]:
    """(jobs, command): what came before and after `--` on the command line."""
    argv = common.ARGV
    if "--" not in argv:
        return arguments, []
    command = argv[argv.index("--") + 1 :]
    if command and arguments[-len(command) :] == command:
        return arguments[: -len(command)], command
    return arguments, command


@with_schedule_options
def run(
    ctx: typer.Context, jobs: Jobs = None, name: Name = None, *, schedule: ScheduleOptions
) -> None:
    """Run jobs, or any program after --, on the schedule, market-aware."""
    from ttai_cli.jobs import create_job
    from ttai_cli.jobs.command import CommandJob

    names, command = split_command(jobs or [])
    state = common.AppState.of(ctx)
    if names and command:
        raise UsageError("give jobs or a command after --, not both")
    if not names and not command:
        raise UsageError(
            "give jobs or a command after -- (example: ttai run --every 5m -- ./check.sh)"
        )
    selected: list[Job]
    if command:
        selected = [CommandJob(command, name)]
    else:
        context = state.job_context()
        selected = [create_job(n, context) for n in dict.fromkeys(names)]
    run_scheduled(state, selected, schedule)


def register(app: typer.Typer) -> None:
    app.command(context_settings={"allow_interspersed_args": True})(run)
