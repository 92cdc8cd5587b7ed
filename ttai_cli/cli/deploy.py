"""`ttai cron [JOB...]`, `ttai systemd [--install]`."""

from __future__ import annotations

from typing import Annotated

import typer

from ttai_cli.cli.common import AppState

CronJobs = Annotated[
    list[str] | None,
    typer.Argument(metavar="[JOB]...", show_default=False, help="Only these jobs (default: all)."),
]
Install = Annotated[
    bool,
    typer.Option(
        "--install", help="Write the units to ~/.config/systemd/user and say what to run next."
    ),
]


def cron(ctx: typer.Context, jobs: CronJobs = None) -> None:
    """Print crontab lines (Debian cron, no CRON_TZ needed) that run ttai on New York time."""
    from ttai_cli.services.deploy import cron_lines

    settings = AppState.of(ctx).settings
    lines = cron_lines(settings, jobs or [])
    (settings.home / "logs").mkdir(mode=0o700, exist_ok=True)  # so the log redirect works
    typer.echo("\n".join(lines))


def systemd(ctx: typer.Context, install: Install = False) -> None:
    """Print the systemd user units (daemon, or timer + oneshot pairs), or install them."""
    from ttai_cli.services.deploy import install_units, render_units

    settings = AppState.of(ctx).settings
    if not install:
        for unit in render_units(settings):
            typer.echo(f"# ---- {unit.name}")
            typer.echo(unit.text)
        return
    directory, commands = install_units(settings)
    typer.echo(f"installed the units in {directory}; now run:")
    typer.echo("\n".join(f"  {c}" for c in commands))


def register(app: typer.Typer) -> None:
    app.command()(cron)
    app.command()(systemd)
