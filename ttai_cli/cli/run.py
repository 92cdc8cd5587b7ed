"""`ttai run [JOB...] [-- COMMAND...]`."""

from __future__ import annotations

from typing import Annotated

import typer

from ttai_cli.cli import common
from ttai_cli.cli.schedule_options import render_dry_run, with_schedule_options
from ttai_cli.errors import UsageError
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
    from ttai_cli.jobs.command import CommandJob

    names, command = split_command(jobs or [])
    state = common.AppState.of(ctx)
    if names:
        raise UsageError(f"job {names[0]!r} is not available yet; use `ttai run -- COMMAND`")
    if not command:
        raise UsageError(
            "give jobs or a command after -- (example: ttai run --every 5m -- ./check.sh)"
        )
    job = CommandJob(command, name)
    service = state.scheduling()
    if schedule.dry_run:
        render_dry_run(service.dry_run(job, schedule), schedule.as_json)
        return
    code = service.execute([job], schedule)
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    app.command(context_settings={"allow_interspersed_args": True})(run)
