"""Strategies: an account's legs grouped the way an options trader manages them.

Pure (no I/O): `group_strategies(positions, transactions, prices, today=...)` returns
`Strategy` values (name, credit, max profit and loss, P&L and its percent of the max,
DTE, short strikes, tested, `label`). See `grouping` for the rules and `shapes` for the
names and the payoff at expiration.
"""

from ttai_cli.strategies.grouping import (
    DEFAULT_TESTED_WITHIN,
    Strategy,
    build_strategy,
    group_strategies,
    opening_orders,
)
from ttai_cli.strategies.shapes import NAMES, Leg, leg_of

__all__ = [
    "DEFAULT_TESTED_WITHIN",
    "NAMES",
    "Leg",
    "Strategy",
    "build_strategy",
    "group_strategies",
    "leg_of",
    "opening_orders",
]
