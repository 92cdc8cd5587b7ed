"""Positions grouped into the strategies a trader manages: no I/O, Decimal throughout.

`group_strategies(positions, transactions, prices, today=...)` is the whole API; the
service layer (`services/strategies.py`) feeds it the last sync or live data.

Grouping, per underlying:
1. By the order that opened each leg, where the transaction history shows it: walking a
   symbol's fills back from the held quantity to where it was last zero finds the fill
   that opened the position; its `order_id` is the leg's opening order. A roll (one
   order that closes legs and opens others) keeps the new legs with the strategy of
   the legs it closed, so a strangle whose call was rolled up is still one strangle.
   A leg whose opening fill is older than the history, or was made by no order (an
   assignment), has no known opening order.
2. Legs with no known opening order: by expiration (options) or on their own (shares).
3. Long shares and groups of short calls only are one covered call, nearest expiration
   first, as long as the shares cover the contracts (`|quantity| x multiplier` shares
   each); calls beyond that stay apart.
4. A strangle legged into: a lone short put and a lone short call (each its group's
   only leg, whatever opened them) of one expiration and size are one short strangle
   (or straddle); its opening order is the earlier order (the lower id).
5. Among the legs of no known opening order, a lone short option and a lone long option
   of the same right and size, the long one expiring later, are one calendar (or
   diagonal): that shape spans two expirations, so grouping by expiration alone would
   never find it.
6. Futures, cryptocurrencies and instruments of no known kind are each their own
   strategy (`future`, `crypto`, `custom`). Futures options group like equity options.
Nothing is dropped: a group of no known shape is `custom`. A leg closed early leaves
the smaller strategy of what is still held (an iron condor whose call side was bought
back is a put credit spread).

Cash-secured or not: a single short equity put is a `cash-secured put` when the
account's cash (`cash`, the cash balance) covers `strike x multiplier x contracts`,
the puts taken nearest expiration first, each using up the cash it needs; with no
`cash` given, or once it is used up, a `short put`.

The numbers of a strategy (money in dollars, rounded to cents after summing):
- `credit`: received to open, `-sum(average_open_price x quantity x multiplier)`
  (quantities signed); negative for a debit (shares bought are a debit). None for a
  future: it is margined, nothing is paid or received to open it.
- `cost_to_close`: paid to close now at the marks, `-sum(mark x quantity x
  multiplier)` (negative: received); None when a leg has no mark. (A future's is its
  notional value, the P&L's other half.)
- `pnl`: what closing now would make, `sum((mark - average_open_price) x quantity x
  multiplier)` (`credit - cost_to_close` for all but futures); None without every mark.
- `pnl_percent_of_max` (the `% max` a trader reads): P&L as a percent of the max
  profit. A credit strategy: pnl / credit x 100 (its credit is its max profit). Any
  other with a known, positive max profit (a covered call, a debit spread, a long
  put): pnl / max_profit x 100, the figure the to-do list's profit target compares.
  None when the max profit is unlimited or not known (shares, a long call, a
  calendar), for a future (a short one's max profit is no target), or without a pnl.
- `pnl_percent`: P&L as a percent of the money that opened it: pnl / credit x 100 for
  a credit, pnl / debit x 100 for a debit; what a strategy `pnl` alert compares (SPEC:
  "percent of the credit for credit strategies, of the debit otherwise"). None for a
  future (no credit or debit) or without a pnl.
- `max_profit`, `max_loss`: see `shapes.payoff_bounds` (None: unlimited, or not known).
  A long future's max loss is its notional (the price going to zero), as for shares; a
  short future's is unlimited.
- `expiration`: the nearest of the legs' (options', futures'); `dte`: calendar days
  from `today` (0 on the day).
- `short_strikes`: the strikes of the short options, ascending, each once.
- `distance_percent`: how far the underlying is from the nearest short strike on the
  side that loses, in percent of the underlying's price: `(price - strike) / price x
  100` for a short put, `(strike - price) / price x 100` for a short call; zero or
  negative once through it. `tested`: that distance is at most `tested_within` percent.
  Without a price or without short options: distance None, not tested.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from ttai_cli.broker import symbols as sym
from ttai_cli.broker.models import Position, Transaction
from ttai_cli.strategies.shapes import (
    CASH_SECURED_PUT,
    SHORT_PUT,
    ZERO,
    Leg,
    leg_of,
    payoff_bounds,
)
from ttai_cli.strategies.shapes import credit as opening_credit
from ttai_cli.strategies.shapes import name as shape_name

CENTS = Decimal("0.01")
DEFAULT_TESTED_WITHIN = Decimal(2)  # percent, SPEC `[manage] tested_within`


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENTS, ROUND_HALF_UP)


def _percent(part: Decimal, whole: Decimal) -> Decimal:
    return (part / whole * 100).quantize(CENTS, ROUND_HALF_UP)


@dataclass(frozen=True)
class Strategy:
    """One strategy on one underlying (see the module docstring for every figure)."""

    underlying: str
    name: str  # one of `shapes.NAMES`
    legs: tuple[Position, ...]  # shares first, then by expiration and strike
    expiration: date | None
    dte: int | None
    credit: Decimal | None  # None: a future (margined, not paid for)
    cost_to_close: Decimal | None
    max_profit: Decimal | None
    max_loss: Decimal | None
    pnl: Decimal | None
    pnl_percent_of_max: Decimal | None  # of the max profit (the credit, for a credit)
    pnl_percent: Decimal | None  # of the credit or debit that opened it
    underlying_price: Decimal | None
    short_strikes: tuple[Decimal, ...]
    distance_percent: Decimal | None
    tested: bool
    opening_order: int | None  # the order (chain) that opened it, when the history shows it
    today: date  # the New York date the figures are for

    @property
    def symbols(self) -> list[str]:
        """The legs' symbols (OCC for equity options), as machine output shows them."""
        return [leg.symbol for leg in self.legs]

    @property
    def label(self) -> str:
        """How a trader names it: `TSLA short strangle 1/15` (the year added when the
        expiration is in another year: `1/15/27`), `AAPL stock`."""
        if self.expiration is None:
            return f"{self.underlying} {self.name}"
        return f"{self.underlying} {self.name} {sym.short_date(self.expiration, self.today)}"

    @property
    def is_credit(self) -> bool:
        return self.credit is not None and self.credit > 0

    def tested_within(self, percent: Decimal) -> bool:
        """Whether the underlying is within `percent` % of a short strike, or through it."""
        return self.distance_percent is not None and self.distance_percent <= percent

    def nearest_short(self) -> tuple[Decimal, str, Decimal] | None:
        """(strike, right `C`/`P`, distance %) of the short option the underlying is
        nearest to (or furthest through): the one `distance_percent` measures. None
        without a price or without short options."""
        found = _short_gaps([leg_of(p) for p in self.legs], self.underlying_price)
        if not found:
            return None
        gap, leg = min(found, key=lambda item: item[0])
        assert leg.strike is not None and leg.right is not None
        return leg.strike, leg.right, _cents(gap)


def _underlying(position: Position) -> str:
    return position.underlying_symbol or position.symbol


def _signed(t: Transaction) -> Decimal | None:
    """A fill's signed quantity (buys positive), or None for what is not a fill."""
    if not t.symbol or not t.quantity or not t.action:
        return None
    if t.action.startswith("Buy"):
        return t.quantity
    if t.action.startswith("Sell"):
        return -t.quantity
    return None


def opening_orders(
    positions: Iterable[Position], transactions: Iterable[Transaction]
) -> dict[str, int]:
    """The order that opened each held symbol's quantity, following rolls; symbols
    whose opening the history does not show are absent (see the module docstring)."""
    held = {p.symbol: p.quantity for p in positions}
    # every fill in time order, once; then per symbol (each list stays in that order)
    ordered = sorted(
        ((t, size) for t in transactions if (size := _signed(t)) is not None),
        key=lambda f: (f[0].executed_at, f[0].id),
    )
    fills: dict[str, list[tuple[Transaction, Decimal]]] = {}
    for fill in ordered:
        fills.setdefault(fill[0].symbol or "", []).append(fill)
    # the fill that started the run each fill belongs to (None: before the history). The
    # quantity before the first fill is what is held now less every fill since; a fill
    # made while the quantity was zero starts a run.
    run_start: dict[int, Transaction | None] = {}
    for symbol, trades in fills.items():
        quantity = held.get(symbol, ZERO) - sum((size for _, size in trades), ZERO)
        current: Transaction | None = None
        for t, size in trades:
            if not quantity:
                current = t
            run_start[t.id] = current
            quantity += size
    # a roll: an order that closes legs another order opened continues that order's
    # chain (when it closes legs of several, the chain of the first leg it closes)
    rolled_from: dict[int, int] = {}
    for t, _ in ordered:
        order = t.order_id
        if order is None or order in rolled_from or not (t.action or "").endswith("to Close"):
            continue
        start = run_start.get(t.id)
        if start is not None and start.order_id is not None and start.order_id != order:
            rolled_from[order] = start.order_id

    def chain(order: int) -> int:
        seen = {order}
        while order in rolled_from and rolled_from[order] not in seen:
            order = rolled_from[order]
            seen.add(order)
        return order

    found: dict[str, int] = {}
    for symbol, quantity in held.items():
        own = fills.get(symbol) if quantity else None
        if not own:
            continue
        start = run_start.get(own[-1][0].id)
        if start is not None and start.order_id is not None:
            found[symbol] = chain(start.order_id)
    return found


Key = tuple[str, object]


def _option_groups(legs: list[Leg], opened: Mapping[str, int]) -> dict[Key, list[Leg]]:
    """One underlying's shares and options keyed by opening order, else expiration
    (options) or alone (shares); then covered calls, strangles legged into and
    calendars paired (steps 1-5 of the module docstring)."""
    groups: dict[Key, list[Leg]] = {}
    for leg in legs:
        order = opened.get(leg.position.symbol)
        if order is not None:
            key: Key = ("order", order)
        elif leg.kind == "stock":
            key = ("stock", leg.position.symbol)
        else:
            key = ("expiration", leg.expiration)
        groups.setdefault(key, []).append(leg)
    _cover_calls(groups)
    _pair_strangles(groups)
    _pair_calendars(groups)
    return groups


def _cover_calls(groups: dict[Key, list[Leg]]) -> None:
    stock_key = next(
        (
            k
            for k, g in groups.items()
            if len(g) == 1 and g[0].kind == "stock" and g[0].quantity > 0
        ),
        None,
    )
    if stock_key is None:
        return
    stock = groups[stock_key][0]
    shares = stock.quantity * stock.multiplier
    calls = sorted(
        (
            k
            for k, g in groups.items()
            if all(leg.kind == "option" and leg.right == "C" and leg.quantity < 0 for leg in g)
        ),
        key=lambda k: min(leg.expiration or date.max for leg in groups[k]),
    )
    covered: list[Leg] = []
    for key in calls:
        need = sum((abs(leg.quantity) * leg.multiplier for leg in groups[key]), ZERO)
        if need <= shares:
            shares -= need
            covered.extend(groups.pop(key))
    if covered:
        groups[stock_key] = [stock, *covered]


def _earlier(a: Key, b: Key) -> Key:
    """The key of the earlier opening order (a lower order id); an order before none."""

    def rank(key: Key) -> tuple[int, int]:
        kind, value = key
        return (0, value) if kind == "order" and isinstance(value, int) else (1, 0)

    return min(a, b, key=rank)


def _pair_strangles(groups: dict[Key, list[Leg]]) -> None:
    lone = [(k, g[0]) for k, g in groups.items() if len(g) == 1 and g[0].is_short_option]
    calls = [(k, leg) for k, leg in lone if leg.right == "C"]
    for put_key, put in ((k, leg) for k, leg in lone if leg.right == "P"):
        match = next(
            (
                (k, leg)
                for k, leg in calls
                if leg.expiration == put.expiration
                and leg.quantity == put.quantity
                and leg.multiplier == put.multiplier
            ),
            None,
        )
        if match is None:
            continue
        calls.remove(match)
        del groups[put_key], groups[match[0]]
        groups[_earlier(put_key, match[0])] = [put, match[1]]


def _pair_calendars(groups: dict[Key, list[Leg]]) -> None:
    lone = [
        (k, g[0])
        for k, g in groups.items()
        if k[0] == "expiration" and len(g) == 1 and g[0].kind == "option"
    ]
    longs = [(k, leg) for k, leg in lone if leg.quantity > 0]
    for key, short in sorted(
        ((k, leg) for k, leg in lone if leg.quantity < 0),
        key=lambda item: item[1].expiration or date.max,
    ):
        assert short.expiration is not None
        matches = [
            (k, leg)
            for k, leg in longs
            if leg.right == short.right
            and leg.quantity == -short.quantity
            and leg.multiplier == short.multiplier
            and leg.expiration is not None
            and leg.expiration > short.expiration
        ]
        if not matches:
            continue
        match = min(matches, key=lambda item: item[1].expiration or date.max)
        longs.remove(match)
        groups[key] = [short, match[1]]
        del groups[match[0]]


def _leg_order(leg: Leg) -> tuple[int, date, Decimal, bool, str]:
    """Shares first; then by expiration and strike, a put before a call at one strike
    (an iron condor reads long put, short put, short call, long call)."""
    return (
        0 if leg.kind != "option" else 1,
        leg.expiration or date.min,
        leg.strike if leg.strike is not None else ZERO,
        leg.right == "C",
        leg.position.symbol,
    )


def _price(underlying: str, legs: list[Leg], prices: Mapping[str, Decimal]) -> Decimal | None:
    """The underlying's price: from `prices`, else the mark of its own shares or future
    held in the same strategy."""
    price = prices.get(underlying)
    if price is not None:
        return price
    for leg in legs:
        if leg.kind != "option" and leg.position.symbol == underlying and leg.position.mark:
            return leg.position.mark
    return None


def _short_gaps(legs: list[Leg], price: Decimal | None) -> list[tuple[Decimal, Leg]]:
    """(distance %, leg) of each short option: see `distance_percent`."""
    if price is None or price <= 0:
        return []
    found = []
    for leg in legs:
        if not leg.is_short_option or leg.strike is None:
            continue
        gap = price - leg.strike if leg.right == "P" else leg.strike - price
        found.append((gap / price * 100, leg))
    return found


def _distance(legs: list[Leg], price: Decimal | None) -> Decimal | None:
    gaps = _short_gaps(legs, price)
    return _cents(min(gap for gap, _ in gaps)) if gaps else None


def build_strategy(
    underlying: str,
    legs: list[Leg],
    *,
    today: date,
    price: Decimal | None,
    tested_within: Decimal = DEFAULT_TESTED_WITHIN,
    opening_order: int | None = None,
    name: str | None = None,
) -> Strategy:
    """One group of legs as a `Strategy` (its name from `shapes.name` unless given)."""
    legs = sorted(legs, key=_leg_order)
    opened = opening_credit(legs)
    max_profit, max_loss = payoff_bounds(legs, opened)
    marks = [leg.position.mark for leg in legs]
    # a future is margined: what `credit` would sum is its notional, not money paid
    margined = any(leg.kind == "future" for leg in legs)
    cost_to_close = pnl = percent = percent_of_max = None
    if all(m is not None for m in marks):
        value = sum(
            (m * leg.size for m, leg in zip(marks, legs, strict=True) if m is not None),
            ZERO,
        )
        cost_to_close = -value
        pnl = value + opened
        if opened and not margined:
            percent = _percent(pnl, abs(opened))
            if opened > 0:
                percent_of_max = percent
            elif max_profit is not None and max_profit > 0:
                percent_of_max = _percent(pnl, max_profit)
    expirations = [leg.expiration for leg in legs if leg.expiration is not None]
    expiration = min(expirations) if expirations else None
    distance = _distance(legs, price)
    shorts = sorted({leg.strike for leg in legs if leg.is_short_option and leg.strike is not None})
    return Strategy(
        underlying=underlying,
        name=name or shape_name(legs),
        legs=tuple(leg.position for leg in legs),
        expiration=expiration,
        dte=(expiration - today).days if expiration is not None else None,
        credit=None if margined else _cents(opened),
        cost_to_close=_cents(cost_to_close) if cost_to_close is not None else None,
        max_profit=_cents(max_profit) if max_profit is not None else None,
        max_loss=_cents(max_loss) if max_loss is not None else None,
        pnl=_cents(pnl) if pnl is not None else None,
        pnl_percent_of_max=percent_of_max,
        pnl_percent=percent,
        underlying_price=price,
        short_strikes=tuple(shorts),
        distance_percent=distance,
        tested=distance is not None and distance <= tested_within,
        opening_order=opening_order,
        today=today,
    )


def _secure_puts(strategies: list[Strategy], cash: Decimal | None) -> list[Strategy]:
    if cash is None:
        return strategies
    remaining = cash
    out = list(strategies)
    puts = sorted(
        (
            i
            for i, s in enumerate(out)
            if s.name == SHORT_PUT and s.legs[0].instrument_type == "Equity Option"
        ),
        key=lambda i: (out[i].expiration or date.max, out[i].underlying),
    )
    for i in puts:
        leg = leg_of(out[i].legs[0])
        assert leg.strike is not None
        need = leg.strike * leg.multiplier * abs(leg.quantity)
        if need <= remaining:
            remaining -= need
            out[i] = replace(out[i], name=CASH_SECURED_PUT)
    return out


def group_strategies(
    positions: Iterable[Position],
    transactions: Iterable[Transaction] = (),
    prices: Mapping[str, Decimal] | None = None,
    *,
    today: date,
    tested_within: Decimal = DEFAULT_TESTED_WITHIN,
    cash: Decimal | None = None,
) -> list[Strategy]:
    """Every held position in exactly one strategy (see the module docstring).

    `transactions`: the account's history (any order, any types; fills are what count),
    covering at least the held positions' opening fills for grouping by order;
    `prices`: underlying symbol -> price; `today`: the New York date; `cash`: the cash
    balance, for cash-secured puts. Positions with quantity 0 are left out. Sorted by
    underlying, then expiration (shares and other undated strategies first), then name."""
    held = [p for p in positions if p.quantity != 0]
    opened = opening_orders(held, transactions)
    prices = prices or {}
    by_underlying: dict[str, list[Leg]] = {}
    for position in held:
        by_underlying.setdefault(_underlying(position), []).append(leg_of(position))
    strategies: list[Strategy] = []
    for underlying, legs in by_underlying.items():
        groupable = [leg for leg in legs if leg.kind in ("option", "stock")]
        groups: list[tuple[list[Leg], int | None]] = [
            ([leg], None) for leg in legs if leg.kind not in ("option", "stock")
        ]
        for (kind, value), group in _option_groups(groupable, opened).items():
            groups.append((group, value if kind == "order" and isinstance(value, int) else None))
        price = _price(underlying, legs, prices)
        for group, order in groups:
            strategies.append(
                build_strategy(
                    underlying,
                    group,
                    today=today,
                    price=price,
                    tested_within=tested_within,
                    opening_order=order,
                )
            )
    strategies = _secure_puts(strategies, cash)
    strategies.sort(
        key=lambda s: (s.underlying, s.expiration or date.min, s.name, s.legs[0].symbol)
    )
    return strategies
