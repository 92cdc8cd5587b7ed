"""Alerts as a trader reads them: the threshold with its unit, the kind by its trading name.

`ttai alerts list` and the briefings' alert lists share these, so `TSLA P&L loss 200%` reads
the same everywhere (never the stored `pnl loss 200`).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

# the stored kinds whose trading name differs; the rest read as stored (price, change, ...)
KIND_LABELS = {
    "pnl": "P&L",
    "dte": "DTE",
    "iv-rank": "IV rank",
    "bp-usage": "BP usage",
    "beta-delta": "beta-weighted delta",
}


def shown_threshold(kind: str, threshold: Decimal) -> str:
    """The threshold with its unit, as the trader typed it (185.10 stays 185.10)."""
    text = f"{threshold:f}"
    if kind == "price":
        return f"${text}"
    if kind == "theta":  # -$25.5/day, as money is written everywhere else
        return f"{'-' if threshold < 0 else ''}${abs(threshold):f}/day"
    if kind in ("change", "pnl", "bp-usage", "drawdown", "tested"):
        return f"{text}%"
    if kind in ("dte", "earnings"):
        return f"{text} days"
    if kind == "beta-delta":
        return f"{text} SPY shares"
    return text


def alert_line(
    symbol_label: str,
    kind: str,
    condition: str,
    threshold: Decimal,
    strategy: date | None = None,
    today: date | None = None,
) -> str:
    """`TSLA P&L loss 200%`, `AAPL price above $185`, `account BP usage above 50%`; an
    alert bound to a strategy names its expiration: `TSLA 1/15 P&L profit 50%`
    (`today`: the New York date, for the year)."""
    if strategy is not None:
        from ttai_cli.broker.symbols import short_date

        symbol_label = f"{symbol_label} {short_date(strategy, today)}"
    return f"{symbol_label} {KIND_LABELS.get(kind, kind)} {condition} {shown_threshold(kind, threshold)}"
