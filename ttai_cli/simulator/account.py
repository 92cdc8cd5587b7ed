"""The simulated account: a premium seller's book, built relative to a date.

Five strategies, each opened by one order (its legs share the fills' `order-id`), plus
shares held for a covered call and a trade history with a closed trade (realised P&L),
a deposit and fees. Each option's opening price is worked back from its value at
`today`'s 9:30 open (the simulator's Black-Scholes price at the open), so that the
morning briefing's to-do list says the same every day:

- SPY iron condor, about four weeks out, its short strikes 8 % and 6 % away, at +80 %
  of its credit: close it;
- TSLA short strangle, 10-18 days out, its strikes 10 % away, at +12 %: manage or roll
  it (at most 21 DTE; TSLA also reports within the week, before it expires);
- IWM put credit spread (two contracts), about five weeks out, its short put 0.5 %
  under the price: tested (within 2 %), at -35 %;
- AAPL covered call (100 shares and a call 7 % above the price, about five weeks out),
  its call at +25 %: fine;
- one /MES (micro E-mini S&P 500) future, long, its contract expiring more than a
  month out: fine.

Positions and transactions are plain dicts in the API's own dasherized shape; tests
change them (open, close, resize) through `SimAccount` methods.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ttai_cli.broker.symbols import occ_symbol, parse_occ
from ttai_cli.clock import NEW_YORK
from ttai_cli.simulator.calendar import (
    full_session_on_or_before,
    monthly_expiration,
    weekly_expiration,
)
from ttai_cli.simulator.market import RandomWalkMarket, black_scholes, money

COMMISSION = Decimal("1.00")
CLEARING_FEE = Decimal("0.10")
REGULATORY_FEE = Decimal("0.03")


def _iso(moment: datetime) -> str:
    """The API's timestamp form: UTC with milliseconds and a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _round_strike(value: float, step: int = 5) -> Decimal:
    return Decimal(int(round(value / step) * step))


def effect(value: Decimal) -> str:
    return "Debit" if value < 0 else "Credit" if value > 0 else "None"


@dataclass
class SimPosition:
    symbol: str
    underlying: str
    instrument_type: str
    quantity: Decimal  # signed
    average_open_price: Decimal
    multiplier: int
    opened_at: datetime
    expires_at: datetime | None = None


@dataclass
class SimAccount:
    account_number: str
    market: RandomWalkMarket
    cash: Decimal = Decimal("50000.00")
    positions: dict[str, SimPosition] = field(default_factory=dict)
    transactions: list[dict[str, Any]] = field(default_factory=list)
    # symbol -> contract multiplier of everything ever traded (the history replays it)
    multipliers: dict[str, int] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(100_001))

    # -- changes a test (or the demo) can make ---------------------------------------
    def trade(
        self,
        symbol: str,
        quantity_change: Decimal | int,
        price: Decimal | str,
        at: datetime,
        *,
        underlying: str | None = None,
        instrument_type: str | None = None,
        multiplier: int | None = None,
        expires_at: datetime | None = None,
        order_id: int | None = None,
    ) -> dict[str, Any]:
        """Buy (positive) or sell (negative) `quantity_change` at `price`; books the
        transaction with fees and updates the position, opening or closing it.
        `order_id`: the order the fill belongs to (default: a new id).

        A future (`instrument_type` "Future") moves no cash when it opens: only its fees;
        closing it books the gain or loss against the average open price (the account
        is marked to market, not charged the contract's notional)."""
        qty = Decimal(quantity_change)
        price = Decimal(price)
        existing = self.positions.get(symbol)
        if existing is not None:
            underlying = existing.underlying
            instrument_type = existing.instrument_type
            multiplier = existing.multiplier
        is_option = (instrument_type or "").endswith("Option")
        is_future = instrument_type == "Future"
        mult = multiplier or (100 if is_option else 1)
        self.multipliers[symbol] = mult
        opening = existing is None or (existing.quantity > 0) == (qty > 0)
        verb = ("Buy" if qty > 0 else "Sell") + (" to Open" if opening else " to Close")
        if not is_future:
            value = -qty * price * mult
        elif opening or existing is None:
            value = Decimal(0)
        else:
            value = -qty * (price - existing.average_open_price) * mult
        contracts = abs(qty) if is_option or is_future else Decimal(0)
        commission = -(COMMISSION * contracts) if opening else Decimal(0)
        clearing = -(CLEARING_FEE * contracts)
        regulatory = -(REGULATORY_FEE * contracts)
        net = value + commission + clearing + regulatory
        txn = {
            "id": next(self._ids),
            "account-number": self.account_number,
            "transaction-type": "Trade",
            "transaction-sub-type": verb,
            "description": f"{verb} {abs(qty)} {symbol.strip()} @ {price}",
            "executed-at": _iso(at),
            "transaction-date": at.astimezone(NEW_YORK).date().isoformat(),
            "value": str(abs(value)),
            "value-effect": effect(value),
            "net-value": str(abs(net)),
            "net-value-effect": effect(net),
            "is-estimated-fee": True,
            "symbol": symbol,
            "instrument-type": instrument_type or "Equity",
            "underlying-symbol": underlying or symbol,
            "action": verb,
            "quantity": str(abs(qty)),
            "price": str(price),
            "commission": str(abs(commission)),
            "commission-effect": effect(commission),
            "clearing-fees": str(abs(clearing)),
            "clearing-fees-effect": effect(clearing),
            "regulatory-fees": str(abs(regulatory)),
            "regulatory-fees-effect": effect(regulatory),
            "proprietary-index-option-fees": "0.0",
            "proprietary-index-option-fees-effect": "None",
            "order-id": order_id if order_id is not None else next(self._ids),
            "leg-count": 1,
        }
        self.transactions.append(txn)
        self.cash += net
        if existing is None:
            self.positions[symbol] = SimPosition(
                symbol,
                underlying or symbol,
                instrument_type or "Equity",
                qty,
                price,
                mult,
                at,
                expires_at,
            )
        else:
            new_qty = existing.quantity + qty
            if new_qty == 0:
                del self.positions[symbol]
            elif opening:
                total = existing.average_open_price * abs(existing.quantity) + price * abs(qty)
                existing.average_open_price = (total / abs(new_qty)).quantize(Decimal("0.0001"))
                existing.quantity = new_qty
            else:
                existing.quantity = new_qty
        return txn

    def deposit(self, amount: Decimal, at: datetime) -> None:
        self.cash += amount
        self.transactions.append(
            {
                "id": next(self._ids),
                "account-number": self.account_number,
                "transaction-type": "Money Movement",
                "transaction-sub-type": "Deposit",
                "description": "ACH deposit",
                "executed-at": _iso(at),
                "transaction-date": at.astimezone(NEW_YORK).date().isoformat(),
                "value": str(amount),
                "value-effect": effect(amount),
                "net-value": str(amount),
                "net-value-effect": effect(amount),
                "is-estimated-fee": False,
            }
        )

    def option(self, root: str, expiration: date, right: str, strike: Decimal) -> str:
        return occ_symbol(root, expiration, right, strike)


def _open_of(day: date) -> datetime:
    """9:30 New York on `day`: when the simulated market's path starts from the day's
    opening price (the morning briefing's time)."""
    return datetime.combine(day, time(9, 30), NEW_YORK)


def value_at_open(market: RandomWalkMarket, symbol: str, day: date) -> Decimal:
    """An option's mark at `day`'s 9:30 open, as the simulator quotes it then (per share)."""
    occ = parse_occ(symbol)
    assert occ is not None, symbol
    root = occ.root.strip()
    expiry = datetime.combine(occ.expiration, time(16, 0), NEW_YORK)
    years = max(0.0, (expiry - _open_of(day)).total_seconds() / (365 * 86400))
    price, _ = black_scholes(
        market.open_price(root, day), float(occ.strike), years, market.volatility(root), occ.right
    )
    return money(price)


def priced_to(
    pnl_percent: int, legs: list[tuple[int, Decimal]], long_factor: Decimal = Decimal(1)
) -> list[Decimal]:
    """Opening prices, per leg, that put a credit strategy at `pnl_percent` of its
    credit now. `legs`: (signed contracts, value now per share). The credit is
    `value to close / (1 - pnl_percent / 100)`; long legs were bought at
    `long_factor` x their value now, and the short legs share the rest in proportion
    to their value now. Rounded to the cent, so the percent is close, not exact."""
    to_close = sum((-q * v for q, v in legs), Decimal(0))
    credit = to_close / (1 - Decimal(pnl_percent) / 100)
    longs = sum((q * v * long_factor for q, v in legs if q > 0), Decimal(0))
    shorts = sum((-q * v for q, v in legs if q < 0), Decimal(0))
    factor = (credit + longs) / shorts
    return [
        (v * (long_factor if q > 0 else factor)).quantize(Decimal("0.01"), ROUND_HALF_UP)
        for q, v in legs
    ]


FUTURE_MONTHS = {3: "H", 6: "M", 9: "U", 12: "Z"}  # the equity index futures' quarters


def quarterly_future(root: str, today: date, min_days: int = 30) -> tuple[str, date]:
    """The first quarterly contract of `root` expiring more than `min_days` days after
    `today` (`/MESZ6`) and its expiration (the third Friday of the month, or the
    trading day before it)."""
    year, month = today.year, today.month
    while True:
        if month in FUTURE_MONTHS:
            expiry = monthly_expiration(year, month)
            if (expiry - today).days > min_days:
                return f"{root}{FUTURE_MONTHS[month]}{year % 10}", expiry
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def build_demo_account(account_number: str, market: RandomWalkMarket, today: date) -> SimAccount:
    """The demo book (see the module docstring), with history over the 90 days before
    `today`."""
    account = SimAccount(account_number, market)

    def at(days_ago: int, hour: int = 10, minute: int = 5) -> datetime:
        """`days_ago` days back, moved to the latest regular session on or before it
        (no trade on a weekend, a holiday or after an early close)."""
        day = full_session_on_or_before(today - timedelta(days=days_ago))
        return datetime.combine(day, time(hour, minute), NEW_YORK)

    def expiry(day: date) -> datetime:
        return datetime.combine(day, time(16, 0), NEW_YORK)

    def sell(
        root: str,
        expiration: date,
        legs: list[tuple[str, Decimal, int]],
        pnl_percent: int,
        when: datetime,
        long_factor: Decimal = Decimal(1),
    ) -> None:
        """One order opening option `legs` (right, strike, signed contracts) on `root`,
        priced so the strategy is at `pnl_percent` of its credit at today's open."""
        symbols = [account.option(root, expiration, right, strike) for right, strike, _ in legs]
        values = [
            (q, value_at_open(market, s, today)) for s, (_, _, q) in zip(symbols, legs, strict=True)
        ]
        order = next(account._ids)
        for symbol, (_, _, q), price in zip(
            symbols, legs, priced_to(pnl_percent, values, long_factor), strict=True
        ):
            account.trade(
                symbol,
                q,
                price,
                when,
                underlying=root,
                instrument_type="Equity Option",
                expires_at=expiry(expiration),
                order_id=order,
            )

    account.deposit(Decimal("50000.00"), at(88, 9, 0))
    account.cash = Decimal("50000.00")
    spots = {s: market.open_price(s, today) for s in ("AAPL", "SPY", "TSLA", "IWM")}

    account.trade("AAPL", 100, Decimal(str(round(spots["AAPL"] * 0.94, 2))), at(60))

    # A closed trade for realised P&L: an IWM put sold and bought back for less.
    iwm_exp = weekly_expiration(today - timedelta(days=20))
    iwm = account.option("IWM", iwm_exp, "P", _round_strike(spots["IWM"] * 0.92))
    account.trade(
        iwm,
        -1,
        "2.10",
        at(50),
        underlying="IWM",
        instrument_type="Equity Option",
        expires_at=expiry(iwm_exp),
    )
    account.trade(iwm, 1, "0.85", at(30))

    # TSLA short strangle, sold a month ago at about 45 DTE: now 10-18 DTE, +12 %
    call, put = _round_strike(spots["TSLA"] * 1.10), _round_strike(spots["TSLA"] * 0.90)
    tsla_exp = weekly_expiration(today + timedelta(days=14))
    sell("TSLA", tsla_exp, [("P", put, -1), ("C", call, -1)], 12, at(30, 11))

    # SPY iron condor, 10 wide a side, sold at about 52 DTE: now +80 %, time to close
    short_put, short_call = _round_strike(spots["SPY"] * 0.92), _round_strike(spots["SPY"] * 1.06)
    sell(
        "SPY",
        weekly_expiration(today + timedelta(days=28)),
        [
            ("P", short_put - 10, 1),
            ("P", short_put, -1),
            ("C", short_call, -1),
            ("C", short_call + 10, 1),
        ],
        80,
        at(24, 10, 40),
        long_factor=Decimal(2),
    )

    # /MES future, one contract long
    mes, mes_exp = quarterly_future("/MES", today)
    bought = at(15, 10, 20)
    account.trade(
        mes,
        1,
        money(market.open_price(mes, bought.date())),
        bought,
        underlying=mes,  # a future is its own underlying (options on it name it too)
        instrument_type="Future",
        multiplier=5,
        expires_at=datetime.combine(mes_exp, time(9, 30), NEW_YORK),
    )

    # IWM put credit spread, two 5 wide, the short put just under the price: tested, -35 %
    iwm_short = _round_strike(spots["IWM"] * 0.995, step=1)
    sell(
        "IWM",
        weekly_expiration(today + timedelta(days=35)),
        [("P", iwm_short - 5, 2), ("P", iwm_short, -2)],
        -35,
        at(10, 13, 15),
        long_factor=Decimal("0.8"),
    )

    # AAPL covered call: a call 7 % above the price on the 100 shares, +25 %
    aapl_exp = weekly_expiration(today + timedelta(days=35))
    sell("AAPL", aapl_exp, [("C", _round_strike(spots["AAPL"] * 1.07), -1)], 25, at(8, 14, 30))
    return account
