"""`ttai positions`, `ttai balances`, `ttai quote`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from ttai_cli.cli.common import AppState, AsJson, emit_json, money, number, run, table

if TYPE_CHECKING:
    from decimal import Decimal

    from ttai_cli.services.strategies import StrategiesReport
    from ttai_cli.strategies.grouping import Strategy

Live = Annotated[
    bool, typer.Option("--live", help="Ask tastytrade now instead of reading the last sync.")
]
Strategies = Annotated[
    bool,
    typer.Option(
        "--strategies",
        help="Group the legs into strategies (strangle, iron condor, covered call ...).",
    ),
]
Symbols = Annotated[
    list[str], typer.Argument(help="Symbols: AAPL, 'SPY 261218P00450000', /ESZ6, BTC/USD.")
]


def _service(ctx: typer.Context, *, stored: bool = False):  # type: ignore[no-untyped-def]
    from ttai_cli.services.portfolio import PortfolioService

    state = AppState.of(ctx)
    return PortfolioService(state.open_broker, state.clock, state.store() if stored else None)


def _age(service) -> str | None:  # type: ignore[no-untyped-def]
    """`synced 4 min ago, Tue 10:42 EST`, or None if never synced."""
    last = service.last_sync()
    if last is None:
        return None
    minutes = int((service.clock.now() - last).total_seconds() // 60)
    ago = (
        "just now"
        if minutes < 1
        else f"{minutes} min ago"
        if minutes < 120
        else f"{minutes // 60} h ago"
    )
    return f"synced {ago}, {last:%a %H:%M %Z}"


def _as_of(service, live: bool):  # type: ignore[no-untyped-def]
    """When the data shown was fetched: the last sync, or now for live data."""
    last = None if live else service.last_sync()
    return last if last is not None else service.clock.now()


def _caption(as_of) -> str:  # type: ignore[no-untyped-def]
    """`As of Tue 12/1 10:42:05 EST` (New York time, as every time ttai prints)."""
    from ttai_cli.clock import NEW_YORK

    when = as_of.astimezone(NEW_YORK)
    return f"As of {when:%a} {when.month}/{when.day} {when:%H:%M:%S %Z}"


def _never_synced() -> None:
    import sys

    sys.stderr.write("ttai: no sync yet; showing live data (`ttai sync` keeps a local record)\n")


def positions(
    ctx: typer.Context,
    live: Live = False,
    strategies: Strategies = False,
    as_json: AsJson = False,
) -> None:
    """Open positions with mark, days to expiry and P&L (from the last sync, or --live).
    Every --json row carries `as_of`, when its data was fetched (the last sync, or now);
    the table says it in its caption. --strategies: one row per strategy with its legs
    beneath (credit, P&L and its percent of the max, max loss, distance to the short
    strikes)."""
    if strategies:
        _strategies(ctx, live, as_json)
        return
    service = _service(ctx, stored=not live)
    age = None if live else _age(service)
    views = service.stored_positions() if age else run(service.live_positions())
    as_of = _as_of(service, live=age is None)
    if not live and age is None:
        _never_synced()
    if as_json:
        from ttai_cli.cli.common import jsonable

        # SPEC fixes a list: the time goes on each row, as `positions --strategies` does
        emit_json([{**jsonable(v), "as_of": jsonable(as_of)} for v in views])
        return
    from ttai_cli.broker.symbols import readable

    today = service.clock.now().date()
    rows = [
        [
            readable(v.symbol, today),
            number(v.quantity),
            money(v.average_open_price),
            money(v.mark),
            "" if v.dte is None else str(v.dte),
            money(v.pnl, signed=True),
            "—" if v.pnl_percent is None else f"{v.pnl_percent:+.1f}%",
        ]
        for v in views
    ]
    table(
        f"Positions ({age})" if age else "Positions (live)",
        ["Symbol", "Qty", "Open", "Mark", "DTE", "P&L", "P&L %"],
        rows,
        right=(1, 2, 3, 4, 5, 6),
        whole=(0,),
        caption=_caption(as_of),
    )


def _strategies(ctx: typer.Context, live: bool, as_json: bool) -> None:
    from ttai_cli.services.strategies import StrategiesService

    state = AppState.of(ctx)
    service = StrategiesService(state.open_broker, state.clock, None if live else state.store())
    age = None if live else _age(service)
    report = run(service.stored() if age is not None else service.live())
    if not live and age is None:
        _never_synced()
    if as_json:
        emit_json(
            [
                {
                    "underlying": s.underlying,
                    "strategy": s.name,
                    "expiration": s.expiration,
                    "dte": s.dte,
                    "legs": s.symbols,
                    "credit": s.credit,
                    "max_profit": s.max_profit,
                    "max_loss": s.max_loss,
                    "pnl": s.pnl,
                    "pnl_percent_of_max": s.pnl_percent_of_max,
                    "underlying_price": s.underlying_price,
                    "short_strikes": list(s.short_strikes),
                    "tested": s.tested,
                    "as_of": report.as_of,
                    # beyond SPEC: the stored view's prices are live, its legs are not
                    "underlying_price_as_of": (
                        None if s.underlying_price is None else report.price_as_of(s.underlying)
                    ),
                }
                for s in report.strategies
            ]
        )
        return
    from ttai_cli.broker.symbols import readable

    def dollars(value: Decimal | None, signed: bool = False) -> str:
        """Whole dollars: a strategy's figures fit 80 columns this way."""
        if value is None:
            return "—"
        sign = "-" if value < 0 else "+" if signed and value > 0 else ""
        return f"{sign}${abs(value):,.0f}"

    today = state.clock.now().date()
    rows: list[list[str]] = []
    for s in report.strategies:
        rows.append(
            [
                s.label + (" TESTED" if s.tested else ""),
                "" if s.dte is None else str(s.dte),
                # — for a future: margined, not paid; a debit paid as tastytrade shows
                # one (`db`, not `-$22,609 credit`), short enough to fit 80 columns
                dollars(s.credit, signed=True)
                if s.credit is None or s.credit >= 0
                else f"{dollars(-s.credit)} db",
                dollars(s.pnl, signed=True),
                "—" if s.pnl_percent_of_max is None else f"{s.pnl_percent_of_max:+.0f}%",
                "unlimited" if s.max_loss is None else dollars(s.max_loss),
            ]
        )
        price = _price_line(s)
        legs = [
            f"{number(leg.quantity)} {readable(leg.symbol, today)}  {money(leg.mark)}"
            for leg in s.legs
        ]
        rows.extend([f"  {line}"] + [""] * 5 for line in ([price] if price else []) + legs)
    table(
        f"Strategies ({age})" if age else "Strategies (live)",
        ["Strategy / legs, mark", "DTE", "Credit", "P&L", "% max", "Max loss"],
        rows,
        right=(1, 2, 3, 4, 5),
        caption=f"{PERCENT_OF_MAX}\n{_caption(report.as_of)}{_live_prices(report)}",
    )


def _live_prices(report: StrategiesReport) -> str:
    """The caption's line saying the underlying prices are live, and since when, when
    they are younger than the legs' marks (the stored view quotes them after the sync),
    with the exception of held shares and futures (priced by their marks of the sync)."""
    shown = {s.underlying for s in report.strategies if s.underlying_price is not None}
    live = [report.quoted_at[u] for u in shown if u in report.quoted_at]
    if not live:
        return ""
    from ttai_cli.clock import NEW_YORK

    when = max(live).astimezone(NEW_YORK)
    held = " (shares and futures held: as synced)" if len(live) < len(shown) else ""
    return f"\nUnderlying prices live at {when:%H:%M:%S %Z}{held}"


# what the strategies table's `% max` column is (`Strategy.pnl_percent_of_max`)
PERCENT_OF_MAX = "% max: P&L as a percent of max profit (the credit, for credit strategies)"


def _price_line(strategy: Strategy) -> str | None:
    """The underlying's price and how far it is from the nearest short strike, beneath
    the strategy (`IWM $214.25, 0.8% through 216P`): as a line of its own, not two
    columns, the strategies fit 80 columns. None without a price; the price alone when
    no short option is held and no leg is the underlying itself (its mark shows it)."""
    if strategy.underlying_price is None:
        return None
    price = f"{strategy.underlying} {money(strategy.underlying_price)}"
    nearest = strategy.nearest_short()
    if nearest is None:
        held = any(leg.symbol == strategy.underlying for leg in strategy.legs)
        return None if held else price
    strike, right, distance = nearest
    where = "through" if distance <= 0 else "from"
    return f"{price}, {abs(distance):.1f}% {where} {strike.normalize():f}{right}"


def balances(ctx: typer.Context, live: Live = False, as_json: AsJson = False) -> None:
    """Net liquidating value, cash and buying power (from the last sync, or --live).
    --json adds `as_of`, when the figures were fetched (the last sync, or now); the
    table says it in its caption."""
    service = _service(ctx, stored=not live)
    age = None if live else _age(service)
    stored = service.stored_balances() if age else None
    b = stored if stored is not None else run(service.live_balances())
    as_of = _as_of(service, live=stored is None)
    if not live and stored is None:
        _never_synced()
    if as_json:
        from ttai_cli.cli.common import jsonable

        emit_json({**jsonable(b), "as_of": jsonable(as_of)})
        return
    rows = [
        ["Net liquidating value", money(b.net_liquidating_value)],
        ["Cash", money(b.cash_balance)],
        ["Equity buying power", money(b.equity_buying_power)],
        ["Derivative buying power", money(b.derivative_buying_power)],
        ["Maintenance requirement", money(b.maintenance_requirement)],
        ["Pending cash", money(b.pending_cash)],
    ]
    table(
        f"Balances {b.account_number} ({age or 'live'})",
        ["", "Value"],
        rows,
        right=(1,),
        caption=_caption(as_of),
    )


def quote(
    ctx: typer.Context,
    symbols: Symbols,
    as_json: AsJson = False,
) -> None:
    """Live quotes for one or more symbols, with what alerts test: an option's delta,
    theta and implied volatility (streamed Greeks), an underlying's IV rank."""
    details = run(_service(ctx, stored=True).quote_details(symbols))

    def dec(value, places: int = 4):  # type: ignore[no-untyped-def]
        return None if value is None else round(value, places)

    if as_json:
        emit_json(
            [
                {
                    "symbol": q.symbol,
                    "bid": q.bid,
                    "ask": q.ask,
                    "last": q.last,
                    "mark": q.mark,
                    "prev_close": q.prev_close,
                    "change_percent": dec(q.change_percent),
                    "updated_at": q.updated_at,
                    "delta": dec(d.delta),
                    "theta": dec(d.theta),
                    "implied_volatility": dec(d.implied_volatility),
                    "iv_rank": dec(d.iv_rank, 2),
                }
                for d in details
                for q in [d.quote]
            ]
        )
        return
    from ttai_cli.broker.symbols import readable

    today = AppState.of(ctx).clock.now().date()
    # `IVR` (IV rank), one line: `IV rank` stacked onto two lines at 80 columns
    headers = ["Symbol", "Bid", "Ask", "Last", "Change", "Delta", "Theta", "IV", "IVR"]
    rows = [
        [
            readable(d.quote.symbol, today),
            money(d.quote.bid),
            money(d.quote.ask),
            money(d.quote.price),
            "—" if d.quote.change_percent is None else f"{d.quote.change_percent:+.2f}%",
            "" if d.delta is None else f"{d.delta:+.2f}",
            "" if d.theta is None else f"{d.theta:+.3f}",
            "" if d.implied_volatility is None else f"{d.implied_volatility * 100:.1f}%",
            "" if d.iv_rank is None else f"{d.iv_rank:.1f}",
        ]
        for d in details
    ]
    # a column only when some row has it: a stock-only quote keeps its five columns
    shown = [i for i in range(len(headers)) if i < 5 or any(row[i] for row in rows)]
    table(
        None,
        [headers[i] for i in shown],
        [[row[i] for i in shown] for row in rows],
        right=tuple(range(1, len(shown))),
        whole=(0,),
    )


def register(app: typer.Typer) -> None:
    app.command()(positions)
    app.command()(balances)
    app.command()(quote)
