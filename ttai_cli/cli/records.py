"""`ttai sync` and `ttai briefing morning|eod|weekly`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ttai_cli.cli.common import AppState, console
from ttai_cli.cli.schedule_options import run_scheduled, with_schedule_options
from ttai_cli.errors import UsageError

if TYPE_CHECKING:
    from ttai_cli.scheduling.options import ScheduleOptions


Since = Annotated[
    str | None,
    typer.Option(
        "--since",
        metavar="DATE",
        help="Fetch transactions from this date (default: since the last sync, or 90 days).",
    ),
]
Kind = Annotated[str, typer.Argument(metavar="KIND", help="morning, eod or weekly.")]
PrintOnly = Annotated[
    bool, typer.Option("--print-only", help="Print the briefing without notifying.")
]


@with_schedule_options
def sync(ctx: typer.Context, since: Since = None, *, schedule: ScheduleOptions) -> None:
    """Positions, balances and transactions into the local database (--loop: every 5 min while open, once after the close)."""
    from ttai_cli.jobs.records import SyncJob
    from ttai_cli.scheduling.parse import parse_date

    state = AppState.of(ctx)
    job = SyncJob(state.job_context(), parse_date(since, option="--since") if since else None)
    run_scheduled(state, [job], schedule)


def show_briefing(briefing) -> None:  # type: ignore[no-untyped-def]
    """The briefing in a panel as wide as its longest line, at most the terminal's (or
    COLUMNS): a long line wraps with its continuation indented under its text, two
    cells further than the items, never back at the panel's edge."""
    from rich.panel import Panel
    from rich.text import Text

    from ttai_cli.cli.common import hanging

    out = console()
    inside = out.width - 4  # the panel's borders and padding
    body = Text()
    for index, (heading, lines) in enumerate(briefing.sections):
        if index:
            body.append("\n\n")
        body.append_text(hanging(out, Text(heading, style="bold"), "", inside))
        for line in lines:
            body.append("\n")
            body.append_text(hanging(out, "  ", line, inside, indent=4))
    for note in briefing.notes:
        body.append("\n\n")
        body.append_text(hanging(out, "", Text(note, style="yellow"), inside, indent=2))
    out.print(
        Panel(body, title=Text(briefing.title, style="bold cyan"), title_align="left", expand=False)
    )


@with_schedule_options
def briefing(
    ctx: typer.Context, kind: Kind, print_only: PrintOnly = False, *, schedule: ScheduleOptions
) -> None:
    """Morning (9:30 on trading days), end-of-day (at the close) or weekly (17:00, last trading day) briefing."""
    from ttai_cli.jobs.records import BriefingJob
    from ttai_cli.services.briefings import KINDS

    kind = kind.strip().lower()
    if kind not in KINDS:
        raise UsageError(f"briefing must be one of {', '.join(KINDS)}, not {kind!r}")
    state = AppState.of(ctx)
    job = BriefingJob(state.job_context(), kind, notify=not print_only, show=show_briefing)
    run_scheduled(state, [job], schedule)


def register(app: typer.Typer) -> None:
    app.command()(sync)
    app.command()(briefing)
