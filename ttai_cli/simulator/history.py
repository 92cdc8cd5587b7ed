"""The demo account's past: its net liquidating value at each day's close.

Replays the simulated account's own transactions up to a day (cash, and the positions
held that evening) and values the positions at that day's deterministic close (shares at
the close, options by Black-Scholes from the underlying's close, a future by its gain
since it opened), so the history the demo
ships with ends where the live account stands today instead of being made-up numbers.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal

from ttai_cli.broker.symbols import parse_occ
from ttai_cli.clock import NEW_YORK
from ttai_cli.simulator.account import SimAccount
from ttai_cli.simulator.market import RandomWalkMarket, black_scholes, money


def _signed(amount: str, effect: str) -> Decimal:
    return -Decimal(amount) if effect == "Debit" else Decimal(amount)


def _close_value(
    account: SimAccount,
    market: RandomWalkMarket,
    symbol: str,
    quantity: Decimal,
    day: date,
    opened_at: dict[str, Decimal],
) -> Decimal:
    occ = parse_occ(symbol)
    if occ is None:
        last = money(market.close_price(symbol, day))
        if symbol in opened_at:  # a future: its gain since it opened
            return (last - opened_at[symbol]) * quantity * account.multipliers[symbol]
        return last * quantity
    root = occ.root.strip()
    close = datetime.combine(day, time(16), NEW_YORK)
    expiry = datetime.combine(occ.expiration, time(16), NEW_YORK)
    years = max(0.0, (expiry - close).total_seconds() / (365 * 86400))
    price, _ = black_scholes(
        market.close_price(root, day), float(occ.strike), years, market.volatility(root), occ.right
    )
    return money(price) * quantity * 100


def nlv_at_close(
    account: SimAccount, market: RandomWalkMarket, day: date, *, cash_only: bool = False
) -> Decimal:
    """Cash plus the value of the positions held at `day`'s close (options that expired
    by then count for nothing: the demo's expired options were closed before); with
    `cash_only`, the cash alone."""
    cash = Decimal(0)
    held: dict[str, Decimal] = {}
    futures: dict[str, Decimal] = {}  # future -> its opening price (one fill opens it)
    for txn in account.transactions:
        if date.fromisoformat(txn["transaction-date"]) > day:
            continue
        cash += _signed(txn["net-value"], txn["net-value-effect"])
        if txn.get("transaction-type") == "Trade":
            quantity = Decimal(txn["quantity"])
            change = quantity if txn["action"].startswith("Buy") else -quantity
            held[txn["symbol"]] = held.get(txn["symbol"], Decimal(0)) + change
            if txn.get("instrument-type") == "Future" and txn["action"].endswith("to Open"):
                futures[txn["symbol"]] = Decimal(txn["price"])
    if cash_only:
        return cash.quantize(Decimal("0.01"))
    value = sum(
        (
            _close_value(account, market, symbol, quantity, day, futures)
            for symbol, quantity in held.items()
            if quantity and not ((occ := parse_occ(symbol)) and occ.expiration < day)
        ),
        Decimal(0),
    )
    return (cash + value).quantize(Decimal("0.01"))
