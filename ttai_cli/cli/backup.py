"""`ttai backup [--output FILE]`, `ttai restore FILE`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ttai_cli.cli.common import AppState

Output = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        dir_okay=False,
        help="Write the backup here (default: $TTAI_HOME/backups/ttai-YYYY-MM-DD.db).",
    ),
]
BackupFile = Annotated[
    Path, typer.Argument(metavar="FILE", help="A backup made by `ttai backup` (or any copy).")
]
Force = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Restore a backup of another record anyway: the demo database's over the "
        "real account's (or back), or another account's.",
    ),
]


def backup(ctx: typer.Context, output: Output = None) -> None:
    """Copy the database, consistently, while loops run (SQLite's online backup). The
    daemon keeps one a day for the last 7 days on its own."""
    from ttai_cli.services.backup import BackupService, human_size

    state = AppState.of(ctx)
    state.store()  # opened (created, migrated) like every command does: there is one to copy
    report = BackupService(state.settings, state.clock).backup(output)
    sys.stdout.write(f"{report.path} ({human_size(report.size)})\n")


def restore(ctx: typer.Context, file: BackupFile, force: Force = False) -> None:
    """Put a backup in place of the database, after checking it. Stop every ttai job
    first: restore refuses while one holds the database. It refuses a backup of another
    record too (a demo backup without --demo, a real one with it, another account's)
    unless --force. The current database is kept beside it as
    ttai.db.before-restore-TIMESTAMP."""
    from ttai_cli.services.backup import BackupService, human_size

    state = AppState.of(ctx)
    report = BackupService(state.settings, state.clock).restore(file, force=force)
    sys.stdout.write(
        f"restored {report.source} ({human_size(report.size)}, {report.migrations} "
        f"migrations) to {report.path}\n"
    )
    if report.previous is not None:
        sys.stdout.write(f"the database it replaced is kept as {report.previous}\n")
    holds = report.holds()
    if holds is not None:
        sys.stdout.write(f"{holds}\n")


def register(app: typer.Typer) -> None:
    app.command()(backup)
    app.command()(restore)
