"""`ttai alerts add|list|remove|rearm|check`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ttai_cli.cli.common import AppState, AsJson, console, emit_json, run, table
from ttai_cli.cli.schedule_options import run_scheduled, with_schedule_options

if TYPE_CHECKING:
    from datetime import date
    from decimal import Decimal

    from ttai_cli.scheduling.options import ScheduleOptions

alerts_app = typer.Typer(
    help="Price, change, IV-rank, delta, DTE, P&L, tested and earnings alerts (P&L, DTE and "
    "tested also on one strategy), and account-level bp-usage, drawdown, theta and "
    "beta-delta alerts.",
    no_args_is_help=True,
)

Symbol = Annotated[
    str,
    typer.Argument(
        metavar="[SYMBOL]",
        help="AAPL, an OCC option symbol, /ESZ6 ... (none for bp-usage, drawdown, theta, beta-delta).",
    ),
]
Condition = Annotated[
    str,
    typer.Argument(
        help="above/below (price, change, iv-rank, beta-delta), above (delta, bp-usage, drawdown), "
        "below (dte, theta), profit/loss (pnl), within (earnings, tested)."
    ),
]
Threshold = Annotated[
    str | None,
    typer.Argument(
        metavar="THRESHOLD",
        help="Price, percent, delta (0-1), days, dollars per day or SPY-equivalent shares.",
    ),
]
Kind = Annotated[
    str,
    typer.Option(
        "--type",
        help="price, change, delta, dte, pnl, iv-rank, earnings, tested; account-level: "
        "bp-usage, drawdown, theta, beta-delta.",
    ),
]
StrategyOption = Annotated[
    str | None,
    typer.Option(
        "--strategy",
        metavar="EXPIRATION",
        help="Bind a pnl, dte or tested alert to the strategy on SYMBOL expiring then "
        "(2027-01-15, 1/15, 1/15/27, jan15; no year: the next such date).",
    ),
]
Note = Annotated[str | None, typer.Option("--note", help="A reminder shown with the notification.")]
RepeatAfter = Annotated[
    str | None,
    typer.Option(
        "--repeat-after",
        metavar="DURATION",
        help="Re-arm by itself this long after firing, once the condition was false again.",
    ),
]
Ids = Annotated[
    list[int], typer.Argument(metavar="ID...", help="Alert ids (see `ttai alerts list`).")
]
All = Annotated[bool, typer.Option("--all", help="Triggered alerts too.")]


def _service(ctx: typer.Context):  # type: ignore[no-untyped-def]
    return AppState.of(ctx).job_context().alerts(notify=False)


@alerts_app.command(context_settings={"ignore_unknown_options": True})
def add(
    ctx: typer.Context,
    symbol: Symbol,
    condition: Condition,
    threshold: Threshold = None,
    kind: Kind = "price",
    note: Note = None,
    repeat_after: RepeatAfter = None,
    strategy: StrategyOption = None,
) -> None:
    """Add an alert and print its id. Negative thresholds work:
    `ttai alerts add SPY below -3 --type change`. Account-level kinds take no symbol:
    `ttai alerts add --type bp-usage above 50`. Strategy alerts:
    `ttai alerts add TSLA --strategy 1/15 --type pnl profit 50` (percent of the credit),
    `ttai alerts add TSLA --type tested within 2` (near a short strike, or through it)."""
    from ttai_cli.alerts.rules import parse_alert
    from ttai_cli.scheduling.parse import parse_duration

    repeat = parse_duration(repeat_after, option="--repeat-after") if repeat_after else None
    given: str | None = symbol
    if threshold is None:  # two words: CONDITION THRESHOLD, no symbol (account-level)
        given, condition, threshold = None, symbol, condition
    today = AppState.of(ctx).clock.now().date()
    spec = parse_alert(given, kind, condition, threshold, note, repeat, strategy, today)
    alert_id, warnings = run(_service(ctx).add_checked(spec))
    for warning in warnings:  # a hint says it is one (`hint: ...`): not a warning
        kind = "" if warning.startswith("hint: ") else "warning: "
        typer.echo(f"ttai: {kind}{warning}", err=True)
    typer.echo(str(alert_id))


@alerts_app.command("list")
def list_alerts(ctx: typer.Context, all_: All = False, as_json: AsJson = False) -> None:
    """Active alerts (with --all, triggered ones too)."""
    from ttai_cli.clock import NEW_YORK
    from ttai_cli.scheduling.parse import format_duration
    from ttai_cli.services.alerts import alert_json

    alerts = _service(ctx).list_alerts(include_triggered=all_)
    if as_json:
        emit_json([alert_json(a) for a in alerts])
        return
    if not alerts:
        console().print("No alerts." if all_ else "No active alerts (--all shows triggered ones).")
        return
    from ttai_cli.broker.symbols import short_date

    today = AppState.of(ctx).clock.now().date()
    # One `Alert` column reads as the command was typed (`price above $200`) and one
    # `Status` column says when it fired: ten columns would not fit 80.
    rows = [
        [
            str(a.id),
            shown_symbol(a.symbol, today),
            short_date(a.strategy, today) if a.strategy else "",
            f"{a.type} {a.condition} {shown_threshold(a.type, a.threshold)}",
            f"{a.status} {a.triggered_at.astimezone(NEW_YORK):%m-%d %H:%M}"
            if a.triggered_at
            else a.status,
            format_duration(a.repeat_after) if a.repeat_after else "",
            a.note or "",
        ]
        for a in alerts
    ]
    table(
        "Alerts",
        ["Id", "Symbol", "Strategy", "Alert", "Status", "Repeat", "Note"],
        rows,
        right=(0,),
        wrap=(6,),
    )


def shown_symbol(symbol: str, today: date | None = None) -> str:
    """The readable symbol (`QQQ 11/27 465P`), `account` for the account-level kinds
    (stored with no symbol)."""
    from ttai_cli.broker.symbols import readable

    return readable(symbol, today) or "account"


def shown_threshold(kind: str, threshold: Decimal) -> str:
    """The threshold with its unit (`ttai_cli.alerts.shown`, shared with the briefings)."""
    from ttai_cli.alerts.shown import shown_threshold as with_unit

    return with_unit(kind, threshold)


@alerts_app.command()
def remove(ctx: typer.Context, ids: Ids) -> None:
    """Remove alerts (all or none: an unknown id removes nothing)."""
    ids = list(dict.fromkeys(ids))
    _service(ctx).remove(ids)
    console().print(f"removed {', '.join(map(str, ids))}")


@alerts_app.command()
def rearm(ctx: typer.Context, ids: Ids) -> None:
    """Make triggered alerts active again (one already active is left as it is, and
    said so)."""
    ids = list(dict.fromkeys(ids))
    already = _service(ctx).rearm(ids)
    rearmed = [i for i in ids if i not in already]
    said = [f"re-armed {', '.join(map(str, rearmed))}"] if rearmed else []
    if already:
        verb = "is" if len(already) == 1 else "are"
        said.append(f"{', '.join(map(str, already))} {verb} already active")
    console().print("; ".join(said))


@with_schedule_options
def check(ctx: typer.Context, *, schedule: ScheduleOptions) -> None:
    """Check price, change and IV-rank alerts (the fast path; --loop: every 30 s)."""
    from ttai_cli.jobs import create_job

    state = AppState.of(ctx)
    run_scheduled(state, [create_job("alerts", state.job_context())], schedule)


@with_schedule_options
def monitor(ctx: typer.Context, *, schedule: ScheduleOptions) -> None:
    """Every alert kind against positions and quotes; notify positions opened, closed and resized (--loop: 60 s)."""
    from ttai_cli.jobs import create_job

    state = AppState.of(ctx)
    run_scheduled(state, [create_job("monitor", state.job_context())], schedule)


def register(app: typer.Typer) -> None:
    alerts_app.command()(check)
    app.add_typer(alerts_app, name="alerts")
    app.command()(monitor)
