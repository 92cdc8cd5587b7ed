"""The simulated account: a plausible options trader's book, built relative to a date.

- 100 AAPL shares,
- a short SPY put about a month out,
- a short TSLA strangle about six weeks out,
- a short QQQ put expiring within the week,
- and a trade history with closed trades (realised P&L), a deposit and fees.

Positions and transactions are plain dicts in the API's own dasherized shape; tests
change them (open, close, resize) through `SimAccount` methods.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from ttai_cli.broker.symbols import occ_symbol
from ttai_cli.clock import NEW_YORK
from ttai_cli.simulator.calendar import full_session_on_or_before, weekly_expiration
from ttai_cli.simulator.market import RandomWalkMarket

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
        `order_id`: the order the fill belongs to (default: a new id)."""
        qty = Decimal(quantity_change)
        price = Decimal(price)
        existing = self.positions.get(symbol)
        if existing is not None:
            underlying = existing.underlying
            instrument_type = existing.instrument_type
            multiplier = existing.multiplier
        is_option = (instrument_type or "").endswith("Option")
        mult = multiplier or (100 if is_option else 1)
        opening = existing is None or (existing.quantity > 0) == (qty > 0)
        verb = ("Buy" if qty > 0 else "Sell") + (" to Open" if opening else " to Close")
        value = -qty * price * mult
        contracts = abs(qty) if is_option else Decimal(0)
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


def build_demo_account(account_number: str, market: RandomWalkMarket, today: date) -> SimAccount:
    """The demo book, with history over the 90 days before `today`."""
    account = SimAccount(account_number, market)

    def at(days_ago: int, hour: int = 10, minute: int = 5) -> datetime:
        """`days_ago` days back, moved to the latest regular session on or before it
        (no trade on a weekend, a holiday or after an early close)."""
        day = full_session_on_or_before(today - timedelta(days=days_ago))
        return datetime.combine(day, time(hour, minute), NEW_YORK)

    def expiry(day: date) -> datetime:
        return datetime.combine(day, time(16, 0), NEW_YORK)

    account.deposit(Decimal("50000.00"), at(88, 9, 0))
    account.cash = Decimal("50000.00")
    spots = {s: market.open_price(s, today) for s in ("AAPL", "SPY", "TSLA", "QQQ", "IWM")}

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

    spy_exp = weekly_expiration(today + timedelta(days=28))
    spy = account.option("SPY", spy_exp, "P", _round_strike(spots["SPY"] * 0.93))
    account.trade(
        spy,
        -1,
        "6.40",
        at(12),
        underlying="SPY",
        instrument_type="Equity Option",
        expires_at=expiry(spy_exp),
    )

    tsla_exp = weekly_expiration(today + timedelta(days=42))
    for right, factor, price in (("C", 1.18, "9.15"), ("P", 0.84, "8.70")):
        symbol = account.option("TSLA", tsla_exp, right, _round_strike(spots["TSLA"] * factor))
        account.trade(
            symbol,
            -1,
            price,
            at(9, 11),
            underlying="TSLA",
            instrument_type="Equity Option",
            expires_at=expiry(tsla_exp),
        )

    qqq_exp = weekly_expiration(today + timedelta(days=1))
    qqq = account.option("QQQ", qqq_exp, "P", _round_strike(spots["QQQ"] * 0.96))
    account.trade(
        qqq,
        -2,
        "1.45",
        at(6, 14),
        underlying="QQQ",
        instrument_type="Equity Option",
        expires_at=expiry(qqq_exp),
    )
    return account
