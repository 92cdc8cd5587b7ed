"""The morning briefing's to-do list ("To do"): what a premium seller acts on today.

Pure (no I/O): `action_items(strategies, events, fired, manage, today)` returns one
`ActionItem` per line; `briefings.py` puts them first in the morning briefing.

What makes a strategy an item, in order of priority (`[manage]` gives the numbers):
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

Each strategy is one line, whatever number of reasons it has: the reason first in that
order leads, the others follow as short notes (`Manage or roll TSLA short strangle
12/18: 17 DTE, +12%; earnings Mon 12/7`), but for what the lead already says: an
option in the money that expires this week is through its strike and near its
expiration (no tested or DTE note), a call in the money before an ex-dividend date is
through its strike (no tested note). Close comes first because closing settles
every other reason; an option in the money that expires this week or goes ex-dividend
can be assigned within days, before a tested strike or a near expiration matters; a
date to manage comes before an earnings date, which only warns.

Strategies are ordered by their leading reason's priority, then soonest expiration,
then name. After them come the alerts fired since the last briefing, one line per
alert, however often it fired (its latest firing, `×N` when it fired N times): the
most pressing first (tested and strategy alerts, then those on positions and the
account, then price, change, IV rank and earnings alerts), newest first within each.
At most MAX_ALERT_LINES of them, then one line saying how many more alerts fired
(`since` the last briefing's time only when no line shows that time already). An
alert about a strategy that has a line (bound to it with `--strategy`, or firing for
one of its legs) gets no line of its own: its line ends with a short note instead
(`Close SPY iron condor 12/31: ...; alerts #4, #6 fired`).
Lines are plain text (a phone shows no Markdown). With no items the briefing says
`To do: nothing today`.

Without the underlying's price (no quote) a strategy is never tested, in the money or
ex-dividend (each needs the price); close, manage and earnings still apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from ttai_cli.clock import NEW_YORK
from ttai_cli.strategies import Leg, Strategy, leg_of
from ttai_cli.strategies.shapes import COVERED_CALL

if TYPE_CHECKING:
    from ttai_cli.config_file import ManageDefaults
    from ttai_cli.services.risk import EventDate
    from ttai_cli.store.alerts import FiredEvent

EVENT_DAYS = 7  # earnings and ex-dividend dates this close count (the briefing's week)
MAX_ALERT_LINES = 5
CENT = Decimal("0.01")
NOTHING = "To do: nothing today"
# the reasons, most pressing first (see the module docstring)
PRIORITY = ("close", "expiring", "ex-dividend", "tested", "manage", "earnings")
# notes a reason makes redundant (it says the same already)
IMPLIED = {"expiring": ("tested", "manage"), "ex-dividend": ("tested",)}


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
def _whole_dollars(value: Decimal) -> str:
    return f"${abs(value).quantize(Decimal(1), ROUND_HALF_UP):,}"


def _dollars(value: Decimal) -> str:
    return f"${value:,.2f}"


def _signed_dollars(value: Decimal) -> str:
    return ("-" if value < 0 else "+") + _dollars(abs(value))


def _percent(value: Decimal) -> str:
    """`+70%`, `-35%`, `+0%`: whole percents."""
    whole = value.quantize(Decimal(1), ROUND_HALF_UP)
    return f"{'-' if whole < 0 else '+'}{abs(whole)}%"


def _strike(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _day(day: date) -> str:
    """`Mon 12/7`."""
    return f"{day:%a} {day.month}/{day.day}"


def _right(leg: Leg) -> str:
    return "call" if leg.right == "C" else "put"


# -- the reasons -----------------------------------------------------------------------------
def profit_percent(strategy: Strategy) -> Decimal | None:
    """P&L as a percent of the max profit (`Strategy.pnl_percent_of_max`: of the credit
    for a credit strategy), for the strategies that have a profit target: options only
    (see the module docstring); None for the others or without marks."""
    if strategy.pnl is None or not all(leg.is_option for leg in strategy.legs):
        return None
    return strategy.pnl_percent_of_max


def pnl_figures(strategy: Strategy) -> str:
    """`-$172, -59% of credit`, `+$1,521, +45% of max profit`, `+$464` (no percent of
    max profit known: shares, a long call, a future); empty without a P&L."""
    if strategy.pnl is None:
        return ""
    money = ("-" if strategy.pnl < 0 else "+") + _whole_dollars(strategy.pnl)
    percent = strategy.pnl_percent_of_max
    if percent is None:
        return money
    basis = "credit" if strategy.is_credit else "max profit"
    return f"{money}, {_percent(percent)} of {basis}"


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


def _where(strategy: Strategy, leg: Leg, gap: Decimal) -> str:
    """`TSLA $249.10 is 0.4% from the 250 call` (or `through`, or `at`)."""
    assert strategy.underlying_price is not None and leg.strike is not None
    price = f"{strategy.underlying} {_dollars(strategy.underlying_price)}"
    size = abs(gap).quantize(Decimal("0.1"), ROUND_HALF_UP)
    strike = f"the {_strike(leg.strike)} {_right(leg)}"
    if size == 0:
        return f"{price} is at {strike}"
    return f"{price} is {size}% {'from' if gap > 0 else 'through'} {strike}"


def _defend(strategy: Strategy, leg: Leg) -> str:
    """What a premium seller does with a tested short `leg`: roll it away from the
    price and out in time, or close (a covered call may also let the shares go)."""
    if leg.right == "P":
        return "roll down/out or close"
    if strategy.name == COVERED_CALL:
        return "roll up/out or let the shares be called away"
    return "roll up/out or close"


def _when(expiration: date, today: date) -> str:
    days = (expiration - today).days
    return "today" if days == 0 else "tomorrow" if days == 1 else f"{expiration:%a}"


@dataclass(frozen=True)
class _Reason:
    kind: str
    lead: str  # the whole line when it leads
    note: str  # the short form after another reason's line


def _reasons(
    strategy: Strategy,
    events: Sequence[EventDate],
    manage: ManageDefaults,
    today: date,
) -> list[_Reason]:
    """Every reason `strategy` is on the list, most pressing first."""
    label = strategy.label
    found: list[_Reason] = []
    percent = profit_percent(strategy)
    if percent is not None and percent >= manage.profit_target:
        basis = (
            f"{_whole_dollars(strategy.credit or Decimal(0))} credit"
            if strategy.is_credit
            else f"{_whole_dollars(strategy.max_profit or Decimal(0))} max profit"
        )
        found.append(
            _Reason(
                "close",
                f"Close {label}: {_percent(percent)} of {basis}",
                f"{_percent(percent)} of the max profit",
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
        when = _when(leg.expiration, today)
        found.append(
            _Reason(
                "expiring",
                f"Expiring {when} in the money: {label}, {_where(strategy, leg, gap)}",
                f"in the money, expires {when}",
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
        call = f"the {_strike(leg.strike)} call"
        found.append(
            _Reason(
                "ex-dividend",
                f"Ex-dividend {_day(event.date)}: {label}, {call} is "
                f"{_dollars(price - leg.strike)} in the money",
                f"ex-dividend {_day(event.date)}, {call} in the money",
            )
        )
    tested = _tested_leg(strategy)
    # compared at the cent of a percent, as `ttai positions --strategies` shows it
    if tested is not None and tested[1].quantize(CENT, ROUND_HALF_UP) <= manage.tested_within:
        leg, gap = tested
        figures = pnl_figures(strategy)
        found.append(
            _Reason(
                "tested",
                f"Tested: {label} — {_where(strategy, leg, gap)}; {_defend(strategy, leg)}"
                + (f" ({figures})" if figures else ""),
                f"tested, {_where(strategy, leg, gap)}",
            )
        )
    if strategy.dte is not None and strategy.dte <= manage.manage_dte:
        figure = ""
        options_only = all(leg.is_option for leg in strategy.legs)
        if options_only and strategy.pnl_percent_of_max is not None:
            figure = f", {_percent(strategy.pnl_percent_of_max)}"
        elif strategy.pnl is not None:
            figure = f", {_signed_dollars(strategy.pnl)}"
        found.append(
            _Reason(
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
        day = _day(earnings[0])
        found.append(
            _Reason("earnings", f"Earnings {day} before {label} expires", f"earnings {day}")
        )
    return found


def _at(moment: datetime, today: date) -> str:
    """`13:05` today, `Mon 13:05` another day (New York time)."""
    local = moment.astimezone(NEW_YORK)
    return f"{local:%H:%M}" if local.date() == today else f"{local:%a %H:%M}"


# how pressing a fired alert is, by kind (a strategy-bound alert ranks with `tested`)
_STRATEGY_ALERTS = 0
_POSITION_ALERTS = 1  # on positions or the whole account
_MARKET_ALERTS = 2
_MARKET_KINDS = ("price", "change", "iv-rank", "earnings")


def _alert_rank(event: FiredEvent) -> int:
    if event.type == "tested" or event.strategy is not None:
        return _STRATEGY_ALERTS
    return _MARKET_ALERTS if event.type in _MARKET_KINDS else _POSITION_ALERTS


def _fired_line(event: FiredEvent, times: int, today: date) -> str:
    """`Alert #1 fired 13:05: AAPL is now $244.39 (above $200.00)`; an alert that
    fired several times by its latest firing: `Alert #7 fired 13:05 (×3): ...`."""
    count = f" (×{times})" if times > 1 else ""
    return f"Alert #{event.alert_id} fired {_at(event.fired_at, today)}{count}: {event.message}"


def _alert_items(
    fired: Sequence[FiredEvent], today: date, since: datetime | None
) -> list[ActionItem]:
    """One line per alert (see the module docstring), then how many more fired."""
    latest: dict[int, FiredEvent] = {}
    times: dict[int, int] = {}
    for event in sorted(fired, key=lambda e: e.fired_at):
        latest[event.alert_id] = event
        times[event.alert_id] = times.get(event.alert_id, 0) + 1
    ordered = sorted(
        latest.values(),
        key=lambda e: (_alert_rank(e), -e.fired_at.timestamp(), e.alert_id),
    )
    items = [
        ActionItem(
            "alert",
            _fired_line(event, times[event.alert_id], today),
            data={
                "alert_id": event.alert_id,
                "symbol": event.symbol or None,
                "times": times[event.alert_id],
            },
        )
        for event in ordered[:MAX_ALERT_LINES]
    ]
    more = len(ordered) - MAX_ALERT_LINES
    if more > 0:
        # "since 13:50" under lines that each say "fired 13:50" adds nothing
        shown_at = {_at(e.fired_at, today) for e in ordered[:MAX_ALERT_LINES]}
        after = ""
        if since is not None and _at(since, today) not in shown_at:
            after = f" since {_at(since, today)}"
        items.append(
            ActionItem(
                "alert",
                f"{more} more alert{'s' if more > 1 else ''} fired{after} "
                "(ttai alerts list --all shows them)",
                data={"more": more},
            )
        )
    return items


def strategy_item(
    strategy: Strategy,
    events: Sequence[EventDate],
    manage: ManageDefaults,
    today: date,
) -> ActionItem | None:
    """`strategy`'s line of the to-do list, or None when there is nothing to do about it
    (the same line the morning briefing shows; `ttai ask`'s strategies tool gives it to
    the model)."""
    reasons = _reasons(strategy, events, manage, today)
    if not reasons:
        return None
    lead, *rest = reasons
    implied = {kind for r in reasons for kind in IMPLIED.get(r.kind, ())}
    text = "; ".join([lead.lead, *(r.note for r in rest if r.kind not in implied)])
    return ActionItem(
        lead.kind,
        text,
        strategy.label,
        tuple(r.kind for r in reasons),
        {
            "underlying": strategy.underlying,
            "expiration": strategy.expiration.isoformat() if strategy.expiration else None,
            "legs": strategy.symbols,
        },
    )


def action_items(
    strategies: Sequence[Strategy],
    events: Sequence[EventDate],
    fired: Sequence[FiredEvent],
    manage: ManageDefaults,
    today: date,
    *,
    since: datetime | None = None,
) -> list[ActionItem]:
    """The to-do list (see the module docstring). `events`: the held underlyings'
    earnings and ex-dividend dates (`RiskReport.events`); `fired`: the alerts fired
    since the last briefing, `since` being when that was (for the "more" line)."""
    ranked: list[tuple[int, date, str, Strategy, ActionItem]] = []
    for strategy in strategies:
        item = strategy_item(strategy, events, manage, today)
        if item is not None:
            ranked.append(
                (
                    PRIORITY.index(item.kind),
                    strategy.expiration or date.max,
                    strategy.label,
                    strategy,
                    item,
                )
            )
    ranked.sort(key=lambda r: r[:3])
    items: list[ActionItem] = []
    folded: set[int] = set()
    for *_, strategy, item in ranked:
        about = sorted(
            {e.alert_id for e in fired if e.alert_id not in folded and _about(e, strategy)}
        )
        if about:
            folded.update(about)
            ids = ", ".join(f"#{n}" for n in about)
            item = replace(
                item,
                text=f"{item.text}; alert{'s' if len(about) > 1 else ''} {ids} fired",
                data={**item.data, "alerts": about},
            )
        items.append(item)
    return items + _alert_items([e for e in fired if e.alert_id not in folded], today, since)


def _about(event: FiredEvent, strategy: Strategy) -> bool:
    """Whether a fired alert is about `strategy`: bound to it (`--strategy`), or about
    one of its legs (a plain pnl / dte / delta alert firing for a leg, a tested alert)."""
    bound = event.strategy is not None and event.strategy == strategy.expiration
    if bound and event.symbol.strip() == strategy.underlying.strip():
        return True
    return bool(set(event.legs) & set(strategy.symbols))
