"""Strategy alerts: pnl and dte bound to one strategy (`--strategy EXPIRATION`), and
`tested within PCT` (bound, or every strategy on the underlying).

Pure, like `evaluate`: the strategies of one snapshot in (`MarketView.strategies`, grouped
by `AlertsService.gather`), an `Evaluation` out. An alert watches the strategies on its
symbol (the underlying) whose expiration is the bound date; none held (closed, rolled to
another expiration, never opened) is "not met", as a leg alert with no position is.
Several on one date (two spreads opened by two orders): profit fires on the best, loss
on the worst, tested on the nearest.

Texts name the strategy as a trader does:
`TSLA short strangle 1/15: +52% of $412 credit (profit 50%)`,
`TSLA short strangle 1/15 expires in 5 days`,
`TSLA short strangle 1/15 tested: TSLA $249.10 is 0.4% from the 250 call (within 2%)`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ttai_cli.alerts.models import Alert, Evaluation, in_days

if TYPE_CHECKING:
    from ttai_cli.strategies import Strategy


def is_strategy_alert(alert: Alert) -> bool:
    """Evaluated on strategies rather than legs: bound to one, or a tested alert."""
    return alert.strategy is not None or alert.type == "tested"


def watched(alert: Alert, strategies: list[Strategy]) -> list[Strategy]:
    """The strategies `alert` watches: on its symbol, expiring on its date when bound."""
    symbol = alert.symbol.strip()
    return [
        s
        for s in strategies
        if s.underlying.strip() == symbol
        and (alert.strategy is None or s.expiration == alert.strategy)
    ]


def evaluate_strategy(alert: Alert, strategies: list[Strategy] | None, today: date) -> Evaluation:
    if strategies is None:  # the snapshot was not grouped: a caller's mistake, not a firing
        return Evaluation(None, why_unknown="no strategies in this snapshot")
    held = watched(alert, strategies)
    if alert.type == "pnl":
        return _pnl(alert, held)
    if alert.type == "dte":
        return _dte(alert, held, today)
    if alert.type == "tested":
        return _tested(alert, held)
    return Evaluation(None, why_unknown=f"{alert.type} alerts are not bound to strategies")


def _dollars(value: Decimal) -> str:
    """`$412`, `$412.50`: whole dollars without cents."""
    value = abs(value)
    return f"${value:,.0f}" if value == value.to_integral_value() else f"${value:,.2f}"


def _percent(value: Decimal) -> str:
    """`0.4`, `12.3`; two places below 0.1 so a near miss never reads `0.0`."""
    text = f"{value:.1f}"
    return f"{value:.2f}" if value and text in ("0.0", "-0.0") else text


def _common(alert: Alert, strategy: Strategy) -> dict[str, Any]:
    data: dict[str, Any] = {
        "symbol": alert.symbol,
        "strategy": strategy.name,
        "label": strategy.label,
        "expiration": strategy.expiration.isoformat() if strategy.expiration else None,
        "condition": alert.condition,
        "threshold": float(alert.threshold),
        "short_strikes": [float(s) for s in strategy.short_strikes],
        "legs": strategy.symbols,
    }
    if strategy.underlying_price is not None:
        data["underlying_price"] = float(strategy.underlying_price)
    return data


def _pnl(alert: Alert, held: list[Strategy]) -> Evaluation:
    if not held:
        return Evaluation(False)
    known = [s for s in held if s.pnl_percent is not None]
    if not known:
        if all(s.credit is None for s in held):
            return Evaluation(
                None,
                why_unknown=f"{held[0].label} is margined, not paid for: its P&L is no "
                "percent of a credit or debit",
            )
        return Evaluation(None, why_unknown=f"no mark for every leg of {held[0].label}")

    def percent(s: Strategy) -> Decimal:
        return s.pnl_percent if s.pnl_percent is not None else Decimal(0)

    if alert.condition == "profit":
        strategy = max(known, key=percent)
        met = percent(strategy) >= alert.threshold
    else:
        strategy = min(known, key=percent)
        met = percent(strategy) <= -alert.threshold
    value = percent(strategy)
    basis = "credit" if strategy.is_credit else "debit"
    credit = strategy.credit if strategy.credit is not None else Decimal(0)  # known: percent
    return Evaluation(
        met,
        value,
        f"P&L Alert: {strategy.label}",
        f"{strategy.label}: {value:+.0f}% of {_dollars(credit)} {basis} "
        f"({alert.condition} {alert.threshold:g}%)",
        {
            **_common(alert, strategy),
            "pnl_percent": float(value),
            "pnl": float(strategy.pnl) if strategy.pnl is not None else None,
            "credit": float(credit),
        },
    )


def _dte(alert: Alert, held: list[Strategy], today: date) -> Evaluation:
    dated = [s for s in held if s.dte is not None]
    if not dated:
        return Evaluation(False)
    strategy = min(dated, key=lambda s: s.dte if s.dte is not None else 10**6)
    days = Decimal(strategy.dte or 0)
    when = in_days(days)
    return Evaluation(
        days <= alert.threshold,
        days,
        f"Expiration Alert: {strategy.label}",
        f"{strategy.label} expires {when}",
        {
            **_common(alert, strategy),
            "dte": int(days),
            "threshold": int(alert.threshold),
            "expires_at": strategy.expiration.isoformat() if strategy.expiration else None,
        },
    )


def _tested(alert: Alert, held: list[Strategy]) -> Evaluation:
    shorts = [s for s in held if s.short_strikes]
    if not shorts:
        return Evaluation(False)  # no short option: nothing can be tested
    known = [(s, nearest) for s in shorts if (nearest := s.nearest_short()) is not None]
    if not known:
        return Evaluation(None, why_unknown=f"no price for {alert.symbol.strip()}")
    strategy, (strike, right, distance) = min(known, key=lambda item: item[1][2])
    price = strategy.underlying_price
    assert price is not None  # a distance needs one
    short = f"the {strike.normalize():f} {'call' if right == 'C' else 'put'}"
    if distance > 0:
        where = f"{_percent(distance)}% from {short}"
    elif distance == 0:
        where = f"at {short}"
    else:
        where = f"{_percent(-distance)}% through {short}"
    return Evaluation(
        distance <= alert.threshold,
        distance,
        f"Tested Alert: {strategy.label}",
        f"{strategy.label} tested: {strategy.underlying.strip()} ${price:,.2f} is {where} "
        f"(within {alert.threshold:g}%)",
        {
            **_common(alert, strategy),
            "distance_percent": float(distance),
            "strike": float(strike),
            "right": "call" if right == "C" else "put",
        },
    )
