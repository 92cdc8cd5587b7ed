"""Evaluating alerts against one snapshot of the market and the account.

Pure functions: no I/O, no clock. An evaluation is met, not met, or unknown (a missing
quote, metric or greek): an unknown alert is skipped and logged, never fired, and does
not count as "the condition has been false again" for re-arming either.

Notification texts are what a trader reads on a phone:
`AAPL is now $185.50 (above $185.00)`, `SPY 11/28 450P expires in 3 days`,
`TSLA short put P&L +52% (target +50%)`, `Buying power used 52.3% of net liq (above 50%)`,
`AAPL reports earnings in 3 days (Thu 11/27)`. Strategy alerts (`--strategy`, tested)
are `alerts/strategy.py`'s.

The account-level kinds read plain figures of the view (`nlv`, `bp_used_percent`,
`drawdown_percent`) or the portfolio risk snapshot (theta, beta-weighted delta); a
snapshot with options whose Greeks did not arrive leaves theta and beta-delta unknown
rather than fire on a partial sum.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ttai_cli.alerts.models import Alert, Evaluation, in_days
from ttai_cli.alerts.strategy import evaluate_strategy, is_strategy_alert
from ttai_cli.broker.models import MarketMetric, Quote
from ttai_cli.broker.symbols import parse_occ, readable
from ttai_cli.services.portfolio import PositionView

if TYPE_CHECKING:
    from collections.abc import Callable

    from ttai_cli.services.risk import RiskReport
    from ttai_cli.strategies import Strategy


@dataclass
class MarketView:
    quotes: dict[str, Quote] = field(default_factory=dict)
    metrics: dict[str, MarketMetric] = field(default_factory=dict)
    positions: list[PositionView] = field(default_factory=list)
    deltas: dict[str, Decimal] = field(default_factory=dict)
    # the account, fetched only when account-level alerts are watched
    nlv: Decimal | None = None
    bp_used_percent: Decimal | None = None  # maintenance requirement / NLV x 100
    drawdown_percent: Decimal | None = None  # below the 30-day high-water mark
    high_water: Decimal | None = None  # that mark
    risk: RiskReport | None = None  # for theta and beta-delta alerts
    risk_error: str = ""  # why `risk` is missing
    # the account's strategies, grouped only when a strategy alert is watched
    strategies: list[Strategy] | None = None
    # groups them on demand (a plain pnl / dte alert fired for a leg: which strategy?)
    group: Callable[[], list[Strategy]] | None = None

    def all_strategies(self) -> list[Strategy]:
        """The account's strategies: those grouped already, else grouped now (once)."""
        if self.strategies is None and self.group is not None:
            self.strategies = self.group()
        return self.strategies or []


def earnings_symbol(symbol: str) -> str:
    """The symbol whose earnings an alert means: an option's underlying, else itself."""
    occ = parse_occ(symbol)
    return occ.root if occ else symbol.strip()


def unknown(why: str) -> Evaluation:
    return Evaluation(None, why_unknown=why)


def money(value: Decimal) -> str:
    return f"${value:,.2f}"


def label(position: PositionView, today: date) -> str:
    """`SPY 11/28 450P` for an option, the symbol otherwise."""
    return readable(position.symbol, today)


def describe(position: PositionView) -> str:
    """`TSLA short put`, `AAPL long stock`."""
    side = "short" if position.quantity < 0 else "long"
    occ = parse_occ(position.symbol)
    what = (
        ("call" if occ.right == "C" else "put")
        if occ
        else ("stock" if position.instrument_type == "Equity" else position.instrument_type.lower())
    )
    return f"{position.underlying_symbol} {side} {what}"


def with_underlying(
    data: dict[str, Any], view: MarketView, position: PositionView
) -> dict[str, Any]:
    """`data` plus `underlying_price` when the view has a price for the position's
    underlying (the phone text shows it beside the option)."""
    quote = view.quotes.get(position.underlying_symbol)
    if quote is None or quote.price is None or position.underlying_symbol == position.symbol:
        return data
    return {**data, "underlying_price": float(quote.price)}


def positions_for(
    alert: Alert, positions: list[PositionView], options_only: bool
) -> list[PositionView]:
    """Positions the alert's symbol names: the position itself or its underlying."""
    return [
        p
        for p in positions
        if (p.symbol == alert.symbol or p.underlying_symbol == alert.symbol)
        and (not options_only or "Option" in p.instrument_type)
    ]


def evaluate(alert: Alert, view: MarketView, today: date) -> Evaluation:
    if is_strategy_alert(alert):  # `--strategy` pnl / dte, and tested
        result = evaluate_strategy(alert, view.strategies, today)
    elif alert.type == "price":
        result = _price(alert, view, today)
    elif alert.type == "change":
        result = _change(alert, view, today)
    elif alert.type == "iv-rank":
        result = _iv_rank(alert, view)
    elif alert.type == "delta":
        result = _delta(alert, view, today)
    elif alert.type == "dte":
        result = _dte(alert, view, today)
    elif alert.type == "pnl":
        result = _pnl(alert, view)
    elif alert.type == "earnings":
        metric = view.metrics.get(earnings_symbol(alert.symbol))
        if metric is None:
            result = unknown(f"no market metrics for {earnings_symbol(alert.symbol)}")
        else:
            result = earnings(alert, metric.earnings_date, today)
    elif alert.type == "bp-usage":
        result = bp_usage(alert, view.bp_used_percent)
    elif alert.type == "drawdown":
        result = drawdown(alert, view.drawdown_percent, view.nlv, view.high_water)
    elif alert.type in ("theta", "beta-delta"):
        risk = view.risk
        if risk is None:
            result = unknown(view.risk_error or "no portfolio risk snapshot")
        elif risk.missing_greeks:
            result = unknown(f"no greeks for {len(risk.missing_greeks)} option position(s)")
        elif alert.type == "theta":
            result = theta(alert, risk.theta)
        else:
            result = beta_delta(alert, risk.beta_weighted_delta)
    else:
        result = unknown(f"unknown alert type {alert.type}")
    if result.met and alert.note:
        result = Evaluation(
            result.met,
            result.value,
            result.title,
            f"{result.body} — {alert.note}",
            {**result.data, "note": alert.note},
        )
    return result


def _crossed(value: Decimal, alert: Alert) -> bool:
    return value >= alert.threshold if alert.condition == "above" else value <= alert.threshold


def _price(alert: Alert, view: MarketView, today: date) -> Evaluation:
    name = readable(alert.symbol, today)
    quote = view.quotes.get(alert.symbol)
    price = quote.price if quote else None
    if price is None:
        return unknown(f"no quote for {alert.symbol}")
    return Evaluation(
        _crossed(price, alert),
        price,
        f"Price Alert: {name}",
        f"{name} is now {money(price)} ({alert.condition} {money(alert.threshold)})",
        {
            "symbol": alert.symbol,
            "condition": alert.condition,
            "threshold": float(alert.threshold),
            "current_price": float(price),
        },
    )


def _change(alert: Alert, view: MarketView, today: date) -> Evaluation:
    name = readable(alert.symbol, today)
    quote = view.quotes.get(alert.symbol)
    change = quote.change_percent if quote else None
    if quote is None or change is None or quote.price is None:
        return unknown(f"no price or previous close for {alert.symbol}")
    direction = "up" if change >= 0 else "down"
    return Evaluation(
        _crossed(change, alert),
        change,
        f"Change Alert: {name}",
        f"{name} is {direction} {abs(change):.2f}% today at {money(quote.price)} "
        f"({alert.condition} {alert.threshold:+.2f}%)",
        {
            "symbol": alert.symbol,
            "condition": alert.condition,
            "threshold": float(alert.threshold),
            "change_percent": round(float(change), 4),
            "current_price": float(quote.price),
        },
    )


def _iv_rank(alert: Alert, view: MarketView) -> Evaluation:
    metric = view.metrics.get(alert.symbol)
    rank = metric.iv_rank if metric else None
    if rank is None:
        return unknown(f"no IV rank for {alert.symbol}")
    return Evaluation(
        _crossed(rank, alert),
        rank,
        f"IV Rank Alert: {alert.symbol.strip()}",
        f"{alert.symbol.strip()} IV rank is {rank:.1f} ({alert.condition} {alert.threshold:g})",
        {
            "symbol": alert.symbol,
            "condition": alert.condition,
            "threshold": float(alert.threshold),
            "iv_rank": round(float(rank), 2),
        },
    )


def _delta(alert: Alert, view: MarketView, today: date) -> Evaluation:
    options = positions_for(alert, view.positions, options_only=True)
    if not options:
        return Evaluation(False)  # nothing held: nothing to warn about
    known = [(abs(view.deltas[p.symbol]), p) for p in options if p.symbol in view.deltas]
    if not known:
        return unknown(f"no greeks for the {alert.symbol} options")
    value, position = max(known, key=lambda item: item[0])
    signed = view.deltas[position.symbol]
    return Evaluation(
        value >= alert.threshold,
        value,
        f"Delta Alert: {position.underlying_symbol}",
        f"{label(position, today)} delta {signed:+.2f} (above {alert.threshold:.2f})",
        with_underlying(
            {
                "symbol": alert.symbol,
                "position": position.symbol,
                "delta": float(signed),
                "condition": "above",
                "threshold": float(alert.threshold),
            },
            view,
            position,
        ),
    )


def _dte(alert: Alert, view: MarketView, today: date) -> Evaluation:
    """The nearest expiration among the positions on the symbol that expire: options,
    and futures (a roll reminder: `/MESH7 expires in 5 days`); shares never do."""
    expiring = [
        p for p in positions_for(alert, view.positions, options_only=False) if p.dte is not None
    ]
    if not expiring:
        return Evaluation(False)
    position = min(expiring, key=lambda p: p.dte if p.dte is not None else 10**6)
    days = Decimal(position.dte or 0)
    when = in_days(days)
    return Evaluation(
        days <= alert.threshold,
        days,
        f"Expiration Alert: {position.underlying_symbol}",
        f"{label(position, today)} expires {when}",
        with_underlying(
            {
                "symbol": alert.symbol,
                "position": position.symbol,
                "dte": int(days),
                "threshold": int(alert.threshold),
                "expires_at": position.expires_at.isoformat() if position.expires_at else None,
            },
            view,
            position,
        ),
    )


def _pnl(alert: Alert, view: MarketView) -> Evaluation:
    held = positions_for(alert, view.positions, options_only=False)
    if not held:
        return Evaluation(False)
    known = [p for p in held if p.pnl_percent is not None]
    if not known:
        return unknown(f"no mark for the {alert.symbol} positions")
    if alert.condition == "profit":
        position = max(known, key=lambda p: p.pnl_percent or Decimal(0))
        met = (position.pnl_percent or Decimal(0)) >= alert.threshold
        target = f"+{alert.threshold:g}%"
    else:
        position = min(known, key=lambda p: p.pnl_percent or Decimal(0))
        met = (position.pnl_percent or Decimal(0)) <= -alert.threshold
        target = f"-{alert.threshold:g}%"
    percent = position.pnl_percent or Decimal(0)
    return Evaluation(
        met,
        percent,
        f"P&L Alert: {position.underlying_symbol}",
        f"{describe(position)} P&L {percent:+.0f}% (target {target})",
        with_underlying(
            {
                "symbol": alert.symbol,
                "position": position.symbol,
                "condition": alert.condition,
                "threshold": float(alert.threshold),
                "pnl_percent": float(percent),
                "pnl": float(position.pnl) if position.pnl is not None else None,
            },
            view,
            position,
        ),
    )


def signed_money(value: Decimal) -> str:
    """`-$25.00`, `$40.00`."""
    return f"{'-' if value < 0 else ''}${abs(value):,.2f}"


def earnings(alert: Alert, report_date: date | None, today: date) -> Evaluation:
    """Met when the report is 0..threshold New York days away (today counts; a date in
    the past does not). No date announced: not met."""
    symbol = earnings_symbol(alert.symbol)
    if report_date is None:
        return Evaluation(False)
    days = (report_date - today).days
    when = in_days(days)
    return Evaluation(
        0 <= days <= alert.threshold,
        Decimal(days),
        f"Earnings Alert: {symbol}",
        f"{symbol} reports earnings {when} ({report_date:%a} {report_date.month}/{report_date.day})",
        {
            "symbol": alert.symbol,
            "condition": "within",
            "threshold": int(alert.threshold),
            "earnings_date": report_date.isoformat(),
            "days": days,
        },
    )


def bp_usage(alert: Alert, percent: Decimal | None) -> Evaluation:
    if percent is None:
        return unknown("no balances (net liquidating value) for buying power used")
    return Evaluation(
        percent >= alert.threshold,
        percent,
        "Buying Power Alert",
        f"Buying power used {percent:.1f}% of net liq (above {alert.threshold:g}%)",
        {
            "symbol": None,
            "condition": "above",
            "threshold": float(alert.threshold),
            "buying_power_used_percent": round(float(percent), 2),
        },
    )


def drawdown(
    alert: Alert, percent: Decimal | None, nlv: Decimal | None, high: Decimal | None
) -> Evaluation:
    if percent is None or nlv is None or high is None:
        return unknown("no net liquidating value high-water mark yet")
    return Evaluation(
        percent >= alert.threshold,
        percent,
        "Drawdown Alert",
        f"Net liq {money(nlv)} is {percent:.1f}% below its 30-day high of {money(high)} "
        f"(above {alert.threshold:g}%)",
        {
            "symbol": None,
            "condition": "above",
            "threshold": float(alert.threshold),
            "drawdown_percent": round(float(percent), 2),
            "net_liquidating_value": float(nlv),
            "high_water": float(high),
        },
    )


def theta(alert: Alert, value: Decimal) -> Evaluation:
    return Evaluation(
        value <= alert.threshold,
        value,
        "Theta Alert",
        f"Portfolio theta {signed_money(value)}/day (below {signed_money(alert.threshold)}/day)",
        {
            "symbol": None,
            "condition": "below",
            "threshold": float(alert.threshold),
            "theta": float(value),
        },
    )


def _like(value: Decimal, threshold: Decimal) -> str:
    """`value` to the threshold's precision, with more places while it would print the
    same as a threshold it is not equal to (never "+52 (below +52)")."""
    exponent = threshold.normalize().as_tuple().exponent
    places = max(0, -exponent) if isinstance(exponent, int) else 0
    text = f"{value:+,.{places}f}"
    while value != threshold and places < 4 and text == f"{threshold:+,.{places}f}":
        places += 1
        text = f"{value:+,.{places}f}"
    return text


def beta_delta(alert: Alert, value: Decimal) -> Evaluation:
    return Evaluation(
        _crossed(value, alert),
        value,
        "Beta-Delta Alert",
        # the value to the threshold's precision (at least one decimal): "+52 (above +52)"
        # must never read as a contradiction
        f"Beta-weighted delta {_like(value, alert.threshold)} SPY shares "
        f"({alert.condition} {alert.threshold.normalize():+,f})",
        {
            "symbol": None,
            "condition": alert.condition,
            "threshold": float(alert.threshold),
            "beta_weighted_delta": float(value),
        },
    )
