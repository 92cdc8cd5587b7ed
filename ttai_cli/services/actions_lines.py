"""The to-do list's lines (`services/actions.py`): the `ActionItem` each line is, and
how its figures read on a phone (plain text: dollars, percents, strikes, days, times,
where a price stands against a strike, what to do with a tested leg, a strategy's P&L).

Pure (no I/O); the reasons (`actions_rules.py`) and the fired alerts' lines
(`actions_alerts.py`) word their lines with these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from ttai_cli.clock import NEW_YORK
from ttai_cli.strategies.shapes import COVERED_CALL

if TYPE_CHECKING:
    from ttai_cli.strategies import Leg, Strategy


@dataclass(frozen=True)
class ActionItem:
    """One line of the to-do list. `kind`: the leading reason (one of PRIORITY) or
    `alert`; `reasons`: every reason for the strategy, the leading one first."""

    kind: str
    text: str
    strategy: str | None = None  # the strategy's label; None for an alert line
    reasons: tuple[str, ...] = ()
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "text": self.text,
            "strategy": self.strategy,
            "reasons": list(self.reasons),
            **self.data,
        }


# -- how figures read on a phone -------------------------------------------------------------
def whole_dollars(value: Decimal) -> str:
    return f"${abs(value).quantize(Decimal(1), ROUND_HALF_UP):,}"


def dollars(value: Decimal) -> str:
    return f"${value:,.2f}"


def signed_dollars(value: Decimal) -> str:
    return ("-" if value < 0 else "+") + dollars(abs(value))


def percent(value: Decimal) -> str:
    """`+70%`, `-35%`, `+0%`: whole percents."""
    whole = value.quantize(Decimal(1), ROUND_HALF_UP)
    return f"{'-' if whole < 0 else '+'}{abs(whole)}%"


def strike(value: Decimal) -> str:
    return f"{value.normalize():f}"


def day(value: date) -> str:
    """`Mon 12/7`."""
    return f"{value:%a} {value.month}/{value.day}"


def right(leg: Leg) -> str:
    return "call" if leg.right == "C" else "put"


def when(expiration: date, today: date) -> str:
    days = (expiration - today).days
    return "today" if days == 0 else "tomorrow" if days == 1 else f"{expiration:%a}"


def at(moment: datetime, today: date) -> str:
    """`13:05` today, `Mon 13:05` another day (New York time)."""
    local = moment.astimezone(NEW_YORK)
    return f"{local:%H:%M}" if local.date() == today else f"{local:%a %H:%M}"


# -- what a strategy's line says ---------------------------------------------------------------
def pnl_figures(strategy: Strategy) -> str:
    """`-$172, -59% of credit`, `+$1,521, +45% of max profit`, `+$464` (no percent of
    max profit known: shares, a long call, a future); empty without a P&L."""
    if strategy.pnl is None:
        return ""
    money = ("-" if strategy.pnl < 0 else "+") + whole_dollars(strategy.pnl)
    share = strategy.pnl_percent_of_max
    if share is None:
        return money
    basis = "credit" if strategy.is_credit else "max profit"
    return f"{money}, {percent(share)} of {basis}"


def where(strategy: Strategy, leg: Leg, gap: Decimal) -> str:
    """`TSLA $249.10 is 0.4% from the 250 call` (or `through`, or `at`)."""
    assert strategy.underlying_price is not None and leg.strike is not None
    price = f"{strategy.underlying} {dollars(strategy.underlying_price)}"
    size = abs(gap).quantize(Decimal("0.1"), ROUND_HALF_UP)
    option = f"the {strike(leg.strike)} {right(leg)}"
    if size == 0:
        return f"{price} is at {option}"
    return f"{price} is {size}% {'from' if gap > 0 else 'through'} {option}"


def defend(strategy: Strategy, leg: Leg) -> str:
    """What a premium seller does with a tested short `leg`: roll it away from the
    price and out in time, or close (a covered call may also let the shares go)."""
    if leg.right == "P":
        return "roll down/out or close"
    if strategy.name == COVERED_CALL:
        return "roll up/out or let the shares be called away"
    return "roll up/out or close"
