"""`ttai market status`, `ttai market calendar`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ttai_cli.cli.common import AppState, AsJson, emit_json, run, table

if TYPE_CHECKING:
    from ttai_cli.market.calendar import Session
    from ttai_cli.market.hours import MarketState

market_app = typer.Typer(
    help="Market hours: NYSE (and every market's own: CME Globex futures, crypto), and the NYSE session calendar.",
    no_args_is_help=True,
)
Now = Annotated[
    str | None, typer.Option("--now", metavar="ISO", help="Ask about this instant instead of now.")
]
From = Annotated[
    str | None, typer.Option("--from", metavar="DATE", help="First date (default today).")
]
To = Annotated[
    str | None, typer.Option("--to", metavar="DATE", help="Last date (default 30 days on).")
]


def _service(ctx: typer.Context):  # type: ignore[no-untyped-def]
    from ttai_cli.services.market import MarketService

    state = AppState.of(ctx)
    return MarketService(state.store(), state.clock, state.live_check())


def _session_json(session: Session | None) -> dict[str, object] | None:
    if session is None:
        return None
    return {
        "date": session.date,
        "open": session.open,
        "close": session.close,
        "early_close": session.early_close,
    }


@market_app.command()
def status(ctx: typer.Context, now: Now = None, as_json: AsJson = False) -> None:
    """Is NYSE open now (or at --now), and when it next opens and closes; and each
    market's own hours (NYSE, CME Globex futures, crypto)."""
    from ttai_cli.scheduling.parse import parse_instant

    service = _service(ctx)
    result = service.status_at(parse_instant(now)) if now else run(service.status())
    markets = service.markets(result)
    if as_json:
        emit_json(
            {
                "now": result.now,
                "open": result.open,
                "session": _session_json(result.session),
                "next_open": result.next_open,
                "next_close": result.next_close,
                "source": result.source,
                "reason": result.reason,
                "markets": {
                    name: {
                        "open": state.open,
                        "next_open": state.next_open,
                        "next_close": state.next_close,
                    }
                    for name, state in markets.items()
                },
            }
        )
        return
    rows = [
        ["Now", f"{result.now:%a %Y-%m-%d %H:%M:%S %Z}"],
        ["Market", result.reason.removeprefix("market ")],  # the title says NYSE
        ["Next open", f"{result.next_open:%a %Y-%m-%d %H:%M %Z}"],
        ["Next close", f"{result.next_close:%a %Y-%m-%d %H:%M %Z}"],
        ["Source", result.source],
    ]
    table("NYSE", ["", ""], rows, show_header=False)
    table(
        "Each alert keeps its market's hours",
        ["", ""],
        [[_MARKET_NAMES[name], _market_line(state)] for name, state in markets.items()],
        show_header=False,
    )


_MARKET_NAMES = {
    "equity": "Equities: NYSE",
    "futures": "Futures: CME Globex",
    "crypto": "Crypto",
}


def _market_line(state: MarketState) -> str:
    """`closed: daily halt until 18:00`, `closed: Sunday; opens Mon 09:30`: one line
    per market, the next open added where the reason does not say it."""
    reason = state.reason.split(" (no session on ")[0]  # the Now row has the date
    if state.open or state.next_open is None or " until " in reason:
        return reason
    return f"{reason}; opens {state.next_open:%a %H:%M}"


@market_app.command()
def calendar(
    ctx: typer.Context, start: From = None, end: To = None, as_json: AsJson = False
) -> None:
    """Regular NYSE sessions between two dates, early closes marked."""
    from ttai_cli.scheduling.parse import parse_date

    sessions = _service(ctx).sessions(
        parse_date(start, option="--from") if start else None,
        parse_date(end, option="--to") if end else None,
    )
    if as_json:
        emit_json([_session_json(s) for s in sessions])
        return
    rows = [
        [
            f"{s.date:%a %Y-%m-%d}",
            f"{s.open:%H:%M}",
            f"{s.close:%H:%M}",
            "early close" if s.early_close else "",
        ]
        for s in sessions
    ]
    table("NYSE sessions (New York time)", ["Date", "Open", "Close", ""], rows)


def register(app: typer.Typer) -> None:
    app.add_typer(market_app, name="market")
