"""The to-do list's rules (`services/actions.py`): why a strategy is on the list, each
reason with the line it leads and the short note it adds after another reason's line.

Pure (no I/O): `reasons(strategy, events, manage, today)` returns them, most pressing
first; `actions.strategy_item` makes them one line. `[manage]` gives the numbers.

The reasons, in order of priority:
1. `close`: at or past `profit_target` % of its max profit. For a credit strategy of
   options that is its P&L as a percent of the credit; for a debit strategy of options
   with a bounded profit (a debit spread) its P&L as a percent of the max profit.
   Shares, futures, covered calls and long options (no bounded profit) have no target.
   `Close SPY iron condor 12/19: +70% of $200 credit`
2. `expiring`: a short option in the money that expires this week (from today to
   Sunday), at the underlying's price: assignment is next.
   `Expiring Fri in the money: QQQ put credit spread 12/5, QQQ $466.80 is 0.7% through the 470 put`
3. `ex-dividend`: a short call in the money, with an ex-dividend date of its underlying
   within EVENT_DAYS days (today included) and on or before the call's expiration: its
   holder may exercise early for the dividend.
   `Ex-dividend Fri 12/4: AAPL covered call 12/18, the 220 call is $3.10 in the money`
4. `tested`: the underlying within `tested_within` % of a short strike, or through it.
   A short option capped by a long one of the same right and expiration nearer the
   money (the short leg of a debit spread) is left out: through it is that spread's
   best case. A covered call's call counts (the shares would be called away). The
   line says what to do, and what closing would cost now (P&L, and its percent as
   `ttai positions --strategies` shows it: of the credit, or of the max profit):
   a tested put: roll down and out, or close; a tested call: roll up and out, or
   close (a covered call: or let the shares be called away).
   `Tested: IWM put credit spread 1/8 — IWM $214.29 is 0.8% through the 216 put;
   roll down/out or close (-$172, -59% of credit)`
5. `manage`: at most `manage_dte` days to its (nearest) expiration, futures included.
   `Manage or roll TSLA short strangle 1/15: 18 DTE, +12%`
6. `earnings`: an earnings date of its underlying within EVENT_DAYS days (today
   included) and on or before the expiration of a strategy with options.
   `Earnings Mon 12/7 before TSLA short strangle 12/18 expires`

Close comes first because closing settles every other reason; an option in the money
that expires this week or goes ex-dividend can be assigned within days, before a tested
strike or a near expiration matters; a date to manage comes before an earnings date,
which only warns. A reason can make another's note redundant (IMPLIED): an option in
the money that expires this week is through its strike and near its expiration (no
tested or DTE note), a call in the money before an ex-dividend date is through its
strike (no tested note).

Without the underlying's price (no quote) a strategy is never tested, in the money or
ex-dividend (each needs the price); close, manage and earnings still apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from ttai_cli.services.actions_lines import (
    day,
    defend,
    dollars,
    percent,
    pnl_figures,
    signed_dollars,
    strike,
    when,
    where,
    whole_dollars,
)
from ttai_cli.strategies import Leg, Strategy, leg_of

if TYPE_CHECKING:
    from ttai_cli.config_file import ManageDefaults
    from ttai_cli.services.risk import EventDate

EVENT_DAYS = 7  # earnings and ex-dividend dates this close count (the briefing's week)
CENT = Decimal("0.01")
# the reasons, most pressing first (see the module docstring)
PRIORITY = ("close", "expiring", "ex-dividend", "tested", "manage", "earnings")
# notes a reason makes redundant (it says the same already)
IMPLIED = {"expiring": ("tested", "manage"), "ex-dividend": ("tested",)}


def profit_percent(strategy: Strategy) -> Decimal | None:
    """P&L as a percent of the max profit (`Strategy.pnl_percent_of_max`: of the credit
    for a credit strategy), for the strategies that have a profit target: options only
    (see the module docstring); None for the others or without marks."""
    if strategy.pnl is None or not all(leg.is_option for leg in strategy.legs):
        return None
    return strategy.pnl_percent_of_max


def _short_options(strategy: Strategy) -> list[Leg]:
    legs = [leg_of(p) for p in strategy.legs]
    return [leg for leg in legs if leg.is_short_option and leg.strike is not None]


def _gap(leg: Leg, price: Decimal) -> Decimal:
    """How far `price` is from the short `leg`'s strike on its losing side, in percent
    of the price: positive out of the money, negative through the strike."""
    assert leg.strike is not None
    gap = price - leg.strike if leg.right == "P" else leg.strike - price
    return gap / price * 100


def _capped(short: Leg, legs: list[Leg]) -> bool:
    """Whether a long option of the same right and expiration, at least as near the
    money, covers `short` (a debit spread's short leg)."""
    assert short.strike is not None
    for leg in legs:
        if leg.kind != "option" or leg.quantity <= 0 or leg.strike is None:
            continue
        if leg.right != short.right or leg.expiration != short.expiration:
            continue
        nearer = leg.strike <= short.strike if short.right == "C" else leg.strike >= short.strike
        if nearer:
            return True
    return False


def _tested_leg(strategy: Strategy) -> tuple[Leg, Decimal] | None:
    """The short option nearest its losing side (and how near, in %), of those a long
    option does not cap; None without a price or such an option."""
    price = strategy.underlying_price
    if price is None or price <= 0:
        return None
    legs = [leg_of(p) for p in strategy.legs]
    found = [
        (leg, _gap(leg, price))
        for leg in legs
        if leg.is_short_option and leg.strike is not None and not _capped(leg, legs)
    ]
    return min(found, key=lambda item: item[1]) if found else None


@dataclass(frozen=True)
class Reason:
    kind: str
    lead: str  # the whole line when it leads
    note: str  # the short form after another reason's line


def reasons(
    strategy: Strategy,
    events: Sequence[EventDate],
    manage: ManageDefaults,
    today: date,
) -> list[Reason]:
    """Every reason `strategy` is on the list, most pressing first."""
    label = strategy.label
    found: list[Reason] = []
    share = profit_percent(strategy)
    if share is not None and share >= manage.profit_target:
        basis = (
            f"{whole_dollars(strategy.credit or Decimal(0))} credit"
            if strategy.is_credit
            else f"{whole_dollars(strategy.max_profit or Decimal(0))} max profit"
        )
        found.append(
            Reason(
                "close",
                f"Close {label}: {percent(share)} of {basis}",
                f"{percent(share)} of the max profit",
            )
        )
    price = strategy.underlying_price
    shorts = _short_options(strategy) if price is not None and price > 0 else []
    week_end = today + timedelta(days=6 - today.weekday())
    expiring = [
        (leg, _gap(leg, price))
        for leg in shorts
        if price is not None
        and leg.expiration is not None
        and today <= leg.expiration <= week_end
        and _gap(leg, price) < 0
    ]
    if expiring:
        leg, gap = min(expiring, key=lambda item: item[1])
        assert leg.expiration is not None
        due = when(leg.expiration, today)
        found.append(
            Reason(
                "expiring",
                f"Expiring {due} in the money: {label}, {where(strategy, leg, gap)}",
                f"in the money, expires {due}",
            )
        )
    dividends = [
        (event, leg)
        for event in events
        if event.kind == "ex-dividend"
        and event.symbol == strategy.underlying
        and 0 <= (event.date - today).days <= EVENT_DAYS
        for leg in shorts
        if leg.right == "C"
        and leg.expiration is not None
        and event.date <= leg.expiration
        and price is not None
        and leg.strike is not None
        and price > leg.strike
    ]
    if dividends:
        event, leg = min(dividends, key=lambda item: (item[0].date, item[1].strike or 0))
        assert price is not None and leg.strike is not None
        call = f"the {strike(leg.strike)} call"
        found.append(
            Reason(
                "ex-dividend",
                f"Ex-dividend {day(event.date)}: {label}, {call} is "
                f"{dollars(price - leg.strike)} in the money",
                f"ex-dividend {day(event.date)}, {call} in the money",
            )
        )
    tested = _tested_leg(strategy)
    # compared at the cent of a percent, as `ttai positions --strategies` shows it
    if tested is not None and tested[1].quantize(CENT, ROUND_HALF_UP) <= manage.tested_within:
        leg, gap = tested
        figures = pnl_figures(strategy)
        found.append(
            Reason(
                "tested",
                f"Tested: {label} — {where(strategy, leg, gap)}; {defend(strategy, leg)}"
                + (f" ({figures})" if figures else ""),
                f"tested, {where(strategy, leg, gap)}",
            )
        )
    if strategy.dte is not None and strategy.dte <= manage.manage_dte:
        figure = ""
        options_only = all(leg.is_option for leg in strategy.legs)
        if options_only and strategy.pnl_percent_of_max is not None:
            figure = f", {percent(strategy.pnl_percent_of_max)}"
        elif strategy.pnl is not None:
            figure = f", {signed_dollars(strategy.pnl)}"
        found.append(
            Reason(
                "manage",
                f"Manage or roll {label}: {strategy.dte} DTE{figure}",
                f"{strategy.dte} DTE",
            )
        )
    has_options = any(leg.is_option for leg in strategy.legs)
    earnings = sorted(
        event.date
        for event in events
        if event.kind == "earnings"
        and event.symbol == strategy.underlying
        and has_options
        and strategy.expiration is not None
        and 0 <= (event.date - today).days <= EVENT_DAYS
        and event.date <= strategy.expiration
    )
    if earnings:
        on = day(earnings[0])
        found.append(Reason("earnings", f"Earnings {on} before {label} expires", f"earnings {on}"))
    return found
